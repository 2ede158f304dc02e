"""The lean submit path: ON CONFLICT decides duplicates, few statements, the centre cache.

Runs on SQLite, and on PostgreSQL with ``HAILONG_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from survey.extensions import db
from survey.models import Answer, Centre, Response

RESPONSES = "/api/v1/responses"


@pytest.fixture
def centre(make_centre: Callable[..., Any]) -> Any:
    return make_centre("THU", questionnaire="kiosk-quick", version=1)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_concurrent_duplicates_give_one_row_201_then_200_with_its_id(
    app: Flask, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    payload = submit_payload("THU")
    barrier = threading.Barrier(8)
    answers: list[tuple[int, Any]] = []

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        answer = client.post(RESPONSES, json=payload)
        answers.append((answer.status_code, answer.get_json()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(status for status, _body in answers) == [200] * 7 + [201]
    with app.app_context():
        stored = db.session.scalars(sa.select(Response)).all()
        answer_rows = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
    assert len(stored) == 1
    assert answer_rows == len(payload["answers"])  # the answers once, not once per attempt
    assert {body["id"] for _status, body in answers} == {stored[0].id}
    assert {body["submission_id"] for _status, body in answers} == {payload["submission_id"]}


def test_retry_after_the_stored_one_answers_200_and_stores_nothing_more(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    payload = submit_payload("THU")
    first = client.post(RESPONSES, json=payload)
    counts = row_counts()
    again = client.post(RESPONSES, json=payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert row_counts() == counts


def test_a_new_rating_takes_three_statements_and_a_retry_three(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    client.post(RESPONSES, json=submit_payload("THU"))  # the centre is now cached
    payload = submit_payload("THU")
    with statements(app) as new:
        assert client.post(RESPONSES, json=payload).status_code == 201
    # burst check, the response (ON CONFLICT DO NOTHING), its answers in one batch
    assert new == ["SELECT", "INSERT", "INSERT"]
    with statements(app) as retry:
        assert client.post(RESPONSES, json=payload).status_code == 200
    # burst check, the insert that conflicts, the stored id
    assert retry == ["SELECT", "INSERT", "SELECT"]


def test_deactivating_a_centre_in_this_process_takes_effect_at_once(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    assert client.post(RESPONSES, json=submit_payload("THU")).status_code == 201  # cached
    with app.app_context():
        db.session.get(Centre, centre.id).active = False
        db.session.commit()
    refused = client.post(RESPONSES, json=submit_payload("THU"))
    assert refused.status_code == 400
    assert [d["field"] for d in refused.get_json()["details"]] == ["centre"]


def test_centres_changed_elsewhere_are_seen_after_the_cache_time(
    make_app: Callable[..., Flask], make_centre: Callable[..., Any],
    submit_payload: Callable[..., dict[str, Any]],
) -> None:
    app = make_app(CENTRE_CACHE_SECONDS=0)
    centre = make_centre("THU")
    client = app.test_client()
    assert client.post(RESPONSES, json=submit_payload("THU")).status_code == 201
    with app.app_context():  # another program: plain SQL, no ORM flush in this app
        db.session.execute(sa.update(Centre).where(Centre.id == centre.id).values(active=False))
        db.session.commit()
    assert client.post(RESPONSES, json=submit_payload("THU")).status_code == 400
