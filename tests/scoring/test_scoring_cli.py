"""``hailong score`` (scoring.cli.main): output, formats and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from scoring.cli import COLUMNS, main

RTOL = 1e-12
SAMPLE = Path(__file__).parent / "results" / "sample-1"
DESIGN_ARGS = ["--weight", "weight", "--strata", "stratum", "--psu", "psu"]


def run_cli(capsys, args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def read_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def expected_items():
    with open(SAMPLE / "expected" / "items.csv", encoding="utf-8") as fh:
        return {r["item"]: r for r in csv.DictReader(fh)}


def test_items_csv_output_matches_r(capsys, expected_items):
    code, out, err = run_cli(capsys, [SAMPLE / "data.csv", *DESIGN_ARGS])
    assert code == 0, err
    assert out.splitlines()[0] == ",".join(COLUMNS)
    rows = read_rows(out)
    assert [r["indicator"] for r in rows] == [f"q{j:02d}" for j in range(1, 21)]
    for r in rows:
        e = expected_items[r["indicator"]]
        assert r["domain"] == ""
        assert r["kind"] == "item"
        assert int(r["n"]) == int(e["n"])
        assert int(r["df"]) == 45
        assert_allclose([float(r[k]) for k in ("share", "share_se", "mean", "mean_se",
                                                "share_deff", "mean_deff")],
                        [float(e[k]) for k in ("p45", "p45_se", "mean", "mean_se",
                                               "p45_deff", "mean_deff")], rtol=RTOL)
        assert_allclose([float(r["share_ci_low"]), float(r["share_ci_high"])],
                        [float(e["ci_xlogit_l"]), float(e["ci_xlogit_u"])], atol=1e-8)


def test_elements_by_and_pooled_index(capsys):
    with open(SAMPLE / "expected" / "elements.csv", encoding="utf-8") as fh:
        exp = {r["element"]: r for r in csv.DictReader(fh)}
    code, out, err = run_cli(capsys, [SAMPLE / "data.csv", *DESIGN_ARGS, "--elements",
                                      SAMPLE / "elements.csv", "--index", "pooled",
                                      "--by", "stratum"])
    assert code == 0, err
    rows = read_rows(out)
    whole = [r for r in rows if r["domain"] == ""]
    assert [r["kind"] for r in whole[-6:]] == ["element"] * 5 + ["overall"]
    for r in whole[-6:]:
        assert_allclose(float(r["share"]), float(exp[r["indicator"]]["p45_pooled"]), rtol=RTOL)
        assert_allclose(float(r["share_se"]), float(exp[r["indicator"]]["p45_pooled_se"]),
                        rtol=RTOL)
    domains = {r["domain"] for r in rows} - {""}
    assert domains == {f"P0{k}" for k in range(1, 7)}
    assert len(rows) == 7 * 26


def test_rake_option_matches_r(capsys, tmp_path):
    with open(SAMPLE / "expected" / "raked.csv", encoding="utf-8") as fh:
        exp = {r["item"]: r for r in csv.DictReader(fh)}
    out_file = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, [SAMPLE / "data.csv", *DESIGN_ARGS, "--rake",
                                    SAMPLE / "margins.csv", "-o", out_file])
    assert code == 0, err
    rows = read_rows(out_file.read_text(encoding="utf-8"))
    assert_allclose([float(r["share_se"]) for r in rows],
                    [float(exp[r["indicator"]]["p45_se"]) for r in rows], rtol=RTOL)


def test_jkn_and_json_format(capsys):
    with open(SAMPLE / "expected" / "jkn.csv", encoding="utf-8") as fh:
        exp = {r["item"]: r for r in csv.DictReader(fh)}
    code, out, err = run_cli(capsys, [SAMPLE / "data.csv", *DESIGN_ARGS, "--replicates", "jkn",
                                      "--format", "json", "--items", "q01,q02"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["columns"] == list(COLUMNS)
    assert [r["indicator"] for r in doc["rows"]] == ["q01", "q02"]
    for r in doc["rows"]:
        assert_allclose(r["mean_se"], float(exp[r["indicator"]]["mean_se"]), rtol=RTOL)
        assert isinstance(r["n"], int)


def test_fallback_flag_and_no_nan_interval(capsys):
    code, out, _ = run_cli(capsys, [SAMPLE / "data.csv", *DESIGN_ARGS, "--by", "psu",
                                    "--items", "q01", "--ci", "beta", "--alpha", "0.1"])
    assert code == 0
    rows = [r for r in read_rows(out) if r["domain"] == "C0001"]
    assert rows[0]["df"] == "0"  # a centre is one PSU: no design-based interval
    assert rows[0]["flag"].split(";") == ["ci-clopper-pearson", "ci-srs"]
    assert float(rows[0]["share_ci_low"]) < 1.0
    assert all(r["share_ci_low"] != "" for r in read_rows(out))


@pytest.mark.parametrize(("args", "message"), [
    (["--weight", "nope"], "no column 'nope'"),
    (["--items", "q01,zz"], "no column 'zz'"),
    (["--ci", "logit"], "invalid choice: 'logit'"),
    (["--lonely", "never"], "invalid choice: 'never'"),
    (["--alpha", "2"], "--alpha"),
    (["--weight", "province"], "not a number"),
    (["--elements", "missing.csv"], "cannot read missing.csv"),
])
def test_errors_are_one_line_exit_2(capsys, args, message):
    code, out, err = run_cli(capsys, [SAMPLE / "data.csv", *args])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_bad_data_errors(capsys, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("q01,w\n5,1\n4,0\n", encoding="utf-8")
    code, _, err = run_cli(capsys, [f, "--weight", "w"])
    assert code == 2
    assert "line 3" in err
    assert "not > 0" in err
    f.write_text("q01,q02\n5,x\n4,\n", encoding="utf-8")
    code, _, err = run_cli(capsys, [f])
    assert code == 2
    assert "'q02' has no valid rating" in err
    f.write_text("q01,q02\n5,1\n4\n", encoding="utf-8")
    code, _, err = run_cli(capsys, [f])
    assert code == 2
    assert "line 3" in err
    code, _, err = run_cli(capsys, [tmp_path / "absent.csv"])
    assert code == 2
    assert "cannot read" in err
    m = tmp_path / "m.csv"
    m.write_text("variable,level,total\nsex,Nam,10\n", encoding="utf-8")
    code, _, err = run_cli(capsys, [SAMPLE / "data.csv", "--rake", m])
    assert code == 2
    assert "'Nữ' is in the data" in err


def test_quoted_csv_and_missing_text(capsys, tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('centre,q01\n"=cmd,1",5\n"=cmd,1",không trả lời\nB,2\nB,4\n',
                 encoding="utf-8")
    code, out, err = run_cli(capsys, [f, "--by", "centre"])
    assert code == 0, err
    rows = read_rows(out)
    assert rows[0]["n"] == "3"
    first = [r for r in rows if r["domain"].endswith("=cmd,1")]
    assert first[0]["domain"] == "'=cmd,1"  # CSV injection neutralised
    assert first[0]["share"] == "1.0"


def test_module_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "scoring.cli", str(SAMPLE / "data.csv"),
                           "--items", "q01", "--format", "json"], capture_output=True,
                          text=True, check=False, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["rows"][0]
    assert row["indicator"] == "q01"
    assert 0 < row["share"] < 1
    assert np.isfinite(row["share_se"])
