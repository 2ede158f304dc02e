"""Reads for the dashboard: ratings as numpy arrays, cached day counts, comments,
visible centres.

Ratings come from :func:`survey.ratings.load_ratings` (one digit string per
response, decoded with numpy) as an ``n x items`` matrix (0 = no answer): one
row per respondent, the PSU of the design. Finished days come from the :class:`DayMoments` cache as
counts (moments), never as ratings. Responses an analyst excluded
(``Response.excluded``) are left out of every read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app
from sqlalchemy import Select, func, select

from ..extensions import db
from ..i18n import by_name
from ..models import AdminUnit, Centre, DayMoments, Response, User
from ..ratings import epoch_seconds, load_ratings

EPOCH = date(1970, 1, 1)


def utc_offset_seconds() -> int:
    """Offset of the local (Babel default) time zone; Vietnam keeps no summer time."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    offset = datetime.now(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def local_today() -> int:
    """Today's local date as a day number (days since 1970-01-01)."""
    return (int(datetime.now(UTC).timestamp()) + utc_offset_seconds()) // 86400


def day_date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def day_number(value: date) -> int:
    return (value - EPOCH).days


def day_start_utc(day: int) -> datetime:
    """The UTC instant at which local day ``day`` starts."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        days=int(day), seconds=-utc_offset_seconds())


@dataclass(frozen=True, slots=True)
class RatingRows:
    """Respondents with their centre, local day and ratings (0 = no answer)."""

    response_id: np.ndarray
    centre_id: np.ndarray
    day: np.ndarray
    items: tuple[str, ...]
    ratings: np.ndarray  # (n, len(items)) uint8

    @property
    def n(self) -> int:
        return int(self.response_id.shape[0])


def _counted(stmt: Select[Any], centre_ids: Sequence[int], first_day: int,
             end_day: int) -> Select[Any]:
    """``stmt`` limited to the counted (not excluded) responses of the centres and days."""
    return stmt.where(Response.centre_id.in_(list(centre_ids)),
                      Response.excluded.is_(False),
                      Response.submitted_at >= day_start_utc(first_day),
                      Response.submitted_at < day_start_utc(end_day))


def load_answers(centre_ids: Sequence[int], first_day: int, end_day: int,
                 items: Sequence[str] | None = None) -> RatingRows:
    """Counted responses at ``centre_ids`` on local days ``first_day <= d < end_day``
    with their ratings of ``items`` (default: every item of their questionnaire
    versions); a response without answers is a row of zeros."""
    frame = load_ratings(centre_ids=centre_ids, start=day_start_utc(first_day),
                         end=day_start_utc(end_day), items=items)
    return RatingRows(
        response_id=frame.response_id, centre_id=frame.centre_id.astype(np.int64),
        day=(frame.submitted_at + utc_offset_seconds()) // 86400, items=frame.items,
        ratings=np.nan_to_num(frame.ratings, nan=0.0).astype(np.uint8))


def response_days(centre_id: int, first_day: int, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and local days of a centre's counted responses in ``[first_day, end_day)``."""
    rows = db.session.connection().execute(_counted(
        select(Response.id, epoch_seconds(Response.submitted_at)),
        [centre_id], first_day, end_day)).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    secs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return ids, (secs + utc_offset_seconds()) // 86400


def change_signal() -> tuple[int, int, int]:
    """(highest response id, excluded responses, sum of their ids): cheap (the
    primary key and a small partial index), and changed by every new rating
    and every exclusion decision."""
    top = db.session.scalar(select(func.max(Response.id))) or 0
    count, total = db.session.execute(
        select(func.count(), func.sum(Response.id))
        .where(Response.excluded == True)).one()  # noqa: E712 -- the partial index's predicate
    return int(top), int(count), int(total or 0)


def centres_rated_late(after_id: int, today: int) -> set[int]:
    """Centres with a response numbered above ``after_id`` submitted before today."""
    return set(db.session.scalars(
        select(Response.centre_id).distinct()
        .where(Response.id > after_id, Response.submitted_at < day_start_utc(today))))


Fingerprint = tuple[int, int, int]


def live_fingerprints(centre_ids: Sequence[int], first_day: int,
                      end_day: int) -> dict[int, Fingerprint]:
    """Per centre: (counted responses, highest id, sum of ids) in the day range.

    A late rating raises the count and the highest id; excluding or
    re-including a rating changes the count and the sum of ids.
    """
    rows = db.session.execute(_counted(
        select(Response.centre_id, func.count(), func.max(Response.id), func.sum(Response.id)),
        centre_ids, first_day, end_day).group_by(Response.centre_id)).all()
    return {int(c): (int(n), int(m or 0), int(s or 0)) for c, n, m, s in rows}


