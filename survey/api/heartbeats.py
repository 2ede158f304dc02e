"""``POST /api/v1/heartbeats``: a kiosk says it is alive and how many ratings it holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import Centre
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


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    except (ValueError, OverflowError):  # OverflowError: before year 1 once in UTC
        return None


@bp.post("/heartbeats")
@limiter.limit(HEARTBEAT_LIMIT)
def heartbeat() -> JsonResponse:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _error(_("The body must be a JSON object."), 400)
    errors = [{"field": name, "message": _("Unknown field.")}
              for name in sorted(set(payload) - {"kiosk", "centre", "queued", "last_sync_at"})]
    kiosk_id = _kiosk_id(payload.get("kiosk"))
    if kiosk_id is None:
        errors.append({"field": "kiosk", "message": _("Must be the kiosk's id.")})
    queued = payload.get("queued")
    if not isinstance(queued, int) or isinstance(queued, bool) or not 0 <= queued <= MAX_QUEUED:
        errors.append({"field": "queued", "message": _("Must be a whole number.")})
    last_sync = payload.get("last_sync_at")
    last_sync_at = _time(last_sync)
    if last_sync is not None and last_sync_at is None:
        errors.append({"field": "last_sync_at",
                       "message": _("Must be an ISO 8601 date and time.")})
    code = payload.get("centre")
    centre = (db.session.scalar(select(Centre).where(Centre.code == code, Centre.active))
              if isinstance(code, str) else None)
    if centre is None:
        errors.append({"field": "centre", "message": _("Unknown service centre.")})
    if errors or kiosk_id is None or centre is None:
        return _error(_("The heartbeat is not valid; nothing was stored."), 400, errors)
    record_heartbeat(kiosk_id, centre, queued, last_sync_at)
    db.session.commit()
    return "", 204
