"""Connection events for every engine: SQLite's pragmas, PostgreSQL's idle pings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

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
