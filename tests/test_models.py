"""Models: timezone-aware UTC times on every backend, and the database itself
refusing values out of range (CHECK, UNIQUE, foreign keys)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError, StatementError

from survey.extensions import db
from survey.models import Answer, Response, utcnow

HANOI = timezone(timedelta(hours=7))


def new_response(centre_id: int, **columns: Any) -> Response:
    values: dict[str, Any] = {
        "submission_id": uuid.uuid4(), "centre_id": centre_id,
        "questionnaire_id": "kiosk-quick", "questionnaire_version": 1, "language": "vi",
        "channel": "kiosk", "submitted_at": utcnow(),
    }
    values.update(columns)
    return Response(**values)


@pytest.fixture
def centre(make_centre: Callable[..., Any]) -> Any:
    return make_centre("THU")


def test_utcnow_is_aware_utc() -> None:
    assert utcnow().utcoffset() == timedelta(0)


def test_times_come_back_aware_utc(app: Flask, centre: Any) -> None:
    local = datetime(2026, 3, 2, 8, 15, 30, tzinfo=HANOI)
    with app.app_context():
        response = new_response(centre.id, started_at=local, submitted_at=local)
        db.session.add(response)
        db.session.commit()
        response_id = response.id
    with app.app_context():
        stored = db.session.get(Response, response_id)
        assert stored is not None
        for value in (stored.started_at, stored.submitted_at, stored.received_at):
            assert value is not None
            assert value.tzinfo is not None
            assert value.utcoffset() == timedelta(0)
        assert stored.started_at == local
        assert stored.started_at.hour == 1  # 08:15 in Hà Nội is 01:15 UTC
        # Comparisons in SQL use UTC too.
        found = db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(
            Response.submitted_at > datetime(2026, 3, 2, 1, 15, tzinfo=UTC)))
        assert found == 1


def test_naive_times_are_refused(app: Flask, centre: Any) -> None:
    with app.app_context():
        db.session.add(new_response(centre.id, submitted_at=datetime(2026, 3, 2, 8, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("value", [0, 6, -1])
def test_answer_outside_the_scale_is_refused_by_the_database(
    app: Flask, centre: Any, value: int,
) -> None:
    with app.app_context():
        db.session.add(new_response(centre.id, answers=[Answer(item_code="overall",
                                                               value=value)]))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_unknown_channel_is_refused_by_the_database(app: Flask, centre: Any) -> None:
    with app.app_context():
        db.session.add(new_response(centre.id, channel="fax"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_submission_id_is_unique(app: Flask, centre: Any) -> None:
    same = uuid.uuid4()
    with app.app_context():
        db.session.add(new_response(centre.id, submission_id=same))
        db.session.commit()
        db.session.add(new_response(centre.id, submission_id=same))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_foreign_keys_are_enforced(app: Flask, centre: Any) -> None:
    with app.app_context():
        db.session.add(new_response(centre.id + 1000))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_deleting_a_response_deletes_its_answers(
    app: Flask, centre: Any, make_response: Callable[..., Response],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    response = make_response(centre)
    assert row_counts()["answer"] == 6
    with app.app_context():
        db.session.delete(db.session.get(Response, response.id))
        db.session.commit()
    assert row_counts()["answer"] == 0


def test_unanswered_item_is_null(
    app: Flask, centre: Any, make_response: Callable[..., Response],
) -> None:
    response = make_response(centre, {"overall": None, "q_staff": 2})
    with app.app_context():
        values = dict(db.session.execute(
            sa.select(Answer.item_code, Answer.value).where(Answer.response_id == response.id)
        ).all())
    assert values == {"overall": None, "q_staff": 2}


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
