"""Reads for the yearly export: the year's ratings as numpy arrays, frame counts.

Ratings come from :func:`survey.ratings.load_ratings` (one digit string per
response, decoded with numpy), so memory is bounded by the respondents ×
items matrix. Responses an analyst excluded are left out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditLog, Centre, FrameCount, Response
from ..ratings import load_ratings


@dataclass(frozen=True, slots=True, kw_only=True)
class YearData:
    """One questionnaire's ratings in a year; row i is respondent i everywhere."""

    questionnaire_id: str
    year: int
    items: tuple[str, ...]
    #: (n, J) ratings 1..5, NaN = no answer or item not on the respondent's version.
    ratings: NDArray[np.float32]
    #: Index into ``centre_codes``.
    centre: NDArray[np.int64]
    centre_codes: tuple[str, ...]
    centre_names: tuple[str, ...]
    #: Local calendar month 1..12 and local day (days since 1970-01-01).
    month: NDArray[np.int64]
    day: NDArray[np.int64]
    version: NDArray[np.int64]
    sex: NDArray[np.str_]
    age_group: NDArray[np.str_]
    ethnic_group: NDArray[np.str_]
    #: Responses of the year on other questionnaires (left out), by questionnaire id.
    other_questionnaires: dict[str, int]
    first: datetime | None
    last: datetime | None

    @property
    def n(self) -> int:
        return int(self.ratings.shape[0])


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar year as UTC-aware datetimes [start, end)."""
    return (datetime.combine(date(year, 1, 1), time(), tzinfo=zone),
            datetime.combine(date(year + 1, 1, 1), time(), tzinfo=zone))


def questionnaire_counts(year: int, zone: ZoneInfo) -> Counter[str]:
    start, end = year_bounds(year, zone)
    rows = db.session.execute(
        select(Response.questionnaire_id, func.count())
        .where(Response.submitted_at >= start, Response.submitted_at < end,
               Response.excluded.is_(False))
        .group_by(Response.questionnaire_id))
    return Counter({qid: int(n) for qid, n in rows})


def load_year(year: int, questionnaire_id: str, items: tuple[str, ...],
              zone: ZoneInfo) -> YearData:
    """Every counted (not excluded) response of ``questionnaire_id`` in the local ``year``."""
    start, end = year_bounds(year, zone)
    centres = db.session.execute(select(Centre.id, Centre.code, Centre.name)
                                 .order_by(Centre.code)).all()
    centre_pos = np.full(max((c.id for c in centres), default=0) + 1, -1, dtype=np.int64)
    for k, c in enumerate(centres):
        centre_pos[c.id] = k
    frame = load_ratings(questionnaire_id, start=start, end=end, items=items)
    # Vietnam has kept UTC+7 without daylight saving since 1975: one offset per year.
    offset = int(zone.utcoffset(start.replace(tzinfo=None)).total_seconds())
    day = (frame.submitted_at + offset) // 86_400
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    others = questionnaire_counts(year, zone)
    others.pop(questionnaire_id, None)
    stamp = frame.submitted_at
    return YearData(
        questionnaire_id=questionnaire_id, year=year, items=frame.items, ratings=frame.ratings,
        centre=centre_pos[frame.centre_id], centre_codes=tuple(c.code for c in centres),
        centre_names=tuple(c.name for c in centres), month=month, day=day,
        version=frame.version.astype(np.int64), sex=frame.sex.strings("unknown"),
        age_group=frame.age_group.strings("unknown"),
        ethnic_group=frame.ethnic_group.strings("unknown"),
        other_questionnaires=dict(others),
        first=datetime.fromtimestamp(int(stamp.min()), zone) if frame.n else None,
        last=datetime.fromtimestamp(int(stamp.max()), zone) if frame.n else None,
    )


def frame_counts(year: int) -> dict[tuple[str, int], int]:
    """Dossiers per (centre code, month 1..12) in ``year``."""
    rows = db.session.execute(
        select(Centre.code, FrameCount.month, FrameCount.dossiers)
        .join(Centre, Centre.id == FrameCount.centre_id)
        .where(FrameCount.month >= date(year, 1, 1), FrameCount.month < date(year + 1, 1, 1)))
    return {(code, month.month): dossiers for code, month, dossiers in rows}


def recent_exports(limit: int = 20) -> list[AuditLog]:
    return list(db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export")
        .order_by(AuditLog.at.desc()).limit(limit)))
