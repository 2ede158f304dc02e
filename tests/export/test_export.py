"""The yearly export: numbers equal scoring's, PDF renders Vietnamese, roles, audit log."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from numpy.testing import assert_allclose
from openpyxl import load_workbook

from scoring.design import make_design
from scoring.estimates import score
from survey.export.ranking import rank_intervals
from survey.export.report import score_tree
from survey.extensions import db
from survey.models import Answer, AuditLog, Centre, FrameCount, Response
from survey.spreadsheets import FORMULA_START

YEAR = 2025  # the year of the province fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _expected(app: Flask) -> dict[str, Any]:
    """Province and centre indices straight from scoring, on arrays built here."""
    with app.app_context():
        from survey import registry

        q = registry().get("kiosk-quick", 1)
        items = [i.code for i in q.rating_items]
        rows = db.session.execute(sa.select(Response.id, Centre.code, Response.submitted_at)
                                  .join(Centre).order_by(Response.id)).all()
        answers = db.session.execute(sa.select(Answer.response_id, Answer.item_code,
                                               Answer.value)).all()
        frame = db.session.execute(sa.select(Centre.code, sa.func.sum(FrameCount.dossiers))
                                   .join(Centre).group_by(Centre.code)).all()
    index = {rid: k for k, (rid, _c, _t) in enumerate(rows)}
    ratings = np.full((len(rows), len(items)), np.nan)
    for rid, code, value in answers:
        ratings[index[rid], items.index(code)] = np.nan if value is None else value
    centre = np.array([c for _r, c, _t in rows])
    totals = dict(frame)
    counts = {c: int((centre == c).sum()) for c in totals}
    weights = np.array([totals[c] / counts[c] for c in centre])
    design = make_design(weights=weights, strata=centre)
    tree = score_tree(q)
    return {"province": score(ratings, items, tree=tree, design=design),
            "centres": score(ratings, items, tree=tree, design=design, domains=centre),
            "root": q.index.code}


def _export(runner: Any, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["export", "--year", str(YEAR), "--format", fmt, "-o",
                                 str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.usefixtures("province")
def test_workbook_numbers_equal_scoring(app: Flask, runner: Any, tmp_path: Path) -> None:
    book = load_workbook(_export(runner, tmp_path, "xlsx"))
    assert book.sheetnames == ["Tổng hợp", "Tiêu chí", "Đơn vị", "Xu hướng", "Phương pháp"]
    expected = _expected(app)
    root = expected["root"]
    summary = list(book["Tổng hợp"].iter_rows(values_only=True))
    by_code = {r[0]: r for r in summary[1:] if r and r[0]}
    overall = expected["province"][root].share[0]
    assert_allclose(by_code[root][4], overall.estimate * 100, rtol=1e-6)
    assert_allclose(by_code[root][5:7], np.array(overall.ci) * 100, rtol=1e-6)
    assert_allclose(by_code[root][7], overall.se * 100, rtol=1e-5)
    assert by_code[root][8] == overall.n
    assert_allclose(by_code[root][12], overall.estimate * 10, rtol=1e-6)  # PAR INDEX, max 10
    access = expected["province"]["access"].share[0]
    assert_allclose(by_code["access"][4], access.estimate * 100, rtol=1e-6)

    items = {r[0]: r for r in book["Tiêu chí"].iter_rows(min_row=2, values_only=True)}
    feedback = expected["province"]["q_feedback"].share[0]
    assert_allclose(items["q_feedback"][3], feedback.estimate * 100, rtol=1e-6)
    assert items["q_feedback"][7] == feedback.n

    units = {r[0]: r for r in book["Đơn vị"].iter_rows(min_row=2, values_only=True)
             if r and r[0] in ("AAA", "BBB", "CCC")}
    for code in ("AAA", "BBB", "CCC"):
        est = expected["centres"][root].share.at(code)
        assert_allclose(units[code][2], est.estimate * 100, rtol=1e-6)
        assert_allclose(units[code][3:5], np.array(est.ci) * 100, rtol=1e-6)
    assert units["AAA"][10] == 1                       # best and reportable
    assert units["CCC"][10] is None                    # 12 responses < minimum n 30
    assert "không đủ mẫu" in units["CCC"][-1]
    assert book["Tổng hợp"].freeze_panes == "A2"


@pytest.mark.usefixtures("province")
def test_every_text_cell_is_neutralised(app: Flask, runner: Any, tmp_path: Path) -> None:
    with app.app_context():
        centre = db.session.scalar(sa.select(Centre).where(Centre.code == "AAA"))
        centre.name = '=HYPERLINK("http://evil","x")'
        db.session.commit()
    book = load_workbook(_export(runner, tmp_path, "xlsx"))
    texts = [v for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
             for v in row if isinstance(v, str)]
    assert '\'=HYPERLINK("http://evil","x")' in texts
    assert not [t for t in texts if t.startswith(FORMULA_START)]


@pytest.mark.usefixtures("province")
def test_csv_and_json_carry_the_same_tables(runner: Any, tmp_path: Path) -> None:
    doc = json.loads(_export(runner, tmp_path, "json", "--lang", "en").read_text("utf-8"))
    assert set(doc["tables"]) == {"summary", "items", "centres", "trend", "method"}
    summary = doc["tables"]["summary"]
    assert summary["headers"][4] == "Satisfaction index (%)"
    overall = summary["rows"][0]
    with zipfile.ZipFile(_export(runner, tmp_path, "csv")) as archive:
        assert {"README.txt", "summary.csv", "centres.csv"} <= set(archive.namelist())
        lines = archive.read("summary.csv").decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Mã,Chỉ số")
    assert float(lines[1].split(",")[4]) == pytest.approx(overall[4])
    assert len(doc["tables"]["trend"]["rows"]) == 12


@pytest.mark.usefixtures("province")
def test_pdf_report_renders_vietnamese_and_english(runner: Any, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftotext, pdftoppm) are not installed")
    pdf = _export(runner, tmp_path, "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert "Báo cáo Chỉ số hài lòng về sự phục vụ hành chính năm 2025" in text
    flat = " ".join(text.split())  # table cells wrap
    assert "Bộ phận một cửa AAA (AAA)" in flat
    assert "Điểm PAR INDEX" in text
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(pdf),
                    str(ARTIFACTS / "export-report")], check=True)
    assert any(ARTIFACTS.glob("export-report*.png"))
    english = subprocess.run(["pdftotext", str(_export(runner, tmp_path, "pdf", "--lang", "en")),
                              "-"], capture_output=True, check=True, text=True).stdout
    assert "Satisfaction Index of Public Administrative Services, 2025" in english


@pytest.mark.usefixtures("province")
def test_export_is_audited_with_its_settings(app: Flask, runner: Any, tmp_path: Path) -> None:
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"strata": "centre-month", "cluster": "centre-day",
                                    "margins": [{"variable": "sex", "level": "female",
                                                 "total": 55},
                                                {"variable": "sex", "level": "male",
                                                 "total": 45}],
                                    "trim": [0.5, 2.0], "par_max": 20}), encoding="utf-8")
    _export(runner, tmp_path, "json", "--settings", str(settings))
    with app.app_context():
        log = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "export"))
    assert log.actor.startswith("cli:")
    assert log.details["settings"]["strata"] == "centre-month"
    assert log.details["settings"]["margins"][0] == {"variable": "sex", "level": "female",
                                                     "total": 55.0}
    assert log.details["format"] == "json"


@pytest.mark.usefixtures("province")
def test_missing_frame_counts_stop_the_export(app: Flask, runner: Any, tmp_path: Path) -> None:
    with app.app_context():
        db.session.execute(sa.delete(FrameCount))
        db.session.commit()
    result = runner.invoke(args=["export", "--year", str(YEAR), "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 1
    assert "no frame count" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_rank_intervals_tie_overlapping_centres() -> None:
    estimate = np.array([0.95, 0.80, 0.79, 0.50])
    se = np.array([0.005, 0.02, 0.02, 0.005])
    ranks = rank_intervals(estimate, se, draws=2000, seed=1, alpha=0.05)
    assert ranks.rank.tolist() == [1, 2, 3, 4]
    assert (ranks.low[0], ranks.high[0], ranks.low[3], ranks.high[3]) == (1, 1, 4, 4)
    assert ranks.tied[1, 2]
    assert ranks.tied[2, 1]
    assert not ranks.tied[0].any()
    again = rank_intervals(estimate, se, draws=2000, seed=1, alpha=0.05)
    assert again.low.tolist() == ranks.low.tolist()


@pytest.mark.usefixtures("province")
def test_web_download_for_analysts_only(client: Any, login: Any, csrf_token: Any,
                                        app: Flask) -> None:
    anonymous = client.get("/export/")
    assert anonymous.status_code == 302
    assert "/staff/login" in anonymous.headers["Location"]
    login("analyst")
    token = csrf_token("/export/")
    answer = client.post("/export/download", data={"year": YEAR, "format": "xlsx",
                                                   "lang": "vi", "csrf_token": token})
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.get_data()))
    answer.close()
    assert book.sheetnames[0] == "Tổng hợp"
    with app.app_context():
        log = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "export"))
    assert log.actor == "u-analyst"


def test_managers_get_403(client: Any, login: Any) -> None:
    login("manager")
    assert client.get("/export/").status_code == 403
    assert client.get("/export/?year=2025").status_code == 403


@pytest.mark.usefixtures("province")
def test_web_frame_upload_lists_bad_rows(client: Any, login: Any, csrf_token: Any,
                                         app: Flask) -> None:
    login("admin")
    token = csrf_token("/export/")
    data = b"centre,month,dossiers\nAAA,2025-01,5\nNOPE,2025-01,3\n"
    answer = client.post("/export/frame", data={"csrf_token": token,
                                                "file": (io.BytesIO(data), "f.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "<td>3</td>" in page
    assert "NOPE" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FrameCount)
                                 .where(FrameCount.dossiers == 5)) == 0
