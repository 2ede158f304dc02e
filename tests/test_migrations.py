"""Migrations build the whole schema from an empty database (SQLite, and
PostgreSQL in its own schema when HAILONG_TEST_DATABASE_URL is set), and the
migrated schema is exactly what the models declare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskCliRunner

import survey
from survey import create_app
from survey.cli import main
from survey.database import dispose_engines
from survey.extensions import db

MIGRATIONS = Path(survey.__file__).parent / "migrations"


@pytest.fixture
def empty_app(empty_database: Any) -> Iterator[Flask]:
    config = {"TESTING": True, "SECRET_KEY": "test-secret-key",
              "DATABASE_URL": empty_database.url}
    if empty_database.engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = empty_database.engine_options
    app = create_app(config)
    yield app
    with app.app_context():
        db.session.remove()
        dispose_engines()


def hailong(app: Flask, *args: str) -> Any:
    result = FlaskCliRunner(app).invoke(main, list(args))
    assert result.exit_code == 0, f"hailong {' '.join(args)}:\n{result.output}\n{result.exception}"
    return result


def schema_differences(app: Flask) -> list[Any]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def table_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def test_exactly_one_head() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


def test_migration_files_are_date_prefixed() -> None:
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert files
    for path in files:
        assert path.name[:11].count("-") == 2, path.name
        assert path.name[4] == "-"
        assert path.name[10] == "_"
        source = path.read_text(encoding="utf-8")
        # The generated type would tie the migration to today's model code.
        assert "survey.models.UTCDateTime" not in source, path.name


def test_upgrade_from_empty_matches_the_models(empty_app: Flask) -> None:
    assert table_names(empty_app) == set()
    hailong(empty_app, "db", "upgrade")
    tables = table_names(empty_app)
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables
    assert schema_differences(empty_app) == []


def test_downgrade_to_empty_and_upgrade_again(empty_app: Flask) -> None:
    hailong(empty_app, "db", "upgrade")
    hailong(empty_app, "db", "downgrade", "base")
    assert table_names(empty_app) <= {"alembic_version"}
    hailong(empty_app, "db", "upgrade")
    assert schema_differences(empty_app) == []


def test_migrated_database_takes_a_submission(
    empty_app: Flask,
) -> None:
    hailong(empty_app, "db", "upgrade")
    hailong(empty_app, "demo", "--responses", "20")
    client = empty_app.test_client()
    centres = client.get("/api/v1/centres").get_json()
    assert centres
    first = centres[0]
    from uuid import uuid4

    answer = client.post("/api/v1/responses", json={
        "submission_id": str(uuid4()), "centre": first["code"],
        "questionnaire": first["questionnaire"], "version": first["version"],
        "language": "vi", "channel": "web", "answers": {"overall": 5},
    })
    assert answer.status_code == 201, answer.get_json()


def test_demo_creates_centres_and_ratings_once(
    runner: FlaskCliRunner, row_counts: Any,
) -> None:
    from survey.demo import DEMO_CENTRES

    first = runner.invoke(args=["demo", "--responses", "40", "--year", "2025"])
    assert first.exit_code == 0, first.output
    counts = row_counts()
    assert counts["centre"] == len(DEMO_CENTRES)
    assert counts["response"] > 0
    assert counts["answer"] > counts["response"]
    again = runner.invoke(args=["demo", "--responses", "40", "--year", "2025"])
    assert again.exit_code == 0, again.output
    assert row_counts() == counts


def test_demo_ratings_are_plausible(app: Flask, runner: FlaskCliRunner) -> None:
    from survey.models import Answer, Centre, Response

    assert runner.invoke(args=["demo", "--responses", "60", "--year", "2025"]).exit_code == 0
    with app.app_context():
        names = db.session.scalars(sa.select(Centre.name)).all()
        assert any("Đ" in name or "ờ" in name or "ồ" in name for name in names)
        low, high = db.session.execute(sa.select(sa.func.min(Answer.value),
                                                 sa.func.max(Answer.value))).one()
        assert 1 <= low < high <= 5
        first, last = db.session.execute(sa.select(sa.func.min(Response.submitted_at),
                                                   sa.func.max(Response.submitted_at))).one()
        assert first.year == last.year == 2025
        assert first.utcoffset() is not None


def test_hailong_command_upgrades_a_new_database(tmp_path: Path) -> None:
    """The installed console script, as the README's first command runs it."""
    import os
    import subprocess
    import sys

    hailong_script = Path(sys.executable).with_name("hailong")
    assert hailong_script.exists(), "the hailong console script is not installed"
    database = tmp_path / "fresh.db"
    env = {**os.environ, "HAILONG_DATABASE_URL": f"sqlite:///{database}",
           "HAILONG_SECRET_KEY": "test-secret-key"}
    done = subprocess.run([str(hailong_script), "db", "upgrade"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "centre", "response", "answer"} <= tables
