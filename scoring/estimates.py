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
    calibrated_cell_variance,
    cell_df,
    cell_variance,
    check_option,
    domain_index,
    group_df,
    make_design,
    moment_variance,
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


def rating_codes(ratings: ArrayLike) -> NDArray[np.int8]:
    """Ratings as int8 codes (column-major): the rating 1..5, 0 for anything else.

    The same rule as :func:`valid_ratings` (missing = not an integer 1..5).
    """
    arr = np.asarray(ratings)
    if arr.dtype.kind not in "iubf":
        arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    out = np.empty(arr.shape, dtype=np.int8, order="F")
    for j in range(arr.shape[1]):
        col = arr[:, j]
        with np.errstate(invalid="ignore"):  # NaN and out-of-range values cast to junk
            code = col.astype(np.int8)
        ok = (code >= 1) & (code <= 5)
        if col.dtype.kind in "fiu" and col.dtype != np.int8:
            ok &= col == code  # an integer in range: the cast kept it
        out[:, j] = np.where(ok, code, np.int8(0))
    return out


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


def topological_order(nodes: Sequence[IndexNode], items: Sequence[str]) -> list[IndexNode]:
    """Index nodes children first; duplicate codes, cycles, unknown children or items
    raise ``ValueError``."""
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
    rcodes = rating_codes(ratings)
    n_rows, n_items = rcodes.shape
    codes = list(items) if items is not None else [f"q{j + 1:02d}" for j in range(n_items)]
    if len(codes) != n_items:
        raise ValueError(f"{len(codes)} item codes for {n_items} rating columns")
    if design is None:
        design = make_design(n_rows)
    if design.n != n_rows:
        raise ValueError(f"ratings have {n_rows} rows; the design has {design.n}")
    if index is None:
        index = domain_index(design, domains)
    order = topological_order(tree, codes)
    by_code = {nd.code: nd for nd in tree}
    col = {c: j for j, c in enumerate(codes)}
    n_dom = index.n_domains
    jk = JackknifeN(design, index) if variance == "jkn" else None
    cal = design.calibration
    # one row per (domain, PSU) cell (respondents as PSUs): the variance needs
    # only sums and sums of squares per (domain, stratum) group
    by_group = jk is None and cal is None and index.n_cells == n_rows

    # pass 1: per item, weighted counts of each rating in each unit (a (domain,
    # PSU) cell, or a (domain, stratum) group when cells are rows), codes 0 =
    # missing, 1..5; everything below except index nodes' rows comes from these.
    tables = _CellTables(rcodes, design, index, by_group)
    unit_dom = tables.unit_dom
    tot_w = np.empty((n_dom, n_items))
    tot_y = np.empty((n_dom, n_items))
    tot_v = np.empty((n_dom, n_items))
    tot_v2 = np.empty((n_dom, n_items))
    cnt = np.empty((n_dom, n_items), dtype=np.int64)
    for j in range(n_items):
        dom_tot = tables.domain_totals(j)
        tot_w[:, j], tot_y[:, j], tot_v[:, j], tot_v2[:, j] = dom_tot[:4]
        cnt[:, j] = np.rint(dom_tot[4]).astype(np.int64)
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

    # pass 2: items from their unit tables; index nodes' unit totals are linear
    # combinations of the items' ------------------------------------------------
    results: list[Indicator] = []
    rows_beta = (np.full(n_dom, float(design.n)) if cal is not None else None)
    inv_w = _inverse(tot_w)  # D, J
    node_t = {nd.code: np.zeros((tables.n_units, 2), order="F") for nd in order}
    node_s: dict[str, FloatArray | None] = {nd.code: None for nd in order}
    node_den = {nd.code: _inverse(tot_w[:, leaves[nd.code]].sum(axis=1))
                for nd in order if nd.rule == "pooled"}
    # per node: (item, z of each (domain, rating code) for share and for mean)
    z_tables: dict[str, list[tuple[int, FloatArray, FloatArray]]] = {
        nd.code: [] for nd in order}
    item_of_nodes: dict[int, list[str]] = {}
    for nd in order:
        for j in leaves[nd.code]:
            item_of_nodes.setdefault(j, []).append(nd.code)
    jk_item: dict[int, FloatArray] = {}
    for j in range(n_items):
        st = tables.item(j)
        th = np.nan_to_num(p_item[:, j, :])  # D, 2
        th_u = _spread(th, unit_dom)
        inv_u = _spread(inv_w[:, j], unit_dom)
        t = _cell_totals(st.cells, th_u, inv_u)
        s_cal = (None if cal is None else _cal_totals(st.blocks, th, inv_w[:, j]))
        for code in item_of_nodes.get(j, ()):
            node = by_code[code]
            if node.rule == "pooled":
                thn = np.nan_to_num(stats[code].theta)
                den = node_den[code]
                z_tables[code].append((j, *_z_table(thn, den)))
                node_t[code] += _cell_totals(st.cells, _spread(thn, unit_dom),
                                             _spread(den, unit_dom))
                if cal is not None:
                    sc = _cal_totals(st.blocks, thn, den)
                    node_s[code] = sc if node_s[code] is None else node_s[code] + sc
            elif j in coef_items[code]:
                c = coef_items[code][j]
                zs, zm = _z_table(th, inv_w[:, j])
                z_tables[code].append((j, zs * np.repeat(c, 6), zm * np.repeat(c, 6)))
                node_t[code] += t * _spread(c, unit_dom)[..., None]
                if cal is not None and s_cal is not None:
                    sc = s_cal * c[:, None, None]
                    node_s[code] = sc if node_s[code] is None else node_s[code] + sc
        present = st.counts > 0
        if jk is not None:
            var, jk_item[j] = jk.item_variance(st.cells)
        elif cal is not None:
            var = calibrated_cell_variance(design, index, t, s_cal)
        elif by_group:
            var = moment_variance(design, index, t, _item_squares(st.squares, th_u, inv_u),
                                  present)
            # every valid rating of the domain equal: the mean's variance is 0, not
            # the rounding left by the sums of squares
            var[tables.single_level(j), 1] = 0.0
        else:
            var = cell_variance(design, index, t, present)
        df = group_df(index, st.counts) if by_group else cell_df(index, present)
        srs = _srs_item(tot_w[:, j], tot_y[:, j], tot_v[:, j], tot_v2[:, j], th, cnt[:, j])
        share, mean = _finish(index.labels, p_item[:, j, :], var, df, cnt[:, j], tot_w[:, j],
                              srs, rows_beta if rows_beta is not None else cnt[:, j],
                              [()] * n_dom, ci=ci, alpha=alpha, min_n=min_n)
        results.append(Indicator(code=codes[j], kind="item", share=share, mean=mean))

    for node in order:
        for ch, c in coef_nodes.get(node.code, {}).items():
            node_t[node.code] += node_t[ch] * _spread(c, unit_dom)[..., None]
            if cal is not None and node_s[ch] is not None:
                sc = node_s[ch] * c[:, None, None]
                node_s[node.code] = sc if node_s[node.code] is None else node_s[node.code] + sc
    rows = _node_rows(rcodes, design, index, tables, order, col, z_tables, coef_nodes)

    jk_node: dict[str, FloatArray] = {}
    for node in order:
        code = node.code
        acc = rows[code]
        n_d = np.rint(acc.n).astype(np.int64)
        w_d = acc.w
        unit_present = acc.present > 0
        if jk is not None:
            var, jk_node[code] = jk.node_variance(node, leaves[code], coef_items.get(code, {}),
                                                  coef_nodes.get(code, {}), jk_item, jk_node,
                                                  tables)
        elif cal is not None:
            s_node = node_s[code] if node_s[code] is not None else np.zeros(
                (n_dom, cal.n_levels, 2))
            var = calibrated_cell_variance(design, index, node_t[code], s_node)
        elif by_group:
            var = moment_variance(design, index, node_t[code], acc.squares, unit_present)
        else:
            var = cell_variance(design, index, node_t[code], unit_present)
        df = group_df(index, acc.present) if by_group else cell_df(index, unit_present)
        srs = acc.srs.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            srs *= (w_d / (n_d - 1.0))[:, None]
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


