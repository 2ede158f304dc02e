"""The citizen's kiosk in a real headless Chromium: rate in English, the
thank-you screen and its automatic return, the idle reset, the form without
JavaScript, and a screenshot of every screen at tablet and kiosk sizes."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from survey.extensions import db
from survey.models import Response

from .conftest import IDLE_SECONDS, LANDSCAPE, PORTRAIT, THANKS_SECONDS, LiveServer

pytestmark = pytest.mark.browser

#: Demo centres: one with the long SIPAS questionnaire, one with the quick one.
LONG = "DOANKET"
QUICK = "TAMDUONG"
COMMENT = "Cán bộ hướng dẫn tận tình, nhưng phòng chờ hơi nóng. Cảm ơn!"
#: Smallest touch target (CSS px) a finger hits reliably.
MIN_TARGET = 48
#: For tests that take their time on one page: no idle reset under their feet,
#: and a thank-you page that stays long enough for its screenshot.
unhurried = pytest.mark.parametrize(
    "live_server_config", [{"KIOSK_IDLE_SECONDS": 120, "KIOSK_THANKS_SECONDS": 30}],
    ids=["unhurried"])
#: Short thank-you, but no idle reset while a test fills in a long form.
no_idle_reset = pytest.mark.parametrize(
    "live_server_config", [{"KIOSK_IDLE_SECONDS": 120}], ids=["no-idle-reset"])


def stored(app: Flask) -> list[Response]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Response).order_by(Response.id)).all()
        for row in rows:
            _ = row.answers
        return list(rows)


def wait_stored(app: Flask, count: int, seconds: float = 15) -> list[Response]:
    """The stored responses once there are ``count`` (JavaScript sends them in the
    background through the offline queue, so they may arrive after the thank-you)."""
    deadline = time.monotonic() + seconds
    rows = stored(app)
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = stored(app)
    assert len(rows) == count, f"{len(rows)} responses stored, expected {count}"
    return rows


def wait_for(driver: Any, css: str, seconds: float = 20) -> Any:
    """The element ``css`` once visible; on time-out, say where the browser is."""
    try:
        return WebDriverWait(driver, seconds).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, css)))
    except TimeoutException:
        pytest.fail(f"no visible {css} after {seconds} s at {driver.current_url} "
                    f"({driver.title!r})")


def tap_rating(driver: Any, code: str, value: str) -> None:
    """Tap the smiley button ``value`` (1..5 or ``na``) of item ``code``."""
    label = driver.find_element(By.CSS_SELECTOR, f"#q-item_{code} label.choice-{value}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
    label.click()


def tap_option(driver: Any, code: str, value: str) -> None:
    radio = driver.find_element(By.CSS_SELECTOR, f"input[name='item_{code}'][value='{value}']")
    label = radio.find_element(By.XPATH, "./ancestor::label")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
    label.click()


def checked(driver: Any) -> list[str]:
    return [f"{e.get_attribute('name')}={e.get_attribute('value')}"
            for e in driver.find_elements(By.CSS_SELECTOR, "input[type=radio]:checked")]


def at_start(centre: str) -> Callable[[Any], bool]:
    """A wait condition: the browser shows ``centre``'s start page."""
    return lambda driver: urlsplit(driver.current_url).path == f"/kiosk/{centre}"


def choose_language(driver: Any, server: LiveServer, centre: str, lang: str) -> None:
    driver.get(server(f"/kiosk/{centre}"))
    wait_for(driver, f".languages a[lang='{lang}']").click()
    wait_for(driver, "form.rating-form")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang


def item_codes(driver: Any) -> list[str]:
    return [e.get_attribute("id").removeprefix("q-item_")
            for e in driver.find_elements(By.CSS_SELECTOR, "fieldset.item:has(.scale)")]


@no_idle_reset
def test_rate_in_english_thank_you_and_automatic_return(
    live_server: LiveServer, browser: Callable[..., Any],
    console_errors: Callable[[Any], list[str]],
) -> None:
    driver = browser()
    choose_language(driver, live_server, LONG, "en")
    assert "Send my rating" in driver.page_source
    codes = item_codes(driver)
    assert len(codes) == 17  # 16 service items and the overall one
    chosen = {code: str(1 + i % 5) for i, code in enumerate(codes)}
    chosen[codes[3]] = "na"
    for code, value in chosen.items():
        tap_rating(driver, code, value)
    tap_option(driver, "age_group", "60+")
    tap_option(driver, "ethnic_group", "other")
    driver.find_element(By.ID, "comment").send_keys(COMMENT)
    assert sorted(checked(driver)) == sorted(
        [f"item_{c}={v}" for c, v in chosen.items()]
        + ["item_age_group=60+", "item_ethnic_group=other"])
    # The chosen face is marked as chosen, not only its hidden radio.
    label = driver.find_element(By.CSS_SELECTOR, f"#q-item_{codes[0]} label.choice-1")
    assert "checked" in label.get_attribute("class")

    driver.find_element(By.CSS_SELECTOR, "form.rating-form button[type=submit]").click()
    wait_for(driver, "main.thanks")
    assert "Thank you" in driver.find_element(By.TAG_NAME, "h1").text
    countdown = driver.find_element(By.CSS_SELECTOR, "[data-countdown]").text
    assert countdown.strip() in {str(n) for n in range(THANKS_SECONDS + 1)}
    WebDriverWait(driver, THANKS_SECONDS + 8).until(
        at_start(LONG))
    wait_for(driver, ".languages")
    assert console_errors(driver) == []

    (response,) = wait_stored(live_server.app, 1)
    assert response.language == "en"
    assert response.channel == "kiosk"
    assert response.age_group == "60+"
    assert response.ethnic_group == "other"
    assert response.sex is None
    assert response.comment == unicodedata.normalize("NFC", COMMENT)
    expected = {c: None if v == "na" else int(v) for c, v in chosen.items()}
    assert {a.item_code: a.value for a in response.answers} == expected


