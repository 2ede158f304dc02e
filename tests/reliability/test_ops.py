"""Production runner and durability: gunicorn workers, kill -9, backup and restore."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from survey import create_app, registry
from survey.extensions import db
from survey.models import AuditLog, KioskHeartbeat, User, utcnow

PROJECT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        return {table.name: sorted(tuple(map(repr, row)) for row in db.session.execute(
            sa.select(table)).all()) for table in db.metadata.sorted_tables}


def test_backup_and_restore_round_trip_every_table(
    app: Flask, runner: Any, make_centre: Callable[..., Any],
    make_response: Callable[..., Any], tmp_path: Path,
) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the PostgreSQL test database is shared by schemas; pg_dump/pg_restore "
                    "are exercised by bench/bench_load.py")
    centre = make_centre("THU")
    make_response("THU", comment="Cán bộ nhiệt tình 👍")
    make_response("THU", answers={"q_access": None, "q_staff": 2})
    with app.app_context():
        user = User(username="analyst1", password_hash="x", role="analyst")
        db.session.add_all([
            user,
            KioskHeartbeat(kiosk_id="kiosk-0001-abcd", centre_id=centre.id, queued=2,
                           last_sync_at=utcnow() - timedelta(minutes=3)),
            AuditLog(actor="cli:test", action="export", details={"year": 2026}),
        ])
        db.session.flush()
        user.centres.append(db.session.get(type(centre), centre.id))
        db.session.commit()
    before = _snapshot(app)
    assert all(before[name] for name in ("centre", "response", "answer", "kiosk_heartbeat",
                                         "audit_log", "user_account", "user_centre"))

    target = tmp_path / "hailong.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
    assert not any(_snapshot(app).values())

    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert _snapshot(app) == before


@pytest.fixture
def production_server(tmp_path: Path) -> Any:
    """``hailong serve --production`` on an SQLite file with one centre."""
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret-key"})
    with app.app_context():
        db.create_all()
        db.session.execute(sa.text(
            "INSERT INTO admin_unit (code, name, kind) VALUES ('U1', 'Xã', 'commune')"))
        db.session.execute(sa.text(
            "INSERT INTO centre (code, name, unit_id, questionnaire_id, questionnaire_version,"
            " active) VALUES ('THU', 'Bộ phận một cửa', 1, 'kiosk-quick', 1, 1)"))
        db.session.commit()
        db.engine.dispose()
    port = _free_port()
    env = {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_SECRET_KEY": "test-secret-key"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from survey.cli import main; main()", "serve", "--production",
         "--workers", "2", "--port", str(port)], cwd=PROJECT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:  # refused, reset or timed out while gunicorn starts
            if time.monotonic() > deadline or process.poll() is not None:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                pytest.fail("the production server did not start")
            time.sleep(0.2)
    yield base, app, process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_acknowledged_rating_survives_kill_9(production_server: Any) -> None:
    base, app, process = production_server
    submission_id = str(uuid.uuid4())
    body = json.dumps({
        "submission_id": submission_id, "centre": "THU", "questionnaire": "kiosk-quick",
        "version": 1, "channel": "kiosk", "answers": {"q_access": 5, "q_staff": 4},
    }).encode()
    request = urllib.request.Request(f"{base}/api/v1/responses", data=body,  # noqa: S310
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 201
    os.killpg(process.pid, signal.SIGKILL)  # the master and every worker, no cleanup
    process.wait(timeout=10)

    with app.app_context():
        stored = db.session.execute(sa.text(
            "SELECT count(*) FROM response WHERE submission_id = :sid"),
            {"sid": uuid.UUID(submission_id).hex}).scalar()
        answers = db.session.execute(sa.text("SELECT count(*) FROM answer")).scalar()
        items = len(registry().get("kiosk-quick", 1).rating_items)
        db.engine.dispose()
    assert stored == 1
    assert answers == items  # every item, answered or not
