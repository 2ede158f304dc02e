"""Every dashboard number equals :func:`scoring.score` on the raw ratings behind it.

The dashboard sums cached daily moments; here the same periods are scored
from the respondents (design: centre = stratum, respondent = PSU, weights 1),
including today's live ratings, answers left blank, an analyst's exclusions
and a province of centres with different questionnaires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from numpy.testing import assert_allclose
from sqlalchemy import select, update

from scoring import Estimate, make_design, score
from survey import registry
from survey.dashboard import queries, services
from survey.extensions import db
from survey.models import Centre, Response

Rows = dict[str, list[tuple[int, list[int | None]]]]  # centre -> (days_ago, ratings)


@pytest.fixture
def province(app: Flask, make_centre: Callable[..., Any],
             add_ratings: Callable[..., None]) -> Rows:
    """ALPHA and BETA (kiosk-quick) and GAMMA (sipas-service): 40 days of ratings,
    today included, some answers blank."""
    make_centre("ALPHA")
    make_centre("BETA")
    make_centre("GAMMA", questionnaire="sipas-service")
    rng = np.random.default_rng(2026)
    data: Rows = {}
    with app.app_context():
        sizes = {code: len(registry().get(q, 1).rating_items)
                 for code, q in (("ALPHA", "kiosk-quick"), ("BETA", "kiosk-quick"),
                                 ("GAMMA", "sipas-service"))}
    for code, quality in (("ALPHA", 0.6), ("BETA", -0.2), ("GAMMA", 0.2)):
        for days_ago in range(40):
            n = int(rng.integers(0, 7))
            latent = rng.normal(3.4 + quality, 0.9, (n, 1))
            values = np.clip(np.rint(latent + rng.normal(0, 0.8, (n, sizes[code]))), 1, 5)
            blank = rng.random(values.shape) < 0.1
            rows = [[None if blank[i, j] else int(values[i, j]) for j in range(sizes[code])]
                    for i in range(n)]
            if rows:
                add_ratings(code, rows, days_ago=days_ago)
            data.setdefault(code, []).extend((days_ago, r) for r in rows)
    return data


def expected(data: Rows, codes: tuple[str, ...], days_ago: range, *,
             node: str | None = None) -> Estimate:
    """score() on the respondents of ``codes`` rated ``days_ago`` days ago."""
    centres = [db.session.scalar(select(Centre).where(Centre.code == c)) for c in codes]
    if len(codes) == 1:
        scheme = services.scheme_of(services.questionnaire_of(centres[0]))
    else:
        scheme = services.province_scheme([q for q, _ in services.by_questionnaire(centres)])
    matrix, strata = [], []
    for centre in centres:
        items = [i.code for i in services.questionnaire_of(centre).rating_items]
        for ago, row in data[centre.code]:
            if ago in days_ago:
                by_code = dict(zip(items, row, strict=True))
                matrix.append([np.nan if by_code.get(c) is None else by_code[c]
                               for c in scheme.items])
                strata.append(centre.id)
    ratings = np.array(matrix, dtype=float).reshape(-1, len(scheme.items))
    result = score(ratings, scheme.items, tree=scheme.tree,
                   design=make_design(len(strata), strata=strata or None))
    return result[node or scheme.overall].share[0]


def assert_equal(got: Estimate, want: Estimate) -> None:
    assert got.n == want.n
    assert got.df == want.df
    assert got.flags == want.flags
    assert_allclose([got.estimate, got.se], [want.estimate, want.se], rtol=1e-12, atol=1e-12)
    assert_allclose(got.ci, want.ci, rtol=1e-10, atol=1e-10)


def test_centre_numbers_equal_score(app: Flask, province: Rows) -> None:
    with app.app_context():
        alpha = db.session.scalar(select(Centre).where(Centre.code == "ALPHA"))
        today = queries.local_today()
        page = services.centre_dashboard(alpha, today, period=7, chart_days=30)
        for key, days in (("today", range(0, 1)), ("yesterday", range(1, 2)),
                          ("7d", range(0, 7)), ("30d", range(0, 30))):
            assert_equal(page.headline[key], expected(province, ("ALPHA",), days))
        by_day = {p.day: p for p in page.series}
        for ago in (1, 5, 29):
            point = by_day[today - ago]
            want = expected(province, ("ALPHA",), range(ago, ago + 1))
            assert point.n == want.n
            assert_allclose([point.estimate, *point.ci], [want.estimate, *want.ci],
                            rtol=1e-10, atol=1e-12)
            rolling = expected(province, ("ALPHA",), range(ago, ago + 7))
            assert_allclose(point.rolling, rolling.estimate, rtol=1e-12)
        for element in page.table:
            if element.kind != "element":
                continue
            assert_equal(element.current, expected(province, ("ALPHA",), range(0, 7),
                                                   node=element.code))
            assert_equal(element.previous, expected(province, ("ALPHA",), range(7, 14),
                                                    node=element.code))
            for item in element.children:
                assert_equal(item.current, expected(province, ("ALPHA",), range(0, 7),
                                                    node=item.code))
        assert_equal(page.alert.recent, expected(province, ("ALPHA",), range(1, 8)))
        assert_equal(page.alert.baseline, expected(province, ("ALPHA",), range(8, 98)))
        assert_equal(page.reference, expected(province, ("ALPHA", "BETA", "GAMMA"),
                                              range(1, 31)))


def test_overview_and_province_equal_score(app: Flask, province: Rows) -> None:
    with app.app_context():
        centres = queries.active_centres()
        today = queries.local_today()
        summaries, whole = services.overview(centres, today, 30)
        for summary in summaries:
            code = (summary.centre.code,)
            assert_equal(summary.current, expected(province, code, range(0, 30)))
            assert_equal(summary.previous, expected(province, code, range(30, 60)))
        assert_equal(whole, expected(province, ("ALPHA", "BETA", "GAMMA"), range(0, 30)))


def test_exclusions_and_late_ratings_change_the_cached_days(
        app: Flask, province: Rows, add_ratings: Callable[..., None]) -> None:
    with app.app_context():
        alpha = db.session.scalar(select(Centre).where(Centre.code == "ALPHA"))
        today = queries.local_today()
        before = services.centre_dashboard(alpha, today, period=30, chart_days=30)
        db.session.commit()
        ids = db.session.scalars(
            select(Response.id).where(Response.centre_id == alpha.id,
                                      Response.submitted_at < queries.day_start_utc(today - 2),
                                      Response.submitted_at >= queries.day_start_utc(today - 3))
            .order_by(Response.id)).all()
        assert len(ids) >= 2
        db.session.execute(update(Response).where(Response.id.in_(ids[:2]))
                           .values(excluded=True))
        db.session.commit()
    kept = [row for row in province["ALPHA"]
            if row[0] != 3 or row not in [r for r in province["ALPHA"] if r[0] == 3][:2]]
    add_ratings("ALPHA", [[5, 5, 5, 5, 5, 5]] * 3, days_ago=10)  # an offline kiosk syncs late
    kept += [(10, [5, 5, 5, 5, 5, 5])] * 3
    with app.app_context():
        alpha = db.session.scalar(select(Centre).where(Centre.code == "ALPHA"))
        after = services.centre_dashboard(alpha, today, period=30, chart_days=30)
        data = {**province, "ALPHA": kept}
        assert after.headline["30d"].n == before.headline["30d"].n - 2 + 3
        assert_equal(after.headline["30d"], expected(data, ("ALPHA",), range(0, 30)))
        point = {p.day: p for p in after.series}[today - 3]
        assert point.n == expected(data, ("ALPHA",), range(3, 4)).n


def test_province_numbers_see_late_ratings_and_exclusions_at_any_centre(
        app: Flask, province: Rows, add_ratings: Callable[..., None]) -> None:
    with app.app_context():
        first, _ = services.overview(queries.active_centres(), queries.local_today(), 30)
        n = {s.centre.code: s.current.n for s in first}
        db.session.commit()
    add_ratings("BETA", [[5, 5, 5, 5, 5, 5]] * 4, days_ago=5)  # late, at another centre
    with app.app_context():
        centres = queries.active_centres()
        today = queries.local_today()
        again, whole = services.overview(centres, today, 30)
        assert {s.centre.code: s.current.n for s in again} == {**n, "BETA": n["BETA"] + 4}
        data = {**province, "BETA": province["BETA"] + [(5, [5, 5, 5, 5, 5, 5])] * 4}
        assert_equal(whole, expected(data, ("ALPHA", "BETA", "GAMMA"), range(0, 30)))
        gamma = db.session.scalar(select(Centre.id).where(Centre.code == "GAMMA"))
        db.session.execute(update(Response).where(
            Response.centre_id == gamma,
            Response.submitted_at < queries.day_start_utc(today - 1)).values(excluded=True))
        db.session.commit()
        after, whole = services.overview(centres, today, 30)
        gamma_now = next(s for s in after if s.centre.code == "GAMMA").current
        assert gamma_now.n == sum(1 for ago, _ in province["GAMMA"] if ago <= 1)
        data["GAMMA"] = [(ago, row) for ago, row in province["GAMMA"] if ago <= 1]
        assert_equal(whole, expected(data, ("ALPHA", "BETA", "GAMMA"), range(0, 30)))
