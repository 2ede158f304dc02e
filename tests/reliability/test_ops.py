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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from survey import create_app, registry
from survey.cli import main
from survey.database import dispose_engines
from survey.extensions import db
from survey.models import (
    AdminUnit,
    Answer,
    AuditLog,
    Centre,
    DayMoments,
    FrameCount,
    KioskHeartbeat,
    Response,
    User,
    WeightingSettings,
    utcnow,
)

PROJECT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill_every_table(app: Flask, n: int = 1) -> None:
    """Add rows to every table, with NULLs, diacritics, emoji, JSON and bytes;
    ``n`` keeps each call's unique values apart."""
    with app.app_context():
        now = utcnow()
        province = AdminUnit(code=f"P{n}", name="Tỉnh Thừa Thiên Huế", kind="province")
        commune = AdminUnit(code=f"C{n}", name="Xã Phú Mậu", kind="commune", parent=province)
        centre = Centre(code=f"THU{n}", name="Bộ phận một cửa xã Phú Mậu", unit=commune,
                        questionnaire_id="kiosk-quick", questionnaire_version=1)
        rated = Response(
            submission_id=uuid.uuid4(), centre=centre, questionnaire_id="kiosk-quick",
            questionnaire_version=1, language="vi", channel="kiosk",
            started_at=now - timedelta(minutes=3), submitted_at=now - timedelta(minutes=1),
            received_at=now, sex="female", age_group="35-49", ethnic_group="Kinh",
            comment="Cán bộ nhiệt tình 👍", device_key="a1b2c3d4e5f6a7b8",
            answers=[Answer(item_code="q_access", value=5), Answer(item_code="q_staff",
                                                                   value=None)])
        flagged = Response(
            submission_id=uuid.uuid4(), centre=centre, questionnaire_id="kiosk-quick",
            questionnaire_version=1, language="en", channel="qr", submitted_at=now,
            received_at=now, integrity_flag="burst", excluded=True,
            answers=[Answer(item_code="q_access", value=1)])
        manager = User(username=f"manager{n}", password_hash="scrypt:32768:8:1$x$y",
                       role="manager", display_name="Nguyễn Thị Hoa", failed_logins=5,
                       locked_until=now + timedelta(minutes=15), centres=[centre])
        db.session.add_all([province, commune, centre, rated, flagged, manager])
        db.session.flush()
        db.session.add_all([
            FrameCount(centre_id=centre.id, month=date(2026, n % 12 + 1, 1), dossiers=412),
            KioskHeartbeat(kiosk_id=f"kiosk-{n:04d}-abcd", centre_id=centre.id, queued=2,
                           last_sync_at=now - timedelta(minutes=3)),
            AuditLog(actor="cli:test", action="export",
                     details={"year": 2026, "ghi_chú": "Xuất báo cáo quý"}),
            WeightingSettings(year=2025 + n, updated_by=f"analyst{n}",
                              settings={"trim": 3.5, "strata": ["unit"], "raking": None}),
            DayMoments(centre_id=centre.id, day=date(2026, 3, n), n=2,
                       max_response_id=flagged.id, id_sum=rated.id + flagged.id,
                       layout="q_access q_staff", counts=bytes(range(256))),
        ])
        db.session.commit()


def _snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (and the migration revision), ordered by primary key."""
    with app.app_context():
        rows = {table.name: [tuple(row) for row in db.session.execute(
            sa.select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables}
        rows["alembic_version"] = [tuple(row) for row in db.session.execute(
            sa.text("SELECT version_num FROM alembic_version"))]
        db.session.remove()
        return rows


def _assert_new_rows_fit(app: Flask, restored: dict[str, list[tuple[Any, ...]]]) -> None:
    """New rows go in next to the restored ones: an id sequence left behind
    by the restore would hand out a taken primary key (IntegrityError)."""
    _fill_every_table(app, 9)
    after = _snapshot(app)
    assert [name for name, rows in restored.items()
            if name != "alembic_version" and len(after[name]) <= len(rows)] == []


def _hailong(app: Flask, *args: str) -> Any:
    """``hailong ARGS`` on ``app``, through the same Click group as the console script."""
    return FlaskCliRunner(app).invoke(main, list(args))


def test_backup_and_restore_round_trip_every_table(
    new_database_app: Callable[..., Flask], tmp_path: Path,
) -> None:
    app = new_database_app()
    _fill_every_table(app)
    before = _snapshot(app)
    assert [name for name, rows in before.items() if not rows] == []

    target = tmp_path / "hailong.backup"
    result = _hailong(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    # Rows added (ids move on), changed and deleted after the backup, and another revision.
    _fill_every_table(app, 2)
    with app.app_context():
        db.session.execute(sa.update(Centre).where(Centre.code == "THU1").values(name="Đổi"))
        db.session.execute(sa.delete(Response).where(Response.excluded))
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = 'changed'"))
        db.session.commit()
    changed = _snapshot(app)
    assert [name for name in before if changed[name] == before[name]] == []

    result = _hailong(app, "restore", str(target), "--yes")
    assert result.exit_code == 0, result.output
    assert _snapshot(app) == before
    _assert_new_rows_fit(app, before)


def test_restore_into_a_new_empty_database(
    new_database_app: Callable[..., Flask], tmp_path: Path,
) -> None:
    """A lost server: the backup alone rebuilds schema, rows and id sequences."""
    app = new_database_app()
    _fill_every_table(app)
    before = _snapshot(app)
    target = tmp_path / "hailong.backup"
    assert _hailong(app, "backup", str(target)).exit_code == 0

    fresh = new_database_app(migrated=False)
    result = _hailong(fresh, "restore", str(target), "--yes")
    assert result.exit_code == 0, result.output
    assert _snapshot(fresh) == before
    _assert_new_rows_fit(fresh, before)


@pytest.mark.parametrize("content", [b"", b"centre,score\nTHU1,4\n", b"SQLite format 3\x00"],
                         ids=["empty", "csv", "sqlite-header-only"])
def test_restore_refuses_a_file_that_is_not_a_backup(
    new_database_app: Callable[..., Flask], tmp_path: Path, content: bytes,
) -> None:
    """Not even the first row is touched: the file's kind is checked before."""
    app = new_database_app()
    _fill_every_table(app)
    before = _snapshot(app)
    source = tmp_path / "export.csv"
    source.write_bytes(content)

    result = _hailong(app, "restore", str(source), "--yes")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a ClickException's message, no traceback
    assert result.output.startswith(f"Error: {source} is not a backup of a ")
    assert _snapshot(app) == before


def test_restore_of_a_truncated_backup_fails_and_changes_nothing(
    new_database_app: Callable[..., Flask], tmp_path: Path,
) -> None:
    app = new_database_app()
    _fill_every_table(app)
    target = tmp_path / "hailong.backup"
    assert _hailong(app, "backup", str(target)).exit_code == 0
    target.write_bytes(target.read_bytes()[:target.stat().st_size // 2])  # a copy cut short
    _fill_every_table(app, 2)
    before = _snapshot(app)

    result = _hailong(app, "restore", str(target), "--yes")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith("Error: ")
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
        dispose_engines()
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
        dispose_engines()
    assert stored == 1
    assert answers == items  # every item, answered or not
