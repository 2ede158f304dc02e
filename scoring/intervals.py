"""Confidence intervals for design-based shares and means (vectorised).

Notes
-----
With estimate :math:`\\hat p`, linearised variance :math:`v` and design
degrees of freedom :math:`d`, :math:`t = t_{1-\\alpha/2,\\,d}`:

``xlogit`` (R ``svyciprop(method = "xlogit")``, the closed form of ``logit``)

.. math::

    \\operatorname{expit}\\Big(\\operatorname{logit}\\hat p \\pm
    t\\,\\frac{\\sqrt v}{\\hat p(1-\\hat p)}\\Big)

``mean`` (Wald): :math:`\\hat p \\pm t\\sqrt v`.
``asin``: :math:`\\sin^2(\\arcsin\\sqrt{\\hat p} \\pm t\\sqrt v / (2\\sqrt{\\hat p(1-\\hat p)}))`.
``beta`` (Korn & Graubard 1998): with
:math:`n^* = \\frac{\\hat p(1-\\hat p)}{v}\\big(t_{\\alpha/2,\\,n-1}/t_{\\alpha/2,\\,d}\\big)^2`,
:math:`[B^{-1}_{\\alpha/2}(n^*\\hat p,\\ n^*(1-\\hat p)+1),\\
B^{-1}_{1-\\alpha/2}(n^*\\hat p+1,\\ n^*(1-\\hat p))]`.
``wilson``: the Wilson score interval on the effective sample size
:math:`n^* = \\hat p(1-\\hat p)/v` with :math:`z` replaced by :math:`t`.

Where these are undefined (R returns ``NaN``) — :math:`\\hat p \\in \\{0, 1\\}`,
:math:`v = 0` (a domain inside one PSU) or :math:`d < 1` — hailong returns the
Clopper–Pearson interval for :math:`x = \\hat p\\,n` successes in the actual
number :math:`n` of respondents (Beta quantiles, so :math:`x` need not be an
integer) and flags it ``ci-clopper-pearson``: an interval that ignores the
design effect, honest about its basis, never ``NaN``.

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions
with small expected number of positive counts estimated from survey data.
*Survey Methodology* 24, 193–201.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from scipy import special

from .design import FloatArray, check_option

ShareCI = Literal["xlogit", "beta", "mean", "asin", "wilson"]
SHARE_CI_METHODS: tuple[str, ...] = get_args(ShareCI)
FALLBACK_FLAG = "ci-clopper-pearson"


def _t(q: float, df: FloatArray) -> FloatArray:
    """Student t quantile (``scipy.stats.t.ppf`` without importing ``scipy.stats``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return special.stdtrit(np.where(df >= 1, df, np.nan), q)


def clopper_pearson(p: FloatArray, n: FloatArray, alpha: float) -> tuple[FloatArray, FloatArray]:
    """Clopper–Pearson interval for ``x = p * n`` successes out of ``n``."""
    p = np.asarray(p, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    x = np.clip(p, 0.0, 1.0) * n
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, special.betaincinv(x, n - x + 1, alpha / 2), 0.0)
        hi = np.where(x < n, special.betaincinv(x + 1, n - x, 1 - alpha / 2), 1.0)
    bad = ~(n > 0)
    return np.where(bad, 0.0, lo), np.where(bad, 1.0, hi)


def share_interval(
    p: FloatArray, var: FloatArray, df: FloatArray, n: FloatArray, *,
    method: ShareCI = "xlogit", alpha: float = 0.05, n_rows: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Confidence interval for design-based shares.

    Parameters
    ----------
    p, var, df, n : ndarray
        Estimates, linearised variances, design degrees of freedom and the
        number of respondents (same shape).
    method : {"xlogit", "beta", "mean", "asin", "wilson"}
    alpha : float
        1 - confidence level.
    n_rows : ndarray, optional
        Rows of the design in R's ``nrow(design)`` for the ``beta`` df ratio
        (the respondents for an ordinary domain; all rows for a calibrated one);
        default ``n``.

    Returns
    -------
    low, high : ndarray
    fallback : ndarray of bool
        Where the Clopper–Pearson fallback was used (see module notes).
    """
    check_option("ci", method, SHARE_CI_METHODS)
    p = np.asarray(p, dtype=np.float64)
    var = np.asarray(var, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    se = np.sqrt(np.maximum(var, 0.0))
    t = _t(1 - alpha / 2, df)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == "xlogit":
            half = t * se / (p * (1 - p))
            lg = np.log(p / (1 - p))
            lo, hi = special.expit(lg - half), special.expit(lg + half)
        elif method == "mean":
            lo, hi = p - t * se, p + t * se
        elif method == "asin":
            half = t * se / (2 * np.sqrt(p * (1 - p)))
            a = np.arcsin(np.sqrt(p))
            lo, hi = np.sin(a - half) ** 2, np.sin(a + half) ** 2
        elif method == "beta":
            rows = n if n_rows is None else np.asarray(n_rows, dtype=np.float64)
            n_eff = p * (1 - p) / var * (_t(alpha / 2, rows - 1) / _t(alpha / 2, df)) ** 2
            lo = special.betaincinv(n_eff * p, n_eff * (1 - p) + 1, alpha / 2)
            hi = special.betaincinv(n_eff * p + 1, n_eff * (1 - p), 1 - alpha / 2)
        else:  # wilson
            n_eff = p * (1 - p) / var
            t2n = t * t / n_eff
            centre = (p + t2n / 2) / (1 + t2n)
            half = t / (1 + t2n) * np.sqrt(p * (1 - p) / n_eff + t2n / (4 * n_eff))
            lo, hi = centre - half, centre + half
    fallback = ~(np.isfinite(lo) & np.isfinite(hi) & (var > 0) & (df >= 1) & (p > 0) & (p < 1))
    if fallback.any():
        cl, ch = clopper_pearson(np.where(np.isfinite(p), p, 0.0), n, alpha)
        lo = np.where(fallback, cl, lo)
        hi = np.where(fallback, ch, hi)
    return lo, hi, fallback


def mean_interval(
    m: FloatArray, var: FloatArray, df: FloatArray, n: FloatArray, s2: FloatArray, *,
    alpha: float = 0.05,
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """t interval on the design df for means: :math:`\\bar y \\pm t_{d}\\sqrt v`.

    Where the design gives no interval (``v = 0`` or ``d < 1``) the simple
    random sample interval :math:`\\bar y \\pm t_{n-1}\\sqrt{s^2/n}` is used
    instead and flagged; with ``n < 2`` the interval is the rating scale
    ``[1, 5]``.
    """
    se = np.sqrt(np.maximum(var, 0.0))
    t = _t(1 - alpha / 2, np.asarray(df, dtype=np.float64))
    lo, hi = m - t * se, m + t * se
    fallback = ~(np.isfinite(lo) & np.isfinite(hi) & (var > 0))
    if fallback.any():
        t_srs = _t(1 - alpha / 2, n - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = t_srs * np.sqrt(np.maximum(s2, 0.0) / n)
        ok = np.isfinite(half)
        lo = np.where(fallback, np.where(ok, m - half, 1.0), lo)
        hi = np.where(fallback, np.where(ok, m + half, 5.0), hi)
    return lo, hi, fallback
