"""Fixtures for export tests: staff logins and a small province with a year of ratings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from survey.extensions import db
from survey.models import FrameCount, User

YEAR = 2025


@pytest.fixture
def login(app: Flask, client: Any, csrf_token: Callable[[str], str]) -> Callable[[str], None]:
    """``login(role)``: create a user with ``role`` and log the test client in."""

    def do(role: str) -> None:
        with app.app_context():
            db.session.add(User(username=f"u-{role}", role=role,
                                password_hash=generate_password_hash("pw-123456")))
            db.session.commit()
        token = csrf_token("/staff/login")
        answer = client.post("/staff/login", data={"username": f"u-{role}",
                                                   "password": "pw-123456",
                                                   "csrf_token": token})
        assert answer.status_code == 302

    return do


@pytest.fixture
def province(app: Flask, make_centre: Callable[..., Any],
             make_response: Callable[..., Any]) -> dict[str, Any]:
    """Three kiosk-quick centres, ratings over the year (some skipped), frame counts."""
    rng = np.random.default_rng(7)
    specs = {"AAA": (60, 0.9), "BBB": (45, 0.5), "CCC": (12, 0.3)}
    items = ["q_access", "q_procedure", "q_staff", "q_result", "q_feedback", "overall"]
    for code, (n, quality) in specs.items():
        make_centre(code, name=f"Bộ phận một cửa {code}")
        for k in range(n):
            values = np.clip(np.round(3 + quality + rng.normal(0, 1, len(items))), 1, 5)
            answers: dict[str, int | None] = {i: int(v) for i, v in zip(items, values,
                                                                         strict=True)}
            if k % 7 == 0:
                answers["q_feedback"] = None
            when = datetime(YEAR, 1 + k % 12, 10, 3, tzinfo=UTC) + timedelta(hours=k % 5)
            make_response(code, answers, submitted_at=when, sex="female" if k % 2 else "male")
    with app.app_context():
        from survey.models import Centre

        for centre in db.session.scalars(db.select(Centre)):
            for month in range(1, 13):
                db.session.add(FrameCount(centre_id=centre.id,
                                          month=datetime(YEAR, month, 1).date(),
                                          dossiers=100 + 10 * month + len(centre.code)))
        db.session.commit()
    return {"items": items, "specs": specs}
