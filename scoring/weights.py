"""Weights: design weights from frame counts, post-stratification, raking, GREG.

Notes
-----
*Design weights* (kiosk data, strata = centres × period):
:math:`w_i = N_h / n_h` with :math:`N_h` the dossiers completed in stratum
:math:`h` and :math:`n_h` the ratings received there.

*Post-stratification* to totals :math:`N_l`: :math:`w_i \\leftarrow w_i N_l / \\hat N_l`.
Its variance replaces the influence values by
:math:`x_i - w^{*}_i \\frac{\\sum_{k \\in l} x_k w_k / w^{*}_k}{\\sum_{k \\in l} w_k}`
(R ``postStratify``; Lumley 2010, §7.2).

*Raking* (iterative proportional fitting) post-stratifies on each margin in
turn until the weighted cross-table of all margin variables changes by less
than ``epsilon`` (times the sum of weights if ``epsilon < 1``), as R's
``rake()``.  Its variance (R ``svyrecvar`` for ``raking`` post-strata) applies
ten sweeps of :math:`x \\leftarrow x - w^{(m)} \\operatorname{ave}_m(x / w^{(m)})`
over the margins :math:`m`, with :math:`w^{(m)}` the weights after margin
:math:`m` in the last raking iteration.  Every step is linear, so the sweeps
are carried out on the :math:`L \\times L` matrix of margin levels and the
influence values become :math:`x - Q M B^\\top x`.

*GREG raking* (R ``calibrate(calfun = "raking")``) gives the same weights at
convergence; its variance uses residuals of the regression of the influence
values on the margin indicators :math:`X` with the initial weights:
:math:`x - w X (X^\\top W_0 X)^{-1} X^\\top (x / g)` (Deville & Särndal 1992).

Optional trimming bounds clip :math:`g = w / w_0` after each raking sweep; the
trimmed weights then meet the margins only approximately and the variance is
the raking variance of the final weights (an approximation, documented as such).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, ch. 7. Wiley.
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
sampling. *JASA* 87, 376–382.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .design import Calibration, Design, FloatArray, IntArray, factorize

RAKE_VARIANCE_SWEEPS = 10  # fixed in R's svyrecvar for "raking" post-strata


@dataclass(frozen=True, slots=True, kw_only=True)
class Margin:
    """Known population totals of one variable.

    Parameters
    ----------
    variable : str
        Name (for messages).
    values : array_like, shape (n,)
        The respondents' values.
    totals : mapping
        Population total per level (keys compared as strings).
    """

    variable: str
    values: ArrayLike
    totals: Mapping[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightingResult:
    """Calibrated weights, the design that carries their variance, and diagnostics."""

    design: Design
    weights: FloatArray
    converged: bool
    iterations: int
    max_change: float
    g_range: tuple[float, float]


def design_weights(strata: ArrayLike, frame_counts: Mapping[str, float]) -> FloatArray:
    """Design weights :math:`N_h / n_h` from frame counts per stratum.

    Raises ``ValueError`` naming a stratum without a positive frame count.
    """
    codes, labels = factorize(np.asarray(strata).astype(str))
    counts = np.bincount(codes)
    frame = np.empty(labels.shape[0])
    for k, lab in enumerate(labels):
        value = frame_counts.get(str(lab))
        if value is None or not np.isfinite(value) or value <= 0:
            raise ValueError(f"no positive frame count for stratum {str(lab)!r}")
        frame[k] = float(value)
    return (frame / counts)[codes]


def _margin_codes(margin: Margin, n: int) -> tuple[IntArray, FloatArray]:
    vals = np.asarray(margin.values)
    if vals.shape[0] != n:
        raise ValueError(f"margin {margin.variable!r} has {vals.shape[0]} values; design has {n}")
    codes, labels = factorize(vals)
    labels = labels.astype(str)
    totals = {str(k): float(v) for k, v in margin.totals.items()}
    missing = [str(lab) for lab in labels if str(lab) not in totals]
    if missing:
        raise ValueError(f"margin {margin.variable!r}: level {missing[0]!r} is in the data "
                         "but has no population total")
    absent = [k for k, v in totals.items() if v > 0 and k not in set(labels.tolist())]
    if absent:
        raise ValueError(f"margin {margin.variable!r}: level {absent[0]!r} has a population "
                         "total but no respondent")
    tot = np.array([totals[str(lab)] for lab in labels])
    if np.any(~np.isfinite(tot) | (tot <= 0)):
        raise ValueError(f"margin {margin.variable!r}: totals must be finite and > 0")
    return codes, tot


def _psu_totals(design: Design, codes: Sequence[IntArray], factors: Sequence[FloatArray],
                sizes: Sequence[int]) -> FloatArray:
    """PSU totals of :math:`Q` given as one-hot blocks times row factors."""
    p = design.n_psus
    blocks = [np.bincount(design.psu * size + c, weights=f, minlength=p * size).reshape(p, size)
              for c, f, size in zip(codes, factors, sizes, strict=True)]
    return np.concatenate(blocks, axis=1)


def poststratify(design: Design, margin: Margin) -> WeightingResult:
    """Post-stratify the design's weights to one margin (R ``postStratify``)."""
    codes, tot = _margin_codes(margin, design.n)
    old = design.weights
    new = old * (tot / np.bincount(codes, weights=old, minlength=tot.shape[0]))[codes]
    n_l = tot.shape[0]
    old_sum = np.bincount(codes, weights=old, minlength=n_l)
    factor = old / new / old_sum[codes]
    cal = Calibration(kind="poststratify", codes=(codes,), factors=(factor,), sizes=(n_l,),
                      m=np.eye(n_l), psu_q=_psu_totals(design, [codes], [new], [n_l]))
    g = new / old
    return WeightingResult(design=design.with_weights(new, cal), weights=new, converged=True,
                           iterations=1, max_change=0.0, g_range=(float(g.min()), float(g.max())))