LEVEL_Y = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
LEVEL_V = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
_CACHE_LIMIT = 40_000_000  # floats of cell tables kept between the two passes
ROW_BLOCK = 1 << 16  # rows per block of the index nodes' row pass (fits in cache)


@dataclass(slots=True)
class _ItemStats:
    """Per unit: sums of w, w*y, w*r, w*r^2 over valid answers, and n."""

    cells: FloatArray            # (U, 4)
    counts: FloatArray           # (U,)
    blocks: FloatArray | None    # (D, L, 3): sums of w*b, w*b*y, w*b*r per level
    squares: FloatArray | None = None  # (U, 6): sums of w^2 per rating code (by group)


class _CellTables:
    """Weighted rating counts per unit, computed with one ``bincount`` per item.

    Units are the (domain, PSU) cells; with ``by_group`` (every cell one row,
    as when respondents are the PSUs) they are the (domain, stratum) groups,
    which then also carry the sums of squared weights per rating.
    """

    def __init__(self, codes: NDArray[np.int8], design: Design, index: DomainIndex,
                 by_group: bool) -> None:
        self.codes = codes
        self.index = index
        self.w = design.weights
        self.by_group = by_group
        n_rows, n_items = codes.shape
        identity = (index.n_cells == n_rows
                    and bool(np.all(index.cell == np.arange(n_rows))))
        if by_group:
            self.unit_row = index.cell_group if identity else index.cell_group[index.cell]
            self.unit_dom = index.group_domain
            self.n_units = int(index.group_domain.shape[0])
            self.w2 = self.w * self.w
        else:
            self.unit_row = index.cell
            self.unit_dom = index.cell_domain
            self.n_units = index.n_cells
        self.unit6 = self.unit_row * 6
        cal = design.calibration
        self.block_keys: list[tuple[NDArray[np.int64], FloatArray, int]] = []
        if cal is not None:
            n_dom = index.n_domains
            for bcodes, factor, size in zip(cal.codes, cal.factors, cal.sizes, strict=True):
                base = bcodes if n_dom == 1 else index.codes * size + bcodes
                self.block_keys.append((base * 6, self.w * factor, n_dom * size))
        # few units: one bincount of (unit, rating code); many cells (e.g. one PSU
        # per respondent): five plain bincounts over the cells are cheaper
        self.wide = by_group or self.n_units * 6 <= n_rows // 2
        self.identity = not by_group and identity
        self.keep = by_group or self.n_units * 5 * n_items <= _CACHE_LIMIT
        self.cache: dict[int, _ItemStats] = {}
        self.levels: dict[int, NDArray[np.int64]] = {}

    def single_level(self, j: int) -> NDArray[np.bool_]:
        """Domains whose valid answers to item ``j`` are all one rating (by group)."""
        cn = self.levels[j]
        n_dom = self.index.n_domains
        present = np.zeros(n_dom, dtype=np.int64)
        for c in range(1, 6):
            present += np.bincount(self.unit_dom, weights=cn[:, c], minlength=n_dom) > 0
        return present == 1

    def item(self, j: int) -> _ItemStats:
        hit = self.cache.get(j)
        if hit is not None:
            return hit
        code = self.codes[:, j]
        nu = self.n_units
        squares = None
        if self.wide:
            key = self.unit6 + code
            sw = np.bincount(key, weights=self.w, minlength=nu * 6).reshape(nu, 6)
            cn = np.bincount(key, minlength=nu * 6).reshape(nu, 6)
            cells = np.column_stack([sw[:, 1:].sum(axis=1), sw @ LEVEL_Y, sw @ LEVEL_V,
                                     sw @ (LEVEL_V * LEVEL_V)])
            counts = cn[:, 1:].sum(axis=1).astype(np.float64)
            if self.by_group:
                squares = np.bincount(key, weights=self.w2, minlength=nu * 6).reshape(nu, 6)
                self.levels[j] = cn
        else:
            answered = code > 0
            wa = np.where(answered, self.w, 0.0)
            wv = wa * code
            cols = (wa, np.where(code >= 4, wa, 0.0), wv, wv * code)
            cells = np.empty((nu, 4), order="F")
            if self.identity:  # one row per cell, in cell order
                for k, v in enumerate(cols):
                    cells[:, k] = v
                counts = answered.astype(np.float64)
            else:
                cell = self.index.cell
                for k, v in enumerate(cols):
                    cells[:, k] = np.bincount(cell, weights=v, minlength=nu)
                counts = np.bincount(cell, weights=answered, minlength=nu)
        blocks = None
        if self.block_keys:
            parts = []
            for base, wf, size in self.block_keys:
                tab = np.bincount(base + code, weights=wf, minlength=size * 6).reshape(-1, 6)
                parts.append(np.column_stack([tab[:, 1:].sum(axis=1), tab @ LEVEL_Y,
                                              tab @ LEVEL_V]).reshape(
                    self.index.n_domains, -1, 3))
            blocks = np.concatenate(parts, axis=1)
        out = _ItemStats(cells=cells, counts=counts, blocks=blocks, squares=squares)
        if self.keep:
            self.cache[j] = out
        return out

    def to_domains(self, unit_values: FloatArray) -> FloatArray:
        return np.bincount(self.unit_dom, weights=unit_values, minlength=self.index.n_domains)

    def domain_totals(self, j: int) -> list[FloatArray]:
        """Domain sums of w, w*y, w*r, w*r^2 and the count of valid answers."""
        if self.keep or self.wide:
            st = self.item(j)
            return [self.to_domains(st.cells[:, k]) for k in range(4)] + [
                self.to_domains(st.counts)]
        code = self.codes[:, j]
        n_dom = self.index.n_domains
        dom = self.index.codes
        key = dom * 6 + code if n_dom > 1 else code.astype(np.intp)
        sw = np.bincount(key, weights=self.w, minlength=n_dom * 6).reshape(n_dom, 6)
        cn = np.bincount(key, minlength=n_dom * 6).reshape(n_dom, 6)
        return [sw[:, 1:].sum(axis=1), sw @ LEVEL_Y, sw @ LEVEL_V, sw @ (LEVEL_V * LEVEL_V),
                cn[:, 1:].sum(axis=1).astype(np.float64)]


