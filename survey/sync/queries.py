"""Reads for staff pages: which kiosks of a centre are alive and what they hold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import KioskHeartbeat, utcnow

#: A kiosk silent for longer than this is shown as offline (it beats every minute).
SILENT_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class KioskStatus:
    kiosk_id: str
    centre_id: int
    last_seen: datetime
    last_sync_at: datetime | None
    queued: int
    rejected: int
    online: bool

    @property
    def short_id(self) -> str:
        return self.kiosk_id[:8]


def kiosk_status(centre_ids: Iterable[int], *, now: datetime | None = None
                 ) -> list[KioskStatus]:
    """Every kiosk that reported for these centres, most recently seen first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(KioskHeartbeat)
        .where(KioskHeartbeat.centre_id.in_(list(centre_ids)))
        .order_by(KioskHeartbeat.last_seen.desc())
    )
    return [
        KioskStatus(kiosk_id=row.kiosk_id, centre_id=row.centre_id, last_seen=row.last_seen,
                    last_sync_at=row.last_sync_at, queued=row.queued,
                    rejected=row.rejected,
                    online=now - row.last_seen <= SILENT_AFTER)
        for row in rows
    ]