def cached_fingerprints(centre_ids: Sequence[int], first_day: int, end_day: int,
                        layouts: dict[int, str] | None = None
                        ) -> dict[int, tuple[int, Fingerprint]]:
    """Per centre: (cached days, fingerprint of their responses) in the day range;
    with ``layouts``, only days cached in the centre's layout count."""
    stmt = (select(DayMoments.centre_id, DayMoments.layout, func.count(), func.sum(DayMoments.n),
                   func.max(DayMoments.max_response_id), func.sum(DayMoments.id_sum))
            .where(DayMoments.centre_id.in_(list(centre_ids)),
                   DayMoments.day >= day_date(first_day), DayMoments.day < day_date(end_day))
            .group_by(DayMoments.centre_id, DayMoments.layout))
    out: dict[int, tuple[int, Fingerprint]] = {}
    for c, layout, days, n, m, s in db.session.execute(stmt).all():
        if layouts is not None and layouts.get(int(c)) != layout:
            continue
        prev_days, (prev_n, prev_m, prev_s) = out.get(int(c), (0, (0, 0, 0)))
        out[int(c)] = (prev_days + int(days), (prev_n + int(n or 0), max(prev_m, int(m or 0)),
                                               prev_s + int(s or 0)))
    return out


def cached_day_stats(centre_id: int, first_day: int,
                     end_day: int) -> dict[int, tuple[str, Fingerprint]]:
    rows = db.session.execute(
        select(DayMoments.day, DayMoments.layout, DayMoments.n, DayMoments.max_response_id,
               DayMoments.id_sum)
        .where(DayMoments.centre_id == centre_id,
               DayMoments.day >= day_date(first_day), DayMoments.day < day_date(end_day))).all()
    return {day_number(d): (layout, (int(n), int(m), int(s))) for d, layout, n, m, s in rows}


def cached_counts(centre_id: int, first_day: int, end_day: int,
                  width: int) -> np.ndarray:
    """The cached counts of a centre's days as a dense ``(days, width)`` array
    (days without ratings are zeros)."""
    rows = db.session.connection().execute(
        select(DayMoments.day, DayMoments.counts)
        .where(DayMoments.centre_id == centre_id, DayMoments.n > 0,
               DayMoments.day >= day_date(first_day), DayMoments.day < day_date(end_day))
    ).all()
    out = np.zeros((end_day - first_day, width), dtype=np.int64)
    if rows:
        offsets = np.fromiter((day_number(d) - first_day for d, _ in rows), dtype=np.int64,
                              count=len(rows))
        out[offsets] = np.frombuffer(b"".join(blob for _, blob in rows),
                                     dtype=COUNT_DTYPE).reshape(len(rows), width)
    return out


#: Storage type of the cached counts (a day's counts stay far below 2**31).
COUNT_DTYPE = np.dtype("<i4")


def align(rows: RatingRows, items: Sequence[str]) -> RatingRows:
    """``rows`` with its columns rearranged to ``items`` (absent items: no answer)."""
    if rows.items == tuple(items):
        return rows
    matrix = np.zeros((rows.n, len(items)), dtype=np.uint8)
    position = {code: j for j, code in enumerate(rows.items)}
    for j, code in enumerate(items):
        if code in position:
            matrix[:, j] = rows.ratings[:, position[code]]
    return RatingRows(rows.response_id, rows.centre_id, rows.day, tuple(items), matrix)


def latest_comments(centre_id: int, limit: int = 20) -> list[tuple[datetime, str]]:
    rows = db.session.execute(
        select(Response.submitted_at, Response.comment)
        .where(Response.centre_id == centre_id, Response.comment.is_not(None),
               Response.comment != "")
        .order_by(Response.submitted_at.desc(), Response.id.desc()).limit(limit)).all()
    return [(at, text) for at, text in rows]


def visible_centres(user: User, unit_id: int | None = None) -> list[Centre]:
    """Active centres the user may see, by name (optionally of one administrative unit)."""
    stmt = select(Centre).where(Centre.active)
    if user.role == "manager":
        stmt = stmt.where(Centre.id.in_([c.id for c in user.centres]))
    if unit_id is not None:
        stmt = stmt.where((Centre.unit_id == unit_id) | Centre.unit_id.in_(
            select(AdminUnit.id).where(AdminUnit.parent_id == unit_id)))
    return by_name(db.session.scalars(stmt))


def units_with_centres() -> list[AdminUnit]:
    return by_name(db.session.scalars(
        select(AdminUnit).where(AdminUnit.id.in_(select(Centre.unit_id)))))


def centre_by_code(code: str) -> Centre | None:
    return db.session.scalar(select(Centre).where(Centre.code == code))


def active_centres() -> list[Centre]:
    return by_name(db.session.scalars(select(Centre).where(Centre.active)))
