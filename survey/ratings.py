"""Fast bulk read of stored ratings into numpy arrays (exports, dashboards).

Answers are stored long (one ``answer`` row per response × item), which is
slow to read into Python row by row (17 rows per rating). Here the database
builds one short digit string per response instead — the values of its
answers in item-code order, ``0`` for no answer — by a correlated subquery on
the answer primary key (``response_id``, ``item_code``):

* SQLite: ``group_concat(COALESCE(value, 0), '')`` over the primary-key index
  searched with ``response_id = ?``; the index delivers the rows in
  ``item_code`` order and the aggregate sees them in that order (checked with
  ``EXPLAIN QUERY PLAN`` before each read: no temporary B-tree may reorder
  them). SQLite 3.44+ is told the order explicitly (``ORDER BY`` inside the
  aggregate).
* PostgreSQL: ``string_agg(COALESCE(value, 0)::text, '' ORDER BY item_code
  COLLATE "C")``.

Item codes are ordered bytewise (``COLLATE "C"``, SQLite's ``BINARY``),
which is Python's ``sorted`` order for ``str``. The strings of a batch are
joined and decoded at once with :func:`numpy.frombuffer`. A string decodes
by position only when its length equals the number of rating items of the
response's questionnaire version (every stored answer is an item of that
version: :mod:`survey.submissions` and the paper import validate it); any
other response (some answer rows missing) is read row by row, by item code.

Memory is bounded by the result arrays (ratings as ``float32``: 68 MB for
1,000,000 ratings × 17 items) plus one batch of rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, Integer, String, cast, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from . import registry
from .extensions import db
from .models import Answer, Response

#: Rows fetched from the database per batch.
BATCH = 50_000
#: Responses per ``IN (...)`` list when reading incomplete responses row by row.
ROW_BY_ROW_BATCH = 500
_ZERO = ord("0")


class epoch_seconds(FunctionElement[int]):  # noqa: N801 -- SQL function naming
    """Whole seconds since 1970-01-01 UTC of a stored UTC timestamp (floored, so a
    rating keeps the second, and the local day, it was submitted in)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class _digits(FunctionElement[str]):  # noqa: N801 -- SQL function naming
    """One response's answer values as digits in item-code order (0 = no answer)."""

    type = String()
    inherit_cache = True


def _sqlite_ordered_aggregate() -> bool:
    return sqlite3.sqlite_version_info >= (3, 44, 0)


@compiles(_digits, "sqlite")
def _digits_sqlite(element: _digits, compiler: SQLCompiler, **kw: Any) -> str:
    order = " ORDER BY item_code" if _sqlite_ordered_aggregate() else ""
    return (f"(SELECT group_concat(COALESCE(value, 0), ''{order}) FROM answer"  # noqa: S608
            f" WHERE answer.response_id = {compiler.process(element.clauses, **kw)})")


