"""The JSON API /api/v1 and /healthz: listing, submitting, and refusing bad input."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from flask import Flask

from survey.config import PROJECT_ROOT
from survey.database import dispose_engines
from survey.extensions import db
from survey.models import Answer, Response, utcnow

RESPONSES = "/api/v1/responses"
INVALID = "The submission is not valid; nothing was stored."


@cache
def _catalog(language: str) -> dict[str, str]:
    path = PROJECT_ROOT / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fp:
        return {m.id: m.string for m in read_po(fp) if m.id and m.string and not m.fuzzy}


def translated(language: str, msgid: str) -> str:
    """What the app should answer: the catalog's string, else Vietnamese, else the msgid."""
    return _catalog(language).get(msgid) or _catalog("vi").get(msgid) or msgid


@pytest.fixture
def centre(make_centre: Callable[..., Any]) -> Any:
    return make_centre("THU", questionnaire="kiosk-quick", version=1)


def assert_refused(answer: Any, field: str, counts_before: dict[str, int],
                   row_counts: Callable[[], dict[str, int]]) -> list[dict[str, str]]:
    """A 400 in the documented shape naming ``field``, with nothing stored."""
    assert answer.status_code == 400, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error", "details"}
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["details"], "a refusal must say what is wrong"
    for detail in body["details"]:
        assert set(detail) == {"field", "message"}
        assert isinstance(detail["message"], str)
        assert detail["message"]
    assert field in {d["field"] for d in body["details"]}, body["details"]
    assert row_counts() == counts_before
    return body["details"]


