"""Writing a report: XLSX workbook, CSV (a ZIP of one file per table), JSON, PDF."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from typing import IO, Literal

from flask import render_template

from ..spreadsheets import Table, csv_bytes, write_xlsx
from .report import Report
from .svg import trend_chart
from .tables import build_tables, flags_text, method_entries
from .vocabulary import word

Format = Literal["xlsx", "csv", "json", "pdf"]
FORMATS: tuple[str, ...] = ("xlsx", "csv", "json", "pdf")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
    "json": "application/json",
    "pdf": "application/pdf",
}
EXTENSIONS = {"xlsx": "xlsx", "csv": "zip", "json": "json", "pdf": "pdf"}

CSV_README = """hailong yearly export, CSV tables (UTF-8 with BOM, comma-separated).

summary.csv  the index, its aspects and elements: estimate, CI, n, effective n, design effect,
             PAR INDEX points (overall row); rows with a version are per-version estimates of
             indices whose items changed within the year.
items.csv    every item.
centres.csv  every unit: index, CI, n, rank, rank interval, units tied with it.
trend.csv    the overall index per month (local time).
method.csv   design, weights, margins, trimming, CI method, minimum n, versions, software.

Percentages are 0..100; se is in percentage points. Empty cells are not available.
Text cells that would start with = + - @ are prefixed with an apostrophe.
"""


def write_report(report: Report, fmt: str, out: IO[bytes], *, lang: str,
                 translate: Callable[[str], str]) -> None:
    """Write ``report`` as ``fmt`` in ``lang`` to the binary stream ``out``."""
    tables = build_tables(report, lang, translate)
    if fmt == "xlsx":
        write_xlsx(tables, out)
    elif fmt == "csv":
        _write_csv_zip(tables, out)
    elif fmt == "json":
        out.write(json_bytes(report, tables, lang))
    elif fmt == "pdf":
        out.write(pdf_bytes(report, lang, translate))
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")


def _write_csv_zip(tables: list[Table], out: IO[bytes]) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", CSV_README)
        for table in tables:
            archive.writestr(f"{table.key}.csv", csv_bytes(table))


def json_bytes(report: Report, tables: list[Table], lang: str) -> bytes:
    """Tables as ``{"tables": {key: {"name", "columns", "headers", "rows"}}, "settings"}``."""
    doc = {
        "questionnaire": {"id": report.questionnaire.id, "versions": list(report.versions)},
        "year": report.settings.year,
        "language": lang,
        "settings": report.settings.as_dict(),
        "par_index_points": report.par_points,
        "tables": {
            t.key: {"name": t.name, "columns": [c.key for c in t.columns],
                    "headers": [c.header for c in t.columns], "rows": [list(r) for r in t.rows]}
            for t in tables
        },
    }
    return json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def pdf_bytes(report: Report, lang: str, translate: Callable[[str], str]) -> bytes:
    """The printable report: HTML from a template, laid out by WeasyPrint."""
    from weasyprint import HTML

    html = render_template(
        "export/report.html", report=report, lang=lang, w=lambda k, **v: word(k, lang, **v),
        t=translate, p=_percent, flags=lambda f: flags_text(f, lang),
        method=method_entries(report, lang),
        chart=trend_chart(report, lang), level=f"{(1 - report.settings.alpha) * 100:g}")
    return HTML(string=html).write_pdf()


def _percent(share: float) -> str:
    return "—" if share != share else f"{share * 100:.2f}"
