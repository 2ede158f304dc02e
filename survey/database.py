"""Connections: SQLite's pragmas, PostgreSQL's idle pings (events on every engine)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

_SUBMIT_ENGINE = "hailong_submit_engine"
#: A pooled connection unused for this long is checked before it is handed out.
IDLE_PING_SECONDS = 5.0
_ping_always: ContextVar[bool] = ContextVar("hailong_ping_always", default=False)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: foreign keys on, WAL journal so readers never block the kiosk."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Pool, "checkin")
def _note_use(_dbapi_connection: Any, record: Any) -> None:
    record.info["hailong_used"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """PostgreSQL: ping a connection that sat idle in the pool (a database
    restart or a firewall may have closed it meanwhile) or any connection
    inside :func:`pinging`; a dead one is replaced (DisconnectionError makes
    the pool connect again).

    A connection in steady use is not pinged, which saves a round trip per
    request: if the database restarts under load, a statement on a pooled
    connection fails once. The submit path then sends it again inside
    :func:`pinging`; other pages answer 500 once and the next request gets a
    fresh connection.
    """
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return
    used = record.info.get("hailong_used")
    if not _ping_always.get() and (used is None
                                   or time.monotonic() - used < IDLE_PING_SECONDS):
        return
    try:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # no transaction left open by the ping
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.autocommit = autocommit
    except Exception as exc:
        raise DisconnectionError("pooled connection is dead") from exc


@contextmanager
def pinging() -> Iterator[None]:
    """Ping every connection checked out inside the block (after a broken one)."""
    token = _ping_always.set(True)
    try:
        yield
    finally:
        _ping_always.reset(token)


def add_submit_engine(app: Flask, url: str, options: Mapping[str, Any]) -> None:
    """PostgreSQL: the kiosks' submissions (one autocommit statement each,
    :func:`survey.submissions.save`) get a pool of their own, whose
    connections stay in autocommit mode and need no rollback when they come
    back. Creating the engine opens no connection."""
    app.extensions[_SUBMIT_ENGINE] = create_engine(
        url, **options, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)


def submit_engine() -> Engine:
    """The current app's submit engine (PostgreSQL only)."""
    return current_app.extensions[_SUBMIT_ENGINE]  # type: ignore[no-any-return]


def engines() -> list[Engine]:
    """Every engine of the current app: Flask-SQLAlchemy's and the submit path's."""
    from .extensions import db

    found = list(db.engines.values())
    if _SUBMIT_ENGINE in current_app.extensions:
        found.append(current_app.extensions[_SUBMIT_ENGINE])
    return found


def dispose_engines() -> None:
    """Close every pooled connection of the current app."""
    for engine in engines():
        engine.dispose()