def _z_table(theta: FloatArray, inv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """z of each (domain, rating code) for share and mean, flat (D*6,): (y - theta)/W,
    0 for a missing answer (code 0)."""
    n_dom = theta.shape[0]
    zs = np.zeros((n_dom, 6))
    zm = np.zeros((n_dom, 6))
    zs[:, 1:] = (LEVEL_Y[None, 1:] - theta[:, :1]) * inv[:, None]
    zm[:, 1:] = (LEVEL_V[None, 1:] - theta[:, 1:]) * inv[:, None]
    return zs.reshape(-1), zm.reshape(-1)


def _item_squares(squares: FloatArray | None, theta: FloatArray, inv: FloatArray) -> FloatArray:
    """Per group sums of :math:`(w z)^2` for share and mean from the sums of
    :math:`w^2` per rating code."""
    if squares is None:
        raise ValueError("item tables without sums of squared weights")
    sq = squares[:, 1:]
    dy = LEVEL_Y[None, 1:] - theta[:, :1]
    dv = LEVEL_V[None, 1:] - theta[:, 1:]
    inv2 = (inv * inv)[:, None]
    return np.column_stack([(sq * dy * dy).sum(axis=1), (sq * dv * dv).sum(axis=1)]) * inv2


class _BlockSums:
    """Sums of row values by group code, block of rows by block.

    Sorted codes (rows ordered by centre, as exports usually are) are summed
    over contiguous runs; otherwise with ``np.bincount``.
    """

    def __init__(self, codes: NDArray[np.int64], size: int) -> None:
        self.codes = codes
        self.size = size
        self.sorted = size == 1 or bool(np.all(codes[1:] >= codes[:-1]))
        self.starts: NDArray[np.intp] | None = None
        self.ids: NDArray[np.int64] | None = None
        self.rows: NDArray[np.int64] | None = None

    def block(self, sl: slice) -> _BlockSums:
        self.rows = self.codes[sl]
        if self.sorted and self.size > 1:
            self.starts = np.concatenate(([0], np.flatnonzero(np.diff(self.rows)) + 1))
            self.ids = self.rows[self.starts]
        return self

    def add(self, out: FloatArray, values: FloatArray) -> None:
        """``out[g] += sum of values of the block's rows in group g``."""
        if self.size == 1:
            out[0] += values.sum()
        elif self.starts is not None and self.ids is not None:
            out[self.ids] += np.add.reduceat(values, self.starts)
        else:
            out += np.bincount(self.rows, weights=values, minlength=self.size)


@dataclass(slots=True)
class _NodeRows:
    """What an index node needs from the respondents' rows."""

    n: FloatArray                # (D,) rows with a valid answer to an item of the node
    w: FloatArray                # (D,) their weights
    srs: FloatArray              # (D, 2) sums of w z^2 (share, mean)
    present: FloatArray          # (U,) rows with a valid answer per unit
    squares: FloatArray | None   # (U, 2) sums of (w z)^2 per group (by group only)


def _node_rows(
    rcodes: NDArray[np.int8], design: Design, index: DomainIndex, tables: _CellTables,
    order: Sequence[IndexNode], col: Mapping[str, int],
    z_tables: Mapping[str, Sequence[tuple[int, FloatArray, FloatArray]]],
    coef_nodes: Mapping[str, Mapping[str, FloatArray]],
) -> dict[str, _NodeRows]:
    """Influence values of every index node, row block by row block (no (n, K)
    array is formed), reduced to the sums the variances and design effects need.

    A node's z is the sum over its items of the per (domain, rating) z tables
    (coefficients folded in), plus its children's z times their coefficients.
    """
    n_rows = rcodes.shape[0]
    n_dom = index.n_domains
    n_units = tables.n_units
    w = design.weights
    dom = index.codes
    by_group = tables.by_group
    srs = {nd.code: np.zeros((n_dom, 2)) for nd in order}
    squares = {nd.code: np.zeros((n_units, 2)) for nd in order} if by_group else {}
    pres_rows = {nd.code: np.empty(n_rows, dtype=bool) for nd in order}
    child_coef = {code: [(ch, c[:1] if np.all(c == c[:1]) else c) for ch, c in cs.items()]
                  for code, cs in coef_nodes.items()}
    block = max(ROW_BLOCK, 2 * n_dom, 2 * n_units if by_group else 0)
    dom_sums = _BlockSums(dom, n_dom)
    unit_sums = _BlockSums(tables.unit_row, n_units) if by_group else None
    for lo in range(0, n_rows if order else 0, block):
        sl = slice(lo, min(lo + block, n_rows))
        wb = w[sl]
        db = dom[sl]
        dom6 = db * 6 if n_dom > 1 else None
        by_dom = dom_sums.block(sl)
        by_unit = unit_sums.block(sl) if unit_sums is not None else None
        keys: dict[int, NDArray[np.intp]] = {}
        answered: dict[int, NDArray[np.bool_]] = {}
        zs: dict[str, FloatArray] = {}
        zm: dict[str, FloatArray] = {}
        for node in order:
            code = node.code
            a = np.zeros(wb.shape[0], dtype=bool)
            for it in node.items:
                j = col[it]
                if j not in answered:
                    answered[j] = rcodes[sl, j] > 0
                a |= answered[j]
            for ch in node.children:
                a |= pres_rows[ch][sl]
            pres_rows[code][sl] = a
            s = np.zeros(wb.shape[0])
            m = np.zeros(wb.shape[0])
            for j, ts, tm in z_tables[code]:
                k = keys.get(j)
                if k is None:
                    k = keys[j] = (rcodes[sl, j].astype(np.intp) if dom6 is None
                                   else dom6 + rcodes[sl, j])
                s += ts.take(k)
                m += tm.take(k)
            for ch, c in child_coef.get(code, ()):
                cr = c if c.shape[0] == 1 else c[db]
                s += cr * zs[ch]
                m += cr * zm[ch]
            zs[code], zm[code] = s, m
            xs = wb * s
            xm = wb * m
            by_dom.add(srs[code][:, 0], xs * s)
            by_dom.add(srs[code][:, 1], xm * m)
            if by_unit is not None:
                by_unit.add(squares[code][:, 0], xs * xs)
                by_unit.add(squares[code][:, 1], xm * xm)
    out = {}
    for nd in order:
        pres = pres_rows[nd.code]
        out[nd.code] = _NodeRows(
            n=np.bincount(dom, weights=pres, minlength=n_dom),
            w=np.bincount(dom, weights=np.where(pres, w, 0.0), minlength=n_dom),
            srs=srs[nd.code],
            present=np.bincount(tables.unit_row, weights=pres, minlength=n_units),
            squares=squares.get(nd.code))
    return out


def _cell_totals(cells: FloatArray, theta: FloatArray, inv: FloatArray) -> FloatArray:
    """Cell totals of :math:`w z` for share and mean: :math:`(Y_c - \\theta W_c)/W_d`."""
    t = np.empty((cells.shape[0], 2), order="F")
    t[:, 0] = (cells[:, 1] - theta[:, 0] * cells[:, 0]) * inv
    t[:, 1] = (cells[:, 2] - theta[:, 1] * cells[:, 0]) * inv
    return t


def _cal_totals(blocks: FloatArray | None, theta: FloatArray, inv: FloatArray) -> FloatArray:
    """:math:`B^\\top (w z)` per domain (D, L, 2) from the per-level sums."""
    if blocks is None:
        raise ValueError("calibrated design without calibration tables")
    s = np.empty(blocks.shape[:2] + (2,))
    s[:, :, 0] = (blocks[:, :, 1] - theta[:, None, 0] * blocks[:, :, 0]) * inv[:, None]
    s[:, :, 1] = (blocks[:, :, 2] - theta[:, None, 1] * blocks[:, :, 0]) * inv[:, None]
    return s


def _srs_item(wsum: FloatArray, ysum: FloatArray, vsum: FloatArray, v2sum: FloatArray,
              theta: FloatArray, n: NDArray[np.int64]) -> FloatArray:
    """:math:`V_{srs,wr} = \\frac{W}{n-1}\\sum_i w_i z_i^2` per domain for share and mean."""
    p, m = theta[:, 0], theta[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ss_share = ysum * (1 - p) ** 2 + (wsum - ysum) * p * p
        ss_mean = v2sum - 2 * m * vsum + m * m * wsum
        return np.column_stack([ss_share, ss_mean]) / (wsum * (n - 1.0))[:, None]


def _spread(values: FloatArray, codes: NDArray[np.int64]) -> FloatArray:
    """``values[codes]``, or the single value when all domains share it."""
    if np.all(values == values[:1]):
        return values[:1]  # broadcasts
    return values[codes]


def _inverse(v: FloatArray) -> FloatArray:
    """1 / v where v > 0, else 0."""
    with np.errstate(divide="ignore"):
        return np.where(v > 0, 1.0 / np.where(v > 0, v, 1.0), 0.0)


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
