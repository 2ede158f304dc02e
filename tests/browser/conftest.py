"""Real-browser fixtures: the app served on a free port, driven by Debian's
headless Chromium through Selenium.

Every browser test is skipped (with the reason) when ``HAILONG_SKIP_BROWSER=1``
or when ``/usr/bin/chromium`` / ``/usr/bin/chromedriver`` are missing; CI
installs both, so there they run.

``live_server``  the app (demo centres, short kiosk timers) on 127.0.0.1:<free port>
``browser``      ``browser(javascript=True, size=PORTRAIT)``: a fresh Chromium
                 with its own profile directory; quit after the test
``save_screen``  ``save_screen(driver, name)``: ``artifacts/screenshots/<name>.png``
``console_errors`` ``console_errors(driver)``: SEVERE browser-log entries (CSP
                 violations, failed loads, script errors) since the last call
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from survey.demo import ensure_centres
from survey.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: A 10-inch tablet held upright, and a 1080p kiosk screen (CSS pixels).
PORTRAIT = (800, 1280)
LANDSCAPE = (1920, 1080)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
#: Short kiosk timers so the tests can watch them run out.
THANKS_SECONDS = 2
IDLE_SECONDS = 3


def _skip_reason() -> str | None:
    if os.environ.get("HAILONG_SKIP_BROWSER") == "1":
        return "HAILONG_SKIP_BROWSER=1"
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return (f"no headless browser: {', '.join(missing)} missing "
                "(apt install chromium chromium-driver)")
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str
    app: Flask

    def __call__(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def live_server_config() -> dict[str, Any]:
    """Extra settings for ``live_server``; override (or parametrize) to change them."""
    return {}


@pytest.fixture
def live_server(browser_available: None, make_app: Callable[..., Flask],
                live_server_config: dict[str, Any]) -> Iterator[LiveServer]:
    """The app with the demo centres, served by werkzeug in a background thread."""
    settings = {"KIOSK_THANKS_SECONDS": THANKS_SECONDS, "KIOSK_IDLE_SECONDS": IDLE_SECONDS}
    app = make_app(**(settings | live_server_config))
    with app.app_context():
        ensure_centres()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _options(profile: Path, javascript: bool) -> Any:
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--hide-scrollbars", "--lang=vi-VN",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    return options


def set_viewport(driver: Any, size: tuple[int, int]) -> None:
    """Make the page's viewport exactly ``size`` CSS pixels (scale 1)."""
    width, height = size
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


@pytest.fixture
def browser(browser_available: None, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[Callable[..., Any]]:
    """``browser(javascript=True, size=PORTRAIT)``: a fresh headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[Any] = []
    profiles: list[Path] = []

    def start(javascript: bool = True, size: tuple[int, int] = PORTRAIT) -> Any:
        profile = tmp_path_factory.mktemp("chromium-profile")
        profiles.append(profile)
        driver = webdriver.Chrome(options=_options(profile, javascript),
                                  service=Service(executable_path=str(CHROMEDRIVER)))
        drivers.append(driver)
        driver.set_page_load_timeout(30)
        set_viewport(driver, size)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def save_screen() -> Callable[[Any, str], Path]:
    """``save_screen(driver, name)``: the visible viewport as a PNG artifact."""

    def save(driver: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert driver.save_screenshot(str(path)), f"could not save {path}"
        return path

    return save


@pytest.fixture
def console_errors() -> Callable[[Any], list[str]]:
    """``console_errors(driver)``: SEVERE console messages since the last call."""

    def read(driver: Any) -> list[str]:
        return [entry["message"] for entry in driver.get_log("browser")
                if entry["level"] == "SEVERE"]

    return read
