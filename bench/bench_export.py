"""Benchmark: a province's full year — 600 centres, 1,000,000 ratings — exported.

Usage::

    python bench/bench_export.py [--database-url URL] [--format xlsx] [--rebuild]

URL is ``sqlite:////tmp/hailong-bench.db`` (the default) or a PostgreSQL
database, e.g. ``postgresql://postgres@127.0.0.1:5432/hl_bench_export`` (create
it first with ``createdb``; the benchmark works in its own ``bench`` schema).
Builds (once, or again with ``--rebuild``) 600 centres on the 16-item
``sipas-service`` questionnaire (17 answers per rating: 17,000,000 answer
rows) and monthly frame counts, then times ``survey.export.services.export``
in process and reports wall and CPU time, peak resident memory (ru_maxrss)
and the load average.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

CENTRES = 600
RATINGS = 1_000_000
YEAR = 2025
CHUNK = 50_000
SCHEMA = "bench"
#: NULL in PostgreSQL COPY text format.
NULL = "\\N"
DEFAULT_URL = f"sqlite:///{Path(tempfile.gettempdir()) / 'hailong-bench.db'}"


def _config(url: str) -> dict[str, Any]:
    config: dict[str, Any] = {"DATABASE_URL": url, "SECRET_KEY": "bench"}
    if url.startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={SCHEMA}"}}
    return config


def _pg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def generate(items: list[str]) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (response rows, answer rows), the same on every database."""
    rng = np.random.default_rng(1)
    traffic = rng.gamma(2.0, 1.0, CENTRES)
    centre = rng.choice(CENTRES, RATINGS, p=traffic / traffic.sum())
    quality = rng.normal(0, 0.4, CENTRES)
    seconds = rng.integers(0, 365 * 86400, RATINGS)
    start = np.datetime64(f"{YEAR}-01-01T00:00:00") - np.timedelta64(7, "h")
    stamps = np.char.replace((start + seconds.astype("timedelta64[s]")).astype(str), "T", " ")
    sexes = np.array(["female", "male", None], dtype=object)[rng.integers(0, 3, RATINGS)]
    for lo in range(0, RATINGS, CHUNK):
        hi = min(lo + CHUNK, RATINGS)
        responses = [(k + 1, uuid.UUID(int=k + 1).hex, int(centre[k]) + 1, str(stamps[k]),
                      str(stamps[k]), sexes[k]) for k in range(lo, hi)]
        latent = quality[centre[lo:hi], None] + rng.normal(0, 1, (hi - lo, len(items)))
        ratings = np.digitize(latent, [-2.0, -1.2, -0.3, 0.9]) + 1
        skip = rng.random((hi - lo, len(items))) < 0.05
        answers = [(lo + i + 1, code, None if skip[i, j] else int(ratings[i, j]))
                   for i in range(hi - lo) for j, code in enumerate(items)]
        yield responses, answers


def _frame(rng: np.random.Generator) -> list[tuple[Any, ...]]:
    return [(c + 1, f"{YEAR}-{m:02d}-01", int(rng.integers(500, 5000)), "2026-01-01 00:00:00")
            for c in range(CENTRES) for m in range(1, 13)]


CENTRE_ROWS = [(c + 1, f"C{c:03d}", f"Bộ phận một cửa xã {c:03d}") for c in range(CENTRES)]


