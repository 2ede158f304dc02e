"""Fixtures of the reliability tests: a server that can be stopped and started
again on the same address, and a headless Chromium that can lose its network."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

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
