"""The centre dashboard and the province overview: numbers from scoring, honesty
about small n, masked comments, alerts, the finished-day cache, languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import func, select

from scoring.design import make_design
from scoring.estimates import score
from survey.dashboard import queries, services
from survey.dashboard.routes import mask_personal_data
from survey.extensions import db
from survey.models import DayMoments

# kiosk-quick: q_access, q_procedure, q_staff, q_result, q_feedback, overall
GOOD = [5, 4, 4, 5, 4, 5]
MIXED = [4, 2, 5, 3, None, 4]
BAD = [2, 1, 3, 2, 1, 2]


@pytest.fixture
def analyst(make_centre: Callable[..., Any], make_user: Callable[..., int],
            login: Callable[..., Any]) -> Any:
    make_centre("ALPHA", name="Bộ phận một cửa Alpha")
    make_centre("BETA", name="Bộ phận một cửa Beta")
    make_user("sonoivu", "analyst")
    return login("sonoivu")


def _text(answer: Any) -> str:
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_small_n_says_not_enough_data(analyst: Any, add_ratings: Callable[..., None]) -> None:
    add_ratings("ALPHA", [GOOD] * 5)
    page = _text(analyst.get("/dashboard/centre/ALPHA?lang=en"))
    headline = page.split('id="h-headline"')[1].split("</section>")[0]
    assert headline.count("Not enough data") == 4
    assert "n = 5 (at least 30 needed)" in headline


def test_headline_equals_scoring_on_the_same_ratings(
        app: Flask, analyst: Any, add_ratings: Callable[..., None]) -> None:
    rows = [GOOD] * 25 + [MIXED] * 15 + [BAD] * 10
    add_ratings("ALPHA", rows, days_ago=3)
    page = _text(analyst.get("/dashboard/centre/ALPHA?lang=en"))
    ratings = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    with app.app_context():
        from survey import registry

        questionnaire = registry().get("kiosk-quick", 1)
        scheme = services.scheme_of(questionnaire)
        expected = score(ratings, scheme.items, tree=scheme.tree,
                         design=make_design(len(rows))).__getitem__(scheme.overall).share[0]
    card = page.split("<h3>Last 7 days</h3>")[1].split("</div>")[0]
    assert f"{expected.estimate * 100:.1f}" in card
    assert f"95% CI {expected.ci[0] * 100:.1f}–{expected.ci[1] * 100:.1f}" in card
    assert "n = 50" in card
    today = page.split("<h3>Today</h3>")[1].split("</div>")[0]
    assert "n = 0" in today


def test_elements_weakest_first_with_change_and_distribution(
        analyst: Any, add_ratings: Callable[..., None]) -> None:
    add_ratings("ALPHA", [GOOD] * 40, days_ago=40)
    add_ratings("ALPHA", [[5, 1, 5, 5, 5, 5]] * 20 + [[5, 5, 5, 5, 5, 5]] * 20, days_ago=2)
    page = _text(analyst.get("/dashboard/centre/ALPHA?period=30&lang=en"))
    table = page.split('id="h-elements"')[1].split("</table>")[0]
    names = re.findall(r'<tr class="element-row"><th scope="row">([^<]+)</th>', table)
    assert names[0] == "Thủ tục hành chính"  # procedure: half the answers are 1
    assert "−50.0" in table  # 100 % satisfied before, 50 % now
    assert "Answers 1 to 5 and no answer: 20, 0, 0, 0, 20, 0" in table
    # The overall question closes the table on its own, not as the last element's item.
    rows = re.findall(r'<tr class="([a-z]+)-row">', table)
    assert rows[-1] == "overall"
    assert rows.count("overall") == 1


def test_comments_newest_first_masked_and_escaped(
        analyst: Any, add_ratings: Callable[..., None]) -> None:
    add_ratings("ALPHA", [GOOD], days_ago=5, comment="Cũ: gọi 0912 345 678")
    add_ratings("ALPHA", [GOOD], days_ago=1,
                comment="<script>x</script> mail a.b@example.vn, CCCD 001203004567")
    page = _text(analyst.get("/dashboard/centre/ALPHA"))
    comments = page.split('id="h-comments"')[1]
    assert "<script>x</script>" not in comments
    assert "&lt;script&gt;" in comments
    assert "a.b@example.vn" not in comments
    assert "001203004567" not in comments
    assert "0912 345 678" not in comments
    assert "•••• ••• •••" in comments
    assert comments.index("CCCD") < comments.index("Cũ")


@pytest.mark.parametrize(("text", "masked"), [
    ("0912345678", "••••••••••"),
    ("+84 912 345 678", "+•• ••• ••• •••"),
    ("CMND 123456789", "CMND •••••••••"),
    ("số 12 nhà 345", "số 12 nhà 345"),
    ("x@y.com", "•••@•••"),
])
def test_mask_personal_data(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


def test_alert_when_the_last_week_is_credibly_worse(
        analyst: Any, add_ratings: Callable[..., None]) -> None:
    for days_ago in range(10, 60, 5):
        add_ratings("ALPHA", [GOOD] * 8 + [MIXED] * 2, days_ago=days_ago)
        add_ratings("BETA", [GOOD] * 8 + [MIXED] * 2, days_ago=days_ago)
    for days_ago in range(1, 8):
        add_ratings("ALPHA", [BAD] * 8 + [MIXED] * 2, days_ago=days_ago)
        add_ratings("BETA", [GOOD] * 8 + [MIXED] * 2, days_ago=days_ago)
    assert 'role="alert"' in _text(analyst.get("/dashboard/centre/ALPHA"))
    assert 'role="alert"' not in _text(analyst.get("/dashboard/centre/BETA"))
    overview = _text(analyst.get("/dashboard/overview?sort=alert&dir=desc"))
    rows = overview.split("<tbody>")[1].split("</tbody>")[0].split("<tr")
    assert 'class="flagged"' in rows[1]
    assert "ALPHA" in rows[1]
    assert "flagged" not in rows[2]


def test_late_rating_for_a_cached_day_is_counted(
        app: Flask, analyst: Any, add_ratings: Callable[..., None]) -> None:
    add_ratings("ALPHA", [GOOD] * 30, days_ago=2)
    first = _text(analyst.get("/dashboard/centre/ALPHA?lang=en"))
    assert "n = 30" in first.split("<h3>Last 7 days</h3>")[1]
    with app.app_context():
        assert db.session.scalar(select(func.sum(DayMoments.n))) == 30
    add_ratings("ALPHA", [BAD] * 10, days_ago=2)  # an offline kiosk syncs late
    second = _text(analyst.get("/dashboard/centre/ALPHA?lang=en"))
    assert "n = 40" in second.split("<h3>Last 7 days</h3>")[1]
    with app.app_context():
        assert db.session.scalar(select(func.sum(DayMoments.n))) == 40


def test_day_cache_holds_the_moments_of_the_ratings(app: Flask, analyst: Any,
                                                    add_ratings: Callable[..., None]) -> None:
    add_ratings("ALPHA", [MIXED, GOOD, BAD], days_ago=1)
    with app.app_context():
        centre = queries.centre_by_code("ALPHA")
        today = queries.local_today()
        where = services.setting([centre])
        layout = where.layouts[centre.id]
        services.ensure_day_cache([centre], where.layouts, today - 3, today)
        cached = queries.cached_counts(centre.id, today - 3, today, layout.width)
        live = queries.load_answers([centre.id], today - 3, today)
        direct = services.counts_from_rows(live, layout, live.day - (today - 3), 3)
        np.testing.assert_array_equal(cached, direct)
        assert cached[:, 0].tolist() == [0, 0, 3]  # respondents per day
        assert layout.levels(cached[2])[layout.items.index("q_procedure")].tolist() == [
            1, 1, 0, 1, 0]


def test_overview_lists_centres_with_the_province_index(
        analyst: Any, add_ratings: Callable[..., None]) -> None:
    add_ratings("ALPHA", [GOOD] * 35, days_ago=1)
    add_ratings("BETA", [BAD] * 35, days_ago=1)
    page = _text(analyst.get("/dashboard/overview?lang=en&sort=index&dir=desc"))
    body = page.split("<tbody>")[1]
    assert body.index("ALPHA") < body.index("BETA")
    assert "Province index, last 30 days" in page
    ascending = _text(analyst.get("/dashboard/overview?sort=index&dir=asc"))
    body = ascending.split("<tbody>")[1]
    assert body.index("BETA") < body.index("ALPHA")


def test_overview_filters_by_unit(make_unit: Callable[..., Any],
                                  make_centre: Callable[..., Any],
                                  make_user: Callable[..., int],
                                  login: Callable[..., Any]) -> None:
    north = make_unit("NORTH", name="Bắc")
    make_centre("ALPHA", unit=north)
    make_centre("BETA")
    make_user("sonoivu", "analyst")
    client = login("sonoivu")
    page = _text(client.get(f"/dashboard/overview?unit={north.id}"))
    body = page.split("<tbody>")[1]
    assert "ALPHA" in body
    assert "BETA" not in body


def test_language_choice_sticks_for_staff(analyst: Any) -> None:
    english = _text(analyst.get("/dashboard/overview?lang=en"))
    assert '<html lang="en">' in english
    again = _text(analyst.get("/dashboard/overview"))
    assert '<html lang="en">' in again
    vietnamese = _text(analyst.get("/dashboard/overview?lang=vi"))
    assert '<html lang="vi">' in vietnamese


def test_chart_has_text_alternatives_and_no_inline_style(
        analyst: Any, add_ratings: Callable[..., None]) -> None:
    for days_ago in range(1, 6):
        add_ratings("ALPHA", [GOOD] * 31, days_ago=days_ago)
    page = _text(analyst.get("/dashboard/centre/ALPHA?chart=90"))
    svg = page.split('<figure class="chart">')[1].split("</svg>")[0]
    assert "<title" in svg
    assert "<desc" in svg
    assert svg.count('class="dot"') == 5
    assert svg.count('class="band"') == 1
    assert "style=" not in page
    assert "<script>" not in page
    table = page.split('class="chart-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 90


@pytest.mark.parametrize(("change", "shown", "direction"), [
    (-0.0004, "±0,0", ""),  # rounds to 0.0 points: neither red nor "−0,0"
    (0.0004, "±0,0", ""),
    (-0.0006, "−0,1", "down"),  # Vietnamese decimal comma
    (0.0251, "+2,5", "up"),
])
def test_a_change_is_coloured_and_signed_as_it_is_shown(
        app: Flask, change: float, shown: str, direction: str) -> None:
    with app.test_request_context("/?lang=vi"):
        macro = app.jinja_env.get_template("dashboard/_macros.html").module.change
        assert str(macro(change, True)) == f'<span class="change {direction}">{shown}</span>'
