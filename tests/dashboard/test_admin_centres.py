"""Centre administration: admins create centres and assign questionnaires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Centre


def _token(client: Any, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_admin_creates_a_centre_with_a_questionnaire(
        app: Flask, make_centre: Callable[..., Any], make_user: Callable[..., int],
        login: Callable[..., Any]) -> None:
    existing = make_centre("ALPHA")
    make_user("quantri", "admin")
    client = login("quantri")
    answer = client.post("/staff/centres/new", data={
        "csrf_token": _token(client, "/staff/centres/new"), "code": "NEWC",
        "name": "Bộ phận một cửa xã Đồng Hữu", "unit": existing.unit_id,
        "questionnaire": "sipas-service@1", "active": "y"})
    assert answer.status_code == 302
    with app.app_context():
        centre = db.session.scalar(select(Centre).where(Centre.code == "NEWC"))
        assert centre is not None
        assert (centre.questionnaire_id, centre.questionnaire_version) == ("sipas-service", 1)
        assert centre.name == "Bộ phận một cửa xã Đồng Hữu"
    assert "NEWC" in client.get("/staff/centres").get_data(as_text=True)


def test_reassigning_a_questionnaire_keeps_the_code(
        app: Flask, make_centre: Callable[..., Any], make_user: Callable[..., int],
        login: Callable[..., Any]) -> None:
    centre = make_centre("ALPHA", questionnaire="kiosk-quick")
    make_user("quantri", "admin")
    client = login("quantri")
    url = f"/staff/centres/{centre.id}"
    answer = client.post(url, data={
        "csrf_token": _token(client, url), "code": "HACKED", "name": "Tên mới",
        "unit": centre.unit_id, "questionnaire": "sipas-service@1", "active": "y"})
    assert answer.status_code == 302
    with app.app_context():
        saved = db.session.get(Centre, centre.id)
        assert saved.code == "ALPHA"
        assert saved.questionnaire_id == "sipas-service"


def test_unknown_questionnaire_or_duplicate_code_is_refused_and_nothing_saved(
        app: Flask, make_centre: Callable[..., Any], make_user: Callable[..., int],
        login: Callable[..., Any]) -> None:
    existing = make_centre("ALPHA")
    make_user("quantri", "admin")
    client = login("quantri")
    for code, questionnaire in (("NEWC", "nope@1"), ("ALPHA", "kiosk-quick@1")):
        answer = client.post("/staff/centres/new", data={
            "csrf_token": _token(client, "/staff/centres/new"), "code": code,
            "name": "X", "unit": existing.unit_id, "questionnaire": questionnaire})
        assert answer.status_code == 200
        assert 'role="alert"' in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Centre)) == 1


def test_only_admins_manage_centres(make_centre: Callable[..., Any],
                                    make_user: Callable[..., int],
                                    login: Callable[..., Any], client: Any) -> None:
    make_centre("ALPHA")
    make_user("sonoivu", "analyst")
    assert login("sonoivu").get("/staff/centres").status_code == 403
    assert client.get("/staff/centres/new").status_code == 302
