"""Rate limits counted once across gunicorn's worker processes, through Redis.

``hailong serve --production`` runs several worker processes (survey/ops.py).
With the default ``memory://`` store each worker counts alone, so a limit of
5/minute lets ``workers x 5`` submissions through; ``redis://`` gives every
worker the same counters. A limiter store that is down must never cost a
rating: the worker falls back to counting in memory.

Each "worker" here is a separate process serving ``create_app()``. Two apps in
one process would not do: Flask-Limiter's ``limiter`` is one object per
process, and ``init_app`` of the second app replaces the storage of the first,
so in-process apps share counters whatever the URI.

Redis: ``HAILONG_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379``); the
tests that need it are skipped when it does not answer. Each test writes keys
under its own prefix and deletes them afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import selectors
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from survey.config import REDIS_TIMEOUTS, load_config

PROJECT = Path(__file__).resolve().parents[2]
REDIS_ENV = "HAILONG_TEST_REDIS_URL"
REDIS_URL = os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379")
#: Nothing listens on port 1 (privileged, unassigned in practice): connection refused.
REFUSING_STORE = "redis://127.0.0.1:1"
LIMIT = 5
TOO_MANY = {
    "vi": "Gửi quá nhiều lần; vui lòng chờ một lát rồi thử lại.",
    "en": "Too many submissions; please wait a moment and retry.",
}

#: One worker process: the app on an ephemeral port, announced on stdout.
WORKER = """\
import json, sys
from werkzeug.serving import make_server
from survey import create_app

server = make_server("127.0.0.1", 0, create_app(json.loads(sys.argv[1])), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]


@dataclass(slots=True)
class Worker:
    process: subprocess.Popen[str]
    port: int

    def submit(self, payload: dict[str, Any], *, client: str = "198.51.100.7",
               language: str | None = None) -> Answer:
        """POST a rating as sent by ``client`` (through the trusted proxy)."""
        headers = {"Content-Type": "application/json", "X-Forwarded-For": client}
        if language:
            headers["Accept-Language"] = language
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", "/api/v1/responses", json.dumps(payload), headers)
            response = connection.getresponse()
            raw = response.read().decode("utf-8", "replace")
            is_json = response.getheader("Content-Type", "").startswith("application/json")
            return Answer(response.status, json.loads(raw) if is_json else {"page": raw[:200]})
        finally:
            connection.close()


@dataclass(frozen=True, slots=True)
class RedisStore:
    url: str
    #: RATELIMIT_KEY_PREFIX of this test: its keys, and only its keys.
    prefix: str
    client: Any

    def keys(self) -> list[bytes]:
        return list(self.client.scan_iter(match=f"*{self.prefix}*"))


