"""Headless Chromium: log in, open a centre dashboard and the overview, save screenshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_dashboard_and_overview_in_a_browser(
        live_server: Any, browser: Callable[..., Any], save_screen: Callable[..., Any],
        console_errors: Callable[[Any], list[str]], make_user: Callable[..., int],
        add_ratings: Callable[..., None]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def logged_in(driver: Any, language: str) -> None:
        """Log in and wait for the redirect (a loaded machine may take seconds)."""
        driver.get(live_server(f"/staff/login?lang={language}"))
        driver.find_element(By.ID, "username").send_keys("sonoivu")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: "/staff/login" not in d.current_url,
                                        message="still on the login page after 20 s")

    for days_ago in range(0, 30):
        add_ratings("DOANKET", [[5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 4, 3, 2, 4, 4, 3, 5]] * 20
                    + [[3, 2, 4, 4, 2, 3, 4, 4, 4, 4, 4, 2, 2, 3, 4, 2, 3]] * (5 + days_ago % 7),
                    days_ago=days_ago, comment="Gọi tôi: 0912 345 678" if days_ago == 1 else None)
    make_user("sonoivu", "analyst")
    driver = browser(size=(1280, 900))
    logged_in(driver, "en")
    assert "/dashboard/overview" in driver.current_url
    save_screen(driver, "dashboard-overview")
    driver.get(live_server("/dashboard/centre/DOANKET"))
    assert driver.find_element(By.CSS_SELECTOR, ".chart svg").is_displayed()
    assert "0912 345 678" not in driver.page_source
    save_screen(driver, "dashboard-centre")
    driver.execute_script("document.getElementById('h-elements').scrollIntoView()")
    save_screen(driver, "dashboard-centre-elements")
    phone = browser(size=(390, 844))
    logged_in(phone, "vi")
    phone.get(live_server("/dashboard/centre/DOANKET"))
    save_screen(phone, "dashboard-centre-phone")
    assert console_errors(driver) == []
    assert console_errors(phone) == []