def test_valid_submission_is_stored_with_everything(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    started = (utcnow() - timedelta(minutes=4)).replace(microsecond=0)
    payload = submit_payload(
        "THU", language="en", channel="tablet", started_at=started.isoformat(),
        answers={"q_access": 5, "q_procedure": 1, "q_staff": None, "q_result": 3,
                 "q_feedback": 2, "overall": 4},
        comment="Nhanh, gọn.",
    )
    answer = client.post(RESPONSES, json=payload)
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["submission_id"] == payload["submission_id"]
    with app.app_context():
        stored = db.session.get(Response, body["id"])
        assert stored is not None
        assert stored.submission_id == uuid.UUID(payload["submission_id"])
        assert stored.centre_id == centre.id
        assert (stored.questionnaire_id, stored.questionnaire_version) == ("kiosk-quick", 1)
        assert (stored.language, stored.channel) == ("en", "tablet")
        assert stored.started_at == started
        assert stored.submitted_at.utcoffset() == timedelta(0)
        assert stored.comment == "Nhanh, gọn."
        assert {a.item_code: a.value for a in stored.answers} == payload["answers"]


@pytest.mark.parametrize(("clock_error", "waited"), [
    (timedelta(days=-3 * 365), timedelta(days=2)),  # flat clock battery, two days offline
    (timedelta(hours=5), timedelta(0)),  # clock hours ahead, sent at once
    (timedelta(0), timedelta(minutes=30)),  # right clock, half an hour offline
])
def test_sent_at_moves_a_wrong_kiosk_clock_onto_the_servers(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    clock_error: timedelta, waited: timedelta,
) -> None:
    device_now = utcnow() + clock_error
    submitted = device_now - waited
    payload = submit_payload(
        "THU", started_at=(submitted - timedelta(seconds=40)).isoformat(),
        submitted_at=submitted.isoformat(), sent_at=device_now.isoformat())
    answer = client.post(RESPONSES, json=payload)
    assert answer.status_code == 201, answer.get_json()
    with app.app_context():
        stored = db.session.get(Response, answer.get_json()["id"])
        assert stored is not None
        expected = utcnow() - waited
        assert abs(stored.submitted_at - expected) < timedelta(seconds=5)
        assert stored.submitted_at - stored.started_at == timedelta(seconds=40)


def test_resubmission_is_idempotent(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    payload = submit_payload("THU")
    first = client.post(RESPONSES, json=payload)
    again = client.post(RESPONSES, json=payload)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    # A retry carrying different answers still returns the stored response.
    changed = client.post(RESPONSES, json={**payload, "answers": {"overall": 1}})
    assert changed.status_code == 200
    assert changed.get_json() == first.get_json()
    assert row_counts()["response"] == 1
    assert row_counts()["answer"] == len(payload["answers"])


def test_concurrent_duplicates_store_one_response(
    app: Flask, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    payload = submit_payload("THU")
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    bodies: list[Any] = []

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        answer = client.post(RESPONSES, json=payload)
        statuses.append(answer.status_code)
        bodies.append(answer.get_json())

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 200, 200, 201]
    assert all(body == bodies[0] for body in bodies)
    assert row_counts()["response"] == 1


# Each case: a change to a valid payload, and the field the refusal must name.
BAD_PAYLOADS: dict[str, tuple[dict[str, Any], str]] = {
    "unknown centre": ({"centre": "NOWHERE"}, "centre"),
    "centre missing": ({"centre": ...}, "centre"),
    "centre not a string": ({"centre": 7}, "centre"),
    "unknown item": ({"answers": {"overall": 4, "q_unknown": 3}}, "answers.q_unknown"),
    "value above the scale": ({"answers": {"overall": 6}}, "answers.overall"),
    "value below the scale": ({"answers": {"overall": 0}}, "answers.overall"),
    "value as a string": ({"answers": {"overall": "4"}}, "answers.overall"),
    "value as a float": ({"answers": {"overall": 4.0}}, "answers.overall"),
    "value as a boolean": ({"answers": {"overall": True}}, "answers.overall"),
    "answers not an object": ({"answers": [4, 4]}, "answers"),
    "no answers": ({"answers": {}}, "answers"),
    "only unanswered items": ({"answers": {"overall": None, "q_staff": None}}, "answers"),
    "malformed submission id": ({"submission_id": "not-a-uuid"}, "submission_id"),
    "submission id as a number": ({"submission_id": 12345}, "submission_id"),
    "submission id missing": ({"submission_id": ...}, "submission_id"),
    "malformed timestamp": ({"started_at": "yesterday afternoon"}, "started_at"),
    "timestamp as a number": ({"started_at": 1767225600}, "started_at"),
    "naive timestamp": ({"started_at": "2026-01-05T08:30:00"}, "started_at"),
    "timestamp in the future": ({"submitted_at": "2999-01-01T00:00:00+07:00"}, "submitted_at"),
    "malformed sent_at": ({"sent_at": "now"}, "sent_at"),
    "submitted after it was sent": ({"submitted_at": "2026-01-05T08:30:00+07:00",
                                     "sent_at": "2026-01-05T08:29:00+07:00"}, "submitted_at"),
    "older than 60 days by the sending clock": (
        {"submitted_at": "2020-01-01T00:00:00+00:00", "sent_at": "2020-03-15T00:00:00+00:00"},
        "submitted_at"),
    "a move past the year 9999": (
        {"started_at": "9000-01-01T00:00:00+00:00", "submitted_at": "0001-01-01T00:00:00+00:00",
         "sent_at": "0001-01-01T00:00:00+00:00"}, "sent_at"),
    "oversized comment": ({"comment": "ư" * 1001}, "comment"),
    "comment not text": ({"comment": ["a"]}, "comment"),
    "questionnaire the centre does not use": (
        {"questionnaire": "sipas-service", "version": 1, "answers": {"overall": 4}},
        "questionnaire",
    ),
    "unknown questionnaire version": ({"version": 99}, "questionnaire"),
    "version as a string": ({"version": "1"}, "questionnaire"),
    "version as a boolean": ({"version": True}, "questionnaire"),
    "unknown field": ({"ip_address": "203.0.113.5"}, "ip_address"),
    "unsupported language": ({"language": "fr"}, "language"),
    "language as a list": ({"language": ["vi"]}, "language"),
    "channel as a list": ({"channel": ["kiosk"]}, "channel"),
    "centre as a list": ({"centre": ["THU"]}, "centre"),
    "answer as a list": ({"answers": {"overall": [4]}}, "answers.overall"),
    "huge number": ({"answers": {"overall": 10**40}}, "answers.overall"),
    "comment with a NUL character": ({"comment": "tốt\x00"}, "comment"),
    "unknown channel": ({"channel": "fax"}, "channel"),
    "unknown demographic": ({"demographics": {"income": "high"}}, "demographics.income"),
    "demographics not an object": ({"demographics": ["female"]}, "demographics"),
}


@pytest.mark.parametrize(("change", "field"), BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_invalid_submission_is_refused_and_nothing_stored(
    client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]], change: dict[str, Any], field: str,
) -> None:
    before = row_counts()
    answer = client.post(RESPONSES, json=submit_payload("THU", **change))
    assert_refused(answer, field, before, row_counts)


@pytest.mark.parametrize("sex", ["robot", ["female"], 2])
def test_invalid_demographic_choice(
    client: Any, make_centre: Callable[..., Any], submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]], sex: Any,
) -> None:
    make_centre("SIPAS", questionnaire="sipas-service", version=1)
    before = row_counts()
    answer = client.post(RESPONSES, json=submit_payload("SIPAS", demographics={"sex": sex}))
    assert_refused(answer, "demographics.sex", before, row_counts)


