"""JSON API ``/api/v1`` for other clients: offline kiosk apps, QR pages, partners."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import registry
from ..extensions import csrf, db, limiter
from ..i18n import languages
from ..models import Centre
from ..questionnaires import Questionnaire
from ..submissions import SubmissionInvalid, save, validate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Token-free JSON clients: CSRF protects cookie-authenticated forms; this API
# takes no cookies and changes nothing but an idempotent anonymous submission.
csrf.exempt(bp)

JsonResponse = tuple[Any, int]


def _error(message: str, status: int, details: list[dict[str, str]] | None = None
           ) -> JsonResponse:
    return jsonify(error=message, details=details or []), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> JsonResponse:
    if isinstance(exc, RequestEntityTooLarge):
        return _error(_("The request body is too large."), 413)
    if exc.code == 429:
        return _error(_("Too many submissions; please wait a moment and retry."), 429)
    return _error(exc.description or exc.name, exc.code or 500)


@bp.get("/centres")
def centres() -> Any:
    rows = db.session.scalars(select(Centre).where(Centre.active).order_by(Centre.code))
    return jsonify([
        {"code": c.code, "name": c.name, "questionnaire": c.questionnaire_id,
         "version": c.questionnaire_version}
        for c in rows
    ])


def questionnaire_json(q: Questionnaire) -> dict[str, Any]:
    """A questionnaire version with its texts in the request's language."""

    def node(n: Any) -> dict[str, Any]:
        return {"code": n.code, "name": _(n.name), "level": n.level, "rule": n.rule,
                "weights": dict(n.weights) if n.weights else None,
                "items": list(n.items), "children": [node(c) for c in n.children]}

    return {
        "id": q.id, "version": q.version, "title": _(q.title), "intro": _(q.intro),
        "scale": {"points": [{"value": p.value, "text": _(p.text), "icon": p.icon}
                             for p in q.scale.points],
                  "missing": _(q.scale.missing)},
        "elements": [{"code": e.code, "aspect": e.aspect, "name": _(e.name),
                      "items": [i.code for i in e.items]} for e in q.elements],
        "items": [{"code": i.code, "type": "rating", "element": i.element, "aspect": i.aspect,
                   "required": i.required, "text": _(i.text)} for i in q.items],
        "overall": ({"code": q.overall.code, "type": "rating", "required": q.overall.required,
                     "text": _(q.overall.text)} if q.overall else None),
        "demographics": [{"code": d.code, "type": "choice", "required": d.required,
                          "text": _(d.text),
                          "options": [{"code": o.code, "text": _(o.text)} for o in d.options]}
                         for d in q.demographics],
        "comment": ({"text": _(q.comment.text), "max_length": q.comment.max_length}
                    if q.comment else None),
        "index": node(q.index),
    }


@bp.get("/questionnaires/<qid>/<int:version>")
def questionnaire(qid: str, version: int) -> Any:
    found = registry().get(qid, version)
    if found is None:
        return _error(_("Unknown questionnaire version."), 404)
    return jsonify(questionnaire_json(found))


def _submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


def _centre_limit() -> str:
    return current_app.config["CENTRE_SUBMIT_RATE_LIMIT"]


def _submitted_centre() -> str:
    """Rate-limit key: the centre named in the body (one bucket for unnamed ones)."""
    try:
        payload = request.get_json(silent=True)
    except RecursionError:
        payload = None
    centre = payload.get("centre") if isinstance(payload, dict) else None
    return f"centre:{centre}" if isinstance(centre, str) and len(centre) <= 32 else "centre:?"


@bp.post("/responses")
@limiter.limit(_submit_limit)
@limiter.limit(_centre_limit, key_func=_submitted_centre)
def submit() -> JsonResponse:
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # absurdly nested JSON: not a submission
        payload = None
    if not isinstance(payload, dict):
        return _error(_("The body must be a JSON object."), 400)
    wanted = payload.get("language")
    if "lang" not in request.args and isinstance(wanted, str) and wanted in languages().codes:
        g.language = payload["language"]  # answer in the citizen's language
    try:
        submission = validate(payload, languages=languages().codes)
    except SubmissionInvalid as exc:
        return _error(_("The submission is not valid; nothing was stored."), 400,
                      [e.as_dict() for e in exc.errors])
    response, created = save(submission)
    return jsonify(id=response.id, submission_id=str(response.submission_id)), (
        201 if created else 200
    )


from . import heartbeats, openapi  # noqa: E402, F401 -- more routes of this blueprint
