"""The citizen's kiosk: choose a language, rate today's service, thank you.

No login: kiosks are public. State lives in the page only (never in the
session), so the next citizen never sees the previous one's answers.
"""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from .. import registry
from ..extensions import db, limiter
from ..i18n import by_name, languages
from ..models import Centre, utcnow
from ..questionnaires import Questionnaire
from ..submissions import FieldError, SubmissionInvalid, save, validate
from .forms import KIOSK_CHANNELS, KioskForm, build_form, form_payload

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates")


def _centre(code: str) -> tuple[Centre, Questionnaire]:
    centre = db.session.scalar(select(Centre).where(Centre.code == code, Centre.active))
    if centre is None:
        abort(404)
    questionnaire = registry().get(centre.questionnaire_id, centre.questionnaire_version)
    if questionnaire is None:
        abort(500, description=f"centre {code} uses an unknown questionnaire")
    return centre, questionnaire


def _channel() -> str:
    channel = request.args.get("channel", "kiosk")
    return channel if channel in KIOSK_CHANNELS else "kiosk"


def _no_store(body: str, status: int = 200) -> WerkzeugResponse:
    """Kiosk pages must never come back from a cache with someone's answers."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(CSRFError)
def _expired(_error: CSRFError) -> WerkzeugResponse:
    """A kiosk page left open past its token (or a lost cookie): start again, in the
    citizen's language, with nothing saved."""
    flash(_("This page had expired, so nothing was saved. Please rate again."))
    args = request.view_args or {}
    if "code" in args and "lang" in args:
        return redirect(url_for(".form", code=args["code"], lang=args["lang"],
                                channel=_channel()))
    return redirect(url_for(".centres"))


@bp.get("/")
def centres() -> str:
    rows = by_name(db.session.scalars(select(Centre).where(Centre.active)))
    return render_template("kiosk/centres.html", centres=rows)


@bp.get("/<code>")
def start(code: str) -> WerkzeugResponse | str:
    centre, _questionnaire = _centre(code)
    offered = languages().kiosk()
    if len(offered) == 1:
        return redirect(url_for(".form", code=code, lang=offered[0].code, channel=_channel()))
    return render_template("kiosk/start.html", centre=centre, offered=offered,
                           channel=_channel())


def _submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


@bp.route("/<code>/<lang>", methods=["GET", "POST"])
@limiter.limit(_submit_limit, methods=["POST"])
def form(code: str, lang: str) -> WerkzeugResponse:
    centre, questionnaire = _centre(code)
    offered = {language.code for language in languages().kiosk()}
    if lang not in offered:
        return redirect(url_for(".start", code=code))
    form_class = build_form(questionnaire)
    form = form_class()
    errors: list[str] = []
    if request.method == "GET":
        form.submission_id.data = str(uuid.uuid4())
        form.started_at.data = utcnow().isoformat(timespec="seconds")
        form.channel.data = _channel()
    elif form.validate_on_submit():
        payload = form_payload(form, questionnaire, code, lang)
        try:
            if payload["channel"] not in KIOSK_CHANNELS:
                # "paper" is valid data but only the paper import may claim it.
                raise SubmissionInvalid([FieldError("channel", _("Not a valid choice."))])
            submission = validate(payload, languages=languages().codes)
        except SubmissionInvalid as exc:
            errors = _attach_to_fields(form, exc.errors)
        else:
            save(submission)
            return redirect(url_for(".thanks", code=code, lang=lang, channel=form.channel.data))
    else:
        if "csrf_token" in form.errors:
            # A kiosk page left open past the token's life: start again, nothing saved.
            flash(_("This page had expired, so nothing was saved. Please rate again."))
            return redirect(url_for(".form", code=code, lang=lang, channel=_channel()))
    status = 400 if errors or form.errors else 200
    return _no_store(render_template(
        "kiosk/form.html", centre=centre, questionnaire=questionnaire, form=form,
        errors=errors, lang=lang, idle_seconds=current_app.config["KIOSK_IDLE_SECONDS"],
    ), status)


def _attach_to_fields(form: KioskForm, errors: list[FieldError]) -> list[str]:
    """Put each error beside its question; return those that belong to no field."""
    general = []
    for error in errors:
        section, _dot, code = error.field.partition(".")
        name = f"item_{code}" if section in ("answers", "demographics") and code else section
        if name in form and name not in ("submission_id", "started_at", "channel"):
            form[name].errors = [*form[name].errors, error.message]
        else:
            general.append(error.message)
    return general


@bp.get("/<code>/<lang>/thanks")
def thanks(code: str, lang: str) -> WerkzeugResponse:
    centre, _questionnaire = _centre(code)
    return _no_store(render_template(
        "kiosk/thanks.html", centre=centre, lang=lang, channel=_channel(),
        seconds=current_app.config["KIOSK_THANKS_SECONDS"],
    ))
