"""Reads for the dashboard: ratings as numpy arrays, comments, visible centres.

Ratings leave the database in one ordered query and are pivoted with numpy
into an ``n x items`` matrix (0 = no answer): one row per respondent, the
PSU of the design. Finished days come from the :class:`DayRatings` cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app
from sqlalchemy import BigInteger, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..models import AdminUnit, Answer, Centre, DayRatings, Response, User

EPOCH = date(1970, 1, 1)


class epoch_seconds(FunctionElement[int]):  # noqa: N801 -- SQL function naming
    """Seconds since 1970-01-01 UTC of a stored UTC timestamp."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: object) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: object) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


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


def load_answers(centre_ids: Sequence[int], first_day: int, end_day: int) -> RatingRows:
    """Ratings submitted at ``centre_ids`` on local days ``first_day <= d < end_day``."""
    stmt = (
        select(Answer.response_id, Response.centre_id, epoch_seconds(Response.submitted_at),
               Answer.item_code, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.centre_id.in_(list(centre_ids)),
               Response.submitted_at >= day_start_utc(first_day),
               Response.submitted_at < day_start_utc(end_day))
        .order_by(Answer.response_id)
    )
    rows = db.session.connection().execute(stmt).all()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return RatingRows(empty, empty, empty, (), np.zeros((0, 0), dtype=np.uint8))
    rid, centre, seconds, code, value = zip(*rows, strict=True)
    rid_a = np.fromiter(rid, dtype=np.int64, count=len(rid))
    starts = np.flatnonzero(np.r_[True, rid_a[1:] != rid_a[:-1]])
    row_of = np.cumsum(np.r_[False, rid_a[1:] != rid_a[:-1]])
    items, col_of = np.unique(np.asarray(code, dtype=object).astype(str), return_inverse=True)
    vals = np.fromiter((v or 0 for v in value), dtype=np.uint8, count=len(value))
    matrix = np.zeros((starts.shape[0], items.shape[0]), dtype=np.uint8)
    matrix[row_of, col_of.reshape(-1)] = vals
    seconds_a = np.fromiter(seconds, dtype=np.int64, count=len(seconds))[starts]
    return RatingRows(
        response_id=rid_a[starts],
        centre_id=np.fromiter(centre, dtype=np.int64, count=len(centre))[starts],
        day=(seconds_a + utc_offset_seconds()) // 86400,
        items=tuple(str(i) for i in items), ratings=matrix)


