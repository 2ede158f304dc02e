"""The one spreadsheet helper neutralises formulas in every text cell."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from survey.spreadsheets import Column, Table, csv_bytes, neutralise, read_rows, write_xlsx

DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1",
             '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_text_gets_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_other_values_are_unchanged() -> None:
    assert neutralise("Xã Tam Đường") == "Xã Tam Đường"
    assert neutralise(-3) == -3
    assert neutralise(2.5) == 2.5
    assert neutralise(None) is None


def _table() -> Table:
    return Table(name="T", key="t", columns=[Column(header="=head"), Column(header="n",
                                                                           number_format="0")],
                 rows=[[text, -1] for text in DANGEROUS])


def test_xlsx_cells_are_neutralised_and_numbers_stay_numbers() -> None:
    out = io.BytesIO()
    write_xlsx([_table()], out)
    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "'=head"
    # XML turns a carriage return into a line feed; the apostrophe is what matters.
    assert [r[0].replace("\n", "\r") for r in rows[1:]] == ["'" + t for t in DANGEROUS]
    assert all(r[1] == -1 for r in rows[1:])
    assert sheet.freeze_panes == "A2"


def test_csv_cells_are_neutralised_and_read_back() -> None:
    header, rows = read_rows("t.csv", csv_bytes(_table()))
    assert header == ["'=head", "n"]
    assert [r[0] for _line, r in rows] == ["'" + t for t in DANGEROUS]
    assert [line for line, _r in rows] == list(range(2, 2 + len(DANGEROUS)))
