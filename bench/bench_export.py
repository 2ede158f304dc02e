"""Benchmark: a province's full year — 600 centres, 1,000,000 ratings — exported.

Usage::

    python bench/bench_export.py [--db /tmp/hailong-bench.db] [--format xlsx] [--rebuild]

Builds (once) a SQLite database with 600 centres on the 16-item
``sipas-service`` questionnaire (17 answers per rating: 17,000,000 answer
rows), monthly frame counts, then times ``survey.export.services.export`` in
process and reports wall time and peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import io
import resource
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

CENTRES = 600
RATINGS = 1_000_000
YEAR = 2025


def build(path: Path) -> None:
    from survey import create_app
    from survey.extensions import db

    path.unlink(missing_ok=True)
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        from survey import registry

        items = [i.code for i in registry().get("sipas-service", 1).rating_items]
    rng = np.random.default_rng(1)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO admin_unit (id, code, name, kind) VALUES (1, 'P', 'Tỉnh', 'province')")
    con.executemany(
        "INSERT INTO centre (id, code, name, unit_id, questionnaire_id, questionnaire_version,"
        " active) VALUES (?, ?, ?, 1, 'sipas-service', 1, 1)",
        [(c + 1, f"C{c:03d}", f"Bộ phận một cửa xã {c:03d}") for c in range(CENTRES)])
    con.executemany(
        "INSERT INTO frame_count (centre_id, month, dossiers, imported_at) VALUES (?, ?, ?, ?)",
        [(c + 1, f"{YEAR}-{m:02d}-01", int(rng.integers(500, 5000)), "2026-01-01 00:00:00")
         for c in range(CENTRES) for m in range(1, 13)])
    traffic = rng.gamma(2.0, 1.0, CENTRES)
    centre = rng.choice(CENTRES, RATINGS, p=traffic / traffic.sum())
    quality = rng.normal(0, 0.4, CENTRES)
    seconds = rng.integers(0, 365 * 86400, RATINGS)
    start = np.datetime64(f"{YEAR}-01-01T00:00:00") - np.timedelta64(7, "h")
    stamps = (start + seconds.astype("timedelta64[s]")).astype(str)
    sexes = np.array(["female", "male", None], dtype=object)[rng.integers(0, 3, RATINGS)]
    chunk = 50_000
    for lo in range(0, RATINGS, chunk):
        hi = min(lo + chunk, RATINGS)
        con.executemany(
            "INSERT INTO response (id, submission_id, centre_id, questionnaire_id,"
            " questionnaire_version, language, channel, submitted_at, received_at, sex)"
            " VALUES (?, ?, ?, 'sipas-service', 1, 'vi', 'kiosk', ?, ?, ?)",
            [(k + 1, uuid.UUID(int=k + 1).hex, int(centre[k]) + 1,
              stamps[k].replace("T", " "), stamps[k].replace("T", " "), sexes[k])
             for k in range(lo, hi)])
        latent = quality[centre[lo:hi], None] + rng.normal(0, 1, (hi - lo, len(items)))
        ratings = np.digitize(latent, [-2.0, -1.2, -0.3, 0.9]) + 1
        skip = rng.random((hi - lo, len(items))) < 0.05
        rows = [(lo + i + 1, code, None if skip[i, j] else int(ratings[i, j]))
                for i in range(hi - lo) for j, code in enumerate(items)]
        con.executemany("INSERT INTO answer (response_id, item_code, value) VALUES (?, ?, ?)",
                        rows)
        con.commit()
    con.close()


def run(path: Path, fmt: str) -> None:
    from survey import create_app
    from survey.export.services import export
    from survey.export.settings import ExportSettings

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})
    with app.app_context():
        out = io.BytesIO()
        t0 = time.perf_counter()
        report = export(ExportSettings(year=YEAR, strata="centre-month", cluster="centre-day"),
                        fmt, out, lang="vi", actor="bench")
        elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{fmt}: {report.n:,} ratings, {len(report.centres)} centres, "
          f"{out.tell() / 1e6:.1f} MB in {elapsed:.1f} s, peak RSS {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path,
                        default=Path(tempfile.gettempdir()) / "hailong-bench.db")
    parser.add_argument("--format", default="xlsx")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.rebuild or not args.db.exists():
        t0 = time.perf_counter()
        build(args.db)
        print(f"built {args.db} in {time.perf_counter() - t0:.0f} s")
    run(args.db, args.format)


if __name__ == "__main__":
    main()
