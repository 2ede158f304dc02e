"""``POST /api/v1/heartbeats``: a kiosk says it is alive, how many ratings it
still holds, and how many the server refused (kept on the device)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import Centre
from ..submissions import FieldError, on_server_clock, parse_time
from ..sync.services import record_heartbeat
from .routes import JsonResponse, _error, bp

#: A kiosk beats once a minute; this leaves room for retries after an outage.
HEARTBEAT_LIMIT = "20/minute"
MAX_QUEUED = 1_000_000


def _kiosk_id(value: Any) -> str | None:
    if isinstance(value, str) and 8 <= len(value) <= 64 and all(
        c.isascii() and (c.isalnum() or c == "-") for c in value
    ):
        return value
    return None


@bp.post("/heartbeats")
@limiter.limit(HEARTBEAT_LIMIT)
def heartbeat() -> JsonResponse:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _error(_("The body must be a JSON object."), 400)
    known = {"kiosk", "centre", "queued", "rejected", "last_sync_at", "sent_at"}
    errors = [{"field": name, "message": _("Unknown field.")}
              for name in sorted(set(payload) - known)]
    kiosk_id = _kiosk_id(payload.get("kiosk"))
    if kiosk_id is None:
        errors.append({"field": "kiosk", "message": _("Must be the kiosk's id.")})
    queued = payload.get("queued")
    rejected = payload.get("rejected", 0)
    for name, count in (("queued", queued), ("rejected", rejected)):
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_QUEUED:
            errors.append({"field": name, "message": _("Must be a whole number.")})
    time_errors: list[FieldError] = []
    last_sync_at = parse_time(payload.get("last_sync_at"), "last_sync_at", time_errors)
    sent_at = parse_time(payload.get("sent_at"), "sent_at", time_errors)
    try:  # the kiosk's clock may be wrong: its last sync was (sent_at - last_sync_at) ago
        (last_sync_at,) = on_server_clock(sent_at, last_sync_at)
    except OverflowError:
        time_errors.append(FieldError("sent_at", _("The time is not plausible.")))
    errors += [error.as_dict() for error in time_errors]
    code = payload.get("centre")
    centre = (db.session.scalar(select(Centre).where(Centre.code == code, Centre.active))
              if isinstance(code, str) else None)
    if centre is None:
        errors.append({"field": "centre", "message": _("Unknown service centre.")})
    if errors or kiosk_id is None or centre is None:
        return _error(_("The heartbeat is not valid; nothing was stored."), 400, errors)
    record_heartbeat(kiosk_id, centre, queued, last_sync_at, rejected=rejected)
    db.session.commit()
    return "", 204
