"""Frame-count and paper-survey imports: every error reported, all or nothing, logged."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import Workbook

from survey.extensions import db
from survey.imports import ImportRejected
from survey.imports.frame import import_frame_counts
from survey.imports.paper import import_paper
from survey.models import AuditLog, FrameCount, Response


def _frame(app: Flask) -> dict[tuple[str, str], int]:
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT c.code, f.month, f.dossiers FROM frame_count f JOIN centre c "
            "ON c.id = f.centre_id")).all()
        return {(code, str(month)[:7]): n for code, month, n in rows}


@pytest.fixture
def centres(make_centre: Callable[..., Any]) -> None:
    make_centre("AAA")
    make_centre("BBB")


@pytest.mark.usefixtures("centres")
def test_frame_import_stores_counts_and_logs(app: Flask) -> None:
    data = b"centre,month,dossiers\nAAA,2025-01,120\nBBB,2025-01,80\nAAA,2025-02,99\n"
    with app.app_context():
        result = import_frame_counts("f.csv", data, actor="tester")
        db.session.commit()
        log = db.session.scalar(sa.select(AuditLog))
    assert (result.rows, result.inserted, result.months) == (3, 3, ("2025-01", "2025-02"))
    assert _frame(app) == {("AAA", "2025-01"): 120, ("BBB", "2025-01"): 80,
                           ("AAA", "2025-02"): 99}
    assert log.action == "frame.import"
    assert log.actor == "tester"


@pytest.mark.usefixtures("centres")
def test_frame_import_reports_every_bad_row_and_imports_nothing(
        app: Flask, row_counts: Callable[[], dict[str, int]]) -> None:
    data = (b"centre,month,dossiers\n"
            b"AAA,2025-01,120\n"      # 2 ok
            b"ZZZ,2025-01,10\n"       # 3 unknown centre
            b"AAA,2025-13,10\n"       # 4 bad month
            b"BBB,January,10\n"       # 5 bad month
            b"BBB,2025-02,-5\n"       # 6 negative
            b"BBB,2025-03,2.5\n"      # 7 not an integer
            b"AAA,2025-01,7\n"        # 8 duplicate of line 2
            b"BBB,2025-04,\n"         # 9 missing count
            )
    before = row_counts()
    with app.app_context(), pytest.raises(ImportRejected) as caught:
        import_frame_counts("f.csv", data, actor="tester")
    errors = {(e.line, e.column) for e in caught.value.errors}
    assert errors == {(3, "centre"), (4, "month"), (5, "month"), (6, "dossiers"),
                      (7, "dossiers"), (8, ""), (9, "dossiers")}
    messages = {e.line: e.message for e in caught.value.errors}
    assert "ZZZ" in messages[3]
    assert "2" in messages[8]
    assert row_counts() == before


@pytest.mark.usefixtures("centres")
def test_frame_import_needs_its_columns(app: Flask) -> None:
    with app.app_context(), pytest.raises(ImportRejected) as caught:
        import_frame_counts("f.csv", b"centre,dossiers\nAAA,3\n", actor="t")
    assert [(e.line, e.column) for e in caught.value.errors] == [(1, "month")]


@pytest.mark.usefixtures("centres")
def test_reimporting_a_month_replaces_it_and_logs_the_change(app: Flask) -> None:
    with app.app_context():
        import_frame_counts("a.csv", b"centre,month,dossiers\nAAA,2025-01,120\n"
                            b"BBB,2025-01,80\nAAA,2025-02,5\n", actor="t")
        db.session.commit()
        result = import_frame_counts("b.csv", b"centre,month,dossiers\nAAA,2025-01,150\n",
                                     actor="t2")
        db.session.commit()
        log = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()[-1]
    assert (result.replaced, result.removed) == (1, 1)
    assert _frame(app) == {("AAA", "2025-01"): 150, ("AAA", "2025-02"): 5}
    assert log.actor == "t2"
    assert {"centre": "AAA", "month": "2025-01", "old": 120, "new": 150} in log.details["changes"]
    assert {"centre": "BBB", "month": "2025-01", "old": 80, "new": None} in log.details["changes"]


@pytest.mark.usefixtures("centres")
def test_frame_import_reads_xlsx_with_date_cells(app: Flask) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Centre", "Month", "Dossiers"])
    sheet.append(["AAA", datetime(2025, 3, 1), 42])
    sheet.append(["BBB", "2025-03", 7.0])
    out = io.BytesIO()
    book.save(out)
    with app.app_context():
        import_frame_counts("f.xlsx", out.getvalue(), actor="t")
        db.session.commit()
    assert _frame(app) == {("AAA", "2025-03"): 42, ("BBB", "2025-03"): 7}


@pytest.mark.usefixtures("centres")
def test_frame_import_command_lists_errors_and_fails(runner: Any, tmp_path: Any,
                                                     app: Flask) -> None:
    bad = tmp_path / "f.csv"
    bad.write_text("centre,month,dossiers\nAAA,2025-01,1\nXXX,2025-01,2\n", encoding="utf-8")
    result = runner.invoke(args=["frame", "import", str(bad)])
    assert result.exit_code == 1
    assert "line 3, centre" in result.output
    assert _frame(app) == {}
    good = tmp_path / "g.csv"
    good.write_text("centre,month,dossiers\nAAA,2025-01,1\n", encoding="utf-8")
    result = runner.invoke(args=["frame", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert _frame(app) == {("AAA", "2025-01"): 1}


PAPER_HEADER = "centre,date,q_access,q_procedure,q_staff,q_result,q_feedback,overall,sex\n"


@pytest.mark.usefixtures("centres")
def test_paper_import_stores_paper_responses_once(app: Flask) -> None:
    data = (PAPER_HEADER + "AAA,2025-03-04,5,4,4,,3,4,\n"
            "BBB,2025-03-05,1,2,3,4,5,3,\n").encode()
    with app.app_context():
        first = import_paper("p.csv", data, actor="t")
        db.session.commit()
        again = import_paper("p.csv", data, actor="t")
        db.session.commit()
        responses = db.session.scalars(sa.select(Response).order_by(Response.id)).all()
        assert [r.channel for r in responses] == ["paper", "paper"]
        assert responses[0].submitted_at == datetime(2025, 3, 4, 5, tzinfo=UTC)
        assert {a.item_code: a.value for a in responses[0].answers}["q_result"] is None
    assert (first.stored, again.stored, again.already_stored) == (2, 0, 2)


@pytest.mark.usefixtures("centres")
def test_paper_import_reports_every_bad_row_and_imports_nothing(
        app: Flask, row_counts: Callable[[], dict[str, int]]) -> None:
    data = (PAPER_HEADER + "AAA,2025-03-04,5,4,4,4,3,4,\n"         # 2 ok
            "ZZZ,2025-03-04,5,4,4,4,3,4,\n"                        # 3 unknown centre
            "AAA,04/03/2025,5,4,4,4,3,4,\n"                        # 4 bad date
            "AAA,2025-03-04,7,4,4,4,3,x,\n"                        # 5 rating 7, not a number
            "AAA,2025-03-04,5,4,4,4,3,4,female\n"                  # 6 not asked
            f"BBB,{date.today().year + 1}-01-01,5,4,4,4,3,4,\n"    # 7 future date
            ).encode()
    before = row_counts()
    with app.app_context(), pytest.raises(ImportRejected) as caught:
        import_paper("p.csv", data, actor="t")
    found = {(e.line, e.column) for e in caught.value.errors}
    assert {(3, "centre"), (4, "date"), (5, "answers.q_access"), (5, "answers.overall"),
            (6, "demographics.sex"), (7, "date")} <= found
    assert not any(line == 2 for line, _c in found)
    assert row_counts() == before


@pytest.mark.usefixtures("centres")
def test_paper_import_rejects_unknown_columns(app: Flask) -> None:
    with app.app_context(), pytest.raises(ImportRejected) as caught:
        import_paper("p.csv", b"centre,date,q_nonsense\nAAA,2025-01-01,4\n", actor="t")
    assert [(e.line, e.column) for e in caught.value.errors] == [(1, "q_nonsense")]


def test_frame_rows_need_no_app_state(app: Flask) -> None:
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FrameCount)) == 0
