"""What the rate limiter costs per request: off, memory://, Redis.

In-process (Flask test client) on a temporary SQLite file, limits set so high
that nothing is refused; median milliseconds per request of ``--count``
POSTs to /api/v1/responses, for a request refused by validation (400, nothing
written: the limiter's share is largest) and a stored rating (201).

    python bench/bench_ratelimit.py --count 2000 [--redis redis://127.0.0.1:6379]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from scratch import add_centres  # bench/scratch.py


def _valid(n: int) -> dict[str, Any]:
    return {"submission_id": str(uuid.uuid4()), "centre": "B000", "questionnaire": "kiosk-quick",
            "version": 1, "channel": "kiosk", "language": "vi",
            "answers": {"q_access": 1 + n % 5, "overall": 4}}


def _median_ms(client: Any, payloads: list[dict[str, Any]], status: int) -> float:
    times = []
    for payload in payloads:
        started = time.perf_counter()
        answer = client.post("/api/v1/responses", json=payload)
        times.append(time.perf_counter() - started)
        assert answer.status_code == status, answer.status_code
    return round(statistics.median(times) * 1000, 3)


def measure(storage: str | None, count: int, folder: Path) -> dict[str, float]:
    from survey import create_app
    from survey.database import dispose_engines

    settings: dict[str, Any] = {
        "DATABASE_URL": f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}",
        "SECRET_KEY": "bench", "RATELIMIT_ENABLED": storage is not None,
        "SUBMIT_RATE_LIMIT": "100000000/minute", "CENTRE_SUBMIT_RATE_LIMIT": "100000000/minute",
        "RATELIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"}
    if storage:
        settings["RATELIMIT_STORAGE_URI"] = storage
    app = create_app(settings)
    with app.app_context():
        add_centres(["B000"])
    client = app.test_client()
    _median_ms(client, [_valid(n) for n in range(50)], 201)  # warm-up
    result = {"refused_400_ms": _median_ms(client, [{"centre": "B000"}] * count, 400),
              "stored_201_ms": _median_ms(client, [_valid(n) for n in range(count)], 201)}
    with app.app_context():
        dispose_engines()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps({name: measure(storage, args.count, Path(tmp)) for name, storage in (
            ("limiter off", None), ("memory://", "memory://"), (args.redis, args.redis))},
            indent=2))


if __name__ == "__main__":
    main()
