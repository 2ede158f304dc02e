"""Shared fixtures for every hailong test.

Database: SQLite (one temporary file per test session) unless
``HAILONG_TEST_DATABASE_URL`` names a PostgreSQL database; then each pytest
run works in its own freshly created schema, dropped at the end, so parallel
runs never see each other's rows. Tables come from ``db.create_all()`` (tests
only; the application uses migrations) and every test starts with empty
tables: rows are deleted in reverse dependency order after each test, which
stays correct whatever the application commits.

Fixtures for other test modules (names are stable):

``app_config``      override in a module to change the test app's settings
``app``             a test app on the clean database (CSRF on, rate limit off)
``make_app``        build another app with extra settings, same database
``client``          ``app.test_client()``
``runner``          a Click runner for the ``hailong`` command (``runner.invoke(args=[...])``)
``csrf_token``      ``csrf_token(url)``: the CSRF token of the form served at ``url``
``form_fields``     ``form_fields(url)``: every hidden input of the form served at ``url``
                    (pass a second argument to read it with another test client)
``make_unit``, ``make_centre``, ``make_response``: factories that commit
``submit_payload``  a valid ``POST /api/v1/responses`` body, with overrides
``row_counts``      ``row_counts()``: ``{table: rows}`` for every table
``empty_database``  a database URL + engine options with no tables (migration tests)
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask.testing import FlaskCliRunner

from survey import create_app, registry
from survey.config import sqlalchemy_url
from survey.database import dispose_engines
from survey.extensions import db
from survey.models import AdminUnit, Answer, Centre, Response, utcnow

PG_ENV = "HAILONG_TEST_DATABASE_URL"
_HIDDEN_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'(\w[\w-]*)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Database:
    """Where a test app stores its rows."""

    url: str
    #: SQLALCHEMY_ENGINE_OPTIONS (PostgreSQL: the schema on the search path).
    engine_options: dict[str, Any] = field(default_factory=dict)
    #: PostgreSQL schema, or None on SQLite.
    schema: str | None = None

    @property
    def is_postgresql(self) -> bool:
        return self.schema is not None


def _pg_schema_database(url: str, prefix: str) -> tuple[Database, sa.Engine]:
    """Create a fresh schema; return the database using it and an admin engine."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(sqlalchemy_url(url))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    return Database(url, options, schema), admin


def _drop_schema(admin: sa.Engine, schema: str) -> None:
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The session's database: a SQLite file, or a fresh PostgreSQL schema."""
    pg_url = os.environ.get(PG_ENV)
    if not pg_url:
        path = tmp_path_factory.mktemp("db") / "hailong-test.db"
        yield Database(f"sqlite:///{path}")
        return
    database, admin = _pg_schema_database(pg_url, "hl")
    try:
        yield database
    finally:
        _drop_schema(admin, database.schema)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Database]:
    """A database with no tables at all, for migration tests (own schema on PostgreSQL)."""
    pg_url = os.environ.get(PG_ENV)
    if not pg_url:
        yield Database(f"sqlite:///{tmp_path / 'empty.db'}")
        return
    database, admin = _pg_schema_database(pg_url, "hl_empty")
    try:
        yield database
    finally:
        _drop_schema(admin, database.schema)


def app_settings(database: Database, **overrides: Any) -> dict[str, Any]:
    """The settings of a test app on ``database``."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database.url,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": True,
    }
    if database.engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options
    config.update(overrides)
    return config



def _clean(app: Flask) -> None:
    """Delete every row, children before parents."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        dispose_engines()


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra settings for this module's ``app``; override the fixture to change them."""
    return {}


@pytest.fixture
def make_app(test_database: Database) -> Iterator[Callable[..., Flask]]:
    """``make_app(**settings)``: another test app on the same (cleaned) database."""
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(app_settings(test_database, **overrides))
        with app.app_context():
            db.create_all()
        apps.append(app)
        return app

    yield make
    if apps:
        _clean(apps[0])
    for app in apps[1:]:
        with app.app_context():
            dispose_engines()


@pytest.fixture
def app(make_app: Callable[..., Flask], app_config: dict[str, Any]) -> Flask:
    return make_app(**app_config)


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Invokes the real ``hailong`` group (with ``db``, ``demo``, ``translate``) on ``app``."""
    from survey.cli import main

    class HailongRunner(FlaskCliRunner):
        def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Any:
            return super().invoke(cli or main, args, **kwargs)

    return HailongRunner(app)


def _inputs(html: str) -> dict[str, str]:
    fields = {}
    for tag in _HIDDEN_INPUT.findall(html):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


@pytest.fixture
def form_fields(client: Any) -> Callable[..., dict[str, str]]:
    """``form_fields(url, client=None)``: GET ``url`` and return its hidden inputs
    (csrf_token included), by default with the ``client`` fixture's session."""

    def read(url: str, client_: Any = None) -> dict[str, str]:
        page = (client_ or client).get(url)
        assert page.status_code == 200, f"GET {url} answered {page.status_code}"
        return _inputs(page.get_data(as_text=True))

    return read


@pytest.fixture
def csrf_token(form_fields: Callable[..., dict[str, str]]) -> Callable[..., str]:
    """``csrf_token(url, client=None)``: the CSRF token of the form at ``url``."""

    def token(url: str, client_: Any = None) -> str:
        fields = form_fields(url, client_)
        assert "csrf_token" in fields, f"no csrf_token in the form at {url}"
        return fields["csrf_token"]

    return token


def _app_context(app: Flask) -> AbstractContextManager[Any]:
    if has_app_context() and current_app._get_current_object() is app:
        return nullcontext()
    return app.app_context()