def _ipf(
    w0: FloatArray, codes: Sequence[IntArray], totals: Sequence[FloatArray], *,
    epsilon: float, maxit: int, bounds: tuple[float, float] | None,
) -> tuple[FloatArray, list[FloatArray], bool, int, float]:
    """R ``rake()``'s loop; returns weights, per-margin weights of the last sweep, status."""
    eps = epsilon * w0.sum() if epsilon < 1 else epsilon
    radix = [t.shape[0] for t in totals]
    cross = np.zeros(w0.shape[0], dtype=np.int64)
    for c, r in zip(codes, radix, strict=True):
        cross = cross * r + c
    size = int(np.prod(radix))
    cross, _ = factorize(cross) if size > 4 * w0.shape[0] else (cross, None)
    old = np.bincount(cross, weights=w0)
    w = w0.copy()
    stage: list[FloatArray] = []
    converged, it, delta = False, 0, float("inf")
    while it < maxit:
        stage = []
        for c, t in zip(codes, totals, strict=True):
            w = w * (t / np.bincount(c, weights=w, minlength=t.shape[0]))[c]
            stage.append(w)
        if bounds is not None:
            w = w0 * np.clip(w / w0, bounds[0], bounds[1])
            stage[-1] = w
        new = np.bincount(cross, weights=w, minlength=old.shape[0])
        delta = float(np.max(np.abs(old - new)))
        if delta < eps:
            converged = True
            break
        old = new
        it += 1
    return w, stage, converged, it + 1 if converged else it, delta