def response_days(centre_id: int, first_day: int, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and local days of a centre's responses in ``[first_day, end_day)``."""
    rows = db.session.connection().execute(
        select(Response.id, epoch_seconds(Response.submitted_at))
        .where(Response.centre_id == centre_id,
               Response.submitted_at >= day_start_utc(first_day),
               Response.submitted_at < day_start_utc(end_day))).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    secs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return ids, (secs + utc_offset_seconds()) // 86400


def live_fingerprints(centre_ids: Sequence[int], first_day: int,
                      end_day: int) -> dict[int, tuple[int, int]]:
    """Per centre: (responses, highest response id) in the day range."""
    rows = db.session.execute(
        select(Response.centre_id, func.count(), func.max(Response.id))
        .where(Response.centre_id.in_(list(centre_ids)),
               Response.submitted_at >= day_start_utc(first_day),
               Response.submitted_at < day_start_utc(end_day))
        .group_by(Response.centre_id)).all()
    return {int(c): (int(n), int(m or 0)) for c, n, m in rows}


def cached_fingerprints(centre_ids: Sequence[int], first_day: int,
                        end_day: int) -> dict[int, tuple[int, int, int]]:
    """Per centre: (cached days, responses, highest response id) in the day range."""
    rows = db.session.execute(
        select(DayRatings.centre_id, func.count(), func.sum(DayRatings.n),
               func.max(DayRatings.max_response_id))
        .where(DayRatings.centre_id.in_(list(centre_ids)),
               DayRatings.day >= day_date(first_day), DayRatings.day < day_date(end_day))
        .group_by(DayRatings.centre_id)).all()
    return {int(c): (int(d), int(n or 0), int(m or 0)) for c, d, n, m in rows}


def cached_day_stats(centre_id: int, first_day: int,
                     end_day: int) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(
        select(DayRatings.day, DayRatings.n, DayRatings.max_response_id)
        .where(DayRatings.centre_id == centre_id,
               DayRatings.day >= day_date(first_day), DayRatings.day < day_date(end_day))).all()
    return {day_number(d): (int(n), int(m)) for d, n, m in rows}


def cached_ratings(centre_ids: Sequence[int], first_day: int, end_day: int,
                   items: Sequence[str]) -> RatingRows:
    """Cached finished days as one matrix whose columns are ``items`` (by code)."""
    rows = db.session.execute(
        select(DayRatings.centre_id, DayRatings.day, DayRatings.n, DayRatings.item_codes,
               DayRatings.ratings)
        .where(DayRatings.centre_id.in_(list(centre_ids)), DayRatings.n > 0,
               DayRatings.day >= day_date(first_day), DayRatings.day < day_date(end_day))
        .order_by(DayRatings.centre_id, DayRatings.day)).all()
    return _assemble(rows, items)


def _assemble(rows: Iterable[tuple[int, date, int, str, bytes]],
              items: Sequence[str]) -> RatingRows:
    position = {code: j for j, code in enumerate(items)}
    blocks, centres, days = [], [], []
    for centre_id, day, n, codes, blob in rows:
        packed = np.frombuffer(blob, dtype=np.uint8).reshape(n, -1)
        stored = codes.split(",") if codes else []
        block = np.zeros((n, len(items)), dtype=np.uint8)
        for j, code in enumerate(stored):
            if code in position:
                block[:, position[code]] = packed[:, j]
        blocks.append(block)
        centres.append(np.full(n, centre_id, dtype=np.int64))
        days.append(np.full(n, day_number(day), dtype=np.int64))
    if not blocks:
        empty = np.zeros(0, dtype=np.int64)
        return RatingRows(empty, empty, empty, tuple(items),
                          np.zeros((0, len(items)), dtype=np.uint8))
    centre_a = np.concatenate(centres)
    return RatingRows(response_id=np.full(centre_a.shape[0], -1, dtype=np.int64),
                      centre_id=centre_a, day=np.concatenate(days), items=tuple(items),
                      ratings=np.concatenate(blocks))


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


def concat(parts: Sequence[RatingRows], items: Sequence[str]) -> RatingRows:
    aligned = [align(p, items) for p in parts]
    return RatingRows(
        response_id=np.concatenate([p.response_id for p in aligned]),
        centre_id=np.concatenate([p.centre_id for p in aligned]),
        day=np.concatenate([p.day for p in aligned]), items=tuple(items),
        ratings=np.concatenate([p.ratings for p in aligned]) if aligned else
        np.zeros((0, len(items)), dtype=np.uint8))


def latest_comments(centre_id: int, limit: int = 20) -> list[tuple[datetime, str]]:
    rows = db.session.execute(
        select(Response.submitted_at, Response.comment)
        .where(Response.centre_id == centre_id, Response.comment.is_not(None),
               Response.comment != "")
        .order_by(Response.submitted_at.desc(), Response.id.desc()).limit(limit)).all()
    return [(at, text) for at, text in rows]


def visible_centres(user: User, unit_id: int | None = None) -> list[Centre]:
    """Active centres the user may see, by name (optionally of one administrative unit)."""
    stmt = select(Centre).where(Centre.active).order_by(Centre.name)
    if user.role == "manager":
        stmt = stmt.where(Centre.id.in_([c.id for c in user.centres]))
    if unit_id is not None:
        stmt = stmt.where((Centre.unit_id == unit_id) | Centre.unit_id.in_(
            select(AdminUnit.id).where(AdminUnit.parent_id == unit_id)))
    return list(db.session.scalars(stmt))


def units_with_centres() -> list[AdminUnit]:
    return list(db.session.scalars(
        select(AdminUnit).where(AdminUnit.id.in_(select(Centre.unit_id)))
        .order_by(AdminUnit.name)))


def centre_by_code(code: str) -> Centre | None:
    return db.session.scalar(select(Centre).where(Centre.code == code))


def active_centres() -> list[Centre]:
    return list(db.session.scalars(select(Centre).where(Centre.active).order_by(Centre.name)))
