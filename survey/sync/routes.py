"""The kiosk's offline app shell: its service worker and the list of what to keep."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, send_from_directory, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from .. import registry
from ..extensions import db, limiter
from ..i18n import languages
from ..models import Centre

bp = Blueprint("sync", __name__, url_prefix="/kiosk")

#: Static files every kiosk page needs.
SHELL_STATIC = ("hailong.css", "kiosk.js", "offline.js")


@bp.get("/sw.js")
@limiter.exempt
def worker() -> WerkzeugResponse:
    """The service worker, served from /kiosk/ so its scope is every kiosk page."""
    response = send_from_directory(current_app.static_folder or "static", "sw.js",
                                   mimetype="text/javascript", max_age=0)
    # Browsers re-check the worker at most daily anyway; never let a proxy pin it.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/<code>/offline.json")
@limiter.exempt
def manifest(code: str) -> WerkzeugResponse:
    """What a kiosk of centre ``code`` keeps for offline use, and how to submit."""
    centre = db.session.scalar(select(Centre).where(Centre.code == code, Centre.active))
    if centre is None:
        abort(404)
    questionnaire = registry().get(centre.questionnaire_id, centre.questionnaire_version)
    if questionnaire is None:
        abort(404)
    offered = [language.code for language in languages().kiosk()]
    api = url_for("api.questionnaire", qid=questionnaire.id, version=questionnaire.version)
    shell = [url_for("kiosk.start", code=code), url_for(".manifest", code=code)]
    for lang in offered:
        shell += [url_for("kiosk.form", code=code, lang=lang),
                  url_for("kiosk.thanks", code=code, lang=lang), f"{api}?lang={lang}"]
    shell += [url_for("static", filename=name) for name in SHELL_STATIC]
    response = jsonify(
        centre=centre.code,
        questionnaire=questionnaire.id,
        version=questionnaire.version,
        rating=[item.code for item in questionnaire.rating_items],
        required=[item.code for item in questionnaire.rating_items if item.required],
        demographics=[item.code for item in questionnaire.demographics],
        comment=questionnaire.comment is not None,
        comment_max=questionnaire.comment.max_length if questionnaire.comment else 0,
        submit=url_for("api.submit"),
        heartbeat=url_for("api.heartbeat"),
        thanks={lang: url_for("kiosk.thanks", code=code, lang=lang) for lang in offered},
        shell=shell,
    )
    response.headers["Cache-Control"] = "no-cache"
    return response