def rake(
    design: Design, margins: Sequence[Margin], *, epsilon: float = 1e-10, maxit: int = 100,
    bounds: tuple[float, float] | None = None, must_converge: bool = True,
) -> WeightingResult:
    """Rake the design's weights to several margins (R ``rake()``).

    Parameters
    ----------
    design : Design
    margins : sequence of Margin
    epsilon : float
        Convergence tolerance on the weighted cross-table of all margin
        variables; below 1 it is relative to the sum of weights (as R).
    maxit : int
        Iteration cap.
    bounds : (low, high), optional
        Trimming bounds for :math:`g = w / w_0`.
    must_converge : bool
        Raise ``ValueError`` if raking does not converge (else report it).

    Returns
    -------
    WeightingResult
        Its ``design`` carries the raking variance (module notes).
    """
    if not margins:
        raise ValueError("rake needs at least one margin")
    if maxit < 1 or not epsilon > 0:
        raise ValueError(f"need maxit >= 1 and epsilon > 0; got {maxit!r}, {epsilon!r}")
    if bounds is not None and not 0 <= bounds[0] <= 1 <= bounds[1]:
        raise ValueError(f"trimming bounds must satisfy low <= 1 <= high; got {bounds!r}")
    parsed = [_margin_codes(m, design.n) for m in margins]
    codes = [c for c, _ in parsed]
    totals = [t for _, t in parsed]
    sums = [t.sum() for t in totals]
    if max(sums) - min(sums) > 1e-6 * max(sums):
        raise ValueError(f"margins must have the same grand total; got {sums}")
    w0 = design.weights
    w, stage, converged, iters, delta = _ipf(w0, codes, totals, epsilon=epsilon,
                                             maxit=maxit, bounds=bounds)
    if must_converge and not converged:
        raise ValueError(f"raking did not converge in {maxit} iterations "
                         f"(last change {delta:.3g})")
    sizes = [t.shape[0] for t in totals]
    offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    n_l = int(offs[-1])
    count = np.empty(n_l)
    gram = np.empty((n_l, n_l))
    for m, c in enumerate(codes):
        count[offs[m]:offs[m + 1]] = np.bincount(c, minlength=sizes[m])
        for m2, c2 in enumerate(codes):  # G = B'Q: sums of w(m2)/w(m) over level pairs
            gram[offs[m]:offs[m + 1], offs[m2]:offs[m2 + 1]] = np.bincount(
                c * sizes[m2] + c2, weights=stage[m2] / stage[m],
                minlength=sizes[m] * sizes[m2]).reshape(sizes[m], sizes[m2])
    coef = np.zeros((n_l, n_l))
    ident = np.eye(n_l)
    for _ in range(RAKE_VARIANCE_SWEEPS):
        for m in range(len(codes)):
            sl = slice(offs[m], offs[m + 1])
            coef[sl] += (ident[sl] - gram[sl] @ coef) / count[sl, None]
    cal = Calibration(kind="rake", codes=tuple(codes), factors=tuple(1.0 / st for st in stage),
                      sizes=tuple(sizes), m=coef, psu_q=_psu_totals(design, codes, stage, sizes))
    g = w / w0
    return WeightingResult(design=design.with_weights(w, cal), weights=w, converged=converged,
                           iterations=iters, max_change=delta,
                           g_range=(float(g.min()), float(g.max())))


def calibrate_raking(
    design: Design, margins: Sequence[Margin], *, epsilon: float = 1e-13, maxit: int = 1000,
) -> WeightingResult:
    """Raking-ratio calibration with GREG variance (R ``calibrate(calfun="raking")``).

    Same weights as :func:`rake` at convergence; the variance uses residuals
    from the regression on the margin indicators (module notes).
    """
    parsed = [_margin_codes(m, design.n) for m in margins]
    codes = [c for c, _ in parsed]
    totals = [t for _, t in parsed]
    w0 = design.weights
    w, _, converged, iters, delta = _ipf(w0, codes, totals, epsilon=epsilon, maxit=maxit,
                                         bounds=None)
    if not converged:
        raise ValueError(f"raking calibration did not converge in {maxit} iterations")
    # X = the one-hot indicators of every margin (redundant columns are fine:
    # the W0-projection onto their span does not depend on the g-inverse used)
    g = w / w0
    sizes = [t.shape[0] for t in totals]
    offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    xtwx = np.empty((int(offs[-1]), int(offs[-1])))
    for m, c in enumerate(codes):
        for m2, c2 in enumerate(codes):
            xtwx[offs[m]:offs[m + 1], offs[m2]:offs[m2 + 1]] = np.bincount(
                c * sizes[m2] + c2, weights=w0,
                minlength=sizes[m] * sizes[m2]).reshape(sizes[m], sizes[m2])
    cal = Calibration(kind="calibrate", codes=tuple(codes), factors=tuple(1.0 / g for _ in codes),
                      sizes=tuple(sizes), m=np.linalg.pinv(xtwx),
                      psu_q=_psu_totals(design, codes, [w] * len(codes), sizes))
    return WeightingResult(design=design.with_weights(w, cal), weights=w, converged=converged,
                           iterations=iters, max_change=delta,
                           g_range=(float(g.min()), float(g.max())))


def margins_from_table(
    rows: Sequence[Mapping[str, str]], columns: Mapping[str, ArrayLike],
) -> list[Margin]:
    """Margins from ``variable,level,total`` records and the data's columns.

    Variables are raked in sorted order of their names, as R's
    ``split(margins, margins$variable)`` in the reference script does (the
    order changes the weights only within the convergence tolerance).
    """
    grouped: dict[str, dict[str, float]] = {}
    for k, row in enumerate(rows, start=2):
        try:
            var, lev, tot = row["variable"], row["level"], float(row["total"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"margins line {k}: need variable,level,total ({exc})") from exc
        grouped.setdefault(var, {})[lev] = tot
    out = []
    for var, tots in sorted(grouped.items()):
        if var not in columns:
            raise ValueError(f"margin variable {var!r} is not a column of the data")
        out.append(Margin(variable=var, values=columns[var], totals=tots))
    return out
