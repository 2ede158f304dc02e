"""Estimates from moments equal :func:`scoring.score` on the respondents behind them.

Design throughout: weights 1, strata = centres, every respondent a PSU (the
dashboard's design).  Tolerances: 1e-12 (absolute and relative) on estimates
and standard errors, 1e-10 on interval limits.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from scoring import IndexNode, make_design, score
from scoring.moments import (
    Moments,
    estimate_tree_from_moments,
    moments_from_ratings,
    stack,
    tree_cover,
)

ITEMS = ("a1", "a2", "a3", "b1", "b2", "c1", "c2", "c3")


def tree_for(rule: str) -> tuple[IndexNode, ...]:
    weights = {"weighted": (3.0, 1.0, 2.0)}
    elements = (
        IndexNode(code="A", rule="pooled" if rule == "pooled" else "item-mean",
                  items=("a1", "a2", "a3")),
        IndexNode(code="B", rule="item-mean", items=("b1", "b2")),
        IndexNode(code="C", rule="pooled", items=("c1", "c2", "c3")),
    )
    if rule == "weighted":
        top = IndexNode(code="ALL", rule="weighted", children=("A", "B", "C"),
                        weights=weights["weighted"], kind="overall")
    else:
        top = IndexNode(code="ALL", rule=rule, children=("A", "B", "C"), kind="overall")
    mixed = IndexNode(code="MIX", rule="children-mean", children=("A",), items=("b1", "c3"),
                      kind="aspect")
    return (*elements, mixed, top)


RULES = ("item-mean", "pooled", "children-mean", "weighted")


def survey(n: int, centres: int, seed: int, *, missing: float = 0.15) -> tuple[
        np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, centres, n)
    latent = rng.normal(0.4 * centre / max(centres, 1), 1.0, n)[:, None]
    ratings = np.clip(np.rint(3.4 + latent + rng.normal(0, 0.9, (n, len(ITEMS)))), 1, 5)
    ratings[rng.random(ratings.shape) < missing] = np.nan
    ratings[rng.random(n) < 0.03] = np.nan  # a few answer nothing at all
    ratings[:, 4][centre == 0] = np.nan    # an item never answered at one centre
    return ratings, centre


def assert_same(expected, got, *, design_effects: bool = True) -> None:  # noqa: ANN001
    """``design_effects=False``: with one respondent the SRS variance divides by
    ``n - 1 = 0`` and score's design effects are rounding noise (0 or NaN)."""
    assert_allclose(got.estimate, expected.estimate, rtol=1e-12, atol=1e-12)
    assert_allclose(got.se, expected.se, rtol=1e-12, atol=1e-12)
    assert_allclose(got.ci_low, expected.ci_low, rtol=1e-10, atol=1e-10)
    assert_allclose(got.ci_high, expected.ci_high, rtol=1e-10, atol=1e-10)
    assert_array_equal(got.df, expected.df)
    assert_array_equal(got.n, expected.n)
    if design_effects:
        assert_allclose(got.n_eff, expected.n_eff, rtol=1e-10)
        assert_allclose(got.deff, expected.deff, rtol=1e-10)
        assert_allclose(got.deff_wr, expected.deff_wr, rtol=1e-10)
    assert_allclose(got.cv, expected.cv, rtol=1e-10, atol=1e-12)
    assert_array_equal(got.reportable, expected.reportable)
    assert got.flags == expected.flags
    assert got.method == expected.method


def reference(ratings: np.ndarray, centre: np.ndarray, tree, **kw):  # noqa: ANN001, ANN201
    return score(ratings, ITEMS, tree=tree, design=make_design(strata=centre), **kw)


def from_moments(ratings: np.ndarray, centre: np.ndarray, tree, centres: int,  # noqa: ANN001
                 **kw):  # noqa: ANN003, ANN201
    moments = moments_from_ratings(ratings, items=ITEMS, groups=centre, n_groups=centres,
                                   cover_sets=tree_cover(tree))
    return estimate_tree_from_moments(moments, tree, **kw)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("centres", [1, 6])
