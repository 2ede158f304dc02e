"""Frame counts: dossiers (hồ sơ) each centre completed per month.

File columns (CSV or XLSX, header row first, names case-insensitive):
``centre`` (centre code), ``month`` (``YYYY-MM``, or a date on the 1st in
XLSX) and ``dossiers`` (a whole number >= 0). Vietnamese names
``ma_don_vi``, ``thang``, ``so_ho_so`` are accepted too.

Re-importing a month replaces that month: every stored count of a month in
the file is replaced by the file's rows, counts of centres absent from the
file for that month are removed, and the audit log keeps each old and new
value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import AuditLog, Centre, FrameCount
from . import ImportRejected, RowError, cell, column_map, read_upload

COLUMNS = {
    "centre": ("centre", "centre_code", "center", "ma_don_vi"),
    "month": ("month", "thang"),
    "dossiers": ("dossiers", "so_ho_so", "ho_so"),
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class FrameImportResult:
    rows: int
    months: tuple[str, ...]
    inserted: int
    replaced: int
    removed: int


def parse_month(value: object) -> date | None:
    """First day of the month in ``value`` (``YYYY-MM`` text or a date on the 1st)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value if value.day == 1 else None
    if not isinstance(value, str):
        return None
    match = _MONTH.match(value)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        return None
    return date(year, month, 1)


def _dossiers(value: object) -> int | str:
    """The count, or the reason it is not one."""
    if isinstance(value, bool) or value is None:
        return _("A number of dossiers is required.")
    if isinstance(value, float):
        if not value.is_integer():
            return _("The number of dossiers must be a whole number.")
        value = int(value)
    if isinstance(value, str):
        text = value.replace(" ", "")
        if not re.fullmatch(r"-?\d+", text):
            return _("The number of dossiers must be a whole number.")
        value = int(text)
    if not isinstance(value, int):
        return _("The number of dossiers must be a whole number.")
    if value < 0:
        return _("The number of dossiers cannot be negative.")
    return value


def import_frame_counts(filename: str, data: bytes, *, actor: str) -> FrameImportResult:
    """Validate every row, then replace the file's months; raise :class:`ImportRejected`."""
    header, rows = read_upload(filename, data)
    positions = column_map(header, COLUMNS)
    missing = [name for name in COLUMNS if name not in positions]
    if missing:
        raise ImportRejected([RowError(1, name, _("Missing column.")) for name in missing])
    if not rows:
        raise ImportRejected([RowError(2, "", _("The file has no data rows."))])

    centres: dict[str, int] = {code: id_ for code, id_ in db.session.execute(
        select(Centre.code, Centre.id))}
    errors: list[RowError] = []
    seen: dict[tuple[str, date], int] = {}
    parsed: list[tuple[int, date, int]] = []
    for line, row in rows:
        code = cell(row, positions["centre"])
        code = str(code) if code is not None else None
        month = parse_month(cell(row, positions["month"]))
        count = _dossiers(cell(row, positions["dossiers"]))
        ok = True
        if code is None:
            errors.append(RowError(line, "centre", _("A centre code is required.")))
            ok = False
        elif code not in centres:
            errors.append(RowError(line, "centre", _("Unknown centre %(code)s.", code=code)))
            ok = False
        if month is None:
            errors.append(RowError(line, "month", _("The month must be written YYYY-MM.")))
            ok = False
        if isinstance(count, str):
            errors.append(RowError(line, "dossiers", count))
            ok = False
        if code is not None and month is not None:
            first = seen.setdefault((code, month), line)
            if first != line:
                errors.append(RowError(line, "", _(
                    "Centre %(code)s, month %(month)s is already on line %(first)d.",
                    code=code, month=month.strftime("%Y-%m"), first=first)))
                ok = False
        if ok and code is not None and month is not None and isinstance(count, int):
            parsed.append((centres[code], month, count))
    if errors:
        raise ImportRejected(errors)

    months = sorted({m for _c, m, _n in parsed})
    stored = {(f.centre_id, f.month): f for f in db.session.scalars(
        select(FrameCount).where(FrameCount.month.in_(months)))}
    code_of = {v: k for k, v in centres.items()}
    changes: list[dict[str, object]] = []
    inserted = replaced = 0
    new_keys = set()
    for centre_id, month, count in parsed:
        new_keys.add((centre_id, month))
        row_ = stored.get((centre_id, month))
        if row_ is None:
            db.session.add(FrameCount(centre_id=centre_id, month=month, dossiers=count))
            inserted += 1
        elif row_.dossiers != count:
            changes.append({"centre": code_of[centre_id], "month": month.strftime("%Y-%m"),
                            "old": row_.dossiers, "new": count})
            row_.dossiers = count
            replaced += 1
    removed = 0
    for key, row_ in stored.items():
        if key not in new_keys:
            changes.append({"centre": code_of[row_.centre_id],
                            "month": row_.month.strftime("%Y-%m"), "old": row_.dossiers,
                            "new": None})
            db.session.delete(row_)
            removed += 1
    db.session.add(AuditLog(actor=actor, action="frame.import", details={
        "file": filename, "rows": len(parsed), "months": [m.strftime("%Y-%m") for m in months],
        "inserted": inserted, "replaced": replaced, "removed": removed, "changes": changes,
    }))
    db.session.flush()
    return FrameImportResult(rows=len(parsed), months=tuple(m.strftime("%Y-%m") for m in months),
                             inserted=inserted, replaced=replaced, removed=removed)
