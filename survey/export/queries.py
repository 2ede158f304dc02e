"""Reads for the yearly export: the year's ratings as numpy arrays, frame counts.

Answers are loaded with one ordered query, streamed in partitions and
pivoted into a respondents × items matrix with numpy (no per-respondent
objects are kept), so memory is bounded by the matrix itself.
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
from ..models import Answer, AuditLog, Centre, FrameCount, Response

PARTITION = 200_000


@dataclass(frozen=True, slots=True, kw_only=True)
class YearData:
    """One questionnaire's ratings in a year; row i is respondent i everywhere."""

    questionnaire_id: str
    year: int
    items: tuple[str, ...]
    #: (n, J) ratings 1..5, NaN = no answer or item not on the respondent's version.
    ratings: NDArray[np.float64]
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
        .where(Response.submitted_at >= start, Response.submitted_at < end)
        .group_by(Response.questionnaire_id))
    return Counter({qid: int(n) for qid, n in rows})


def load_year(year: int, questionnaire_id: str, items: tuple[str, ...],
              zone: ZoneInfo) -> YearData:
    """Every response of ``questionnaire_id`` submitted in the local ``year``."""
    start, end = year_bounds(year, zone)
    where = (Response.questionnaire_id == questionnaire_id, Response.submitted_at >= start,
             Response.submitted_at < end)
    centres = db.session.execute(select(Centre.id, Centre.code, Centre.name)
                                 .order_by(Centre.code)).all()
    centre_pos = np.full(max((c.id for c in centres), default=0) + 1, -1, dtype=np.int64)
    for k, c in enumerate(centres):
        centre_pos[c.id] = k

    n = db.session.scalar(select(func.count()).select_from(Response).where(*where)) or 0
    rid = np.empty(n, dtype=np.int64)
    centre = np.empty(n, dtype=np.int64)
    version = np.empty(n, dtype=np.int64)
    stamp = np.empty(n, dtype=np.float64)
    sex = np.empty(n, dtype=object)
    age = np.empty(n, dtype=object)
    ethnic = np.empty(n, dtype=object)
    stmt = (select(Response.id, Response.centre_id, Response.questionnaire_version,
                   Response.submitted_at, Response.sex, Response.age_group,
                   Response.ethnic_group)
            .where(*where).order_by(Response.id)
            .execution_options(yield_per=PARTITION))
    k = 0
    for part in db.session.execute(stmt).partitions():
        m = len(part)
        ids, cids, vers, times, sexes, ages, ethnics = zip(*part, strict=True)
        sl = slice(k, k + m)
        rid[sl] = ids
        centre[sl] = centre_pos[np.fromiter(cids, np.int64, m)]
        version[sl] = vers
        stamp[sl] = [t.timestamp() for t in times]
        sex[sl], age[sl], ethnic[sl] = sexes, ages, ethnics
        k += m
    rid, centre, version, stamp = rid[:k], centre[:k], version[:k], stamp[:k]

    ratings = np.full((k, len(items)), np.nan)
    col = {code: j for j, code in enumerate(items)}
    # One range query on the answer primary key (no join: a join costs a lookup per
    # answer); answers of responses in the range but outside the selection are dropped
    # by matching ids, so the result does not depend on the order rows arrive in.
    low, high = (int(rid[0]), int(rid[-1])) if k else (0, -1)
    astmt = (select(Answer.response_id, Answer.item_code, Answer.value)
             .where(Answer.response_id.between(low, high))
             .execution_options(yield_per=PARTITION))
    for part in db.session.execute(astmt).partitions():
        m = len(part)
        ids, codes, values = zip(*part, strict=True)
        aid = np.fromiter(ids, np.int64, m)
        rows = np.minimum(np.searchsorted(rid, aid), k - 1)
        cols = np.fromiter((col.get(c, -1) for c in codes), np.int64, m)
        vals = np.array(values, dtype=np.float64)
        keep = (cols >= 0) & (rid[rows] == aid)
        ratings[rows[keep], cols[keep]] = vals[keep]

    # Vietnam has kept UTC+7 without daylight saving since 1975: one offset per year.
    offset = zone.utcoffset(start.replace(tzinfo=None)).total_seconds()
    local = np.floor(stamp + offset).astype(np.int64)
    day = local // 86_400
    month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    others = questionnaire_counts(year, zone)
    others.pop(questionnaire_id, None)
    return YearData(
        questionnaire_id=questionnaire_id, year=year, items=items, ratings=ratings,
        centre=centre, centre_codes=tuple(c.code for c in centres),
        centre_names=tuple(c.name for c in centres), month=month, day=day, version=version,
        sex=_labels(sex[:k]), age_group=_labels(age[:k]), ethnic_group=_labels(ethnic[:k]),
        other_questionnaires=dict(others),
        first=datetime.fromtimestamp(stamp.min(), zone) if k else None,
        last=datetime.fromtimestamp(stamp.max(), zone) if k else None,
    )


def _labels(values: NDArray[np.object_]) -> NDArray[np.str_]:
    """Demographic codes as strings; no answer becomes ``unknown``."""
    out = values.copy()
    out[np.equal(out, None)] = "unknown"
    return out.astype(str)


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
