"""The HTML kiosk through the Flask test client (no browser): rate, store once,
refuse bad or forged posts, never cache, never store the citizen's address."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from survey.extensions import db
from survey.models import Response

FORM = "/kiosk/THU/vi"
QUICK_ANSWERS = {"item_q_access": "5", "item_q_procedure": "4", "item_q_staff": "na",
                 "item_q_result": "3", "item_q_feedback": "2", "item_overall": "4"}
FormFields = Callable[..., dict[str, str]]


@pytest.fixture
def centre(make_centre: Callable[..., Any]) -> Any:
    return make_centre("THU", questionnaire="kiosk-quick", version=1,
                       name="Bộ phận một cửa xã Đắk Ơ")


def stored(app: Flask) -> list[Response]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Response).order_by(Response.id)).all()
        for row in rows:
            _ = row.answers  # load before the session closes
        return list(rows)


def client_at(app: Flask, address: str) -> Any:
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_centre_list_links_to_kiosks(client: Any, centre: Any) -> None:
    page = client.get("/kiosk/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Bộ phận một cửa xã Đắk Ơ" in html
    assert 'href="/kiosk/THU' in html


def test_start_offers_a_language_or_goes_straight_to_vietnamese(
    client: Any, centre: Any,
) -> None:
    page = client.get("/kiosk/THU")
    if page.status_code == 302:
        assert page.headers["Location"].startswith("/kiosk/THU/vi")
    else:
        assert page.status_code == 200
        assert 'href="/kiosk/THU/vi' in page.get_data(as_text=True)


def test_unknown_centre_is_404(client: Any, centre: Any) -> None:
    assert client.get("/kiosk/NOWHERE").status_code == 404
    assert client.get("/kiosk/NOWHERE/vi").status_code == 404


def test_language_not_offered_goes_back_to_the_start(client: Any, centre: Any) -> None:
    page = client.get("/kiosk/THU/xx")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/kiosk/THU")


def test_form_has_a_fresh_submission_id_each_time(
    client: Any, centre: Any, form_fields: FormFields,
) -> None:
    first, second = form_fields(FORM), form_fields(FORM)
    assert first["submission_id"] != second["submission_id"]
    assert len(first["submission_id"]) == 36
    assert first["csrf_token"]
    assert first["channel"] == "kiosk"
    assert first["started_at"]


def test_kiosk_pages_are_never_cached(client: Any, centre: Any, form_fields: FormFields) -> None:
    assert client.get(FORM).headers["Cache-Control"] == "no-store"
    assert client.get("/kiosk/THU/vi/thanks").headers["Cache-Control"] == "no-store"
    refused = client.post(FORM, data=form_fields(FORM))
    assert refused.headers["Cache-Control"] == "no-store"


def test_valid_post_is_stored_once_and_thanks(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    fields = form_fields(FORM)
    answer = client.post(FORM, data={**fields, **QUICK_ANSWERS})
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/kiosk/THU/vi/thanks")
    thanks = client.get(answer.headers["Location"])
    assert thanks.status_code == 200
    [row] = stored(app)
    assert str(row.submission_id) == fields["submission_id"]
    assert (row.channel, row.language) == ("kiosk", "vi")
    assert (row.questionnaire_id, row.questionnaire_version) == ("kiosk-quick", 1)
    assert row.started_at is not None
    assert row.started_at.utcoffset() is not None
    assert {a.item_code: a.value for a in row.answers} == {
        "q_access": 5, "q_procedure": 4, "q_staff": None, "q_result": 3, "q_feedback": 2,
        "overall": 4,
    }


def test_replayed_form_is_not_stored_twice(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    data = {**form_fields(FORM), **QUICK_ANSWERS}
    first = client.post(FORM, data=data)
    replay = client.post(FORM, data=data)
    assert first.status_code == 302
    assert replay.status_code == 302
    assert len(stored(app)) == 1


def test_channel_comes_from_the_kiosk_url(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    fields = form_fields(f"{FORM}?channel=tablet")
    assert fields["channel"] == "tablet"
    client.post(f"{FORM}?channel=tablet", data={**fields, **QUICK_ANSWERS})
    [row] = stored(app)
    assert row.channel == "tablet"


def test_forged_channel_is_refused(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    answer = client.post(FORM, data={**form_fields(FORM), **QUICK_ANSWERS, "channel": "fax"})
    assert answer.status_code == 400
    assert stored(app) == []


@pytest.mark.parametrize("answers", [{}, dict.fromkeys(QUICK_ANSWERS, "na")],
                         ids=["nothing chosen", "all no-answer"])
def test_post_without_answers_is_refused_clearly(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
    row_counts: Callable[[], dict[str, int]], answers: dict[str, str],
) -> None:
    before = row_counts()
    answer = client.post(FORM, data={**form_fields(FORM), **answers})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert 'role="alert"' in html
    assert "Please answer at least one question." in html or "ít nhất" in html
    assert row_counts() == before


def test_value_outside_the_scale_is_refused(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    answer = client.post(FORM, data={**form_fields(FORM), **QUICK_ANSWERS, "item_overall": "7"})
    assert answer.status_code == 400
    assert stored(app) == []


def test_malformed_submission_id_is_refused(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    data = {**form_fields(FORM), **QUICK_ANSWERS, "submission_id": "1; DROP TABLE response"}
    assert client.post(FORM, data=data).status_code == 400
    assert stored(app) == []


def test_post_without_csrf_token_stores_nothing(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    fields = form_fields(FORM)
    del fields["csrf_token"]
    answer = client.post(FORM, data={**fields, **QUICK_ANSWERS})
    # The citizen is sent back to a fresh form with a message, never a bare 400 page.
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(FORM)
    fresh_form = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'class="flash"' in fresh_form
    assert "Trang đã hết hạn nên đánh giá chưa được lưu" in fresh_form
    assert stored(app) == []


def test_post_with_a_forged_csrf_token_stores_nothing(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    fields = {**form_fields(FORM), "csrf_token": "forged"}
    answer = client.post(FORM, data={**fields, **QUICK_ANSWERS})
    assert answer.status_code in {302, 400}
    assert stored(app) == []


def test_comment_is_stored_nfc_and_escaped_when_shown(
    app: Flask, client: Any, centre: Any, form_fields: FormFields,
) -> None:
    typed = "Cán bộ rất tận tình, chờ đợi ắ ờ ữ Đ <script>alert('x')</script>"
    decomposed = unicodedata.normalize("NFD", typed)
    assert decomposed != typed
    client.post(FORM, data={**form_fields(FORM), **QUICK_ANSWERS, "comment": decomposed})
    [row] = stored(app)
    assert row.comment == unicodedata.normalize("NFC", typed)
    assert "ắ ờ ữ Đ" in row.comment

    # Shown back (a refused form keeps what was typed): escaped, never markup.
    refused = client.post(FORM, data={**form_fields(FORM), "comment": typed})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html


def test_demographics_are_stored(
    app: Flask, client: Any, make_centre: Callable[..., Any], form_fields: FormFields,
) -> None:
    make_centre("SIPAS", questionnaire="sipas-service", version=1)
    url = "/kiosk/SIPAS/vi"
    data = {**form_fields(url), "item_overall": "5", "item_sex": "female"}
    assert client.post(url, data=data).status_code == 302
    [row] = stored(app)
    assert row.sex == "female"
    assert row.age_group is None
    assert row.ethnic_group is None


def test_idle_and_thanks_times_come_from_the_configuration(
    make_app: Callable[..., Flask], centre: Any,
) -> None:
    client = make_app(KIOSK_IDLE_SECONDS=42, KIOSK_THANKS_SECONDS=7).test_client()
    form = client.get(FORM).get_data(as_text=True)
    assert 'data-idle-seconds="42"' in form
    assert 'content="42;url=/kiosk/THU' in form
    thanks = client.get(f"{FORM}/thanks").get_data(as_text=True)
    assert 'content="7;url=/kiosk/THU' in thanks


def test_kiosk_rate_limit_and_whitelisted_kiosk(
    make_app: Callable[..., Flask], centre: Any, form_fields: FormFields,
    row_counts: Callable[[], dict[str, int]],
) -> None:
    limited = make_app(RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="2/minute",
                       RATE_LIMIT_EXEMPT=["10.1.1.1"])
    phone = client_at(limited, "198.51.100.33")
    kiosk = client_at(limited, "10.1.1.1")

    def rate(client: Any) -> int:
        return client.post(FORM, data={**form_fields(FORM, client), **QUICK_ANSWERS}).status_code

    assert [rate(phone) for _ in range(3)] == [302, 302, 429]
    assert phone.get(FORM).status_code == 200  # reading the form is never limited
    assert [rate(kiosk) for _ in range(4)] == [302] * 4
    assert row_counts()["response"] == 6


def test_no_client_address_is_stored(
    app: Flask, centre: Any, form_fields: FormFields,
) -> None:
    client = client_at(app, "203.0.113.201")
    data = {**form_fields(FORM, client), **QUICK_ANSWERS, "comment": "Tốt"}
    assert client.post(FORM, data=data).status_code == 302
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                assert "203.0.113.201" not in " ".join(map(str, row))


def test_a_missing_required_answer_is_shown_beside_its_question(
    required_forms: Path, make_app: Callable[..., Flask], make_centre: Callable[..., Any],
) -> None:
    make_centre("REQ", questionnaire="required-test", version=1)
    app = make_app(FORMS_DIR=str(required_forms), WTF_CSRF_ENABLED=False)
    client = app.test_client()
    page = client.get("/kiosk/REQ/vi").get_data(as_text=True)
    submission_id = page.split('name="submission_id" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/kiosk/REQ/vi", data={"submission_id": submission_id,
                                                 "item_q_may": "4"})
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    beside = body.split('id="q-item_q_must"')[1].split("</fieldset>")[0]
    assert 'class="field-error"' in beside
    assert 'href="#q-item_q_must"' in body  # and listed at the top, linked
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
