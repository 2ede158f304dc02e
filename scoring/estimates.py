"""Item and index estimates (share satisfied, mean rating) for every domain at once.

Notes
-----
For item :math:`j` with valid-answer indicator :math:`a_{ij}` (rating in
1..5), satisfied indicator :math:`y_{ij} = 1[r_{ij} \\ge 4]` and domain
:math:`d`, the share satisfied is the ratio

.. math::

    \\hat p_{dj} = \\frac{\\sum_{i \\in d} w_i a_{ij} y_{ij}}{\\sum_{i \\in d} w_i a_{ij}}
    = \\frac{Y_{dj}}{W_{dj}},
    \\qquad z_{ij} = \\frac{a_{ij}(y_{ij} - \\hat p_{dj})}{W_{dj}},

whose linearised variance is the design variance of :math:`\\sum_i w_i z_{ij}`
(:func:`scoring.design.linearised_variance`); the mean rating uses
:math:`r_{ij}` for :math:`y_{ij}`.  Missing answers form a domain of the full
design (Lumley 2010, §2.3).  An index node combines items by its rule:

* ``item-mean`` — :math:`\\hat\\theta = \\frac1J\\sum_j \\hat p_j` over all items
  below the node, :math:`z = \\frac1J\\sum_j z_j`;
* ``pooled`` — :math:`\\hat\\theta = \\sum_j Y_j / \\sum_j W_j`,
  :math:`z_i = \\sum_j a_{ij}(y_{ij} - \\hat\\theta) / \\sum_j W_j`;
* ``children-mean`` / ``weighted`` — :math:`\\hat\\theta = \\sum_k c_k \\hat\\theta_k`
  over the node's direct members (child nodes, then items) with equal or given
  weights :math:`c_k` (normalised), :math:`z = \\sum_k c_k z_k`.

The influence values of a node are summed over its items *before* the design
variance is taken, so the covariance of items answered by the same people
counts (Wolter 2007, §6).  Items without a valid answer in a domain are left
out of that domain's mean (weights renormalised) and the node is flagged
``items-missing``.

Design effects (Kish) compare with simple random sampling of the same
respondents: :math:`V_{srs,wr} = \\frac{W}{n-1}\\sum_i w_i z_i^2` (``deff_wr``,
R's ``deff = "replace"``) and :math:`V_{srs} = V_{srs,wr}(W - n)/W`
(``deff``, R's ``deff = TRUE``).  The effective sample size is
:math:`n_{eff} = n / \\mathrm{deff}_{wr}`.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
Korn, E. L. and Graubard, B. I. (1998). *Survey Methodology* 24, 193–201.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .design import (
    Design,
    DomainIndex,
    FloatArray,
    check_option,
    domain_df,
    domain_index,
    linearised_variance,
    make_design,
)
from .intervals import FALLBACK_FLAG, SHARE_CI_METHODS, ShareCI, mean_interval, share_interval
from .replicate import JackknifeN

IndexRule = Literal["item-mean", "pooled", "weighted", "children-mean"]
INDEX_RULES: tuple[str, ...] = get_args(IndexRule)
VarianceMethod = Literal["linearization", "jkn"]
VARIANCE_METHODS: tuple[str, ...] = get_args(VarianceMethod)
DEFAULT_MIN_N = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """One estimate with its uncertainty (a share in 0..1 or a mean rating)."""

    estimate: float
    se: float
    ci: tuple[float, float]
    df: int
    n: int
    n_eff: float
    deff: float
    deff_wr: float
    method: str
    cv: float
    reportable: bool
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimates:
    """Estimates of one indicator for every domain (arrays of length D)."""

    domains: NDArray
    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: NDArray[np.int64]
    n: NDArray[np.int64]
    n_eff: FloatArray
    deff: FloatArray
    deff_wr: FloatArray
    cv: FloatArray
    reportable: NDArray[np.bool_]
    flags: tuple[tuple[str, ...], ...]
    method: str

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def __getitem__(self, i: int) -> Estimate:
        return Estimate(
            estimate=float(self.estimate[i]), se=float(self.se[i]),
            ci=(float(self.ci_low[i]), float(self.ci_high[i])), df=int(self.df[i]),
            n=int(self.n[i]), n_eff=float(self.n_eff[i]), deff=float(self.deff[i]),
            deff_wr=float(self.deff_wr[i]), method=self.method, cv=float(self.cv[i]),
            reportable=bool(self.reportable[i]), flags=self.flags[i])

    def at(self, domain: object) -> Estimate:
        """The estimate of the domain labelled ``domain``."""
        hits = np.flatnonzero(self.domains == domain)
        if hits.size == 0:
            raise KeyError(f"no domain {domain!r}")
        return self[int(hits[0])]


@dataclass(frozen=True, slots=True, kw_only=True)
class Indicator:
    """An item or index with its share-satisfied and mean-rating estimates."""

    code: str
    kind: str
    share: Estimates
    mean: Estimates


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreResult:
    """Every indicator in every domain."""

    domains: NDArray
    indicators: tuple[Indicator, ...]
    variance: str
    ci: str
    alpha: float

    def __getitem__(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(f"no indicator {code!r}")

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexNode:
    """A node of an index tree (element, aspect, overall index).

    Parameters
    ----------
    code : str
        Name of the index.
    rule : {"item-mean", "pooled", "weighted", "children-mean"}
        How the node combines what is below it (module notes).
    children : tuple of str
        Codes of child nodes.
    items : tuple of str
        Item codes directly under the node.
    weights : tuple of float, optional
        For ``weighted``: one weight per member, children first, then items.
    kind : str
        Label for output (``element``, ``aspect``, ``overall``...).
    """

    code: str
    rule: IndexRule = "item-mean"
    children: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    weights: tuple[float, ...] | None = None
    kind: str = "element"

    def __post_init__(self) -> None:
        check_option("rule", self.rule, INDEX_RULES)
        members = len(self.children) + len(self.items)
        if members == 0:
            raise ValueError(f"index node {self.code!r} has no children and no items")
        if self.rule == "weighted":
            if self.weights is None or len(self.weights) != members:
                raise ValueError(f"index node {self.code!r}: rule 'weighted' needs {members} "
                                 f"weights (children, then items); got {self.weights!r}")
            if any(not np.isfinite(x) or x < 0 for x in self.weights) or sum(self.weights) <= 0:
                raise ValueError(f"index node {self.code!r}: weights must be >= 0, not all 0")


def elements_tree(
    elements: Mapping[str, Sequence[str]], rule: IndexRule = "item-mean",
    overall: str = "ALL", overall_rule: IndexRule | None = None,
) -> tuple[IndexNode, ...]:
    """A two-level tree: one node per element and an overall node over them.

    The overall node uses ``overall_rule`` (default ``rule``); with
    ``item-mean`` or ``pooled`` it is over all items, as R's reference.
    """
    nodes = [IndexNode(code=str(e), rule=rule, items=tuple(its), kind="element")
             for e, its in elements.items()]
    nodes.append(IndexNode(code=overall, rule=overall_rule or rule,
                           children=tuple(str(e) for e in elements), kind="overall"))
    return tuple(nodes)


# ---------------------------------------------------------------------------
# internals


def valid_ratings(ratings: ArrayLike) -> FloatArray:
    """Ratings as float (column-major) with everything that is not 1..5 set to NaN."""
    r = np.array(ratings, dtype=np.float64, copy=True, order="F")
    if r.ndim == 1:
        r = r[:, None]
    for j in range(r.shape[1]):
        col = r[:, j]
        with np.errstate(invalid="ignore"):
            bad = ~((col >= 1) & (col <= 5) & (col == np.trunc(col)))
        col[bad] = np.nan
    return r


def _safe_div(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


@dataclass(slots=True)
class _Stat:
    """Working arrays of one indicator (share and mean side by side: K = 2)."""

    theta: FloatArray           # (D, 2)
    avail: NDArray[np.bool_]    # (D,)
    n: NDArray[np.int64]        # (D,)
    wsum: FloatArray            # (D,)
    missing_items: NDArray[np.bool_]  # (D,)


def _bc(codes: NDArray[np.int64], weights: FloatArray | None, d: int) -> FloatArray:
    return np.bincount(codes, weights=weights, minlength=d).astype(np.float64)


def _finish(
    domains: NDArray, theta: FloatArray, var: FloatArray, df: NDArray[np.int64],
    n: NDArray[np.int64], wsum: FloatArray, srs_wr: FloatArray, n_rows: FloatArray,
    extra_flags: Sequence[tuple[str, ...]], *, ci: ShareCI, alpha: float, min_n: int,
) -> tuple[Estimates, Estimates]:
    """Build share and mean :class:`Estimates` from column 0 and 1 of the arrays."""
    out = []
    nf = n.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        srs_wor = srs_wr * ((wsum - nf) / wsum)[:, None]
        deff = var / srs_wor
        deff_wr = var / srs_wr
        n_eff = np.where(np.isfinite(deff_wr) & (deff_wr > 0), nf[:, None] / deff_wr,
                         nf[:, None])
        se = np.sqrt(var)
        cv = se / np.abs(theta)
    dff = df.astype(np.float64)
    for k in range(2):
        if k == 0:
            lo, hi, fb = share_interval(theta[:, 0], var[:, 0], dff, nf, method=ci,
                                        alpha=alpha, n_rows=n_rows)
            method = ci
        else:
            lo, hi, fb = mean_interval(theta[:, 1], var[:, 1], dff, nf, nf * srs_wr[:, 1],
                                       alpha=alpha)
            method = "t"
        flags = []
        for i in range(theta.shape[0]):
            f = list(extra_flags[i])
            if n[i] == 0:
                f.append("no-data")
            elif fb[i]:
                f.append(FALLBACK_FLAG if k == 0 else "ci-srs")
            if n[i] < min_n:
                f.append("small-n")
            flags.append(tuple(f))
        reportable = (n >= min_n) & np.isfinite(theta[:, k])
        out.append(Estimates(
            domains=domains, estimate=theta[:, k], se=se[:, k], ci_low=lo, ci_high=hi,
            df=df, n=n, n_eff=n_eff[:, k], deff=deff[:, k], deff_wr=deff_wr[:, k],
            cv=cv[:, k], reportable=reportable, flags=tuple(flags), method=method))
    return out[0], out[1]


def _topological(nodes: Sequence[IndexNode], items: Sequence[str]) -> list[IndexNode]:
    by_code = {nd.code: nd for nd in nodes}
    if len(by_code) != len(nodes):
        raise ValueError("index node codes must be unique")
    item_set = set(items)
    order: list[IndexNode] = []
    state: dict[str, int] = {}

    def visit(code: str, path: tuple[str, ...]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            raise ValueError(f"index tree has a cycle: {' -> '.join((*path, code))}")
        if code not in by_code:
            raise ValueError(f"index node {path[-1]!r} names unknown child {code!r}")
        state[code] = 1
        node = by_code[code]
        for it in node.items:
            if it not in item_set:
                raise ValueError(f"index node {code!r} names unknown item {it!r}")
        for ch in node.children:
            visit(ch, (*path, code))
        state[code] = 2
        order.append(node)

    for nd in nodes:
        visit(nd.code, ())
    return order


def _leaf_items(node: IndexNode, by_code: Mapping[str, IndexNode]) -> list[str]:
    out = list(node.items)
    for ch in node.children:
        out.extend(_leaf_items(by_code[ch], by_code))
    seen: dict[str, None] = dict.fromkeys(out)
    return list(seen)


def score(
    ratings: ArrayLike,
    items: Sequence[str] | None = None,
    *,
    tree: Sequence[IndexNode] = (),
    design: Design | None = None,
    domains: ArrayLike | None = None,
    index: DomainIndex | None = None,
    ci: ShareCI = "xlogit",
    alpha: float = 0.05,
    min_n: int = DEFAULT_MIN_N,
    variance: VarianceMethod = "linearization",
) -> ScoreResult:
    """Share satisfied and mean rating of every item and index node per domain.

    Parameters
    ----------
    ratings : array_like, shape (n, J)
        Ratings; anything that is not 1..5 (NaN, 0, 9...) is missing.
    items : sequence of str, optional
        Item codes of the J columns (default ``q01``...).
    tree : sequence of IndexNode
        Index nodes (elements, aspects, overall); any order, children by code.
    design : Design, optional
        Default: equal weights, simple random sample.
    domains : array_like, shape (n,), optional
        Domain variable (centre, day...): every estimate for every value, in
        one pass, each with the domain's own df (R's ``svyby``).
    index : DomainIndex, optional
        Pre-computed :func:`scoring.design.domain_index` to reuse.
    ci : {"xlogit", "beta", "mean", "asin", "wilson"}
        Interval for shares; means get a t interval on the design df.
    alpha : float
        1 - confidence level.
    min_n : int
        Estimates on fewer respondents are flagged ``small-n`` and not
        reportable (still computed).
    variance : {"linearization", "jkn"}
        Taylor linearisation, or JKn jackknife replicate weights.

    Returns
    -------
    ScoreResult
        Items first (kind ``item``), then the nodes in ``tree`` order.
    """
    check_option("ci", ci, SHARE_CI_METHODS)
    check_option("variance", variance, VARIANCE_METHODS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    r = valid_ratings(ratings)
    n_rows, n_items = r.shape
    codes = list(items) if items is not None else [f"q{j + 1:02d}" for j in range(n_items)]
    if len(codes) != n_items:
        raise ValueError(f"{len(codes)} item codes for {n_items} rating columns")
    if design is None:
        design = make_design(n_rows)
    if design.n != n_rows:
        raise ValueError(f"ratings have {n_rows} rows; the design has {design.n}")
    if index is None:
        index = domain_index(design, domains)
    order = _topological(tree, codes)
    by_code = {nd.code: nd for nd in tree}
    col = {c: j for j, c in enumerate(codes)}
    dcodes = index.codes
    n_dom = index.n_domains
    w = design.weights
    jk = JackknifeN(design, index) if variance == "jkn" else None

    # pass 1: domain totals of every item -----------------------------------
    tot_w = np.empty((n_dom, n_items))
    tot_y = np.empty((n_dom, n_items))
    tot_v = np.empty((n_dom, n_items))
    cnt = np.empty((n_dom, n_items), dtype=np.int64)
    valid = ~np.isnan(r)
    for j in range(n_items):
        a = valid[:, j]
        wa = np.where(a, w, 0.0)
        rj = np.where(a, r[:, j], 0.0)
        tot_w[:, j] = _bc(dcodes, wa, n_dom)
        tot_y[:, j] = _bc(dcodes, wa * (rj >= 4), n_dom)
        tot_v[:, j] = _bc(dcodes, wa * rj, n_dom)
        cnt[:, j] = np.bincount(dcodes, weights=a, minlength=n_dom).astype(np.int64)
    p_item = np.stack([_safe_div(tot_y, tot_w), _safe_div(tot_v, tot_w)], axis=-1)  # D,J,2
    avail_item = tot_w > 0

    # node estimates and member coefficients --------------------------------
    stats: dict[str, _Stat] = {}
    coef_items: dict[str, dict[int, FloatArray]] = {}
    coef_nodes: dict[str, dict[str, FloatArray]] = {}
    leaves: dict[str, list[int]] = {}
    for node in order:
        leaf = [col[c] for c in _leaf_items(node, by_code)]
        leaves[node.code] = leaf
        if node.rule == "pooled":
            den = tot_w[:, leaf].sum(axis=1)
            theta = np.stack([_safe_div(tot_y[:, leaf].sum(axis=1), den),
                              _safe_div(tot_v[:, leaf].sum(axis=1), den)], axis=-1)
            avail = den > 0
            missing = avail & ~avail_item[:, leaf].all(axis=1)
        else:
            if node.rule == "item-mean":
                members: list[tuple[str, int | str]] = [("item", j) for j in leaf]
                mw = np.ones(len(leaf))
            else:
                members = [("node", c) for c in node.children]
                members += [("item", col[c]) for c in node.items]
                mw = (np.asarray(node.weights, dtype=np.float64) if node.rule == "weighted"
                      else np.ones(len(members)))
            mav = np.stack([avail_item[:, m] if kind == "item" else stats[str(m)].avail
                            for kind, m in members], axis=1)
            mth = np.stack([p_item[:, m, :] if kind == "item" else stats[str(m)].theta
                            for kind, m in members], axis=1)  # D, M, 2
            cw = mav * mw[None, :]
            tot = cw.sum(axis=1)
            avail = tot > 0
            c = _safe_div(cw, tot[:, None])
            c = np.where(avail[:, None], c, 0.0)
            theta = np.where(avail[:, None], np.einsum("dm,dmk->dk", c,
                                                       np.nan_to_num(mth)), np.nan)
            missing = avail & ((cw == 0) & (mw[None, :] > 0)).any(axis=1)
            missing |= np.stack(
                [stats[str(m)].missing_items if kind == "node" else np.zeros(n_dom, bool)
                 for kind, m in members], axis=1).any(axis=1) & avail
            ci_items: dict[int, FloatArray] = {}
            ci_nodes: dict[str, FloatArray] = {}
            for k, (kind, m) in enumerate(members):
                if kind == "item":
                    ci_items[int(m)] = ci_items.get(int(m), 0.0) + c[:, k]
                else:
                    ci_nodes[str(m)] = c[:, k]
            coef_items[node.code] = ci_items
            coef_nodes[node.code] = ci_nodes
        stats[node.code] = _Stat(theta=theta, avail=avail, n=np.zeros(n_dom, np.int64),
                                 wsum=np.zeros(n_dom), missing_items=missing)

    # pass 2: influence values -------------------------------------------------
    results: list[Indicator] = []
    z_node = {nd.code: np.zeros((n_rows, 2), order="F") for nd in order}
    any_valid = {nd.code: np.zeros(n_rows, dtype=bool) for nd in order}
    item_of_nodes: dict[int, list[str]] = {}
    for nd in order:
        for j in leaves[nd.code]:
            item_of_nodes.setdefault(j, []).append(nd.code)
    rows_beta = (np.full(n_dom, float(design.n)) if design.calibration is not None else None)
    jk_item: dict[int, FloatArray] = {}

    def per_row(v: FloatArray) -> FloatArray | float:
        """Domain values spread to rows (a scalar for a single domain)."""
        return float(v[0]) if n_dom == 1 else v[dcodes]

    pooled_den = {nd.code: _inverse(tot_w[:, leaves[nd.code]].sum(axis=1))
                  for nd in order if nd.rule == "pooled"}
    for j in range(n_items):
        a = valid[:, j]
        af = a.astype(np.float64)
        rj = np.where(a, r[:, j], 0.0)
        ys = (rj >= 4).astype(np.float64)
        yv = np.column_stack([ys, rj])
        inv_w = per_row(_inverse(tot_w[:, j]))
        z = np.empty((n_rows, 2), order="F")
        np.multiply(ys - af * per_row(np.nan_to_num(p_item[:, j, 0])), inv_w, out=z[:, 0])
        np.multiply(rj - af * per_row(np.nan_to_num(p_item[:, j, 1])), inv_w, out=z[:, 1])
        for code in item_of_nodes.get(j, ()):
            node = by_code[code]
            any_valid[code] |= a
            zn = z_node[code]
            if node.rule == "pooled":
                th_n = np.nan_to_num(stats[code].theta)
                inv_d = per_row(pooled_den[code])
                zn[:, 0] += (ys - af * per_row(th_n[:, 0])) * inv_d
                zn[:, 1] += (rj - af * per_row(th_n[:, 1])) * inv_d
            elif j in coef_items[code]:
                c = per_row(coef_items[code][j])
                zn[:, 0] += c * z[:, 0]
                zn[:, 1] += c * z[:, 1]
        x = np.empty((n_rows, 2), order="F")
        np.multiply(z[:, 0], w, out=x[:, 0])
        np.multiply(z[:, 1], w, out=x[:, 1])
        if jk is not None:
            var, jk_item[j] = jk.item_variance(a, yv, w)
        else:
            var = linearised_variance(design, index, x, present=a)
        df = domain_df(design, index, present=a)
        srs = _srs_wr(x, z, dcodes, n_dom, tot_w[:, j], cnt[:, j])
        share, mean = _finish(index.labels, p_item[:, j, :], var, df, cnt[:, j], tot_w[:, j],
                              srs, rows_beta if rows_beta is not None else cnt[:, j],
                              [()] * n_dom, ci=ci, alpha=alpha, min_n=min_n)
        results.append(Indicator(code=codes[j], kind="item", share=share, mean=mean))

    jk_node: dict[str, FloatArray] = {}
    for node in order:
        code = node.code
        zc = z_node[code]
        for ch, c in coef_nodes.get(code, {}).items():
            cr = per_row(c)
            zc[:, 0] += cr * z_node[ch][:, 0]
            zc[:, 1] += cr * z_node[ch][:, 1]
            any_valid[code] |= any_valid[ch]
        x = np.empty((n_rows, 2), order="F")
        np.multiply(zc[:, 0], w, out=x[:, 0])
        np.multiply(zc[:, 1], w, out=x[:, 1])
        present = any_valid[code]
        n_d = np.bincount(dcodes, weights=present, minlength=n_dom).astype(np.int64)
        w_d = _bc(dcodes, np.where(present, w, 0.0), n_dom)
        if jk is not None:
            var, jk_node[code] = jk.node_variance(node, leaves[code], coef_items.get(code, {}),
                                                  coef_nodes.get(code, {}), jk_item, jk_node,
                                                  stats[code].theta, valid, r, w)
        else:
            var = linearised_variance(design, index, x, present=present)
        df = domain_df(design, index, present=present)
        srs = _srs_wr(x, zc, dcodes, n_dom, w_d, n_d)
        flags = [("items-missing",) if m else () for m in stats[code].missing_items]
        share, mean = _finish(index.labels, stats[code].theta, var, df, n_d, w_d, srs,
                              rows_beta if rows_beta is not None else n_d, flags,
                              ci=ci, alpha=alpha, min_n=min_n)
        results.append(Indicator(code=code, kind=node.kind, share=share, mean=mean))
    item_results = results[:n_items]
    node_results = {ind.code: ind for ind in results[n_items:]}
    ordered = item_results + [node_results[nd.code] for nd in tree]
    return ScoreResult(domains=index.labels, indicators=tuple(ordered), variance=variance,
                       ci=ci, alpha=alpha)


def _inverse(v: FloatArray) -> FloatArray:
    """1 / v where v > 0, else 0."""
    with np.errstate(divide="ignore"):
        return np.where(v > 0, 1.0 / np.where(v > 0, v, 1.0), 0.0)


def _srs_wr(x: FloatArray, z: FloatArray, dcodes: NDArray[np.int64], n_dom: int,
            wsum: FloatArray, n: NDArray[np.int64]) -> FloatArray:
    """:math:`V_{srs,wr} = \\frac{W}{n-1}\\sum_i w_i z_i^2` per domain (columns of z)."""
    out = np.empty((n_dom, z.shape[1]))
    for k in range(z.shape[1]):
        out[:, k] = np.bincount(dcodes, weights=x[:, k] * z[:, k], minlength=n_dom)
    with np.errstate(invalid="ignore", divide="ignore"):
        return out * (wsum / (n - 1.0))[:, None]


def share_satisfied(
    ratings: ArrayLike, weights: ArrayLike | None = None, *, strata: ArrayLike | None = None,
    psu: ArrayLike | None = None, fpc: ArrayLike | None = None, alpha: float = 0.05,
    ci: ShareCI = "xlogit", min_n: int = DEFAULT_MIN_N,
) -> Estimate:
    """Weighted share of valid answers that are 4 or 5, with its design-based CI.

    A one-item shortcut for :func:`score`; see the module notes for the formulas.
    """
    r = valid_ratings(ratings)
    design = make_design(r.shape[0], weights=weights, strata=strata, psu=psu, fpc=fpc)
    return score(r[:, :1], ["item"], design=design, ci=ci, alpha=alpha,
                 min_n=min_n).indicators[0].share[0]


def mean_rating(
    ratings: ArrayLike, weights: ArrayLike | None = None, *, strata: ArrayLike | None = None,
    psu: ArrayLike | None = None, fpc: ArrayLike | None = None, alpha: float = 0.05,
    min_n: int = DEFAULT_MIN_N,
) -> Estimate:
    """Weighted mean of valid ratings with a t interval on the design df."""
    r = valid_ratings(ratings)
    design = make_design(r.shape[0], weights=weights, strata=strata, psu=psu, fpc=fpc)
    return score(r[:, :1], ["item"], design=design, alpha=alpha,
                 min_n=min_n).indicators[0].mean[0]