def build(url: str) -> None:
    from survey import create_app, registry
    from survey.database import dispose_engines
    from survey.extensions import db

    postgres = url.startswith("postgresql")
    if postgres:
        import psycopg

        with psycopg.connect(_pg_dsn(url), autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            con.execute(f"CREATE SCHEMA {SCHEMA}")
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app(_config(url))
    with app.app_context():
        db.create_all()
        items = [i.code for i in registry().get("sipas-service", 1).rating_items]
        dispose_engines()
    frame = _frame(np.random.default_rng(2))
    if postgres:
        _fill_postgresql(url, items, frame)
    else:
        _fill_sqlite(Path(url.removeprefix("sqlite:///")), items, frame)


def _fill_sqlite(path: Path, items: list[str], frame: list[tuple[Any, ...]]) -> None:
    con = sqlite3.connect(path)
    con.execute("INSERT INTO admin_unit (id, code, name, kind) VALUES (1, 'P', 'Tỉnh', 'province')")
    con.executemany(
        "INSERT INTO centre (id, code, name, unit_id, questionnaire_id, questionnaire_version,"
        " active) VALUES (?, ?, ?, 1, 'sipas-service', 1, 1)", CENTRE_ROWS)
    con.executemany(
        "INSERT INTO frame_count (centre_id, month, dossiers, imported_at) VALUES (?, ?, ?, ?)",
        frame)
    for responses, answers in generate(items):
        con.executemany(
            "INSERT INTO response (id, submission_id, centre_id, questionnaire_id,"
            " questionnaire_version, language, channel, submitted_at, received_at, sex,"
            " excluded) VALUES (?, ?, ?, 'sipas-service', 1, 'vi', 'kiosk', ?, ?, ?, 0)",
            responses)
        con.executemany("INSERT INTO answer (response_id, item_code, value) VALUES (?, ?, ?)",
                        answers)
        con.commit()
    con.close()


def _fill_postgresql(url: str, items: list[str], frame: list[tuple[Any, ...]]) -> None:
    import psycopg

    with psycopg.connect(_pg_dsn(url), options=f"-csearch_path={SCHEMA}") as con:
        con.execute("INSERT INTO admin_unit (id, code, name, kind)"
                    " VALUES (1, 'P', 'Tỉnh', 'province')")
        with con.cursor() as cur:
            cur.executemany(
                "INSERT INTO centre (id, code, name, unit_id, questionnaire_id,"
                " questionnaire_version, active) VALUES (%s, %s, %s, 1, 'sipas-service', 1, true)",
                CENTRE_ROWS)
            cur.executemany("INSERT INTO frame_count (centre_id, month, dossiers, imported_at)"
                            " VALUES (%s, %s, %s, %s)", frame)
            for responses, answers in generate(items):
                text = "".join(f"{k}\t{sub}\t{c}\tsipas-service\t1\tvi\tkiosk\t{t}+00\t{r}+00\t"
                               f"{NULL if s is None else s}\tf\n"
                               for k, sub, c, t, r, s in responses)
                with cur.copy("COPY response (id, submission_id, centre_id, questionnaire_id,"
                              " questionnaire_version, language, channel, submitted_at,"
                              " received_at, sex, excluded) FROM STDIN") as copy:
                    copy.write(text)
                text = "".join(f"{r}\t{code}\t{NULL if v is None else v}\n"
                               for r, code, v in answers)
                with cur.copy("COPY answer (response_id, item_code, value) FROM STDIN") as copy:
                    copy.write(text)
            cur.execute("SELECT setval(pg_get_serial_sequence('response', 'id'),"
                        " (SELECT max(id) FROM response))")
        con.commit()
    with psycopg.connect(_pg_dsn(url), options=f"-csearch_path={SCHEMA}",
                         autocommit=True) as con:
        con.execute("VACUUM ANALYZE")


def run(url: str, fmt: str) -> None:
    from survey import create_app
    from survey.export.services import export
    from survey.export.settings import ExportSettings

    app = create_app(_config(url))
    with app.app_context():
        out = io.BytesIO()
        t0, c0 = time.perf_counter(), time.process_time()
        report = export(ExportSettings(year=YEAR, strata="centre-month", cluster="centre-day"),
                        fmt, out, lang="vi", actor="bench")
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{fmt}: {report.n:,} ratings, {len(report.centres)} centres, "
          f"{out.tell() / 1e6:.1f} MB in {elapsed:.1f} s wall, {cpu:.1f} s CPU, "
          f"peak RSS {peak:.0f} MiB, load average {load}")


def _built(url: str) -> bool:
    if not url.startswith("postgresql"):
        return Path(url.removeprefix("sqlite:///")).exists()
    import psycopg

    with psycopg.connect(_pg_dsn(url)) as con:
        return con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.answer",)).fetchone()[0] \
            is not None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--format", default="xlsx")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.rebuild or not _built(args.database_url):
        t0 = time.perf_counter()
        build(args.database_url)
        print(f"built {args.database_url} in {time.perf_counter() - t0:.0f} s")
    run(args.database_url, args.format)


if __name__ == "__main__":
    main()