def test_every_indicator_equals_score(rule: str, centres: int) -> None:
    ratings, centre = survey(900, centres, seed=centres * 7 + len(rule))
    tree = tree_for(rule)
    expected = reference(ratings, centre, tree, min_n=30)
    got = from_moments(ratings, centre, tree, centres, min_n=30)
    assert list(got) == [ind.code for ind in expected]
    for indicator in expected:
        assert_same(indicator.share, got[indicator.code])
    if centres == 1:  # b2 is never answered at centre 0
        assert "items-missing" in got["B"][0].flags


@pytest.mark.parametrize("ci", ["xlogit", "beta", "mean", "asin", "wilson"])
def test_every_interval_method(ci: str) -> None:
    ratings, centre = survey(400, 3, seed=11)
    tree = tree_for("item-mean")
    expected = reference(ratings, centre, tree, ci=ci, alpha=0.1)
    got = from_moments(ratings, centre, tree, 3, ci=ci, alpha=0.1)
    for indicator in expected:
        assert_same(indicator.share, got[indicator.code])


def test_moments_add_over_days_and_stack_over_centres() -> None:
    ratings, centre = survey(1200, 4, seed=3)
    day = np.random.default_rng(4).integers(0, 30, ratings.shape[0])
    tree = tree_for("children-mean")
    cover = tree_cover(tree)
    per_centre = []
    for h in range(4):
        rows = centre == h
        daily = moments_from_ratings(ratings[rows], items=ITEMS, groups=day[rows],
                                     n_groups=30, cover_sets=cover)
        assert daily.shape == (30,)
        per_centre.append(daily)
    by_day = stack(per_centre)  # (centres, days)
    province = by_day.sum(axis=1)
    direct = moments_from_ratings(ratings, items=ITEMS, groups=centre, n_groups=4,
                                  cover_sets=cover)
    assert_array_equal(province.to_array(), direct.to_array())
    restored = Moments.from_array(direct.to_array(), items=ITEMS, cover_sets=cover)
    assert_array_equal(restored.to_array(), direct.to_array())
    # the last 10 days of centre 2 from running sums
    running = per_centre[2].cumsum()
    assert_array_equal((running[29] + Moments.zeros((), items=ITEMS, cover_sets=cover))
                       .to_array(), running[29].to_array())
    window = moments_from_ratings(ratings[(centre == 2) & (day >= 20)], items=ITEMS,
                                  cover_sets=cover)
    diff = running[29].to_array() - running[19].to_array()
    assert_array_equal(diff, window.to_array())


def test_batched_windows_equal_score_per_window() -> None:
    ratings, centre = survey(700, 2, seed=5)
    day = np.random.default_rng(6).integers(0, 10, ratings.shape[0])
    tree = tree_for("item-mean")
    daily = stack([moments_from_ratings(ratings[centre == h], items=ITEMS,
                                        groups=day[centre == h], n_groups=10,
                                        cover_sets=tree_cover(tree)) for h in range(2)])
    running = daily.cumsum(axis=1).to_array()
    three_day = running[:, 2:] - np.concatenate(
        [np.zeros_like(running[:, :1]), running[:, :-3]], axis=1)
    windows = Moments.from_array(np.swapaxes(three_day, 0, 1), items=ITEMS,
                                 cover_sets=tree_cover(tree))  # (8 windows, 2 centres)
    got = estimate_tree_from_moments(windows, tree, labels=np.arange(2, 10))
    for end in (2, 6, 9):
        inside = (day > end - 3) & (day <= end)
        expected = reference(ratings[inside], centre[inside], tree)
        for indicator in expected:
            assert_same(indicator.share, _row(got[indicator.code], end - 2))


def _row(estimates, i: int):  # noqa: ANN001, ANN202 -- one domain of an Estimates
    from dataclasses import replace

    return replace(estimates, domains=estimates.domains[i:i + 1],
                   **{f: getattr(estimates, f)[i:i + 1] for f in (
                       "estimate", "se", "ci_low", "ci_high", "df", "n", "n_eff", "deff",
                       "deff_wr", "cv", "reportable")}, flags=estimates.flags[i:i + 1])


