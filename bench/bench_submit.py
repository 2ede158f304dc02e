"""One submission at a time: milliseconds and database round trips per rating.

Submits ``--count`` ratings one after the other through the app in-process
(Flask test client, no HTTP server) to a fresh PostgreSQL schema (or an
SQLite file with ``--database sqlite:///...``) and counts what reaches the
database: BEGIN, each statement, COMMIT. A second pass repeats every
submission id (the kiosk's retry after a lost acknowledgement). With
``--profile`` the new-rating pass runs under cProfile and the top functions
by cumulative time are printed.

    python bench/bench_submit.py --count 500
    python bench/bench_submit.py --count 500 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scratch import add_centres, scratch_schema  # bench/scratch.py
from sqlalchemy import event

ITEMS = ("q_access", "q_procedure", "q_staff", "q_result", "q_feedback")


def _payload(n: int) -> dict[str, Any]:
    return {
        "submission_id": str(uuid.uuid4()), "centre": "B000", "questionnaire": "kiosk-quick",
        "version": 1, "channel": "kiosk", "language": "vi",
        "submitted_at": datetime.now(UTC).isoformat(),
        "answers": {item: 1 + (n + i) % 5 for i, item in enumerate(ITEMS)} | {"overall": 4},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.database.startswith("postgresql"):
        return _run(args, args.database, postgresql=False)
    with scratch_schema(args.database, "bench_submit") as (_schema, url):
        return _run(args, url, postgresql=True)


def _run(args: argparse.Namespace, url: str, *, postgresql: bool) -> dict[str, Any]:
    from survey import create_app
    from survey.database import dispose_engines
    from survey.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    trips: Counter[str] = Counter()
    with app.app_context():
        add_centres(["B000"])
        engine = db.engine

    @event.listens_for(engine, "begin")
    def _begin(_connection: Any) -> None:
        trips["begin"] += 1

    @event.listens_for(engine, "commit")
    def _commit(_connection: Any) -> None:
        trips["commit"] += 1

    @event.listens_for(engine, "rollback")
    def _rollback(_connection: Any) -> None:
        trips["rollback"] += 1

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_c: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        trips[statement.split(None, 1)[0].upper()] += 1

    if postgresql:  # the submit path sends its one statement with psycopg itself
        import psycopg

        execute = psycopg.Connection.execute

        def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            trips[str(query).split(None, 1)[0].upper()] += 1
            return execute(self, query, *args, **kwargs)

        psycopg.Connection.execute = counted  # type: ignore[method-assign]

    client = app.test_client()
    headers = {"X-Kiosk-Id": "bench-kiosk-0001"}
    payloads = [_payload(n) for n in range(args.count)]
    for payload in payloads[:20]:  # warm-up: pools, caches, first imports
        assert client.post("/api/v1/responses", json=payload, headers=headers
                           ).status_code == 201
    trips.clear()
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU time
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for payload in payloads[20:]:
        status = client.post("/api/v1/responses", json=payload, headers=headers).status_code
        assert status == 201, status
    if profiler:
        profiler.disable()
    new_ms = (time.perf_counter() - started) * 1000 / (args.count - 20)
    new_cpu_ms = (time.process_time() - cpu_started) * 1000 / (args.count - 20)
    new_trips = dict(trips)
    trips.clear()
    started = time.perf_counter()
    for payload in payloads[20:]:
        status = client.post("/api/v1/responses", json=payload, headers=headers).status_code
        assert status == 200, status
    repeat_ms = (time.perf_counter() - started) * 1000 / (args.count - 20)
    repeat_trips = dict(trips)
    n = args.count - 20
    result: dict[str, Any] = {
        "database": "postgresql" if postgresql else "sqlite", "ratings": n,
        "new_ms_per_rating": round(new_ms, 2),
        # CPU of this (the app's) process alone: Flask, SQLAlchemy, psycopg.
        "new_app_cpu_ms_per_rating": round(new_cpu_ms, 2),
        "new_round_trips_per_rating": round(sum(new_trips.values()) / n, 2),
        "new_round_trips": {k: round(v / n, 2) for k, v in sorted(new_trips.items())},
        "repeat_ms_per_rating": round(repeat_ms, 2),
        "repeat_round_trips_per_rating": round(sum(repeat_trips.values()) / n, 2),
        "repeat_round_trips": {k: round(v / n, 2) for k, v in sorted(repeat_trips.items())},
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        result["profile"] = out.getvalue()
    with app.app_context():
        dispose_engines()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--database", default=os.environ.get(
        "HAILONG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--sqlite", action="store_true",
                        help="use a temporary SQLite file instead of --database")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="cProfile order (e.g. tottime)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sqlite:
            args.database = f"sqlite:///{Path(tmp) / 'bench.db'}"
        result = run(args)
    profile = result.pop("profile", None)
    print(json.dumps(result, indent=2))
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
