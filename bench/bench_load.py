"""Load and fault benchmark: simulated kiosks against the production runner.

``--clients`` kiosks (asyncio, raw HTTP/1.1 over loopback, one keep-alive
connection per kiosk, opened again after a failure) submit ratings to
``hailong serve --production`` on PostgreSQL for ``--duration`` seconds.
Midway the server is killed with SIGKILL (master and workers) and started
again; every kiosk retries its current rating with backoff until the server
acknowledges it (201/200), exactly as offline.js does. Afterwards the
database must hold exactly the generated submission ids: none lost, none
duplicated. Prints throughput and latency percentiles as JSON.

    python bench/bench_load.py --duration 180 --clients 200

The database is a fresh schema in ``--database`` (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from scratch import add_centres, execute, scratch_schema  # bench/scratch.py

from survey.ops import THREADS, default_workers

PROJECT = Path(__file__).resolve().parents[1]
ITEMS = ("q_access", "q_procedure", "q_staff", "q_result", "q_feedback", "overall")


@dataclass
class Stats:
    acknowledged: list[str] = field(default_factory=list)
    #: Per acknowledged attempt: (when it was sent, its latency), monotonic seconds.
    latencies: list[tuple[float, float]] = field(default_factory=list)
    #: Per rating: (when it was due, when it was acknowledged), monotonic seconds.
    ratings: list[tuple[float, float]] = field(default_factory=list)
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    generated: set[str] = field(default_factory=set)


class Connection:
    """One kiosk's keep-alive HTTP/1.1 connection, opened again when it breaks."""

    def __init__(self, port: int, kiosk: str) -> None:
        self.port = port
        self.head = (b"POST /api/v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nX-Kiosk-Id: " + kiosk.encode()
                     + b"\r\nContent-Length: ")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, body: bytes) -> int:
        """The status of one POST; any failure closes the connection and raises OSError."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            parts = status_line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                raise ConnectionError("connection closed before an answer")  # e.g. killed
            length, keep = 0, True
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _sep, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"connection":
                    keep = value.strip().lower() != b"close"
            await self.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise ConnectionError(str(exc)) from exc
        if not keep:
            self.close()
        return int(parts[1])


async def kiosk(number: int, port: int, deadline: float, stats: Stats,
                centres: list[str], interval: float | None) -> None:
    """One kiosk: back to back (``interval`` None) or one rating due every
    ``interval`` seconds (the kiosks staggered); a rating's latency runs from
    when it was due, so a server falling behind is not hidden by the kiosks
    waiting for it (no coordinated omission)."""
    rng = random.Random(number)
    kiosk_id = f"bench-kiosk-{number:04d}"
    connection = Connection(port, kiosk_id)
    centre = centres[number % len(centres)]
    due = time.monotonic() + (interval * rng.random() if interval else 0.0)
    while (now := time.monotonic()) < deadline:
        if interval is None:
            due = now
        elif due > now:
            await asyncio.sleep(due - now)
        submission_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        stats.generated.add(submission_id)
        body = json.dumps({
            "submission_id": submission_id, "centre": centre, "questionnaire": "kiosk-quick",
            "version": 1, "channel": "kiosk", "language": "vi",
            "submitted_at": datetime.now(UTC).isoformat(),
            "answers": {item: rng.choice((1, 2, 3, 4, 5, None)) for item in ITEMS[:-1]}
            | {"overall": rng.randint(1, 5)},
        }).encode()
        backoff = 0.05
        while True:  # the same rating until it is acknowledged, whatever the deadline
            started, sent = time.perf_counter(), time.monotonic()
            try:
                status = await connection.post(body)
            except OSError:
                status = 0
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if status in (200, 201):
                stats.latencies.append((sent, time.perf_counter() - started))
                stats.acknowledged.append(submission_id)
                stats.ratings.append((due, time.monotonic()))
                break
            stats.retries += 1
            await asyncio.sleep(backoff * (0.5 + rng.random()))
            backoff = min(backoff * 2, 1.0)
        if interval is not None:
            due += interval
    connection.close()


def start_server(url: str, port: int, workers: int, threads: int, access_log: bool
                 ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HAILONG_DATABASE_URL": url,
           "HAILONG_SECRET_KEY": secrets.token_hex(16),
           # The kiosks' loopback address is exempt from the rate limits (as a
           # centre's NAT address would be); the limits stay high as well.
           "HAILONG_RATE_LIMIT_EXEMPT": '["127.0.0.1"]',
           "HAILONG_SUBMIT_RATE_LIMIT": "1000000/minute",
           "HAILONG_CENTRE_SUBMIT_RATE_LIMIT": "1000000/minute"}
    return subprocess.Popen(
        [sys.executable, "-c", "from survey.cli import main; main()", "serve", "--production",
         "--workers", str(workers), "--threads", str(threads), "--port", str(port),
         "--access-log" if access_log else "--no-access-log"],
        cwd=PROJECT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


#: A year of earlier ratings (6 answers each) spread over the centres and 400
#: devices, so the indexes and the planner's statistics look like production's.
_HISTORY = """
INSERT INTO response (submission_id, centre_id, questionnaire_id, questionnaire_version,
                      language, channel, submitted_at, received_at, device_key, excluded)
