"""Server time of the centre dashboard and the province overview at full size.

Builds (once; ``--rebuild`` to redo) a temporary SQLite database with
``--centres`` centres (default 50) of about ``--ratings`` ratings each
(default 20,000) over the last 365 days, from the demo's generator
(:func:`survey.demo.synthetic_ratings`; 5 in 8 centres on the 17-item
``sipas-service`` form, the others on the 6-item ``kiosk-quick``), inserted
in bulk. Then, through Flask's test client (server time, no network)::

    python bench/bench_dashboard.py [--db /tmp/hailong-bench-dashboard.db] [--repeat 5]

*cold*: the day cache (``day_moments``) and the process memo emptied before
the first request, which then counts every day of its range; *memo cold*:
day cache full, process memo empty (a fresh worker); *warm*: median of
``--repeat`` further requests. Then one late rating (yesterday, another
centre) and the 365-day overview once more; last, the time to count every
centre's 730 days from scratch (what ``hailong demo`` does at its end).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete, func, select

from survey import create_app, registry
from survey.admin.services import create_user
from survey.dashboard import queries, services
from survey.demo import synthetic_ratings
from survey.extensions import db
from survey.models import AdminUnit, Centre, DayMoments, Response

ANALYST = ("bench-analyst", "bench-analyst-password")


def build(app: Flask, centres: int, ratings: int, seed: int) -> None:
    """Centres, an analyst and ``ratings`` responses per centre over the last 365 days."""
    rng = np.random.default_rng(seed)
    with app.app_context():
        upgrade()
        unit = AdminUnit(code="BENCH", name="Tỉnh thử", kind="province")
        db.session.add(unit)
        db.session.flush()
        rows = []
        for k in range(centres):
            form = "kiosk-quick" if k % 8 in (3, 4, 6) else "sipas-service"
            rows.append(Centre(code=f"C{k:03d}", name=f"Bộ phận một cửa {k:03d}",
                               unit_id=unit.id, questionnaire_id=form,
                               questionnaire_version=1))
        db.session.add_all(rows)
        db.session.flush()
        create_user(ANALYST[0], ANALYST[1], "analyst")
        db.session.commit()
        today = queries.local_today()
        start = queries.day_start_utc(today - 365)
        raw = db.engine.raw_connection()
        cursor = raw.cursor()
        next_id = 1
        for centre in rows:
            questionnaire = registry().get(centre.questionnaire_id, 1)
            assert questionnaire is not None  # noqa: S101 -- forms shipped with hailong
            n = int(ratings * rng.uniform(0.9, 1.1))
            cols = synthetic_ratings(questionnaire, n, float(rng.normal(0.1, 0.3)),
                                     datetime.now(UTC).year - 1, rng)
            at = [(start + timedelta(days=int(d), seconds=int(s)))
                  .strftime("%Y-%m-%d %H:%M:%S.%f")
                  for d, s in zip(cols["day"] % 365, cols["seconds"], strict=True)]
            cursor.executemany(
                "INSERT INTO response (id, submission_id, centre_id, questionnaire_id, "
                "questionnaire_version, language, channel, submitted_at, received_at, "
                "excluded) VALUES (?, ?, ?, ?, 1, 'vi', 'kiosk', ?, ?, 0)",
                [(next_id + i, uuid.UUID(bytes=rng.bytes(16), version=4).hex, centre.id,
                  questionnaire.id, at[i], at[i]) for i in range(n)])
            cursor.executemany(
                "INSERT INTO answer (response_id, item_code, value) VALUES (?, ?, ?)",
                [(next_id + i, item.code, None if np.isnan(v) else int(v))
                 for item in questionnaire.rating_items
                 for i, v in enumerate(cols[item.code])])
            next_id += n
        raw.commit()
        raw.close()


def timed(get: Callable[[], object]) -> float:
    start = time.perf_counter()
    get()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path,
                        default=Path("/tmp/hailong-bench-dashboard.db"))  # noqa: S108
    parser.add_argument("--centres", type=int, default=50)
    parser.add_argument("--ratings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.rebuild:
        args.db.unlink(missing_ok=True)
    app = create_app({"DATABASE_URL": f"sqlite:///{args.db}", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    if not args.db.exists() or args.db.stat().st_size == 0:
        start = time.perf_counter()
        build(app, args.centres, args.ratings, args.seed)
        print(f"built {args.db} in {time.perf_counter() - start:.0f} s")
    with app.app_context():
        n_centres = db.session.scalar(select(func.count()).select_from(Centre))
        n_ratings = db.session.scalar(select(func.count()).select_from(Response))
        busiest = db.session.scalar(
            select(Centre.code).join(Response).group_by(Centre.code)
            .order_by(func.count().desc()).limit(1))
        centre_n = db.session.scalar(select(func.count()).select_from(Response).join(Centre)
                                     .where(Centre.code == busiest))
    client = app.test_client()
    login = client.post("/staff/login", data={"username": ANALYST[0], "password": ANALYST[1]})
    assert login.status_code == 302, "analyst login failed"  # noqa: S101
    print(f"{n_centres} centres, {n_ratings} ratings; {busiest}: {centre_n} ratings in 365 days")

    def get(url: str) -> Callable[[], object]:
        def fetch() -> object:
            answer = client.get(url)
            assert answer.status_code == 200, answer.status_code  # noqa: S101
            return answer
        return fetch

    def empty_cache() -> None:
        with app.app_context():
            db.session.execute(delete(DayMoments))
            db.session.commit()
            services.clear_memo()

    def clear_memo() -> None:
        with app.app_context():
            services.clear_memo()

    pages = [(f"overview, {d} days ({n_centres} centres)", f"/dashboard/overview?period={d}")
             for d in (30, 365)]
    pages += [(f"centre, {d}-day chart and {d}-day elements",
               f"/dashboard/centre/{busiest}?chart={d}&period={d}") for d in (30, 90, 365)]
    print(f"{'page':45s} {'cold':>9s} {'memo cold':>10s} {'warm':>9s}")
    for label, url in pages:
        empty_cache()
        cold = timed(get(url))
        clear_memo()
        memo_cold = timed(get(url))
        warm = statistics.median(timed(get(url)) for _ in range(args.repeat))
        print(f"{label:45s} {cold * 1000:7.0f} ms {memo_cold * 1000:8.0f} ms "
              f"{warm * 1000:7.0f} ms")
    get("/dashboard/overview?period=365")()  # warm again after the centre pages
    with app.app_context():  # an offline kiosk syncs a rating of yesterday
        centre = db.session.scalar(select(Centre).where(Centre.code != busiest)
                                   .order_by(Centre.id).limit(1))
        at = queries.day_start_utc(queries.local_today() - 1) + timedelta(hours=3)
        db.session.add(Response(submission_id=uuid.uuid4(), centre_id=centre.id,
                                questionnaire_id=centre.questionnaire_id,
                                questionnaire_version=centre.questionnaire_version,
                                language="vi", channel="kiosk",
                                submitted_at=at, received_at=datetime.now(UTC)))
        db.session.commit()
    late = timed(get("/dashboard/overview?period=365"))
    print(f"{'overview, 365 days, after a late rating':45s} {'':>9s} {'':>10s} "
          f"{late * 1000:7.0f} ms")
    empty_cache()
    with app.app_context():
        start = time.perf_counter()
        today = queries.local_today()
        services.build_day_cache(today - 730, today)
        db.session.commit()
        print(f"{'day cache of every centre, 730 days':45s} "
              f"{(time.perf_counter() - start):7.1f} s")


if __name__ == "__main__":
    main()