@pytest.fixture
def redis_store() -> Iterator[RedisStore]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.skip(f"no Redis answers at {REDIS_URL} ({exc}); start one or set {REDIS_ENV}")
    store = RedisStore(REDIS_URL, f"hailong-test-{secrets.token_hex(8)}", client)
    try:
        yield store
    finally:
        keys = store.keys()
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def start_worker(app: Flask, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``start_worker(**settings)``: a worker process on the test database, limiter on."""
    workers: list[Worker] = []

    def start(**settings: Any) -> Worker:
        config = {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SQLALCHEMY_ENGINE_OPTIONS": app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "RATELIMIT_ENABLED": True,
            # The client address comes from X-Forwarded-For, as behind nginx.
            "TRUST_PROXY": True,
            "SUBMIT_RATE_LIMIT": f"{LIMIT}/minute",
            "CENTRE_SUBMIT_RATE_LIMIT": "1000/minute",
            **settings,
        }
        log = tmp_path / f"worker-{len(workers)}.log"
        with log.open("w", encoding="utf-8") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(config)], cwd=PROJECT,
                stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=60)
        line = process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            process.kill()
            process.wait(timeout=10)
            pytest.fail(f"worker did not start:\n{log.read_text(encoding='utf-8')}")
        worker = Worker(process, int(line))
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.process.terminate()
    for worker in workers:
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=10)
        assert worker.process.stdout is not None
        worker.process.stdout.close()


@pytest.fixture
def silent_store() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}"


def _counted_together(workers: list[Worker], payloads: list[dict[str, Any]],
                      clients: list[str]) -> list[Answer]:
    """Submit ``payloads[i]`` from ``clients[i]`` to the workers in turn."""
    return [workers[i % len(workers)].submit(payload, client=clients[i])
            for i, payload in enumerate(payloads)]


@pytest.mark.parametrize("limited", ["address", "centre"])
def test_redis_counts_one_limit_across_workers(
    limited: str, start_worker: Callable[..., Worker], redis_store: RedisStore,
    make_centre: Callable[..., Any], submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    make_centre("THU")
    if limited == "address":  # one kiosk (or one flooding script) through both workers
        limits = {"SUBMIT_RATE_LIMIT": f"{LIMIT}/minute"}
        clients = ["198.51.100.7"] * (LIMIT + 1)
    else:  # many addresses aimed at one centre
        limits = {"SUBMIT_RATE_LIMIT": "1000/minute",
                  "CENTRE_SUBMIT_RATE_LIMIT": f"{LIMIT}/minute"}
        clients = [f"198.51.100.{n}" for n in range(1, LIMIT + 2)]
    settings = {"RATELIMIT_STORAGE_URI": redis_store.url,
                "RATELIMIT_KEY_PREFIX": redis_store.prefix, **limits}
    workers = [start_worker(**settings), start_worker(**settings)]

    answers = _counted_together(workers, [submit_payload("THU") for _ in clients], clients)

    # Alternating workers: counted alone, each would have seen only 3 of the 6.
    assert [a.status for a in answers] == [201] * LIMIT + [429]
    assert answers[-1].body == {"error": TOO_MANY["vi"], "details": []}
    in_english = workers[1].submit(submit_payload("THU"), client=clients[-1], language="en")
    assert (in_english.status, in_english.body["error"]) == (429, TOO_MANY["en"])
    assert row_counts()["response"] == LIMIT
    assert redis_store.keys(), "the counters should live in Redis under the test's prefix"


def test_memory_store_counts_per_worker(
    start_worker: Callable[..., Worker], make_centre: Callable[..., Any],
    submit_payload: Callable[..., dict[str, Any]], row_counts: Callable[[], dict[str, int]],
) -> None:
    """Why production with several workers wants Redis: memory:// lets workers x limit in."""
    make_centre("THU")
    workers = [start_worker(RATELIMIT_STORAGE_URI="memory://") for _ in range(2)]
    clients = ["198.51.100.7"] * (2 * LIMIT + 2)

    answers = _counted_together(workers, [submit_payload("THU") for _ in clients], clients)

    assert [a.status for a in answers] == [201] * (2 * LIMIT) + [429, 429]
    assert row_counts()["response"] == 2 * LIMIT


@pytest.mark.parametrize("down", ["refused", "silent"])
def test_store_down_keeps_the_rating_and_limits_per_worker(
    down: str, request: pytest.FixtureRequest, start_worker: Callable[..., Worker],
    make_centre: Callable[..., Any], submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    """Redis refusing connections, or accepting them and never answering (host
    gone, packets dropped): the worker still starts, still stores every rating,
    and falls back to counting in memory rather than to no limit at all."""
    store = REFUSING_STORE if down == "refused" else request.getfixturevalue("silent_store")
    make_centre("THU")
    worker = start_worker(RATELIMIT_STORAGE_URI=store)
    payloads = [submit_payload("THU") for _ in range(LIMIT + 1)]

    answers = [worker.submit(payload) for payload in payloads]

    assert [a.status for a in answers] == [201] * LIMIT + [429]
    assert answers[-1].body == {"error": TOO_MANY["vi"], "details": []}
    assert row_counts()["response"] == LIMIT


def test_redis_store_gets_timeouts_unless_set() -> None:
    """redis-py waits forever by default; a silent store must not hold submissions."""
    base = {"SECRET_KEY": "test-secret-key", "RATELIMIT_STORAGE_URI": REDIS_URL}
    assert load_config(base)["RATELIMIT_STORAGE_OPTIONS"] == REDIS_TIMEOUTS
    chosen = load_config({**base, "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 2}})
    assert chosen["RATELIMIT_STORAGE_OPTIONS"] == {**REDIS_TIMEOUTS, "socket_timeout": 2}
    memory = load_config({**base, "RATELIMIT_STORAGE_URI": "memory://"})
    assert memory["RATELIMIT_STORAGE_OPTIONS"] == {}