def test_idle_form_returns_to_start_and_forgets_the_answers(
    live_server: LiveServer, browser: Callable[..., Any],
    console_errors: Callable[[Any], list[str]],
) -> None:
    driver = browser()
    choose_language(driver, live_server, QUICK, "vi")
    codes = item_codes(driver)
    for code in codes[:3]:
        tap_rating(driver, code, "2")
    driver.find_element(By.ID, "comment").send_keys("một nửa")
    assert len(checked(driver)) == 3
    left_alone = time.monotonic()
    WebDriverWait(driver, IDLE_SECONDS + 10).until(
        at_start(QUICK))
    assert time.monotonic() - left_alone >= IDLE_SECONDS - 0.5
    wait_for(driver, ".languages")
    # Back does not bring the half-filled form back: the reset replaced it.
    driver.back()
    wait_for(driver, "main")
    assert checked(driver) == []

    choose_language(driver, live_server, QUICK, "vi")
    assert checked(driver) == []
    assert driver.find_elements(By.CSS_SELECTOR, "label.checked") == []
    assert driver.find_element(By.ID, "comment").get_attribute("value") == ""
    assert console_errors(driver) == []
    assert stored(live_server.app) == []


@no_idle_reset
def test_without_javascript_the_form_still_submits(
    live_server: LiveServer, browser: Callable[..., Any],
    save_screen: Callable[[Any, str], Any],
) -> None:
    driver = browser(javascript=False)
    choose_language(driver, live_server, QUICK, "vi")
    # JavaScript really is off: kiosk.js marks <html class="js"> when it runs.
    assert "js" not in driver.find_element(By.TAG_NAME, "html").get_attribute("class").split()
    codes = item_codes(driver)
    tap_rating(driver, codes[0], "5")
    # An over-long comment (the browser's maxlength taken away) is refused by the
    # server: the error shows at the top, linked to the item, and next to it.
    comment = driver.find_element(By.ID, "comment")
    driver.execute_script("arguments[0].removeAttribute('maxlength');"
                          "arguments[0].value = 'ý'.repeat(2001)", comment)
    driver.find_element(By.CSS_SELECTOR, "form.rating-form button[type=submit]").click()
    wait_for(driver, "#errors a[href='#q-comment']")
    field_error = driver.find_element(By.CSS_SELECTOR, "#q-comment .field-error")
    assert field_error.is_displayed()
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", field_error)
    save_screen(driver, "form-item-error-nojs-800x1280")
    assert driver.find_element(By.CSS_SELECTOR, ".send-bar .send-error").is_displayed()
    assert f"item_{codes[0]}=5" in checked(driver)  # what was answered is kept
    assert stored(live_server.app) == []

    chosen = dict(zip(codes, ["5", "4", "na", "3", "2", "4"], strict=True))
    for code, value in chosen.items():
        tap_rating(driver, code, value)
    comment = driver.find_element(By.ID, "comment")
    comment.clear()
    comment.send_keys("Không có JavaScript vẫn gửi được.")
    driver.find_element(By.CSS_SELECTOR, "form.rating-form button[type=submit]").click()
    wait_for(driver, "main.thanks")
    # The meta refresh alone brings the start page back.
    WebDriverWait(driver, THANKS_SECONDS + 8).until(
        at_start(QUICK))

    (response,) = stored(live_server.app)
    assert response.language == "vi"
    assert response.comment == "Không có JavaScript vẫn gửi được."
    assert {a.item_code: a.value for a in response.answers} == {
        c: None if v == "na" else int(v) for c, v in chosen.items()}


