"""The kiosk's offline shell, its heartbeats and the status staff see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, render_template

from survey.extensions import db
from survey.models import KioskHeartbeat, utcnow
from survey.sync.queries import kiosk_status


def test_kiosk_pages_carry_the_sync_state_without_inline_script(
    client: Any, make_centre: Callable[..., Any],
) -> None:
    make_centre("THU")
    page = client.get("/kiosk/THU/vi").get_data(as_text=True)
    assert 'id="sync-state"' in page
    assert 'data-manifest="/kiosk/THU/offline.json"' in page
    assert '<script src="/static/offline.js" defer></script>' in page
    assert "<script>" not in page
    # Without JavaScript the form still posts to the page itself.
    assert '<form method="post"' in page


def test_manifest_lists_the_shell_of_every_offered_language(
    client: Any, make_centre: Callable[..., Any],
) -> None:
    make_centre("THU")
    manifest = client.get("/kiosk/THU/offline.json").get_json()
    assert manifest["centre"] == "THU"
    assert manifest["submit"] == "/api/v1/responses"
    assert manifest["rating"][:1] == ["q_access"]
    for lang, thanks in manifest["thanks"].items():
        assert f"/kiosk/THU/{lang}" in manifest["shell"]
        assert thanks in manifest["shell"]
        assert f"/api/v1/questionnaires/kiosk-quick/1?lang={lang}" in manifest["shell"]
    assert {"/static/hailong.css", "/static/offline.js"} <= set(manifest["shell"])
    assert client.get("/kiosk/NOPE/offline.json").status_code == 404


def test_service_worker_is_served_from_the_kiosk_scope(client: Any) -> None:
    with client.get("/kiosk/sw.js") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert response.headers["Cache-Control"] == "no-cache"
        assert b"addEventListener(\"fetch\"" in response.data


def test_heartbeat_is_stored_and_updated(
    app: Flask, client: Any, make_centre: Callable[..., Any],
) -> None:
    centre = make_centre("THU")
    body = {"kiosk": "k-0123456789", "centre": "THU", "queued": 3,
            "last_sync_at": (utcnow() - timedelta(minutes=5)).isoformat()}
    assert client.post("/api/v1/heartbeats", json=body).status_code == 204
    body.update(queued=0, last_sync_at=(utcnow() + timedelta(days=1)).isoformat())
    assert client.post("/api/v1/heartbeats", json=body).status_code == 204
    with app.app_context():
        beats = db.session.query(KioskHeartbeat).all()
        assert len(beats) == 1
        assert beats[0].queued == 0
        assert beats[0].last_sync_at <= utcnow()  # a fast kiosk clock is not believed
        [status] = kiosk_status([centre.id])
        assert status.online
        assert status.short_id == "k-012345"


def test_heartbeat_reports_refused_ratings_and_corrects_a_wrong_clock(
    app: Flask, client: Any, make_centre: Callable[..., Any],
) -> None:
    centre = make_centre("THU")
    device_now = utcnow() - timedelta(days=3 * 365)  # clock battery flat
    body = {"kiosk": "k-0123456789", "centre": "THU", "queued": 0, "rejected": 2,
            "last_sync_at": (device_now - timedelta(minutes=10)).isoformat(),
            "sent_at": device_now.isoformat()}
    assert client.post("/api/v1/heartbeats", json=body).status_code == 204
    with app.app_context():
        [status] = kiosk_status([centre.id])
        assert status.rejected == 2
        assert status.last_sync_at is not None
        assert abs(status.last_sync_at - (utcnow() - timedelta(minutes=10))) < timedelta(
            seconds=5)


def test_invalid_heartbeat_stores_nothing(
    app: Flask, client: Any, make_centre: Callable[..., Any],
    row_counts: Callable[[], dict[str, int]],
) -> None:
    make_centre("THU")
    before = row_counts()
    for body in ({"kiosk": "short", "centre": "THU", "queued": 1},
                 {"kiosk": "k-0123456789", "centre": "NOPE", "queued": 1},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": -1},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": True},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": 1, "ip": "1.2.3.4"},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": 1, "last_sync_at": "x"},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": 1, "rejected": -2},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": 1, "rejected": "3"},
                 {"kiosk": "k-0123456789", "centre": "THU", "queued": 1, "sent_at": "now"},
                 ["not", "an", "object"]):
        response = client.post("/api/v1/heartbeats", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["details"] or not isinstance(body, dict)
    assert row_counts() == before


def test_kiosk_status_partial_escapes_and_marks_silent_kiosks(
    app: Flask, make_centre: Callable[..., Any],
) -> None:
    centre = make_centre("THU")
    with app.app_context():
        db.session.add(KioskHeartbeat(kiosk_id="<b>kiosk</b>-1", centre_id=centre.id,
                                      last_seen=utcnow() - timedelta(hours=2), queued=7,
                                      rejected=2))
        db.session.commit()
        with app.test_request_context("/"):
            html = render_template("sync/_kiosk_status.html",
                                   kiosks=kiosk_status([centre.id]))
    assert "&lt;b&gt;kio" in html
    assert 'class="silent"' in html
    assert "<td>7</td>" in html
    assert '<td class="attention">2</td>' in html
