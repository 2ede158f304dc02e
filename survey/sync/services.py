"""State changes of kiosk synchronisation (the request boundary commits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Centre, KioskHeartbeat, utcnow


def record_heartbeat(kiosk_id: str, centre: Centre, queued: int,
                     last_sync_at: datetime | None, *, rejected: int = 0) -> KioskHeartbeat:
    """Remember that ``kiosk_id`` is alive, where it stands and how much it holds."""
    beat = db.session.scalar(select(KioskHeartbeat).where(KioskHeartbeat.kiosk_id == kiosk_id))
    now = utcnow()
    if beat is None:
        beat = KioskHeartbeat(kiosk_id=kiosk_id, first_seen=now)
        db.session.add(beat)
    beat.centre_id = centre.id
    beat.last_seen = now
    beat.queued = queued
    beat.rejected = rejected
    # A kiosk clock ahead of the server's must not claim a sync in the future.
    if last_sync_at is not None:
        beat.last_sync_at = min(last_sync_at, now)
    db.session.flush()
    return beat