def test_every_problem_is_reported_at_once(
    client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    before = row_counts()
    payload = submit_payload("THU", submission_id="x", channel="fax",
                             answers={"overall": 9}, started_at="2026-01-05T08:30:00")
    details = assert_refused(client.post(RESPONSES, json=payload), "submission_id", before,
                             row_counts)
    assert {"channel", "answers.overall", "started_at"} <= {d["field"] for d in details}


def test_inactive_centre_is_unknown(
    client: Any, make_centre: Callable[..., Any], submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    make_centre("OLD", active=False)
    before = row_counts()
    assert_refused(client.post(RESPONSES, json=submit_payload("OLD")), "centre", before,
                   row_counts)


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"', "", "[" * 30_000],
                         ids=["array", "not json", "string", "empty", "deeply nested"])
def test_body_that_is_not_a_json_object(
    client: Any, centre: Any, row_counts: Callable[[], dict[str, int]], body: str,
) -> None:
    before = row_counts()
    answer = client.post(RESPONSES, data=body, content_type="application/json")
    assert answer.status_code == 400
    assert set(answer.get_json()) == {"error", "details"}
    assert row_counts() == before


def test_oversized_body_is_refused_with_413(
    client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    before = row_counts()
    payload = submit_payload("THU", comment="a" * (80 * 1024))
    answer = client.post(RESPONSES, json=payload)
    assert answer.status_code == 413
    assert set(answer.get_json()) == {"error", "details"}
    assert row_counts() == before


def test_missing_required_item_is_refused(
    required_forms: Path, make_app: Callable[..., Flask], make_centre: Callable[..., Any],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    make_centre("REQ", questionnaire="required-test", version=1)
    client = make_app(FORMS_DIR=str(required_forms)).test_client()
    base = {"centre": "REQ", "questionnaire": "required-test", "version": 1,
            "language": "vi", "channel": "qr"}
    before = row_counts()
    for answers in ({"q_may": 4}, {"q_must": None, "q_may": 4}):
        refused = client.post(RESPONSES, json={**base, "submission_id": str(uuid.uuid4()),
                                               "answers": answers})
        assert_refused(refused, "answers.q_must", before, row_counts)
    accepted = client.post(RESPONSES, json={**base, "submission_id": str(uuid.uuid4()),
                                            "answers": {"q_must": 2}})
    assert accepted.status_code == 201
    assert row_counts()["response"] == before["response"] + 1


@pytest.mark.parametrize("language", ["vi", "en"])
def test_errors_speak_the_requested_language(
    client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]], language: str,
) -> None:
    answer = client.post(f"{RESPONSES}?lang={language}",
                         json=submit_payload("THU", centre="NOWHERE"))
    body = answer.get_json()
    assert body["error"] == translated(language, INVALID)
    assert body["details"] == [
        {"field": "centre", "message": translated(language, "Unknown service centre.")}
    ]


def test_errors_follow_the_submission_language_without_lang(
    client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    answer = client.post(RESPONSES, json=submit_payload("THU", language="en", version=99),
                         headers={"Accept-Language": "vi"})
    assert answer.get_json()["error"] == translated("en", INVALID)


def test_rate_limit_on_submissions(
    make_app: Callable[..., Flask], centre: Any, submit_payload: Callable[..., dict[str, Any]],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    limited = make_app(RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="2/minute",
                       RATE_LIMIT_EXEMPT=["10.9.8.7"])
    client = limited.test_client()
    citizen = {"REMOTE_ADDR": "198.51.100.20"}
    kiosk = {"REMOTE_ADDR": "10.9.8.7"}
    statuses = [client.post(RESPONSES, json=submit_payload("THU"), environ_base=citizen)
                .status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    refused = client.post(RESPONSES, json=submit_payload("THU"), environ_base=citizen)
    assert refused.status_code == 429
    assert set(refused.get_json()) == {"error", "details"}
    for _ in range(4):
        passed = client.post(RESPONSES, json=submit_payload("THU"), environ_base=kiosk)
        assert passed.status_code == 201
    assert row_counts()["response"] == 6


def test_no_client_address_is_stored(
    app: Flask, client: Any, centre: Any, submit_payload: Callable[..., dict[str, Any]],
) -> None:
    address = "203.0.113.77"
    answer = client.post(RESPONSES, json=submit_payload("THU", comment="Tốt"),
                         environ_base={"REMOTE_ADDR": address},
                         headers={"X-Forwarded-For": "198.51.100.99", "User-Agent": "Kiosk/1"})
    assert answer.status_code == 201
    columns = {c.name for c in Response.__table__.columns} | {
        c.name for c in Answer.__table__.columns}
    assert not {name for name in columns if "ip" in name.split("_") or "addr" in name
                or "agent" in name}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                text = " ".join(str(value) for value in row)
                assert address not in text
                assert "198.51.100.99" not in text
                assert "Kiosk/1" not in text


def test_centres_list(client: Any, make_centre: Callable[..., Any]) -> None:
    make_centre("B-XA", questionnaire="sipas-service", name="Bộ phận một cửa xã Đắk Ơ")
    make_centre("A-PHUONG", questionnaire="kiosk-quick")
    make_centre("Z-OLD", active=False)
    answer = client.get("/api/v1/centres")
    assert answer.status_code == 200
    assert answer.get_json() == [
        {"code": "A-PHUONG", "name": "Bộ phận một cửa xã Thử Nghiệm",
         "questionnaire": "kiosk-quick", "version": 1},
        {"code": "B-XA", "name": "Bộ phận một cửa xã Đắk Ơ",
         "questionnaire": "sipas-service", "version": 1},
    ]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_questionnaire_definition_in_a_language(app: Flask, client: Any, language: str) -> None:
    answer = client.get(f"/api/v1/questionnaires/sipas-service/1?lang={language}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["id"], body["version"]) == ("sipas-service", 1)
    from survey import registry

    with app.app_context():
        sipas = registry().get("sipas-service", 1)
    assert sipas is not None
    assert body["title"] == translated(language, sipas.title)
    assert [p["value"] for p in body["scale"]["points"]] == [1, 2, 3, 4, 5]
    assert body["scale"]["points"][0]["text"] == translated(language, "Rất không hài lòng")
    assert len(body["items"]) == 16
    assert body["items"][0]["text"] == translated(language, sipas.items[0].text)
    assert {item["element"] for item in body["items"]} == {e.code for e in sipas.elements}
    assert body["overall"]["code"] == sipas.overall.code  # type: ignore[union-attr]
    assert body["index"]["level"] == "overall"
    leaves = [code for aspect in body["index"]["children"] for element in aspect["children"]
              for code in element["items"]]
    assert sorted(leaves) == sorted(i.code for i in sipas.items)


def test_unknown_questionnaire_is_404(client: Any) -> None:
    answer = client.get("/api/v1/questionnaires/sipas-service/99")
    assert answer.status_code == 404
    assert set(answer.get_json()) == {"error", "details"}


def test_healthz(client: Any) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": True}


def test_healthz_without_a_database(tmp_path: Path) -> None:
    from survey import create_app

    # A directory is not a database file: every query fails.
    broken = create_app({"TESTING": True, "SECRET_KEY": "x",
                         "DATABASE_URL": f"sqlite:///{tmp_path}"})
    answer = broken.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["database"] is False
    with broken.app_context():
        dispose_engines()
