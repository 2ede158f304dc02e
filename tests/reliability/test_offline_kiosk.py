"""The offline-first kiosk in a real browser: ratings given while the server is
down survive a reload and arrive exactly once when it is back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from survey.extensions import db
from survey.models import Centre, KioskHeartbeat, Response, utcnow

pytestmark = pytest.mark.browser

SYNC_STATE = "sync-state"


def _offline(driver: Any, offline: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def _rate(driver: Any, value: int) -> str:
    """Answer every rating with ``value``, send, and return the submission id used."""
    submission_id = driver.execute_script(
        "document.querySelectorAll('input[type=radio][value=\"' + arguments[0] + '\"]')"
        ".forEach(function (r) { r.click(); });"
        "return document.querySelector('input[name=submission_id]').value;", str(value))
    driver.find_element("css selector", "form.rating-form button[type=submit]").click()
    return submission_id


def _open_kiosk(driver: Any, server: Any, wait_for: Callable[..., Any]) -> str:
    """Open centre THU's Vietnamese form and wait until its offline shell is
    cached; return the form's address."""
    form_url = f"{server.url}/kiosk/THU/vi"
    driver.get(form_url)
    wait_for(driver, lambda d: d.find_element("id", SYNC_STATE)
             .get_attribute("data-offline-ready") == "yes")
    return form_url


def _stored_ids(app: Flask) -> list[str]:
    with app.app_context():
        return [str(s) for s in db.session.scalars(sa.select(Response.submission_id))]


def test_ratings_given_offline_arrive_exactly_once(
    app: Flask, make_centre: Callable[..., Any], restartable_server: Any, chromium: Any,
    wait_for: Callable[..., Any],
) -> None:
    make_centre("THU")
    form_url = _open_kiosk(chromium, restartable_server, wait_for)

    restartable_server.stop()
    _offline(chromium, True)
    sent = []
    for value in (5, 3, 1):
        chromium.get(form_url)  # served by the service worker from its cache
        wait_for(chromium, lambda d: d.find_elements("css selector", "form.rating-form"))
        sent.append(_rate(chromium, value))
        wait_for(chromium, lambda d: d.current_url.endswith("/thanks"))
    assert len(set(sent)) == 3, "every rating has its own submission id"

    chromium.get(form_url)
    chromium.refresh()  # a reload while offline still shows the form and the queue
    state = wait_for(chromium, lambda d: (lambda e: e if e.get_attribute("data-queued") == "3"
                                          else None)(d.find_element("id", SYNC_STATE)))
    assert state.is_displayed()
    assert "3" in state.text
    assert chromium.find_elements("css selector", "form.rating-form fieldset")
    assert _stored_ids(app) == []

    restartable_server.start()
    _offline(chromium, False)  # fires "online": the queue is sent at once
    wait_for(chromium, lambda d: d.find_element("id", SYNC_STATE)
             .get_attribute("data-queued") == "0", timeout=40)

    stored = _stored_ids(app)
    assert sorted(stored) == sorted(sent)
    with app.app_context():
        values = db.session.execute(sa.text(
            "SELECT r.submission_id, MIN(a.value), MAX(a.value) FROM response r "
            "JOIN answer a ON a.response_id = r.id GROUP BY r.submission_id")).all()
    assert sorted((v[1], v[2]) for v in values) == [(1, 1), (3, 3), (5, 5)]


#: Runs before the page's own scripts: this tab's clock three years behind
#: (a tablet whose clock battery went flat and that never got network time).
CLOCK_THREE_YEARS_BEHIND = """
(function () {
  var RealDate = Date, offset = -3 * 365 * 24 * 3600 * 1000;
  function WrongDate() {
    var args = Array.prototype.slice.call(arguments);
    if (!(this instanceof WrongDate)) { return new RealDate(RealDate.now() + offset).toString(); }
    return args.length ? new (Function.prototype.bind.apply(RealDate, [null].concat(args)))()
                       : new RealDate(RealDate.now() + offset);
  }
  WrongDate.now = function () { return RealDate.now() + offset; };
  WrongDate.UTC = RealDate.UTC;
  WrongDate.parse = RealDate.parse;
  WrongDate.prototype = RealDate.prototype;
  window.Date = WrongDate;
})();
"""


def test_a_kiosk_with_a_wrong_clock_dates_its_rating_by_the_servers(
    app: Flask, make_centre: Callable[..., Any], restartable_server: Any, chromium: Any,
    wait_for: Callable[..., Any],
) -> None:
    make_centre("THU")
    chromium.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                             {"source": CLOCK_THREE_YEARS_BEHIND})
    form_url = _open_kiosk(chromium, restartable_server, wait_for)
    assert chromium.execute_script("return new Date().getFullYear()") <= utcnow().year - 2

    sent = _rate(chromium, 4)
    wait_for(chromium, lambda d: d.current_url.endswith("/thanks"))
    chromium.get(form_url)
    wait_for(chromium, lambda d: d.find_element("id", SYNC_STATE)
             .get_attribute("data-queued") == "0", timeout=40)

    with app.app_context():
        stored = db.session.scalars(sa.select(Response)).all()
        assert [str(r.submission_id) for r in stored] == [sent]
        assert abs(stored[0].submitted_at - utcnow()) < timedelta(minutes=1)


def test_a_refused_rating_stays_on_the_kiosk_and_staff_see_it(
    app: Flask, make_centre: Callable[..., Any], restartable_server: Any, chromium: Any,
    wait_for: Callable[..., Any],
) -> None:
    make_centre("THU")
    _open_kiosk(chromium, restartable_server, wait_for)
    with app.app_context():  # the centre moves to another questionnaire meanwhile
        db.session.execute(sa.update(Centre).where(Centre.code == "THU").values(
            questionnaire_id="sipas-service"))
        db.session.commit()

    _rate(chromium, 4)  # the form still shows kiosk-quick: a definitive 400
    wait_for(chromium, lambda d: d.current_url.endswith("/thanks"))

    def reported() -> KioskHeartbeat | None:
        with app.app_context():
            return db.session.scalar(sa.select(KioskHeartbeat).where(KioskHeartbeat.rejected > 0))

    beat = wait_for(chromium, lambda _d: reported(), timeout=40)
    assert (beat.rejected, beat.queued) == (1, 0)
    assert _stored_ids(app) == []
    assert chromium.execute_async_script("""
        var done = arguments[arguments.length - 1];
        indexedDB.open("hailong-kiosk").onsuccess = function (event) {
          var store = event.target.result.transaction("rejected").objectStore("rejected");
          store.count().onsuccess = function (c) { done(c.target.result); };
        };""") == 1
