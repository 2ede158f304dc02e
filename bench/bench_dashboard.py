"""Server time of the centre dashboard and the province overview.

Run on a database filled by the demo (about 20,000 ratings a year at the
busiest centre)::

    export HAILONG_DATABASE_URL=sqlite:////tmp/bench-dashboard.db
    hailong db upgrade && hailong demo --responses 20000
    python bench/bench_dashboard.py [--centre LCU-TTHC] [--repeat 5]

Times are wall-clock server time through Flask's test client (no network),
first request (cold: builds the finished-day cache and the memo) and the
median of the following ones (warm).
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import delete, func, select

from survey import create_app
from survey.dashboard import services
from survey.demo import DEMO_ACCOUNTS
from survey.extensions import db
from survey.models import Centre, DayRatings, Response, User


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centre", default="LCU-TTHC")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.session.execute(delete(DayRatings))
        db.session.commit()
        centres = db.session.scalar(select(func.count()).select_from(Centre))
        ratings = db.session.scalar(select(func.count()).select_from(Response))
        busiest = db.session.scalar(select(func.count()).select_from(Response).join(Centre)
                                    .where(Centre.code == args.centre))
        user = db.session.scalar(select(User).where(User.role == "analyst"))
        if user is None:
            raise SystemExit("no analyst account: run `hailong demo` first")
    client = app.test_client()
    username, _, password, _ = next(a for a in DEMO_ACCOUNTS if a[1] == "analyst")
    login = client.post("/staff/login", data={"username": username, "password": password})
    assert login.status_code == 302, "demo analyst login failed"
    print(f"{centres} centres, {ratings} ratings; {args.centre}: {busiest} ratings")
    pages = [
        ("centre, 30-day chart", f"/dashboard/centre/{args.centre}"),
        ("centre, 365-day chart + 365-day elements",
         f"/dashboard/centre/{args.centre}?chart=365&period=365"),
        ("overview, 30 days", "/dashboard/overview"),
        ("overview, 365 days", "/dashboard/overview?period=365"),
    ]
    for label, url in pages:
        times = []
        for _ in range(args.repeat + 1):
            start = time.perf_counter()
            answer = client.get(url)
            times.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.status_code
        print(f"{label:45s} cold {times[0] * 1000:7.0f} ms   "
              f"warm median {statistics.median(times[1:]) * 1000:7.0f} ms")
    services._MEMO.clear()
    start = time.perf_counter()
    client.get(f"/dashboard/centre/{args.centre}")
    print(f"{'centre, day cache built, memo cleared':45s} "
          f"{(time.perf_counter() - start) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
