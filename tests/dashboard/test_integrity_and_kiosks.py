"""Staff review of flagged ratings (explicit, logged exclusion) and kiosk status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditLog, KioskHeartbeat, Response, utcnow


def _token(client: Any, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_analyst_excludes_a_flagged_rating_with_a_reason(
        app: Flask, make_centre: Callable[..., Any], make_response: Callable[..., Any],
        make_user: Callable[..., int], login: Callable[..., Any]) -> None:
    make_centre("ALPHA")
    flagged = make_response("ALPHA", integrity_flag="burst")
    make_response("ALPHA")
    make_user("sonoivu", "analyst")
    client = login("sonoivu")
    page = client.get("/staff/integrity").get_data(as_text=True)
    assert str(flagged.submission_id) in page
    assert page.count('name="submission_id"') == 1  # only the flagged one is listed

    without_reason = client.post("/staff/integrity", data={
        "csrf_token": _token(client, "/staff/integrity"),
        "submission_id": str(flagged.submission_id), "exclude": "1", "reason": ""})
    assert without_reason.status_code == 200
    with app.app_context():
        assert db.session.get(Response, flagged.id).excluded is False

    decided = client.post("/staff/integrity", data={
        "csrf_token": _token(client, "/staff/integrity"),
        "submission_id": str(flagged.submission_id), "exclude": "1",
        "reason": "Cùng một máy gửi 5 phiếu trong 3 giây"})
    assert decided.status_code == 302
    with app.app_context():
        assert db.session.get(Response, flagged.id).excluded is True
        entry = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "response.exclude")).one()
        assert entry.actor == "sonoivu"
        assert entry.details["reason"] == "Cùng một máy gửi 5 phiếu trong 3 giây"


def test_managers_cannot_decide_exclusions(make_centre: Callable[..., Any],
                                           make_user: Callable[..., int],
                                           login: Callable[..., Any]) -> None:
    make_centre("ALPHA")
    make_user("quanly", "manager", ["ALPHA"])
    client = login("quanly")
    assert client.get("/staff/integrity").status_code == 403
    assert client.post("/staff/integrity", data={}).status_code in (400, 403)


def test_manager_sees_the_kiosks_of_own_centres_only(
        app: Flask, make_centre: Callable[..., Any], make_user: Callable[..., int],
        login: Callable[..., Any]) -> None:
    alpha, beta = make_centre("ALPHA"), make_centre("BETA", name="Bộ phận một cửa xã Beta")
    with app.app_context():
        db.session.add_all([
            KioskHeartbeat(kiosk_id="aaaaaaaa-0001", centre_id=alpha.id, queued=3,
                           last_seen=utcnow() - timedelta(hours=2)),
            KioskHeartbeat(kiosk_id="bbbbbbbb-0002", centre_id=beta.id, queued=0),
        ])
        db.session.commit()
    make_user("quanly", "manager", ["ALPHA"])
    page = login("quanly").get("/staff/kiosks").get_data(as_text=True)
    assert "aaaaaaaa" in page
    assert "bbbbbbbb" not in page


def test_analyst_sees_every_centres_kiosks_by_centre_name(
        app: Flask, make_centre: Callable[..., Any], make_user: Callable[..., int],
        login: Callable[..., Any]) -> None:
    alpha = make_centre("ALPHA", name="Bộ phận một cửa xã Thử Nghiệm")
    beta = make_centre("BETA", name="Bộ phận một cửa xã Đoàn Kết")
    with app.app_context():
        db.session.add_all([
            KioskHeartbeat(kiosk_id="aaaaaaaa-0001", centre_id=alpha.id, queued=3),
            KioskHeartbeat(kiosk_id="bbbbbbbb-0002", centre_id=beta.id, queued=0, rejected=4),
        ])
        db.session.commit()
    make_user("sonoivu", "analyst")
    answer = login("sonoivu").get("/staff/kiosks")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    # Vietnamese order: Đ right after D, long before T (codepoint order has it after Z).
    assert page.index("Đoàn Kết") < page.index("bbbbbbbb") < page.index("Thử Nghiệm") \
        < page.index("aaaaaaaa")
    assert '<td class="attention">4</td>' in page
