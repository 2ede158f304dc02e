"""Imports that feed the yearly index: frame counts and paper/postal surveys.

Both are all-or-nothing: every row is checked first, and if any row is bad
nothing is stored and :class:`ImportRejected` carries every bad row with its
line number and the reason. Callers (CLI, admin upload) commit on success.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from ..spreadsheets import UnreadableFile, read_rows


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an uploaded file: line 1 is the header."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportRejected(Exception):
    """Nothing was imported; ``errors`` lists every bad row."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was imported")
        self.errors = errors


def column_map(header: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Positions of the known columns (header names compared case-insensitively)."""
    lowered = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for name, names in aliases.items():
        for alias in names:
            if alias in lowered:
                found[name] = lowered.index(alias)
                break
    return found


def cell(row: list[object], position: int | None) -> object:
    if position is None or position >= len(row):
        return None
    value = row[position]
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_upload(filename: str, data: bytes) -> tuple[list[str], list[list[object]]]:
    """Header and rows of an uploaded CSV/XLSX; an unreadable file is rejected whole."""
    try:
        return read_rows(filename, data)
    except UnreadableFile as exc:
        raise ImportRejected([RowError(1, "", _("Cannot read the file: %(reason)s",
                                                reason=str(exc)))]) from exc
