"""hailong's estimates against R ``survey`` 4.1.1 (files in ``results/``).

Tolerances (stated once, used throughout): estimates, SEs and design effects
to ``RTOL = 1e-12`` relative; confidence limits to ``CI_ATOL = 1e-8``
absolute (R's ``logit`` interval comes from an iterative GLM fit, ``xlogit``
is its closed form); raked weights to ``WEIGHT_RTOL = 1e-10`` relative.
Where R gives no interval (NA), hailong must give a Clopper-Pearson interval
and the flag instead.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from scoring import (
    calibrate_raking,
    conditional_design,
    elements_tree,
    margins_from_table,
    poststratify,
    rake,
    score,
)
from scoring.intervals import FALLBACK_FLAG

RTOL = 1e-12
CI_ATOL = 1e-8
WEIGHT_RTOL = 1e-10
SE_ATOL = 1e-13  # a true zero variance (domain inside one PSU) is rounding noise in both


def _item_arrays(result, items, attr):
    share = np.array([getattr(result[q].share[0], attr) for q in items])
    mean = np.array([getattr(result[q].mean[0], attr) for q in items])
    return share, mean


def check_items(result, case, exp, *, deff=True, ci_methods=("xlogit",)):
    assert_array_equal(exp["item"], case.items)
    p, m = _item_arrays(result, case.items, "estimate")
    assert_allclose(p, exp["p45"], rtol=RTOL)
    assert_allclose(m, exp["mean"], rtol=RTOL)
    p_se, m_se = _item_arrays(result, case.items, "se")
    assert_allclose(p_se, exp["p45_se"], rtol=RTOL)
    assert_allclose(m_se, exp["mean_se"], rtol=RTOL)
    n, _ = _item_arrays(result, case.items, "n")
    assert_array_equal(n, exp["n"])
    df, _ = _item_arrays(result, case.items, "df")
    assert_array_equal(df, exp["degf"])
    if deff:
        for ours, key in zip(_item_arrays(result, case.items, "deff"), ("p45_deff", "mean_deff"),
                             strict=True):
            assert_allclose(ours, exp[key], rtol=RTOL)
        for ours, key in zip(_item_arrays(result, case.items, "deff_wr"),
                             ("p45_deff_wr", "mean_deff_wr"), strict=True):
            assert_allclose(ours, exp[key], rtol=RTOL)
    for method in ci_methods:
        assert result.ci == method
        lo = np.array([result[q].share[0].ci[0] for q in case.items])
        hi = np.array([result[q].share[0].ci[1] for q in case.items])
        assert_allclose(lo, exp[f"ci_{method}_l"], atol=CI_ATOL, rtol=0)
        assert_allclose(hi, exp[f"ci_{method}_u"], atol=CI_ATOL, rtol=0)


# --------------------------------------------------------------------- items


@pytest.mark.parametrize("method", ["xlogit", "beta", "mean", "asin"])
def test_items_match_r(sample1, method):
    result = score(sample1.ratings, sample1.items, design=sample1.design(), ci=method)
    check_items(result, sample1, sample1.expected("items.csv"), ci_methods=(method,))


def test_xlogit_is_r_logit_in_closed_form(sample1):
    exp = sample1.expected("items.csv")
    result = score(sample1.ratings, sample1.items, design=sample1.design())
    lo = np.array([result[q].share[0].ci[0] for q in sample1.items])
    hi = np.array([result[q].share[0].ci[1] for q in sample1.items])
    assert_allclose(lo, exp["ci_logit_l"], atol=CI_ATOL, rtol=0)
    assert_allclose(hi, exp["ci_logit_u"], atol=CI_ATOL, rtol=0)


# ------------------------------------------------------------------ elements


@pytest.mark.parametrize(("rule", "suffix"), [("item-mean", "itemmean"), ("pooled", "pooled")])
def test_elements_match_r(sample1, rule, suffix):
    exp = sample1.expected("elements.csv")
    result = score(sample1.ratings, sample1.items, design=sample1.design(),
                   tree=elements_tree(sample1.elements, rule))
    codes = list(exp["element"])
    assert [result[c].kind for c in codes] == ["element"] * (len(codes) - 1) + ["overall"]
    for key, side in (("p45", "share"), ("mean", "mean")):
        est = np.array([getattr(result[c], side)[0].estimate for c in codes])
        se = np.array([getattr(result[c], side)[0].se for c in codes])
        assert_allclose(est, exp[f"{key}_{suffix}"], rtol=RTOL)
        assert_allclose(se, exp[f"{key}_{suffix}_se"], rtol=RTOL)


def test_index_variance_counts_item_covariance(sample1):
    """Linearising the whole index differs from combining item SEs as independent."""
    result = score(sample1.ratings, sample1.items, design=sample1.design(),
                   tree=elements_tree(sample1.elements))
    items_a = sample1.elements["A"]
    naive = np.sqrt(sum(result[q].share[0].se ** 2 for q in items_a)) / len(items_a)
    assert result["A"].share[0].se > 1.5 * naive


def test_elements_by_stratum_match_r(sample1):
    exp = sample1.expected("elements_by.csv")
    result = score(sample1.ratings, sample1.items, design=sample1.design(),
                   tree=elements_tree(sample1.elements), domains=sample1.stratum)
    for key, side in (("p45", "share"), ("mean", "mean")):
        est = np.array([getattr(result[e], side).at(d).estimate
                        for d, e in zip(exp["domain"], exp["element"], strict=True)])
        se = np.array([getattr(result[e], side).at(d).se
                       for d, e in zip(exp["domain"], exp["element"], strict=True)])
        assert_allclose(est, exp[f"{key}_itemmean"], rtol=RTOL)
        assert_allclose(se, exp[f"{key}_itemmean_se"], rtol=RTOL)


# ------------------------------------------------------------------- domains


def check_domain_rows(result, exp, domain_key, rows):
    """Compare svyby rows; where R has no interval, expect the flagged fallback."""
    shares = [result[q].share.at(d) for q, d in zip(exp["item"][rows], exp[domain_key][rows],
                                                     strict=True)]
    means = [result[q].mean.at(d) for q, d in zip(exp["item"][rows], exp[domain_key][rows],
                                                   strict=True)]
    assert_array_equal([s.n for s in shares], exp["n"][rows])
    assert_allclose([s.estimate for s in shares], exp["p45"][rows], rtol=RTOL)
    assert_allclose([s.se for s in shares], exp["p45_se"][rows], rtol=RTOL, atol=SE_ATOL)
    assert_allclose([m.estimate for m in means], exp["mean"][rows], rtol=RTOL)
    assert_allclose([m.se for m in means], exp["mean_se"][rows], rtol=RTOL, atol=SE_ATOL)
    lo = np.array([s.ci[0] for s in shares])
    hi = np.array([s.ci[1] for s in shares])
    p = np.array([s.estimate for s in shares])
    has_r = np.isfinite(exp["ci_xlogit_l"][rows]) & (p > 0) & (p < 1)
    assert has_r.sum() > 0
    assert_allclose(lo[has_r], exp["ci_xlogit_l"][rows][has_r], atol=CI_ATOL, rtol=0)
    assert_allclose(hi[has_r], exp["ci_xlogit_u"][rows][has_r], atol=CI_ATOL, rtol=0)
    fallback = ~has_r
    assert all(FALLBACK_FLAG in s.flags for s, f in zip(shares, fallback, strict=True) if f)
    assert np.all(np.isfinite(lo) & np.isfinite(hi))
    assert np.all((lo <= p + 1e-15) & (p <= hi + 1e-15) & (lo >= 0) & (hi <= 1))
    return int(fallback.sum())


@pytest.mark.parametrize("by", ["stratum", "district"])
def test_domains_match_r_svyby(sample1, by):
    exp = sample1.expected("domains.csv")
    rows = exp["by"] == by
    values = sample1.stratum if by == "stratum" else sample1.district
    result = score(sample1.ratings, sample1.items, design=sample1.design(), domains=values)
    check_domain_rows(result, exp, "domain", rows)
    if by == "district":  # districts inside one PSU: df 0, R gives NaN
        zero_df = [result[q].share.at(d) for q, d in zip(exp["item"][rows],
                                                         exp["domain"][rows], strict=True)
                   if result[q].share.at(d).df == 0]
        assert zero_df
        assert all(FALLBACK_FLAG in s.flags for s in zero_df)


def test_centres_conditional_design_match_r(sample1):
    exp = sample1.expected("centres.csv")
    design = conditional_design(sample1.weight, sample1.psu)
    result = score(sample1.ratings, sample1.items, design=design, domains=sample1.psu)
    n_fallback = check_domain_rows(result, exp, "centre", np.ones(exp["item"].shape[0], bool))
    assert n_fallback >= np.isnan(exp["ci_xlogit_l"]).sum()
    first = result["q01"].share.at("C0001")  # all 33 satisfied: R gives no interval
    assert first.df == first.n - 1 == 32
    assert first.estimate == 1.0
    assert first.reportable
    assert first.flags == (FALLBACK_FLAG,)
    assert_allclose(first.ci, (0.025 ** (1 / 33), 1.0), rtol=1e-12)


# ------------------------------------------------------------------- weights


def _margins(case):
    return margins_from_table(case.margin_rows, case.columns)


def test_raked_weights_match_r(sample1):
    raked = rake(sample1.design(), _margins(sample1), epsilon=1e-10, maxit=100)
    exp = sample1.expected("raked_weights.csv")
    assert raked.converged
    assert_allclose(raked.weights, exp["weight_raked"], rtol=WEIGHT_RTOL)


@pytest.mark.parametrize("method", ["xlogit", "beta"])
def test_raked_estimates_match_r(sample1, method):
    raked = rake(sample1.design(), _margins(sample1), epsilon=1e-10, maxit=100)
    result = score(sample1.ratings, sample1.items, design=raked.design, ci=method)
    check_items(result, sample1, sample1.expected("raked.csv"), deff=False,
                ci_methods=(method,))


def test_calibrated_estimates_match_r(sample1):
    cal = calibrate_raking(sample1.design(), _margins(sample1))
    result = score(sample1.ratings, sample1.items, design=cal.design)
    check_items(result, sample1, sample1.expected("calibrated.csv"), deff=False)


def test_poststratified_estimates_match_r(sample1):
    age = next(m for m in _margins(sample1) if m.variable == "age_group")
    result = score(sample1.ratings, sample1.items, design=poststratify(sample1.design(),
                                                                        age).design)
    check_items(result, sample1, sample1.expected("poststrat.csv"), deff=False)


def check_jkn(case, exp, design):
    result = score(case.ratings, case.items, design=design, variance="jkn")
    for key, side in (("p45", "share"), ("mean", "mean")):
        assert_allclose([getattr(result[q], side)[0].estimate for q in case.items], exp[key],
                        rtol=RTOL)
        assert_allclose([getattr(result[q], side)[0].se for q in case.items], exp[f"{key}_se"],
                        rtol=RTOL)


def test_jkn_match_r(sample1):
    check_jkn(sample1, sample1.expected("jkn.csv"), sample1.design())


# ------------------------------------------- cases the code was not tuned on


@pytest.mark.parametrize("lonely", ["adjust", "certainty", "remove", "average"])
def test_lonely_psu_options_match_r(sample2, lonely):
    folder = f"expected-{lonely}"
    design = sample2.design(lonely=lonely)
    assert (design.n_psu == 1).sum() == 1
    result = score(sample2.ratings, sample2.items, design=design,
                   tree=elements_tree(sample2.elements))
    check_items(result, sample2, sample2.expected("items.csv", folder))
    exp = sample2.expected("elements.csv", folder)
    for c, p, se in zip(exp["element"], exp["p45_itemmean"], exp["p45_itemmean_se"],
                        strict=True):
        assert_allclose(result[c].share[0].estimate, p, rtol=RTOL)
        assert_allclose(result[c].share[0].se, se, rtol=RTOL)
    exp = sample2.expected("domains.csv", folder)
    by_stratum = score(sample2.ratings, sample2.items, design=design, domains=sample2.stratum)
    check_domain_rows(by_stratum, exp, "domain", exp["by"] == "stratum")
    check_jkn(sample2, sample2.expected("jkn.csv", folder), design)


def test_fpc_matches_r(sample3):
    folder = "expected-fpc"
    design = sample3.design(fpc=sample3.fpc)
    assert np.all(design.fpc_factor < 1)
    result = score(sample3.ratings, sample3.items, design=design,
                   tree=elements_tree(sample3.elements))
    check_items(result, sample3, sample3.expected("items.csv", folder))
    exp = sample3.expected("elements.csv", folder)
    assert_allclose([result[c].share[0].se for c in exp["element"]], exp["p45_itemmean_se"],
                    rtol=RTOL)
    exp = sample3.expected("domains.csv", folder)
    by_district = score(sample3.ratings, sample3.items, design=design, domains=sample3.district)
    check_domain_rows(by_district, exp, "domain", exp["by"] == "district")
    raked = rake(design, _margins(sample3), epsilon=1e-10, maxit=100)
    assert_allclose(raked.weights,
                    sample3.expected("raked_weights.csv", folder)["weight_raked"],
                    rtol=WEIGHT_RTOL)
    check_items(score(sample3.ratings, sample3.items, design=raked.design), sample3,
                sample3.expected("raked.csv", folder), deff=False)
    check_jkn(sample3, sample3.expected("jkn.csv", folder), design)
