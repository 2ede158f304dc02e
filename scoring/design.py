"""Survey designs and the Taylor-linearisation variance engine.

A :class:`Design` holds integer codes for strata and primary sampling units
(PSUs), the weights, an optional finite-population correction and the
lonely-PSU rule.  :class:`DomainIndex` pre-computes, once per domain variable,
the (domain, PSU) cells so that the variance of every estimate in every domain
is a handful of ``np.bincount`` calls — no Python loop over respondents.

Notes
-----
For a linearised estimator with weighted influence values
:math:`x_i = w_i z_i` the with-replacement, stratified ultimate-cluster
variance (Lumley 2010, §2.2; Wolter 2007, §6.11) is

.. math::

    \\hat V = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1}
              \\sum_{i=1}^{n_h} \\left(t_{hi} - \\bar t_h\\right)^2,
    \\qquad t_{hi} = \\sum_{k \\in (h,i)} x_k,

with :math:`n_h` the number of PSUs of stratum :math:`h` in the *full*
design (a domain keeps every PSU; those without domain members have
:math:`t_{hi} = 0`) and :math:`f_h = n_h / N_h` when an fpc is given.
Strata with a single PSU follow R's ``options(survey.lonely.psu)``:
``adjust`` centres the lonely PSU at zero (:math:`(1-f_h) t_{h1}^2`),
``certainty`` and ``remove`` give it no contribution, ``average`` replaces it
by the mean contribution of the other strata and ``fail`` raises.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

LonelyPSU = Literal["adjust", "certainty", "remove", "average", "fail"]
LONELY_PSU_OPTIONS: tuple[str, ...] = get_args(LonelyPSU)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def check_option(name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the bad ``value`` unless it is in ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def factorize(values: ArrayLike) -> tuple[IntArray, NDArray]:
    """Integer codes ``0..L-1`` and sorted labels of ``values``."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iub" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi - lo < 4 * arr.size + 1024:
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[arr - lo] = True
            labels = np.flatnonzero(present) + lo
            mapping = np.cumsum(present) - 1
            return mapping[arr - lo].astype(np.int64), labels.astype(arr.dtype)
    labels, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), labels


