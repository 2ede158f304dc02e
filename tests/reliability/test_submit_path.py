"""The lean submit path: ON CONFLICT decides duplicates, few statements, the centre cache.

Runs on SQLite, and on PostgreSQL with ``HAILONG_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from survey.database import dispose_engines, engines
from survey.extensions import db
from survey.models import Answer, Centre, Response, utcnow

RESPONSES = "/api/v1/responses"


@pytest.fixture
def centre(make_centre: Callable[..., Any]) -> Any:
    return make_centre("THU", questionnaire="kiosk-quick", version=1)


@contextmanager
def statements(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs: through
    SQLAlchemy, and on PostgreSQL straight through psycopg (the submit path)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        import psycopg

        execute = psycopg.Connection.execute

        def recording(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            record(None, None, str(query))
            return execute(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Connection, "execute", recording)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        monkeypatch.undo()


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


def test_a_new_rating_takes_one_statement_on_postgresql_three_on_sqlite(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client.post(RESPONSES, json=submit_payload("THU"))  # the centre is now cached
    payload = submit_payload("THU")
    postgresql = app.config["DATABASE_URL"].startswith("postgresql")
    with statements(app, monkeypatch) as new:
        assert client.post(RESPONSES, json=payload).status_code == 201
    # PostgreSQL: burst check, response and answers in one WITH ... INSERT (autocommit);
    # SQLite: burst check, the response (ON CONFLICT DO NOTHING), its answers in one batch
    assert new == (["WITH"] if postgresql else ["SELECT", "INSERT", "INSERT"])
    with statements(app, monkeypatch) as retry:
        assert client.post(RESPONSES, json=payload).status_code == 200
    # ... then the stored id, as the insert conflicted
    assert retry == (["WITH", "SELECT"] if postgresql else ["SELECT", "INSERT", "SELECT"])


ANSWERED = {"q_access": 4, "q_procedure": 4, "q_staff": 4, "q_result": 4, "q_feedback": 4,
            "overall": 4}


@pytest.mark.parametrize(("second", "seconds_later", "flag"), [
    ({}, 2, "burst"),  # identical
    ({"q_staff": 2}, 2, "burst"),  # one item differs
    ({"q_staff": None}, 2, "burst"),  # one item left unanswered
    ({"q_staff": 2, "overall": 5}, 2, None),  # two differ
    ({"q_staff": None, "q_result": 1}, 2, None),  # one unanswered, one differs
    ({}, 11, None),  # identical, but outside the 10-second window
    ({}, -3, "burst"),  # a queued rating sent after a later one
], ids=["identical", "one-differs", "one-unanswered", "two-differ",
        "unanswered-and-differs", "outside-window", "earlier"])
def test_the_burst_rule_is_the_same_on_every_database(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    second: dict[str, int | None], seconds_later: int, flag: str | None,
) -> None:
    """PostgreSQL checks bursts inside its single INSERT, SQLite in Python: same cases."""
    kiosk = {"X-Kiosk-Id": "kiosk-burst-0001"}
    first_at = utcnow() - timedelta(minutes=1)
    first = submit_payload("THU", answers=ANSWERED, submitted_at=first_at.isoformat())
    later = submit_payload("THU", answers=ANSWERED | second, submitted_at=(
        first_at + timedelta(seconds=seconds_later)).isoformat())
    for payload in (first, later):
        assert client.post(RESPONSES, json=payload, headers=kiosk).status_code == 201
    with app.app_context():
        flags = dict(db.session.execute(sa.select(Response.submission_id,
                                                  Response.integrity_flag)).all())
    assert flags == {uuid.UUID(first["submission_id"]): None,
                     uuid.UUID(later["submission_id"]): flag}


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


def test_ratings_without_a_pattern_or_of_another_version_are_no_burst_neighbours(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    make_response: Callable[..., Response],
) -> None:
    """Ratings stored before patterns existed, or on another questionnaire
    version, are not compared (their answers are not aligned with the new one's)."""
    from survey.integrity import device_key

    kiosk = {"X-Kiosk-Id": "kiosk-burst-0002"}
    with app.test_request_context(headers=kiosk):
        device = device_key()
    at = utcnow() - timedelta(minutes=1)
    make_response(centre, ANSWERED, submitted_at=at, device_key=device)  # no pattern
    other = make_response(centre, ANSWERED, submitted_at=at, device_key=device,
                          answer_pattern="444444")
    with app.app_context():
        db.session.execute(sa.update(Response).where(Response.id == other.id)
                           .values(questionnaire_version=2))
        db.session.commit()
    payload = submit_payload("THU", answers=ANSWERED, submitted_at=at.isoformat())
    assert client.post(RESPONSES, json=payload, headers=kiosk).status_code == 201
    with app.app_context():
        stored = db.session.scalar(sa.select(Response).where(
            Response.submission_id == uuid.UUID(payload["submission_id"])))
        assert stored is not None
        assert (stored.answer_pattern, stored.integrity_flag) == ("444444", None)


def _kill_pooled_connections(app: Flask) -> None:
    """Terminate, from outside, every connection the app's pools hold (a database restart)."""
    with app.app_context():
        pids = set()
        for engine in engines():  # the app's pool and the submit path's
            checked_out = [engine.raw_connection() for _ in range(2)]  # both, if two exist
            pids |= {c.driver_connection.info.backend_pid for c in checked_out}
            for connection in checked_out:
                connection.close()
        url = db.engine.url
    killer = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with killer.connect() as connection:
        for pid in pids:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


@pytest.fixture
def postgresql_only(app: Flask) -> None:
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("pooled PostgreSQL connections")


@pytest.mark.usefixtures("postgresql_only")
def test_a_rating_sent_on_a_connection_killed_meanwhile_is_stored_once(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    """Not idle, so not pinged: the statement fails, is sent again on a new connection."""
    assert client.post(RESPONSES, json=submit_payload("THU")).status_code == 201  # cached
    payload = submit_payload("THU")
    _kill_pooled_connections(app)
    answer = client.post(RESPONSES, json=payload)
    assert answer.status_code == 201
    with app.app_context():
        dispose_engines()  # the app's own pool still holds its killed connections
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(
            Response.submission_id == uuid.UUID(payload["submission_id"]))) == 1


@pytest.mark.usefixtures("postgresql_only")
def test_an_idle_pooled_connection_killed_meanwhile_is_replaced_before_use(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from survey import database

    assert client.post(RESPONSES, json=submit_payload("THU")).status_code == 201
    payload = submit_payload("THU")
    _kill_pooled_connections(app)
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)  # every pooled connection is "idle"
    with app.app_context():  # the ORM path, which has no retry of its own
        assert db.session.get(Centre, centre.id) is not None
        db.session.rollback()
    assert client.post(RESPONSES, json=payload).status_code == 201
    with app.app_context():
        dispose_engines()  # other killed connections may still be pooled