def test_domain_of_a_larger_design_uses_its_stratum_sizes() -> None:
    ratings, centre = survey(600, 3, seed=8)
    half = np.random.default_rng(9).random(ratings.shape[0]) < 0.4
    tree = tree_for("pooled")
    expected = score(ratings, ITEMS, tree=tree, design=make_design(strata=centre),
                     domains=half)
    cover = tree_cover(tree)
    inside = moments_from_ratings(ratings[half], items=ITEMS, groups=centre[half],
                                  n_groups=3, cover_sets=cover)
    got = estimate_tree_from_moments(inside, tree, psu_counts=np.bincount(centre))
    for indicator in expected:
        assert_same(_row(indicator.share, 1), got[indicator.code])


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_tiny_samples_follow_the_fallbacks(rows: int) -> None:
    ratings = np.array([[5, 4, 1, np.nan, 2, 3, 4, 5], [2, 2, 5, 5, 5, 1, 1, 1]])[:rows]
    centre = np.zeros(rows, dtype=np.int64)
    tree = tree_for("item-mean")
    got = from_moments(ratings, centre, tree, 1)
    if rows == 0:
        for code in (*ITEMS, "ALL"):
            estimate = got[code][0]
            assert np.isnan(estimate.estimate)
            assert estimate.ci == (0.0, 1.0)
            assert "no-data" in estimate.flags
        return
    expected = reference(ratings, centre, tree)
    for indicator in expected:
        assert_same(indicator.share, got[indicator.code], design_effects=rows > 1)
    assert ("ci-clopper-pearson" in got["a1"][0].flags) == (rows == 1)  # df = 0
    assert got["ALL"][0].n == rows


def test_shares_of_zero_and_one_and_a_lonely_centre() -> None:
    ratings, centre = survey(300, 3, seed=12)
    ratings[:, 0] = 5.0          # everyone satisfied with a1
    ratings[:, 1] = np.where(np.isnan(ratings[:, 1]), np.nan, 1.0)  # nobody with a2
    ratings = np.vstack([ratings, [[4, 2, 3, 5, 1, 4, 4, 2]]])
    centre = np.r_[centre, 3]    # a centre with a single respondent
    tree = tree_for("weighted")
    expected = reference(ratings, centre, tree)
    got = from_moments(ratings, centre, tree, 4)
    for indicator in expected:
        assert_same(indicator.share, got[indicator.code])
    assert got["a1"][0].estimate == 1.0
    assert got["a2"][0].estimate == 0.0


def test_only_the_wanted_indicators() -> None:
    ratings, centre = survey(300, 2, seed=2)
    tree = tree_for("children-mean")
    full = from_moments(ratings, centre, tree, 2)
    some = from_moments(ratings, centre, tree, 2, only=("ALL", "a2"))
    assert list(some) == ["a2", "ALL"]
    for code in some:
        assert_same(full[code], some[code])
    with pytest.raises(ValueError, match="no items or nodes"):
        from_moments(ratings, centre, tree, 2, only=("nope",))


def test_missing_cover_set_and_misaligned_moments_are_refused() -> None:
    ratings, centre = survey(50, 1, seed=1)
    tree = tree_for("item-mean")
    bare = moments_from_ratings(ratings, items=ITEMS, groups=centre)
    with pytest.raises(ValueError, match="cover set of node"):
        estimate_tree_from_moments(bare, tree)
    other = moments_from_ratings(ratings[:, :3], items=ITEMS[:3], groups=centre)
    with pytest.raises(ValueError, match="align"):
        bare + other


def test_align_embeds_moments_of_another_questionnaire() -> None:
    ratings, centre = survey(500, 2, seed=21)
    tree = tree_for("item-mean")
    cover = tree_cover(tree)
    short = ratings.copy()
    short[centre == 1, 5:] = np.nan  # centre 1 never asks the C items
    expected = reference(short, centre, tree)
    part0 = moments_from_ratings(short[centre == 0], items=ITEMS, cover_sets=cover)
    own = (*ITEMS[:5],)
    own_cover = [c & frozenset(own) for c in cover if c & frozenset(own)]
    part1 = moments_from_ratings(short[centre == 1][:, :5], items=own, cover_sets=own_cover)
    got = estimate_tree_from_moments(stack([part0, part1.align(ITEMS, cover)]), tree)
    for indicator in expected:
        assert_same(indicator.share, got[indicator.code])
