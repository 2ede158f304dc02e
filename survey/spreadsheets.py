"""The one place hailong writes CSV and XLSX: every text cell is neutralised.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some spreadsheet programs skip before such a
character) is a formula to Excel and LibreOffice. Centre names, comments and
imported codes are user input, so such text gets a leading apostrophe, the
convention OWASP recommends against CSV injection (indico/indico:
``indico/util/spreadsheets.py`` does the same). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

#: Characters that make a spreadsheet cell a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | date | datetime | None


def neutralise(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One column of a table: header text, cell number format and width in characters."""

    header: str
    #: Machine name (CSV/JSON); ``header`` is what people read.
    key: str = ""
    number_format: str | None = None
    width: float | None = None


@dataclass(slots=True, kw_only=True)
class Table:
    """A named table: the unit written to one sheet, one CSV file or one JSON array."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Cell]]
    #: Machine name (CSV file name, JSON key); ``name`` is what people read.
    key: str = ""
    notes: Sequence[str] = field(default_factory=tuple)


def write_csv(rows: Iterable[Sequence[Cell]], out: IO[str], header: Sequence[str]) -> None:
    """Write UTF-8 CSV rows (the caller opens ``out`` with ``newline=""``)."""
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(_plain(v)) for v in row])


def csv_bytes(table: Table) -> bytes:
    """One table as UTF-8 CSV with a byte-order mark (Excel then reads Vietnamese right)."""
    buffer = io.StringIO(newline="")
    write_csv(table.rows, buffer, [c.header for c in table.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _plain(value: Cell) -> Cell:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _width(text: str) -> float:
    # Vietnamese diacritics stack vertically, not horizontally: characters count 1 each.
    return min(60.0, max(8.0, len(text) * 1.1 + 2))


def write_xlsx(tables: Sequence[Table], out: IO[bytes]) -> None:
    """Write tables as sheets: bold frozen header, number formats, fitted widths.

    Uses openpyxl's write-only mode so memory stays bounded by one row.
    """
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for table in tables:
        sheet = book.create_sheet(title=table.name[:31])
        sheet.freeze_panes = "A2"
        for k, column in enumerate(table.columns, start=1):
            width = column.width if column.width is not None else _width(column.header)
            sheet.column_dimensions[get_column_letter(k)].width = width
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=neutralise(column.header))
            cell.font = bold
            cell.alignment = wrap
            header.append(cell)
        sheet.append(header)
        formats = [c.number_format for c in table.columns]
        for row in table.rows:
            sheet.append(list(_xlsx_cells(sheet, row, formats)))
        for note in table.notes:
            sheet.append([])
            sheet.append([neutralise(note)])
    book.save(out)


def _xlsx_cells(sheet: Any, row: Sequence[Cell], formats: Sequence[str | None]) -> Iterator[Any]:
    for value, fmt in zip(row, formats, strict=False):
        if fmt is None or not isinstance(value, int | float):
            yield neutralise(value)
            continue
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = fmt
        yield cell


class UnreadableFile(ValueError):
    """The upload is not a CSV or XLSX file hailong can read."""


def read_rows(filename: str, data: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """Header and data rows (with their 1-based line numbers) of a CSV or XLSX file.

    CSV is decoded as UTF-8 (a byte-order mark is allowed); XLSX cells keep
    their types (numbers, dates). Blank rows are skipped but keep counting.
    """
    if filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data)
    elif filename.lower().endswith((".csv", ".txt")):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"not UTF-8 text (byte {exc.start})") from exc
        rows = list(csv.reader(io.StringIO(text, newline="")))
    else:
        raise UnreadableFile("use a .csv or .xlsx file")
    if not rows:
        raise UnreadableFile("the file is empty")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    body = [(line, list(row)) for line, row in enumerate(rows[1:], start=2)
            if any(v is not None and str(v).strip() for v in row)]
    return header, body


def _xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"not an XLSX workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        return [tuple(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