def too_small(driver: Any, css: str) -> list[str]:
    """Elements matching ``css`` smaller than a fingertip."""
    rects = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(function (e) {"
        " var r = e.getBoundingClientRect();"
        " return [e.textContent.trim().slice(0, 30), r.width, r.height]; });", css)
    assert rects, f"nothing matches {css}"
    return [f"{text!r} {w:.0f}×{h:.0f}" for text, w, h in rects
            if w < MIN_TARGET or h < MIN_TARGET]


#: WCAG 2.1 contrast of a text's colour against the first opaque background
#: behind it (AA: 4.5 for body text).
CONTRAST = """
function lum(c) {
  var v = c.match(/[\\d.]+/g).slice(0, 3).map(function (x) {
    x = x / 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function opaque(e) {
  for (; e; e = e.parentElement) {
    var bg = getComputedStyle(e).backgroundColor;
    var alpha = bg.match(/[\\d.]+/g)[3];
    if (alpha === undefined || parseFloat(alpha) > 0.9) { return bg; }
  }
  return "rgb(255, 255, 255)";
}
return Array.from(document.querySelectorAll(arguments[0])).map(function (e) {
  var a = lum(getComputedStyle(e).color), b = lum(opaque(e));
  return [e.textContent.trim().slice(0, 30),
          (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
});
"""


def low_contrast(driver: Any, css: str, minimum: float = 4.5) -> list[str]:
    found = driver.execute_script(CONTRAST, css)
    assert found, f"nothing matches {css}"
    return [f"{text!r} {ratio:.2f}" for text, ratio in found if ratio < minimum]


def overflows(driver: Any) -> bool:
    return driver.execute_script(
        "return document.documentElement.scrollWidth > window.innerWidth")


@unhurried
@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_every_screen_fits_has_big_targets_and_no_console_errors(
    size: tuple[int, int], live_server: LiveServer, browser: Callable[..., Any],
    save_screen: Callable[[Any, str], Any], console_errors: Callable[[Any], list[str]],
) -> None:
    driver = browser(size=size)
    tag = f"{size[0]}x{size[1]}"

    driver.get(live_server("/"))
    wait_for(driver, "main")
    save_screen(driver, f"welcome-{tag}")
    assert too_small(driver, "main a") == []

    driver.get(live_server("/kiosk/"))
    wait_for(driver, ".centre-list")
    save_screen(driver, f"centres-{tag}")
    assert too_small(driver, ".centre-list a") == []
    assert not overflows(driver)

    driver.get(live_server(f"/kiosk/{LONG}"))
    wait_for(driver, ".languages")
    save_screen(driver, f"language-{tag}")
    assert too_small(driver, ".languages a") == []
    assert low_contrast(driver, ".start .said, .languages a") == []
    assert not overflows(driver)

    driver.find_element(By.CSS_SELECTOR, ".languages a[lang='vi']").click()
    wait_for(driver, "form.rating-form")
    save_screen(driver, f"form-top-{tag}")
    assert too_small(driver, "label.choice") == []
    assert too_small(driver, "label.option") == []
    assert too_small(driver, "form button, form .restart a") == []
    assert low_contrast(driver, ".centre-banner, .kiosk-bar-note, h1, .intro, .element h2, "
                                ".question, .choice-text, .option span, .send-bar button") == []
    assert not overflows(driver)
    # The first question is on the first screen, without scrolling.
    first = driver.find_element(By.CSS_SELECTOR, "fieldset.item")
    assert first.rect["y"] + first.rect["height"] <= size[1]
    # The way to send is always in reach on a long form.
    send = driver.find_element(By.CSS_SELECTOR, ".send-bar button[type=submit]")
    assert send.is_displayed()
    assert send.rect["y"] >= 0
    assert send.rect["y"] + send.rect["height"] <= size[1]

    # Sent with nothing answered: the server says so at the top and by the button.
    send.click()
    wait_for(driver, "#errors")
    assert driver.find_element(By.ID, "errors").rect["y"] < size[1] / 2
    assert driver.find_element(By.CSS_SELECTOR, ".send-bar .send-error").is_displayed()
    save_screen(driver, f"form-errors-{tag}")
    assert low_contrast(driver, "#errors h2, #errors li, .send-error a") == []
    assert not overflows(driver)
    # The refused post answers 400, which Chromium logs; nothing else may be there.
    logged = console_errors(driver)
    assert all(f"/kiosk/{LONG}/vi" in m and "status of 400" in m for m in logged), logged

    codes = item_codes(driver)
    tap_rating(driver, codes[0], "4")
    tap_rating(driver, codes[1], "na")
    driver.execute_script("window.scrollTo(0, 0)")
    save_screen(driver, f"form-answered-{tag}")
    driver.find_element(By.CSS_SELECTOR, ".send-bar button[type=submit]").click()
    wait_for(driver, "main.thanks")
    save_screen(driver, f"thanks-{tag}")
    assert too_small(driver, ".thanks a") == []
    assert console_errors(driver) == []
    (response,) = wait_stored(live_server.app, 1)
    answers = {a.item_code: a.value for a in response.answers}
    assert answers[codes[0]] == 4
    assert answers[codes[1]] is None
    assert sum(value is not None for value in answers.values()) == 1