@dataclass(frozen=True, slots=True)
class Calibration:
    """Linear residualisation of influence values for calibrated weights.

    The calibrated estimator's influence values are :math:`x - Q M B^\\top x`
    (post-stratification, raking as R's ``rake()``, or GREG as R's
    ``calibrate()``).  :math:`B` is stored as blocks, one per margin: row
    :math:`i` has ``factors[m][i]`` in column ``offsets[m] + codes[m][i]``;
    ``psu_q`` holds the PSU totals of :math:`Q` and ``m`` the :math:`L \\times L`
    matrix :math:`M`.
    """

    kind: str
    codes: tuple[IntArray, ...]
    factors: tuple[FloatArray, ...]
    sizes: tuple[int, ...]
    m: FloatArray
    psu_q: FloatArray

    @property
    def n_levels(self) -> int:
        return int(sum(self.sizes))

    def project(self, x: FloatArray, dom: IntArray | None, n_dom: int) -> FloatArray:
        """:math:`B^\\top x` per domain: shape (D, L, K)."""
        k = x.shape[1]
        out = np.empty((n_dom, self.n_levels, k))
        off = 0
        for codes, factor, size in zip(self.codes, self.factors, self.sizes, strict=True):
            key = codes if dom is None else dom * size + codes
            for j in range(k):
                out[:, off:off + size, j] = np.bincount(
                    key, weights=x[:, j] * factor, minlength=n_dom * size).reshape(n_dom, size)
            off += size
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Design:
    """A stratified, clustered, with-replacement design (R ``svydesign(nest=TRUE)``).

    Build it with :func:`make_design`; the fields are integer codes.
    """

    weights: FloatArray
    stratum: IntArray
    psu: IntArray
    psu_stratum: IntArray
    n_psu: IntArray
    fpc_factor: FloatArray
    lonely: LonelyPSU = "adjust"
    stratum_labels: NDArray = field(default_factory=lambda: np.empty(0))
    calibration: Calibration | None = None

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.n_psu.shape[0])

    @property
    def n_psus(self) -> int:
        return int(self.psu_stratum.shape[0])

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata."""
        return self.n_psus - self.n_strata

    def with_weights(self, weights: FloatArray, calibration: Calibration | None) -> Design:
        """The same design with new (calibrated) weights."""
        return replace(self, weights=np.asarray(weights, dtype=np.float64),
                       calibration=calibration)


def make_design(
    n: int | None = None,
    *,
    weights: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    psu: ArrayLike | None = None,
    fpc: ArrayLike | None = None,
    lonely: LonelyPSU = "adjust",
) -> Design:
    """Build a :class:`Design` from per-respondent arrays (all optional).

    Parameters
    ----------
    n : int, optional
        Number of respondents; needed only when no array is given.
    weights : array_like, optional
        Sampling weights (> 0); default 1.
    strata : array_like, optional
        Stratum labels; default one stratum.
    psu : array_like, optional
        PSU (cluster) labels, nested within strata as R's ``nest = TRUE``;
        default every respondent is its own PSU.
    fpc : array_like, optional
        Per respondent, the stratum's population number of PSUs (values
        > 1) or its sampling fraction (all values <= 1), as R's ``fpc``.
    lonely : {"adjust", "certainty", "remove", "average", "fail"}
        Treatment of strata with a single PSU (R's ``survey.lonely.psu``).

    Returns
    -------
    Design

    Raises
    ------
    ValueError
        Unknown ``lonely``, arrays of different length, weights not finite
        and positive, an fpc below the sample size, or a single-PSU stratum
        with ``lonely="fail"``.
    """
    check_option("lonely", lonely, LONELY_PSU_OPTIONS)
    sizes = {len(np.asarray(a)) for a in (weights, strata, psu, fpc) if a is not None}
    if n is not None:
        sizes.add(int(n))
    if len(sizes) != 1:
        raise ValueError(f"design arrays must have one common length; got lengths {sorted(sizes)}")
    n_rows = sizes.pop()
    if weights is None:
        w = np.ones(n_rows)
    else:
        w = np.asarray(weights, dtype=np.float64)
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"weights must be finite and > 0; row {i} has {w[i]!r}")
    if strata is None:
        s_code = np.zeros(n_rows, dtype=np.int64)
        s_labels = np.array(["all"])
    else:
        s_code, s_labels = factorize(strata)
    n_h = int(s_labels.shape[0])
    if psu is None:
        p_code = np.arange(n_rows, dtype=np.int64)
        p_stratum = s_code.copy()
    else:
        raw, _ = factorize(psu)
        p_code, uniq = factorize(s_code * (int(raw.max(initial=0)) + 1) + raw)
        p_stratum = (uniq // (int(raw.max(initial=0)) + 1)).astype(np.int64)
    n_psu = np.bincount(p_stratum, minlength=n_h).astype(np.int64)
    fpc_factor = np.ones(n_h)
    if fpc is not None:
        f = np.asarray(fpc, dtype=np.float64)
        first = np.full(n_h, np.nan)
        first[s_code[::-1]] = f[::-1]
        if not np.all(f[:] == first[s_code]):
            raise ValueError("fpc must be constant within each stratum")
        pop = first if np.any(first > 1) else n_psu / first
        if np.any(first > 1) and np.any(first < 1):
            raise ValueError("fpc must be all population sizes (>= 1) or all fractions (<= 1)")
        if np.any(pop < n_psu):
            h = int(np.flatnonzero(pop < n_psu)[0])
            raise ValueError(f"fpc implies more than 100% sampling in stratum {s_labels[h]!r}")
        fpc_factor = np.where(np.isinf(pop), 1.0, (pop - n_psu) / pop)
    if lonely == "fail" and np.any(n_psu == 1):
        h = int(np.flatnonzero(n_psu == 1)[0])
        raise ValueError(f"stratum {s_labels[h]!r} has only one PSU (lonely='fail')")
    return Design(weights=w, stratum=s_code, psu=p_code, psu_stratum=p_stratum,
                  n_psu=n_psu, fpc_factor=fpc_factor, lonely=lonely,
                  stratum_labels=s_labels)


def cross_domains(*variables: ArrayLike) -> tuple[IntArray, list[tuple[object, ...]]]:
    """Domain codes for every combination present of several variables.

    ``codes, labels = cross_domains(centre, day)`` gives one domain per
    (centre, day) with at least one respondent; pass ``domains=codes`` to
    :func:`scoring.score` and read ``labels[code]`` for the combination.
    """
    if not variables:
        raise ValueError("cross_domains needs at least one variable")
    key = np.zeros(len(np.asarray(variables[0])), dtype=np.int64)
    parts = []
    for v in variables:
        c, lab = factorize(v)
        if c.shape[0] != key.shape[0]:
            raise ValueError("domain variables must have the same length")
        key = key * lab.shape[0] + c
        parts.append(lab)
    codes, uniq = factorize(key)
    labels = []
    for u in uniq.tolist():
        combo = []
        for lab in reversed(parts):
            u, r = divmod(u, lab.shape[0])
            combo.append(lab[r].item() if hasattr(lab[r], "item") else lab[r])
        labels.append(tuple(reversed(combo)))
    return codes, labels


def conditional_design(weights: ArrayLike | None, centre: ArrayLike) -> Design:
    """Per-centre conditional design: centre = stratum, respondent = PSU.

    A centre that is one PSU of the survey design has zero ultimate-cluster
    variance; conditioning on the centre gives the weighted within-centre
    variance with ``n_c - 1`` degrees of freedom, as
    ``svydesign(ids = ~1, strata = ~centre, weights = ~weight)`` in R.
    """
    return make_design(weights=weights, strata=centre, psu=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainIndex:
    """(domain, PSU) cells of a design for one domain variable.

    Built by :func:`domain_index`.  ``cell`` maps each row to its cell,
    ``cell_group`` each cell to its (domain, stratum) group.
    """

    codes: IntArray
    labels: NDArray
    n_domains: int
    cell: IntArray
    cell_psu: IntArray
    cell_group: IntArray
    group_domain: IntArray
    group_stratum: IntArray
    group_cells: IntArray

    @property
    def n_cells(self) -> int:
        return int(self.cell_group.shape[0])

    @property
    def cell_domain(self) -> IntArray:
        return self.group_domain[self.cell_group]


def _compact(key: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Codes of ``key`` among its distinct values, and those values, sorted."""
    if size <= 8 * key.shape[0] + 4096:
        present = np.zeros(size, dtype=bool)
        present[key] = True
        uniq = np.flatnonzero(present)
        mapping = np.cumsum(present) - 1
        return mapping[key], uniq
    uniq, inv = np.unique(key, return_inverse=True)
    return inv.reshape(-1), uniq


def domain_index(design: Design, domains: ArrayLike | None = None) -> DomainIndex:
    """Pre-compute the cells for estimating in every value of ``domains``.

    ``domains=None`` means the whole sample (one domain labelled ``""``).
    """
    if domains is None:
        codes = np.zeros(design.n, dtype=np.int64)
        labels = np.array([""])
    else:
        codes, labels = factorize(domains)
        if codes.shape[0] != design.n:
            raise ValueError(f"domain variable has {codes.shape[0]} rows; design has {design.n}")
    n_dom = int(labels.shape[0])
    p = design.n_psus
    cell, uniq = _compact(codes * p + design.psu, n_dom * p)
    cell_dom = uniq // p
    cell_str = design.psu_stratum[uniq % p]
    h = design.n_strata
    cell_group, guniq = _compact(cell_dom * h + cell_str, n_dom * h)
    return DomainIndex(
        codes=codes, labels=labels, n_domains=n_dom, cell=cell.astype(np.int64),
        cell_psu=(uniq % p).astype(np.int64), cell_group=cell_group.astype(np.int64),
        group_domain=(guniq // h).astype(np.int64),
        group_stratum=(guniq % h).astype(np.int64),
        group_cells=np.bincount(cell_group, minlength=guniq.shape[0]).astype(np.int64))


def _run_starts(member: IntArray, n_groups: int) -> IntArray | None:
    """Start of each group's run if ``member`` is sorted and every group occurs."""
    if member.shape[0] == 0 or n_groups == 0:
        return None
    if member[0] != 0 or member[-1] != n_groups - 1:
        return None
    step = np.diff(member)
    if step.min(initial=0) < 0 or step.max(initial=0) > 1:
        return None
    return np.concatenate([[0], np.flatnonzero(step) + 1])


def _scaled_ss(
    design: Design, totals: FloatArray, member: IntArray, grp_stratum: IntArray,
    grp_members: IntArray, grp_present: NDArray[np.bool_] | None,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Per group (domain × stratum): scaled centred sum of squares of PSU totals.

    ``totals`` is (cells, K); absent PSUs of the stratum count as zeros.
    Returns the contributions (groups, K) and a mask of groups that are
    lonely strata under ``average`` (to be replaced by the mean).
    """
    g = grp_stratum.shape[0]
    k = totals.shape[1]
    nh = design.n_psu[grp_stratum].astype(np.float64)
    starts = _run_starts(member, g)
    if starts is not None:  # members sorted by group: contiguous sums, no scatter
        s1 = np.add.reduceat(totals, starts, axis=0)
        mean = s1 / nh[:, None]
        dev = totals - np.repeat(mean, grp_members, axis=0)
        ss = np.add.reduceat(dev * dev, starts, axis=0)
    else:
        s1 = np.empty((g, k))
        for j in range(k):
            s1[:, j] = np.bincount(member, weights=totals[:, j], minlength=g)
        mean = s1 / nh[:, None]
        ss = np.empty((g, k))
        for j in range(k):
            dev1 = totals[:, j] - mean[member, j]
            ss[:, j] = np.bincount(member, weights=dev1 * dev1, minlength=g)
    ss += (nh - grp_members)[:, None] * mean * mean
    return _scale_ss(design, grp_stratum, s1, ss, grp_present)


def _scale_ss(
    design: Design, grp_stratum: IntArray, s1: FloatArray, ss: FloatArray,
    grp_present: NDArray[np.bool_] | None,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Scale the centred sums of squares ``ss`` (groups, K) of PSU totals with sums
    ``s1``: :math:`(1-f_h) n_h/(n_h-1)`, lonely PSUs by the design's rule."""
    g = grp_stratum.shape[0]
    nh = design.n_psu[grp_stratum].astype(np.float64)
    f = design.fpc_factor[grp_stratum]
    lonely = nh == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lonely, f, f * nh / (nh - 1.0))
    scale = np.where(f < 1e-7, 0.0, scale)
    na = np.zeros(g, dtype=bool)
    if lonely.any():
        if design.lonely == "adjust":
            ss[lonely] = s1[lonely] ** 2
        else:
            ss[lonely] = 0.0
            if design.lonely == "average":
                na = lonely.copy() if grp_present is None else lonely & grp_present
    return scale[:, None] * ss, na


def _domain_sum(values: FloatArray, dom: IntArray, n_dom: int) -> FloatArray:
    out = np.empty((n_dom, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(dom, weights=values[:, j], minlength=n_dom)
    return out


def _average_rescale(
    var: FloatArray, na: NDArray[np.bool_], present: NDArray[np.bool_],
    grp_domain: IntArray, n_dom: int,
) -> FloatArray:
    n_strat = np.bincount(grp_domain, weights=present, minlength=n_dom)
    n_na = np.bincount(grp_domain, weights=na, minlength=n_dom)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_na > 0, n_strat / (n_strat - n_na), 1.0)
        # a domain whose strata are all lonely has no variance estimate (R: NaN)
        return np.where(np.isfinite(factor)[:, None], var * factor[:, None], np.nan)


def linearised_variance(
    design: Design, index: DomainIndex, x: FloatArray,
    present: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Design variance of the domain totals of ``x`` (weighted influence values).

    Parameters
    ----------
    design : Design
    index : DomainIndex
    x : ndarray, shape (n,) or (n, K)
        :math:`w_i z_i`; row ``i`` counts for domain ``index.codes[i]`` only.
    present : ndarray of bool, shape (n,), optional
        Rows that are in the (physically subset) domain design; decides which
        strata count for ``lonely="average"`` (R's ``nstrat``).

    Returns
    -------
    ndarray, shape (D,) or (D, K)
    """
    x2 = x.reshape(x.shape[0], -1)
    nc = index.n_cells
    t = np.empty((nc, x2.shape[1]))
    for j in range(x2.shape[1]):
        t[:, j] = np.bincount(index.cell, weights=x2[:, j], minlength=nc)
    cal = design.calibration
    if cal is not None:
        s = cal.project(x2, None if index.n_domains == 1 else index.codes, index.n_domains)
        out = calibrated_cell_variance(design, index, t, s)
    else:
        cp = None if present is None else np.bincount(index.cell, weights=present,
                                                      minlength=nc) > 0
        out = cell_variance(design, index, t, cp)
    return out.reshape(-1) if x.ndim == 1 else out


def cell_variance(
    design: Design, index: DomainIndex, t: FloatArray,
    cell_present: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Variance (D, K) from (domain, PSU) cell totals ``t`` (C, K) of :math:`w z`."""
    contrib, na = _scaled_ss(design, t, index.cell_group, index.group_stratum,
                             index.group_cells, None)
    if not na.any():
        return _domain_sum(contrib, index.group_domain, index.n_domains)
    ng = index.group_domain.shape[0]
    if cell_present is None:
        gp = np.ones(ng, dtype=bool)
    else:
        gp = np.bincount(index.cell_group, weights=cell_present, minlength=ng) > 0
    return _average_groups(index, contrib, na, gp)


def moment_variance(
    design: Design, index: DomainIndex, s1: FloatArray, s2: FloatArray,
    group_present: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Variance (D, K) when every (domain, PSU) cell holds one row.

    With respondents as PSUs the PSU totals are the rows' :math:`w_i z_i`, so
    each (domain, stratum) group needs only :math:`\\sum t` (``s1``) and
    :math:`\\sum t^2` (``s2``), both (groups, K): the centred sum of squares
    over the stratum's :math:`n_h` PSUs (absent ones count as zeros) is
    :math:`\\sum t^2 - (\\sum t)^2 / n_h`.  ``group_present`` marks groups with
    a member (for ``lonely="average"``).
    """
    nh = design.n_psu[index.group_stratum].astype(np.float64)
    ss = np.maximum(s2 - s1 * s1 / nh[:, None], 0.0)  # >= 0 up to rounding
    contrib, na = _scale_ss(design, index.group_stratum, s1, ss, None)
    if not na.any():
        return _domain_sum(contrib, index.group_domain, index.n_domains)
    gp = (np.ones(index.group_domain.shape[0], dtype=bool) if group_present is None
          else group_present)
    return _average_groups(index, contrib, na, gp)


def _average_groups(
    index: DomainIndex, contrib: FloatArray, na: NDArray[np.bool_], gp: NDArray[np.bool_],
) -> FloatArray:
    """Domain variances with lonely strata replaced by the average (``average``)."""
    na &= gp
    contrib[na] = 0.0
    out = _domain_sum(contrib, index.group_domain, index.n_domains)
    return _average_rescale(out, na, gp, index.group_domain, index.n_domains)


def calibrated_cell_variance(
    design: Design, index: DomainIndex, t: FloatArray, s: FloatArray,
) -> FloatArray:
    """Variance (D, K) after residualising on the calibration.

    ``t`` are the (domain, PSU) cell totals (C, K) of :math:`w z` and ``s`` the
    projections :math:`B^\\top x` per domain (D, L, K); PSU totals become
    :math:`t - Q_{psu} M s_d`, dense over all PSUs of the design.
    """
    cal = design.calibration
    if cal is None:
        raise ValueError("design has no calibration")
    n_dom, k = index.n_domains, t.shape[1]
    out = np.empty((n_dom, k))
    cell_dom = index.cell_domain
    order = np.argsort(cell_dom, kind="stable")
    bounds = np.searchsorted(cell_dom[order], np.arange(n_dom + 1))
    for d in range(n_dom):
        cells = order[bounds[d]:bounds[d + 1]]
        dense = -(cal.psu_q @ (cal.m @ s[d]))
        dense[index.cell_psu[cells]] += t[cells]
        contrib, na = _scaled_ss(design, dense, design.psu_stratum,
                                 np.arange(design.n_strata), design.n_psu, None)
        contrib[na] = 0.0
        v = contrib.sum(axis=0)
        if na.any():
            v = v * design.n_strata / (design.n_strata - na.sum())
        out[d] = v
    return out


def cell_df(index: DomainIndex, cell_present: NDArray[np.bool_]) -> IntArray:
    """Degrees of freedom per domain from the cells (PSUs) that have members."""
    ng = index.group_domain.shape[0]
    starts = _run_starts(index.cell_group, ng)
    if starts is not None:
        per_group = np.add.reduceat(cell_present.astype(np.int64), starts)
        gp = per_group > 0
        n_cells = np.bincount(index.group_domain, weights=per_group, minlength=index.n_domains)
    else:
        gp = np.bincount(index.cell_group, weights=cell_present, minlength=ng) > 0
        n_cells = np.bincount(index.cell_domain, weights=cell_present,
                              minlength=index.n_domains)
    n_groups = np.bincount(index.group_domain, weights=gp, minlength=index.n_domains)
    return (n_cells - n_groups).astype(np.int64)


def group_df(index: DomainIndex, group_count: FloatArray) -> IntArray:
    """Degrees of freedom per domain when every cell holds one row, from the
    number of present rows (PSUs) per (domain, stratum) group."""
    n_cells = np.bincount(index.group_domain, weights=group_count, minlength=index.n_domains)
    n_groups = np.bincount(index.group_domain, weights=group_count > 0,
                           minlength=index.n_domains)
    return np.rint(n_cells - n_groups).astype(np.int64)


def domain_df(
    design: Design, index: DomainIndex, present: NDArray[np.bool_] | None = None,
) -> IntArray:
    """Degrees of freedom per domain: PSUs with members minus strata with members.

    As R's ``degf()`` of the subset design (rows with non-zero weight).
    """
    del design  # the cells already carry the design's PSUs and strata
    if present is None:
        cp = np.ones(index.n_cells, dtype=bool)
    else:
        cp = np.bincount(index.cell, weights=present, minlength=index.n_cells) > 0
    return cell_df(index, cp)
