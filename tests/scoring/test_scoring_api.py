"""Behaviour of the scoring API beyond the R comparisons."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from scoring import (
    IndexNode,
    Margin,
    clopper_pearson,
    conditional_design,
    cross_domains,
    design_weights,
    domain_index,
    elements_tree,
    make_design,
    mean_rating,
    rake,
    score,
    share_interval,
    share_satisfied,
    valid_ratings,
)


@pytest.fixture
def small_survey():
    """300 respondents, 3 items, 3 strata x 4 PSUs, with missing answers."""
    rng = np.random.default_rng(20240601)
    n = 300
    ratings = rng.integers(1, 6, size=(n, 3)).astype(float)
    ratings[rng.random((n, 3)) < 0.1] = np.nan
    stratum = np.repeat(["a", "b", "c"], 100)
    psu = np.tile(np.repeat([1, 2, 3, 4], 25), 3)
    weight = rng.uniform(0.5, 2.0, n)
    return ratings, weight, stratum, psu


def test_scoring_imports_no_web_framework():
    code = ("import sys, scoring, scoring.cli; "
            "bad = [m for m in ('flask', 'sqlalchemy', 'babel', 'pandas') if m in sys.modules]; "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_invalid_ratings_are_missing():
    r = valid_ratings([[1, 0, 6, np.nan, 2.5, 5]])
    assert_allclose(r[0], [1, np.nan, np.nan, np.nan, np.nan, 5])


def test_share_satisfied_unweighted_srs_is_binomial():
    y = np.array([5, 4, 1, 2, 4, 4, 3, 5, 5, 1] * 5, dtype=float)
    est = share_satisfied(y)
    p = 0.6
    assert est.estimate == pytest.approx(p)
    assert est.se == pytest.approx(np.sqrt(p * (1 - p) / 49), rel=1e-12)
    assert est.df == 49
    assert est.n == 50
    assert est.cv == pytest.approx(est.se / p)
    assert est.ci[0] < p < est.ci[1]
    m = mean_rating(y)
    assert m.estimate == pytest.approx(y.mean())
    assert m.method == "t"


@pytest.mark.parametrize("method", ["xlogit", "beta", "mean", "asin", "wilson"])
def test_every_ci_method_covers_the_estimate(small_survey, method):
    ratings, weight, stratum, psu = small_survey
    res = score(ratings, design=make_design(weights=weight, strata=stratum, psu=psu), ci=method)
    for ind in res:
        e = ind.share[0]
        assert e.method == method
        assert 0 <= e.ci[0] < e.estimate < e.ci[1] <= 1


def test_wilson_matches_textbook_formula_on_srs():
    p, n, alpha = 0.3, 100.0, 0.05
    lo, hi, fb = share_interval(np.array([p]), np.array([p * (1 - p) / n]), np.array([1e9]),
                                np.array([n]), method="wilson", alpha=alpha)
    z = 1.959963984540054
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert_allclose([lo[0], hi[0]], [centre - half, centre + half], rtol=1e-8)
    assert not fb[0]


def test_degenerate_shares_fall_back_to_clopper_pearson():
    lo, hi, fb = share_interval(np.array([0.0, 1.0, 0.4]), np.array([0.0, 0.0, 0.01]),
                                np.array([10.0, 10.0, 0.0]), np.array([20.0, 20.0, 20.0]))
    assert fb.all()
    assert np.all(np.isfinite(lo) & np.isfinite(hi))
    assert lo[0] == 0.0
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / 20))
    assert hi[1] == 1.0
    cl, ch = clopper_pearson(np.array([0.4]), np.array([20.0]), 0.05)
    assert (lo[2], hi[2]) == (cl[0], ch[0])


def test_options_are_checked_with_the_bad_value_in_the_message(small_survey):
    ratings, *_ = small_survey
    with pytest.raises(ValueError, match="'logit'"):
        score(ratings, ci="logit")
    with pytest.raises(ValueError, match="'sometimes'"):
        make_design(10, lonely="sometimes")
    with pytest.raises(ValueError, match="'median'"):
        IndexNode(code="A", rule="median", items=("q01",))
    with pytest.raises(ValueError, match="'bootstrap'"):
        score(ratings, variance="bootstrap")
    with pytest.raises(ValueError, match="row 1"):
        make_design(weights=[1.0, -2.0])


def test_lonely_fail_raises_and_single_psu_design_df():
    with pytest.raises(ValueError, match="only one PSU"):
        make_design(weights=[1, 1, 1], strata=["a", "a", "b"], psu=[1, 2, 3], lonely="fail")
    d = make_design(weights=[1, 1, 1, 1], strata=["a", "a", "b", "b"], psu=[1, 2, 3, 3])
    assert d.df == 1


def test_weighted_and_children_mean_rules(small_survey):
    ratings, weight, stratum, psu = small_survey
    design = make_design(weights=weight, strata=stratum, psu=psu)
    tree = (
        IndexNode(code="AB", rule="item-mean", items=("q01", "q02")),
        IndexNode(code="W", rule="weighted", children=("AB",), items=("q03",),
                  weights=(3.0, 1.0), kind="overall"),
        IndexNode(code="C", rule="children-mean", children=("AB",), items=("q03",),
                  kind="aspect"),
    )
    res = score(ratings, ["q01", "q02", "q03"], tree=tree, design=design)
    ab = (res["q01"].share[0].estimate + res["q02"].share[0].estimate) / 2
    q3 = res["q03"].share[0].estimate
    assert res["AB"].share[0].estimate == pytest.approx(ab, rel=1e-14)
    assert res["W"].share[0].estimate == pytest.approx(0.75 * ab + 0.25 * q3, rel=1e-14)
    assert res["C"].share[0].estimate == pytest.approx(0.5 * ab + 0.5 * q3, rel=1e-14)
    assert res["W"].kind == "overall"
    # the weighted index's variance is that of the weighted sum of influence values:
    # with weights (1, 1) it equals children-mean
    tree2 = (tree[0], IndexNode(code="W", rule="weighted", children=("AB",), items=("q03",),
                                weights=(1.0, 1.0)))
    res2 = score(ratings, ["q01", "q02", "q03"], tree=tree2, design=design)
    assert res2["W"].share[0].se == pytest.approx(res["C"].share[0].se, rel=1e-12)


def test_tree_errors_name_the_problem():
    r = np.ones((5, 2)) * 4
    with pytest.raises(ValueError, match="unknown item 'q09'"):
        score(r, ["q01", "q02"], tree=(IndexNode(code="A", items=("q09",)),))
    with pytest.raises(ValueError, match="cycle"):
        score(r, ["q01", "q02"], tree=(IndexNode(code="A", children=("B",)),
                                       IndexNode(code="B", children=("A",))))
    with pytest.raises(ValueError, match="2 weights"):
        IndexNode(code="A", rule="weighted", items=("q01", "q02"), weights=(1.0,))


def test_domains_in_one_pass_equal_separate_subsets(small_survey):
    """A domain estimate equals the full-design estimate with the rest zeroed (svyby)."""
    ratings, weight, stratum, psu = small_survey
    design = make_design(weights=weight, strata=stratum, psu=psu)
    sex = np.where(np.arange(300) % 3 == 0, "Nam", "Nữ")
    tree = elements_tree({"E": ["q01", "q02", "q03"]})
    res = score(ratings, ["q01", "q02", "q03"], tree=tree, design=design, domains=sex)
    for label in ("Nam", "Nữ"):
        masked = np.where((sex == label)[:, None], ratings, np.nan)
        one = score(masked, ["q01", "q02", "q03"], tree=tree, design=design)
        for code in ("q01", "q02", "q03", "E", "ALL"):
            got, want = res[code].share.at(label), one[code].share[0]
            assert got.estimate == pytest.approx(want.estimate, rel=1e-13)
            assert got.se == pytest.approx(want.se, rel=1e-11)
    assert list(res.domains) == ["Nam", "Nữ"]


def test_small_units_are_flagged_but_computed():
    rng = np.random.default_rng(3)
    ratings = rng.integers(1, 6, size=(60, 1)).astype(float)
    centre = np.repeat(["big", "small"], [50, 10])
    res = score(ratings, ["q01"], design=conditional_design(None, centre), domains=centre,
                min_n=30)
    small = res["q01"].share.at("small")
    big = res["q01"].share.at("big")
    assert not small.reportable
    assert "small-n" in small.flags
    assert np.isfinite(small.estimate)
    assert np.isfinite(small.se)
    assert big.reportable


def test_item_missing_in_a_domain_is_left_out_of_the_mean():
    ratings = np.array([[5, np.nan], [4, np.nan], [1, 5], [2, 4]], dtype=float)
    dom = np.array(["x", "x", "y", "y"])
    res = score(ratings, ["q01", "q02"], tree=elements_tree({"E": ["q01", "q02"]}),
                domains=dom, min_n=1)
    x = res["E"].share.at("x")
    assert x.estimate == 1.0
    assert "items-missing" in x.flags
    assert res["q02"].share.at("x").flags[0] == "no-data"
    assert np.isnan(res["q02"].share.at("x").estimate)


def test_design_weights_from_frame_counts():
    w = design_weights(["c1", "c1", "c2"], {"c1": 100, "c2": 30})
    assert_allclose(w, [50, 50, 30])
    with pytest.raises(ValueError, match="'c3'"):
        design_weights(["c3"], {"c1": 1})


@pytest.fixture
def rake_case():
    rng = np.random.default_rng(11)
    n = 400
    sex = rng.choice(["m", "f"], n, p=[0.6, 0.4])
    age = rng.choice(["y", "o"], n, p=[0.3, 0.7])
    design = make_design(weights=np.ones(n), strata=np.repeat(["a", "b"], 200),
                         psu=np.repeat(np.arange(20), 20))
    margins = [Margin(variable="sex", values=sex, totals={"m": 480, "f": 520}),
               Margin(variable="age", values=age, totals={"y": 500, "o": 500})]
    return design, margins, sex, age


def test_rake_meets_margins_and_reports_convergence(rake_case):
    design, margins, sex, age = rake_case
    res = rake(design, margins)
    assert res.converged
    assert res.iterations >= 2
    assert res.weights[sex == "m"].sum() == pytest.approx(480, rel=1e-9)
    assert res.weights[age == "y"].sum() == pytest.approx(500, rel=1e-9)
    with pytest.raises(ValueError, match="did not converge"):
        rake(design, margins, maxit=1, epsilon=1e-12)
    loose = rake(design, margins, maxit=1, epsilon=1e-12, must_converge=False)
    assert not loose.converged


def test_rake_trimming_bounds_hold(rake_case):
    design, margins, *_ = rake_case
    res = rake(design, margins, bounds=(0.8, 1.3), maxit=50, must_converge=False)
    assert 0.8 - 1e-12 <= res.g_range[0]
    assert res.g_range[1] <= 1.3 + 1e-12


def test_rake_rejects_margins_that_do_not_match(rake_case):
    design, margins, sex, _ = rake_case
    with pytest.raises(ValueError, match="level 'f' is in the data"):
        rake(design, [Margin(variable="sex", values=sex, totals={"m": 1000})])
    with pytest.raises(ValueError, match="level 'x' has a population total"):
        rake(design, [Margin(variable="sex", values=sex, totals={"m": 400, "f": 500, "x": 100})])


def test_domain_index_is_reusable(small_survey):
    ratings, weight, stratum, psu = small_survey
    design = make_design(weights=weight, strata=stratum, psu=psu)
    idx = domain_index(design, stratum)
    a = score(ratings, design=design, index=idx)
    b = score(ratings, design=design, domains=stratum)
    assert_allclose(a["q01"].share.se, b["q01"].share.se, rtol=0)


def test_no_runtime_warnings_on_degenerate_data():
    ratings = np.array([[5, np.nan], [5, np.nan], [5, np.nan]], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = score(ratings, ["q01", "q02"], tree=elements_tree({"E": ["q01", "q02"]}),
                    domains=["a", "a", "b"])
    e = res["q01"].share.at("b")
    assert e.estimate == 1.0
    assert e.n == 1
    assert np.isfinite(e.ci[0])


def test_cross_domains_per_centre_and_day(small_survey):
    ratings, weight, stratum, psu = small_survey
    day = np.where(np.arange(300) % 2 == 0, "2026-01-01", "2026-01-02")
    codes, labels = cross_domains(stratum, day)
    assert len(labels) == 6
    assert labels[0] == ("a", "2026-01-01")
    res = score(ratings, design=make_design(weights=weight, strata=stratum, psu=psu),
                domains=codes)
    one = res["q01"].share.at(labels.index(("b", "2026-01-02")))
    rows = (stratum == "b") & (day == "2026-01-02")
    valid = rows & ~np.isnan(ratings[:, 0])
    assert one.n == valid.sum()
    want = (weight[valid] * (ratings[valid, 0] >= 4)).sum() / weight[valid].sum()
    assert one.estimate == pytest.approx(want, rel=1e-13)
