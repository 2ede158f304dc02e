"""Fixtures for dashboard tests: staff accounts, logged-in clients, bulk ratings."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from browser.conftest import (  # noqa: F401 -- the kiosk's browser fixtures, reused
    browser,
    browser_available,
    console_errors,
    live_server,
    live_server_config,
    save_screen,
)
from flask import Flask

from survey.admin.services import create_user
from survey.dashboard import queries
from survey.extensions import db
from survey.models import Answer, Centre, Response

PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app: Flask) -> Callable[..., int]:
    """``make_user(username, role, centres=())``: a staff account; returns its id."""

    def make(username: str, role: str, centres: Sequence[str] = ()) -> int:
        with app.app_context():
            user = create_user(username, PASSWORD, role, centres=centres)
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def login(app: Flask, csrf_token: Callable[..., str]) -> Callable[..., Any]:
    """``login(username, client=None)``: a test client logged in as ``username``."""

    def log_in(username: str, password: str = PASSWORD) -> Any:
        client = app.test_client()
        page = client.get("/staff/login")
        token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
        token = token.split('"')[0]
        answer = client.post("/staff/login", data={"username": username, "password": password,
                                                   "csrf_token": token})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return client

    return log_in


def local_noon(days_ago: int) -> datetime:
    """Noon (local time) ``days_ago`` days before today, as UTC."""
    return queries.day_start_utc(queries.local_today() - days_ago) + timedelta(hours=12)


@pytest.fixture
def add_ratings(app: Flask) -> Callable[..., None]:
    """``add_ratings(code, values, days_ago=0, comment=None)``: one response per row of
    ``values`` (a list of rating lists in the questionnaire's item order, None = no answer)."""

    def add(code: str, values: Sequence[Sequence[int | None]], days_ago: int = 0,
            comment: str | None = None) -> None:
        from sqlalchemy import select

        from survey import registry

        with app.app_context():
            centre = db.session.scalar(select(Centre).where(Centre.code == code))
            assert centre is not None
            questionnaire = registry().get(centre.questionnaire_id,
                                           centre.questionnaire_version)
            assert questionnaire is not None
            items = [i.code for i in questionnaire.rating_items]
            at = local_noon(days_ago)
            for row in values:
                db.session.add(Response(
                    submission_id=uuid.uuid4(), centre_id=centre.id,
                    questionnaire_id=centre.questionnaire_id,
                    questionnaire_version=centre.questionnaire_version, language="vi",
                    channel="kiosk", submitted_at=at, received_at=at, comment=comment,
                    answers=[Answer(item_code=c, value=v) for c, v in zip(items, row,
                                                                           strict=False)]))
            db.session.commit()

    return add
