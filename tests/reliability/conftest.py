"""Fixtures of the reliability tests: a server that can be stopped and started
again on the same address, a headless Chromium that can lose its network, and
apps on databases of their own (backup and restore replace a whole database)."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.serving import BaseWSGIServer, make_server

from survey import create_app
from survey.database import dispose_engines
from survey.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


class RestartableServer:
    """The app served by werkzeug in a thread; ``stop()`` and ``start()`` keep the port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        self._server = None


@pytest.fixture
def restartable_server(app: Flask) -> Iterator[RestartableServer]:
    server = RestartableServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def new_database_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``new_database_app(migrated=True)``: an app on a new database of its own,
    brought to the schema by the real migrations unless ``migrated`` is false.

    An SQLite file under ``tmp_path``; with ``HAILONG_TEST_DATABASE_URL`` a
    PostgreSQL database ``hl_backup_<hex>`` on that server, dropped after the
    test: pg_dump and pg_restore work on a whole database, and the session's
    database is shared by the schemas of other test runs.
    """
    server = os.environ.get("HAILONG_TEST_DATABASE_URL")
    # CREATE/DROP DATABASE cannot run inside a transaction.
    admin = (sa.create_engine(make_url(server).set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT") if server else None)
    apps: list[Flask] = []
    databases: list[str] = []

    def make(migrated: bool = True) -> Flask:
        name = f"hl_backup_{secrets.token_hex(6)}"
        if admin is None:
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
        else:
            with admin.connect() as connection:
                # template0: template1 may be in use by another session.
                connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
            databases.append(name)
            url = make_url(server).set(database=name).render_as_string(hide_password=False)
        app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                          "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
        apps.append(app)
        if migrated:
            with app.app_context():
                flask_migrate.upgrade()
        return app

    try:
        yield make
    finally:
        for app in apps:
            with app.app_context():
                db.session.remove()
                dispose_engines()
        if admin is not None:
            with admin.connect() as connection:
                for name in databases:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _browser_skip_reason() -> str | None:
    if os.environ.get("HAILONG_SKIP_BROWSER") == "1":
        return "HAILONG_SKIP_BROWSER=1"
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"no headless browser: {', '.join(missing)} missing"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium with its own profile (service workers, IndexedDB)."""
    reason = _browser_skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(driver, condition, timeout)``: a value once ``condition(driver)`` is truthy."""
    from selenium.webdriver.support.ui import WebDriverWait

    def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 20) -> Any:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)

    return wait