SELECT gen_random_uuid(), 1 + n %% :centres, 'kiosk-quick', 1, 'vi', 'kiosk',
       now() - interval '1 hour' - n * interval '1 second' * (31536000 / :rows),
       now() - interval '1 hour', md5((n %% 400)::text)::varchar(32), false
FROM generate_series(1, :rows) AS n;
INSERT INTO answer (response_id, item_code, value)
SELECT id, item, 1 + (id * 7 + length(item)) %% 5
FROM response, unnest(ARRAY['q_access', 'q_procedure', 'q_staff', 'q_result', 'q_feedback',
                            'overall']) AS item;
ANALYZE response;
ANALYZE answer;
"""


def prepare(url: str, centres: int, history: int) -> int:
    """Tables, ``centres`` centres and ``history`` earlier ratings in the
    database at ``url``; return the last earlier rating's id."""
    from survey import create_app
    from survey.database import dispose_engines
    from survey.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        add_centres([f"B{n:03d}" for n in range(centres)])
        for statement in filter(str.strip, _HISTORY.split(";")):
            db.session.execute(sa.text(statement.replace("%%", "%")),
                               {"centres": centres, "rows": history})
        db.session.commit()
        last = db.session.scalar(sa.text("SELECT coalesce(max(id), 0) FROM response"))
        dispose_engines()
    return int(last)