@compiles(_digits, "postgresql")
def _digits_postgresql(element: _digits, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return ("(SELECT string_agg(COALESCE(value, 0)::text, '' ORDER BY item_code"  # noqa: S608
            f' COLLATE "C") FROM answer WHERE answer.response_id = {column})')


@dataclass(frozen=True, slots=True)
class Labels:
    """A text column as codes into ``levels`` (``None`` = no value)."""

    codes: NDArray[np.int16]
    levels: tuple[str | None, ...]

    def strings(self, missing: str = "") -> NDArray[np.str_]:
        """The values as strings, ``missing`` for ``None``."""
        names = np.array([missing if v is None else v for v in self.levels] or [missing])
        return names[self.codes]


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingFrame:
    """Responses and their ratings; row ``i`` is one response in every array.

    Rows are in ``response_id`` order.
    """

    response_id: NDArray[np.int64]
    centre_id: NDArray[np.int32]
    questionnaire_id: Labels
    version: NDArray[np.int32]
    #: Whole seconds since 1970-01-01 UTC.
    submitted_at: NDArray[np.int64]
    sex: Labels
    age_group: Labels
    ethnic_group: Labels
    channel: Labels
    integrity_flag: Labels
    excluded: NDArray[np.bool_]
    #: Column codes of ``ratings``.
    items: tuple[str, ...]
    #: (n, len(items)) 1..5; NaN = no answer, or the item is not on the response's version.
    ratings: NDArray[np.float32]

    @property
    def n(self) -> int:
        return int(self.response_id.shape[0])


def _layout(qid: str, version: int) -> tuple[str, ...]:
    """Rating item codes of a questionnaire version; LookupError if it is unknown."""
    q = registry().get(qid, version)
    if q is None:
        raise LookupError(f"questionnaire {qid!r} version {version} is not under forms/")
    return tuple(i.code for i in q.rating_items)


def _default_items(pairs: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """Every version's codes: latest versions first, each in questionnaire order."""
    items: list[str] = []
    for qid, version in sorted(pairs, key=lambda k: (k[0], -k[1])):
        items.extend(code for code in _layout(qid, version) if code not in items)
    return tuple(items)


def _where(questionnaire: str | None, centre_ids: Sequence[int] | None,
           start: datetime | None, end: datetime | None, excluded: bool) -> list[Any]:
    where: list[Any] = []
    if questionnaire is not None:
        where.append(Response.questionnaire_id == questionnaire)
    if centre_ids is not None:
        where.append(Response.centre_id.in_(list(centre_ids)))
    if start is not None:
        where.append(Response.submitted_at >= start)
    if end is not None:
        where.append(Response.submitted_at < end)
    if not excluded:
        where.append(Response.excluded.is_(False))
    return where


def _check_sqlite_order() -> None:
    """Refuse to decode by position if SQLite would feed the aggregate out of key order.

    The per-response subquery is correlated and does not depend on the outer
    query, so its plan is checked on its own.
    """
    dialect = db.session.get_bind().dialect
    if dialect.name != "sqlite" or _sqlite_ordered_aggregate():
        return
    sql = str(select(_digits(Response.id)).compile(dialect=dialect))
    plan = [row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    answer = [step for step in plan if "answer" in step]
    if (any("TEMP B-TREE" in step for step in plan) or len(answer) != 1
            or "INDEX sqlite_autoindex_answer_1 (response_id=?)" not in answer[0]):
        raise RuntimeError(f"SQLite would not read answers in key order: {plan}")


class _Layouts:
    """Per (questionnaire, version): the response's sorted item codes as frame columns."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.column_of = {code: j for j, code in enumerate(columns)}
        self.cols: list[NDArray[np.intp]] = []
        self.index: dict[tuple[str, int], int] = {}

    def of(self, qid: str, version: int) -> int:
        key = (qid, version)
        if key not in self.index:
            self.index[key] = len(self.cols)
            self.cols.append(np.array([self.column_of.get(c, -1)
                                       for c in sorted(_layout(qid, version))], dtype=np.intp))
        return self.index[key]


#: Text columns read as one key per response (few distinct combinations).
_KEY_COLUMNS = ("questionnaire_id", "version", "sex", "age_group", "ethnic_group", "channel",
                "integrity_flag", "excluded")
_SEPARATOR = "\x1f"
_NULL = "\x1e"


def _key() -> Any:
    """The response's ``_KEY_COLUMNS`` joined by ``_SEPARATOR`` (``_NULL`` for no value)."""
    parts: list[Any] = [
        Response.questionnaire_id, cast(Response.questionnaire_version, String),
        *(func.coalesce(column, _NULL) for column in (
            Response.sex, Response.age_group, Response.ethnic_group, Response.channel,
            Response.integrity_flag)),
        cast(cast(Response.excluded, Integer), String)]
    key = parts[0]
    for part in parts[1:]:
        key = key.concat(_SEPARATOR).concat(part)
    return key


def load_ratings(questionnaire: str | None = None, *, centre_ids: Sequence[int] | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 items: Sequence[str] | None = None, excluded: bool = False) -> RatingFrame:
    """Responses submitted in [``start``, ``end``) with their ratings, in id order.

    ``questionnaire`` and ``centre_ids`` restrict the responses; responses an
    analyst excluded are left out unless ``excluded`` is true. ``items`` gives
    the rating columns (default: every item of the questionnaire versions
    found, latest version's order first); answers to other items are dropped.
    Raises LookupError when a version found is not under ``forms/``.
    """
    where = _where(questionnaire, centre_ids, start, end, excluded)
    connection = db.session.connection()
    if items is None:
        pairs = connection.execute(
            select(Response.questionnaire_id, Response.questionnaire_version).where(*where)
            .group_by(Response.questionnaire_id, Response.questionnaire_version)).all()
        items = _default_items((q, int(v)) for q, v in pairs)
    columns = tuple(items)
    layouts = _Layouts(columns)
    _check_sqlite_order()
    keys: dict[str, int] = {}
    parts: dict[str, list[NDArray[Any]]] = {
        name: [] for name in ("rid", "centre", "stamp", "key", "ratings", "incomplete")}
    key_layout: list[int] = []
    stmt = (select(Response.id, Response.centre_id, epoch_seconds(Response.submitted_at), _key(),
                   _digits(Response.id))
            .where(*where).order_by(Response.id))
    k = 0
    result = connection.execute(stmt, execution_options={"yield_per": BATCH})
    for part in result.partitions():
        m = len(part)
        ids, cids, stamps, row_keys, digits = zip(*part, strict=True)
        parts["rid"].append(np.array(ids, dtype=np.int64))
        parts["centre"].append(np.array(cids, dtype=np.int32))
        parts["stamp"].append(np.array(stamps, dtype=np.int64))
        code = np.fromiter((keys.setdefault(key, len(keys)) for key in row_keys),
                           dtype=np.int32, count=m)
        for key in list(keys)[len(key_layout):]:
            qid, version = key.split(_SEPARATOR, 2)[:2]
            key_layout.append(layouts.of(qid, int(version)))
        parts["key"].append(code)
        block = np.full((m, len(columns)), np.nan, dtype=np.float32)
        layout = np.array(key_layout, dtype=np.intp)[code]
        parts["incomplete"].append(_decode(digits, layout, layouts.cols, block) + k)
        parts["ratings"].append(block)
        k += m
    result.close()
    rid = _joined(parts["rid"], np.int64)
    ratings = (np.concatenate(parts.pop("ratings")) if k
               else np.empty((0, len(columns)), dtype=np.float32))
    _read_row_by_row(rid, _joined(parts["incomplete"], np.int64), layouts.column_of, ratings)
    code = _joined(parts["key"], np.int32)
    table = [[None if v == _NULL else v for v in key.split(_SEPARATOR)] for key in keys]
    fields = dict(zip(_KEY_COLUMNS, zip(*table, strict=True), strict=True)) if table else {
        name: () for name in _KEY_COLUMNS}
    return RatingFrame(
        response_id=rid, centre_id=_joined(parts["centre"], np.int32),
        version=np.array([int(v) for v in fields.pop("version")], dtype=np.int32)[code],
        excluded=np.array([v in ("1", "true") for v in fields.pop("excluded")],
                          dtype=np.bool_)[code],
        submitted_at=_joined(parts["stamp"], np.int64), items=columns, ratings=ratings,
        **{name: _labels(values, code) for name, values in fields.items()})


def _labels(values: Sequence[str | None], code: NDArray[np.int32]) -> Labels:
    """Per-key values → the column's distinct levels and each row's level."""
    levels = tuple(dict.fromkeys(values))
    position = {v: j for j, v in enumerate(levels)}
    per_key = np.array([position[v] for v in values], dtype=np.int16)
    return Labels(codes=per_key[code], levels=levels)


def _joined(arrays: list[NDArray[Any]], dtype: type) -> NDArray[Any]:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


def _decode(digits: Sequence[str | None], layout: NDArray[np.intp],
            layout_cols: list[NDArray[np.intp]], out: NDArray[np.float32]) -> NDArray[np.int64]:
    """Fill ``out`` from the digit strings; return the rows that need reading by item code."""
    strings = [s or "" for s in digits]
    length = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    offset = np.concatenate(([0], np.cumsum(length)[:-1]))
    buffer = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8)
    width = np.array([cols.shape[0] for cols in layout_cols], dtype=np.int64)
    complete = length == width[layout] if layout_cols else np.zeros(len(strings), bool)
    for k, cols in enumerate(layout_cols):
        rows = np.flatnonzero(complete & (layout == k))
        if not rows.size or not cols.size:
            continue
        values = buffer[offset[rows, None] + np.arange(cols.shape[0])].astype(np.float32)
        values -= _ZERO
        values[values == 0] = np.nan
        keep = cols >= 0
        out[rows[:, None], cols[keep][None, :]] = values[:, keep]
    return np.flatnonzero(~complete & (length > 0)).astype(np.int64)


def _read_row_by_row(rid: NDArray[np.int64], rows: NDArray[np.int64],
                     column_of: dict[str, int], out: NDArray[np.float32]) -> None:
    """Ratings of the responses at ``rows`` by item code (responses missing answer rows)."""
    for lo in range(0, rows.shape[0], ROW_BY_ROW_BATCH):
        chunk = rows[lo:lo + ROW_BY_ROW_BATCH]
        found = db.session.execute(
            select(Answer.response_id, Answer.item_code, Answer.value)
            .where(Answer.response_id.in_([int(r) for r in rid[chunk]])))
        for response_id, code, value in found:
            j = column_of.get(code)
            if j is not None:
                out[np.searchsorted(rid, response_id), j] = np.nan if value is None else value