def _saved(*objects: Any) -> None:
    """Commit, then load every column so the objects stay readable after the context ends."""
    db.session.add_all(objects)
    db.session.commit()
    for obj in objects:
        db.session.refresh(obj)


@pytest.fixture
def make_unit(app: Flask) -> Callable[..., AdminUnit]:
    def make(code: str | None = None, *, name: str = "Xã Thử Nghiệm", kind: str = "commune",
             parent_id: int | None = None) -> AdminUnit:
        with _app_context(app):
            unit = AdminUnit(code=code or f"U-{secrets.token_hex(3)}", name=name, kind=kind,
                             parent_id=parent_id)
            _saved(unit)
            return unit

    return make


@pytest.fixture
def make_centre(app: Flask, make_unit: Callable[..., AdminUnit]) -> Callable[..., Centre]:
    """``make_centre(code, questionnaire=..., version=..., name=..., unit=..., active=...)``."""

    def make(code: str = "THU", *, questionnaire: str = "kiosk-quick", version: int = 1,
             name: str = "Bộ phận một cửa xã Thử Nghiệm", unit: AdminUnit | None = None,
             active: bool = True) -> Centre:
        unit = unit or make_unit()
        with _app_context(app):
            centre = Centre(code=code, name=name, unit_id=unit.id, questionnaire_id=questionnaire,
                            questionnaire_version=version, active=active)
            _saved(centre)
            return centre

    return make


def _centre_row(centre: Centre | str) -> Centre:
    if isinstance(centre, Centre):
        return db.session.get(Centre, centre.id)
    found = db.session.scalar(sa.select(Centre).where(Centre.code == centre))
    assert found is not None, f"no centre {centre!r}"
    return found


@pytest.fixture
def make_response(app: Flask) -> Callable[..., Response]:
    """``make_response(centre, answers=None, **columns)``: a stored response.

    ``answers`` maps item codes to 1..5 or None; by default every rating item
    of the centre's questionnaire is answered 4.
    """

    def make(centre: Centre | str, answers: dict[str, int | None] | None = None, *,
             submitted_at: datetime | None = None, language: str = "vi",
             channel: str = "kiosk", **columns: Any) -> Response:
        with _app_context(app):
            row = _centre_row(centre)
            if answers is None:
                questionnaire = registry().get(row.questionnaire_id, row.questionnaire_version)
                assert questionnaire is not None
                answers = {item.code: 4 for item in questionnaire.rating_items}
            submitted_at = submitted_at or utcnow()
            response = Response(
                submission_id=uuid.uuid4(), centre_id=row.id,
                questionnaire_id=row.questionnaire_id,
                questionnaire_version=row.questionnaire_version, language=language,
                channel=channel, started_at=submitted_at - timedelta(minutes=2),
                submitted_at=submitted_at, received_at=submitted_at,
                answers=[Answer(item_code=c, value=v) for c, v in answers.items()], **columns,
            )
            _saved(response)
            return response

    return make


@pytest.fixture
def submit_payload(app: Flask) -> Callable[..., dict[str, Any]]:
    """``submit_payload(centre, **overrides)``: a valid JSON submission for ``centre``.

    Every rating item of the questionnaire is answered 4 unless ``answers`` is
    given; a key set to ``...`` (Ellipsis) is removed from the payload.
    """

    def build(centre: Centre | str = "THU", /, **overrides: Any) -> dict[str, Any]:
        with _app_context(app):
            row = _centre_row(centre)
            questionnaire = registry().get(row.questionnaire_id, row.questionnaire_version)
            assert questionnaire is not None
            payload: dict[str, Any] = {
                "submission_id": str(uuid.uuid4()),
                "centre": row.code,
                "questionnaire": row.questionnaire_id,
                "version": row.questionnaire_version,
                "language": "vi",
                "channel": "kiosk",
                "started_at": (utcnow() - timedelta(minutes=3)).isoformat(),
                "answers": {item.code: 4 for item in questionnaire.rating_items},
            }
        payload.update(overrides)
        return {k: v for k, v in payload.items() if v is not ...}

    return build


@pytest.fixture
def row_counts(app: Flask) -> Callable[[], dict[str, int]]:
    """``row_counts()``: rows in every table, e.g. to assert nothing was stored."""

    def count() -> dict[str, int]:
        with app.app_context():
            return {
                table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
                for table in db.metadata.sorted_tables
            }

    return count


#: A test-only questionnaire with one required item (no shipped form has one).
REQUIRED_FORM = """\
id = "required-test"
version = 1
title = "Phiếu có câu bắt buộc"
intro = "Chỉ dùng trong kiểm thử"
scale = "satisfaction5"

[index]
code = "required-test"
name = "Chỉ số"

[[aspects]]
code = "service"
name = "Dịch vụ"

[[elements]]
code = "staff"
aspect = "service"
name = "Công chức"

[[items]]
code = "q_must"
element = "staff"
text = "Câu bắt buộc"
required = true

[[items]]
code = "q_may"
element = "staff"
text = "Câu không bắt buộc"
"""


@pytest.fixture
def required_forms(tmp_path: Path) -> Path:
    """A forms/ directory: the shipped scales and ``required-test`` v1 (``q_must`` required)."""
    (tmp_path / "required-test").mkdir()
    shipped = Path(__file__).resolve().parent.parent / "forms" / "scales.toml"
    (tmp_path / "scales.toml").write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "required-test" / "v1.toml").write_text(REQUIRED_FORM, encoding="utf-8")
    return tmp_path