def stored_ids(database: str, schema: str, after: int) -> list[str]:
    """The submission ids stored during the run (after the earlier ratings)."""
    rows = execute(database, f'SELECT submission_id FROM "{schema}".response '  # noqa: S608
                   "WHERE id > :after", after=after).scalars().all()
    return [str(r) for r in rows]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _group_pids(group: int) -> list[int]:
    """The processes of one process group: the gunicorn master and its workers."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == group:
                pids.append(int(entry.name))
    return pids


def _backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving the bench's database, except this query's."""
    return list(execute(
        database, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").scalars().all())


class CpuMeter:
    """CPU time of the server (gunicorn's process group) and of PostgreSQL's
    backends between :meth:`start` and :meth:`stop`, per acknowledged rating."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.before: dict[str, dict[int, float]] = {}
        self.acknowledged = 0

    def _snapshot(self, group: int) -> dict[str, dict[int, float]]:
        taken: dict[str, dict[int, float]] = {}
        for name, pids in (("server", _group_pids(group)),
                           ("database", _backend_pids(self.database))):
            taken[name] = {pid: cpu for pid in pids if (cpu := _cpu_seconds(pid)) is not None}
        return taken

    def start(self, group: int, acknowledged: int) -> None:
        self.before, self.acknowledged = self._snapshot(group), acknowledged

    def stop(self, group: int, acknowledged: int) -> dict[str, float]:
        after = self._snapshot(group)
        ratings = max(1, acknowledged - self.acknowledged)
        return {f"{name}_cpu_ms_per_rating": round(1000 * sum(
            cpu - self.before[name].get(pid, 0.0) for pid, cpu in after[name].items()
        ) / ratings, 3) for name in after}


def _rating_latencies(ratings: list[tuple[float, float]],
                      outage: tuple[float, float]) -> dict[str, float]:
    spared = sorted(done - due for due, done in ratings if done < outage[0] or due > outage[1])
    every = sorted(done - due for due, done in ratings)
    return {"rating_p50_ms": round(percentile(spared, 0.50) * 1000, 1),
            "rating_p99_ms": round(percentile(spared, 0.99) * 1000, 1),
            "rating_p99_ms_with_outage": round(percentile(every, 0.99) * 1000, 1),
            "rating_max_ms_with_outage": round(every[-1] * 1000 if every else 0.0, 1)}


def slowest_seconds(ratings: list[tuple[float, float]], clock_offset: float,
                    count: int = 3) -> list[dict[str, object]]:
    """The wall-clock seconds whose due ratings waited longest (p99), to match
    a stall with the server's or PostgreSQL's log (checkpoints, autovacuum)."""
    by_second: dict[int, list[float]] = {}
    for due, done in ratings:
        by_second.setdefault(int(due + clock_offset), []).append(done - due)
    worst = sorted(by_second.items(), key=lambda item: -percentile(item[1], 0.99))[:count]
    return [{"at": datetime.fromtimestamp(second, UTC).strftime("%H:%M:%S"),
             "ratings": len(waits), "p99_ms": round(percentile(waits, 0.99) * 1000, 1)}
            for second, waits in worst]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else 0.0


async def run(args: argparse.Namespace) -> dict[str, object]:
    with scratch_schema(args.database, "bench", keep=args.keep) as (schema, url):
        return await _run(args, schema, url)


async def _run(args: argparse.Namespace, schema: str, url: str) -> dict[str, object]:
    history_last_id = prepare(url, args.centres, args.history)
    stats = Stats()
    server = start_server(url, args.port, args.workers, args.threads, args.access_log)
    try:
        await wait_ready(args.port)
        load_before = os.getloadavg()[0]
        cpu_started = time.process_time()
        started = time.monotonic()
        deadline = started + args.duration
        interval = args.clients / args.rate if args.rate else None
        clients = [asyncio.create_task(
            kiosk(n, args.port, deadline, stats, [f"B{c:03d}" for c in range(args.centres)],
                  interval))
            for n in range(args.clients)]
        kill_at = started + args.duration * args.kill_at
        outage = 0.0
        outage_window = (0.0, 0.0)
        meter = CpuMeter(args.database)
        meter.start(server.pid, len(stats.acknowledged))
        if args.kill_at < 1:
            await asyncio.sleep(max(0.0, kill_at - time.monotonic()))
            os.killpg(server.pid, signal.SIGKILL)  # the server we started, by its group
            server.wait()
            killed = time.monotonic()
            server = start_server(url, args.port, args.workers, args.threads, args.access_log)
            await wait_ready(args.port)
            outage = time.monotonic() - killed
            outage_window = (killed, killed + outage)
            meter.start(server.pid, len(stats.acknowledged))  # the new server from now on
        await asyncio.gather(*clients)
        cpu = meter.stop(server.pid, len(stats.acknowledged))
        elapsed = time.monotonic() - started
        client_cpu = time.process_time() - cpu_started
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    stored = stored_ids(args.database, schema, history_last_id)
    generated = stats.generated
    warm = started + args.warmup  # statistics leave out the workers' first seconds
    latencies = sorted(latency for sent, latency in stats.latencies if sent >= warm)
    return {
        "clients": args.clients, "history": args.history, "workers": args.workers,
        "threads": args.threads,
        "access_log": args.access_log,
        "duration_s": round(elapsed, 1),
        "killed_at_s": round(args.duration * args.kill_at, 1) if args.kill_at < 1 else None,
        "outage_s": round(outage, 2),
        "generated": len(generated), "acknowledged": len(stats.acknowledged),
        "stored_rows": len(stored), "stored_distinct": len(set(stored)),
        "lost": len(generated - set(stored)),
        "unexpected": len(set(stored) - generated),
        "duplicated": len(stored) - len(set(stored)),
        "ratings_per_s": round(len(stats.acknowledged) / elapsed, 1),
        "target_rate_per_s": args.rate,
        "warmup_s": args.warmup,
        # One request (the attempt that was acknowledged) ...
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        # ... and one rating, from when it was due until acknowledged (retries
        # included), for the ratings not caught by the outage and for all.
        **_rating_latencies([r for r in stats.ratings if r[0] >= warm], outage_window),
        "slowest_seconds_utc": slowest_seconds(
            [r for r in stats.ratings if r[0] >= warm], time.time() - time.monotonic()),
        "retries": stats.retries,
        # The load generator's own CPU (one process): it must not be the bottleneck.
        "client_cpu_percent": round(100 * client_cpu / elapsed, 1),
        # Server and database CPU per rating (after a kill: the restarted server's).
        **cpu,
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds (default 180)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=5,
                        help="seconds at the start left out of the latency figures (default 5)")
    parser.add_argument("--rate", type=float, default=0,
                        help="ratings per second due from all kiosks together, each kiosk "
                             "paced (default 0: every kiosk back to back, no think time)")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="gunicorn workers (default: hailong's, 1 per core + 1)")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"threads per worker (default: hailong's, {THREADS})")
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                        help="gunicorn's access log (to /dev/null here; default on)")
    parser.add_argument("--centres", type=int, default=20)
    parser.add_argument("--history", type=int, default=100_000,
                        help="earlier ratings in the database before the run (default 100,000)")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--kill-at", type=float, default=0.5,
                        help="fraction of the duration at which to SIGKILL the server; "
                             "1 = never")
    parser.add_argument("--database", default=os.environ.get(
        "HAILONG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--keep", action="store_true", help="keep the bench schema")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    if result["lost"] or result["duplicated"] or result["unexpected"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
