"""Hostile input: oversized bodies, tricky Unicode, floods, bursts, headers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string

from survey.extensions import db
from survey.integrity import BURST, clean_text, decide_exclusion
from survey.models import AuditLog, Response

KIOSK = {"X-Kiosk-Id": "kiosk-0001-abcd"}


def _stored(app: Flask, submission_id: str) -> Response:
    with app.app_context():
        row = db.session.scalar(sa.select(Response).where(
            Response.submission_id == uuid.UUID(submission_id)))
        assert row is not None
        db.session.expunge(row)
        return row


def test_oversized_body_is_refused_before_parsing(
    app: Flask, client: Any, make_centre: Callable[..., Any],
    row_counts: Callable[[], dict[str, int]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_centre("THU")
    before = row_counts()
    parsed: list[Any] = []
    real_loads = app.json.loads
    monkeypatch.setattr(app.json, "loads",
                        lambda data, **kw: parsed.append(data) or real_loads(data, **kw))
    body = b'{"comment": "' + b"x" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    response = client.post("/api/v1/responses", data=body, content_type="application/json")
    assert response.status_code == 413
    assert parsed == [], "the body was never handed to the JSON parser"
    assert response.get_json()["error"]
    assert row_counts() == before


@pytest.mark.parametrize(("typed", "stored"), [
    ("Ca\u0301n bo\u0323\u0302 nhie\u0323\u0302t ti\u0300nh", "Cán bộ nhiệt tình"),  # NFD → NFC
    ("Cán bộ nhiệt tình", "Cán bộ nhiệt tình"),
    ("tốt\u202egnp.exe\u202c", "tốtgnp.exe"),  # bidi override removed
    ("\u2066a\u2069 \u200fb\u200e", "a b"),  # isolates and marks removed
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("👨\u200d👩\u200d👧 😀 🇻🇳", "👨\u200d👩\u200d👧 😀 🇻🇳"),  # ZWJ emoji kept whole
    ("'; DROP TABLE response; --", "'; DROP TABLE response; --"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),
])
def test_comments_are_stored_safely(
    app: Flask, client: Any, make_centre: Callable[..., Any],
    submit_payload: Callable[..., dict[str, Any]], typed: str, stored: str,
) -> None:
    make_centre("THU")
    payload = submit_payload("THU", comment=typed)
    assert client.post("/api/v1/responses", json=payload).status_code == 201
    assert _stored(app, payload["submission_id"]).comment == stored
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    assert clean_text(typed) == stored


def test_comments_are_displayed_escaped(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string("<p>{{ comment }}</p>",
                                      comment=clean_text("<script>alert('x')</script>"))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "3/minute",
            "CENTRE_SUBMIT_RATE_LIMIT": "5/minute"}


def test_rate_limit_per_client_address(
    client: Any, make_centre: Callable[..., Any], submit_payload: Callable[..., dict[str, Any]],
) -> None:
    make_centre("THU")
    one = {"REMOTE_ADDR": "198.51.100.1"}
    codes = [client.post("/api/v1/responses", json=submit_payload("THU"),
                         environ_base=one).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    other = client.post("/api/v1/responses", json=submit_payload("THU"),
                        environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert other.status_code == 201


def test_rate_limit_per_centre_across_addresses(
    client: Any, make_centre: Callable[..., Any], submit_payload: Callable[..., dict[str, Any]],
) -> None:
    make_centre("THU")
    make_centre("SIP", questionnaire="sipas-service")
    codes = [client.post("/api/v1/responses", json=submit_payload("THU"),
                         environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
             for n in range(1, 8)]
    assert codes == [201] * 5 + [429] * 2
    other_centre = client.post("/api/v1/responses", json=submit_payload("SIP"),
                               environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert other_centre.status_code == 201


def test_burst_from_one_device_is_flagged_not_dropped(
    app: Flask, make_app: Callable[..., Flask], make_centre: Callable[..., Any],
    submit_payload: Callable[..., dict[str, Any]],
) -> None:
    make_centre("THU")
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    burst = [submit_payload("THU") for _ in range(3)]
    burst[2]["answers"]["q_access"] = 1  # near-identical: one item differs
    for payload in burst:
        assert client.post("/api/v1/responses", json=payload, headers=KIOSK).status_code == 201
    other_kiosk = submit_payload("THU")
    assert client.post("/api/v1/responses", json=other_kiosk,
                       headers={"X-Kiosk-Id": "kiosk-0002-abcd"}).status_code == 201
    different = submit_payload("THU", answers={"q_access": 1, "q_procedure": 2, "q_staff": 1})
    assert client.post("/api/v1/responses", json=different, headers=KIOSK).status_code == 201

    flags = [_stored(app, p["submission_id"]).integrity_flag for p in burst]
    assert flags == [None, BURST, BURST]
    assert _stored(app, other_kiosk["submission_id"]).integrity_flag is None
    assert _stored(app, different["submission_id"]).integrity_flag is None
    assert not any(_stored(app, p["submission_id"]).excluded for p in burst)


def test_exclusion_is_an_explicit_logged_decision(
    app: Flask, make_response: Callable[..., Response], make_centre: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_centre("THU")
    rating = make_response("THU", integrity_flag=BURST)
    with app.app_context():
        with pytest.raises(ValueError, match="reason"):
            decide_exclusion(rating.submission_id, exclude=True, actor="analyst1", reason=" ")
        decide_exclusion(rating.submission_id, exclude=True, actor="analyst1",
                         reason="12 identical ratings in 20 s")
        db.session.commit()
        assert db.session.get(Response, rating.id).excluded
        [entry] = db.session.scalars(sa.select(AuditLog)).all()
        assert (entry.actor, entry.action) == ("analyst1", "response.exclude")
        assert entry.details["reason"] == "12 identical ratings in 20 s"
        assert entry.details["integrity_flag"] == BURST
    assert "response.exclude" in caplog.text


def test_security_headers(app: Flask, make_app: Callable[..., Flask],
                          make_centre: Callable[..., Any]) -> None:
    make_centre("THU")
    plain = app.test_client().get("/kiosk/THU/vi")
    csp = plain.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert plain.headers["Referrer-Policy"] == "same-origin"
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in plain.headers
    secure = app.test_client().get("/kiosk/THU/vi", base_url="https://kiosk.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    proxied = make_app(TRUST_PROXY=True).test_client().get(
        "/kiosk/THU/vi", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers
    spoofed = app.test_client().get("/kiosk/THU/vi", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers
