"""Sufficient statistics ("moments") of respondent-level ratings, and index
estimates with linearised variances computed from them alone.

For weights 1, strata :math:`h` (e.g. centres) and every respondent its own
PSU, everything :func:`scoring.estimates.score` needs for the share satisfied
of every item and every index node is a handful of sums per stratum.  The sums
add up over days and over strata, so the estimate for any period (a day, the
last 7 or 365 days, a rolling window, the previous period, a province of
centres) is the estimate from the *sum* of cached daily moments — no
respondent-level data at request time.

Notes
-----
For respondent :math:`i` and item :math:`k` let :math:`m_{ik} = 1` when the
rating is valid (1..5) and :math:`s_{ik} = 1` when it is 4 or 5.  Per stratum
the moments are

.. math::

    n_h, \\quad S_{hk} = \\sum_{i \\in h} s_{ik}, \\quad N_{hk} = \\sum_{i \\in h} m_{ik},
    \\quad SS_h = s_h^\\top s_h, \\quad SM_h = s_h^\\top m_h, \\quad MM_h = m_h^\\top m_h,

and, for each *cover set* :math:`L` of items (the leaf items of an index
node), :math:`C_{hL}`, the respondents with at least one valid answer in
:math:`L` (the node's :math:`n` and degrees of freedom need it; pairwise sums
cannot give it).

Every estimator of the share satisfied used by :func:`~scoring.estimates.score`
has an influence value that is linear in the indicators,

.. math::

    z_i = \\sum_k a_k s_{ik} - \\sum_k b_k m_{ik},

with :math:`a_k = e_k / N_k`, :math:`b_k = \\hat p_k a_k` for item :math:`k`
(:math:`\\hat p_k = S_k / N_k` over the *whole* domain, all strata);
:math:`a = \\mathbb 1_L / N_L`, :math:`b = \\hat P a` for a ``pooled`` node
(:math:`\\hat P = \\sum_{k \\in L} S_k / \\sum_{k \\in L} N_k`); and
:math:`a = \\sum_m c_m a_m`, :math:`b = \\sum_m c_m b_m` for a node combining
members :math:`m` with coefficients :math:`c_m` (``item-mean``,
``children-mean``, ``weighted``).  Hence, per stratum,

.. math::

    \\sum_{i \\in h} z_i = a^\\top S_h - b^\\top N_h, \\qquad
    \\sum_{i \\in h} z_i^2 = a^\\top SS_h\\, a - 2\\, a^\\top SM_h\\, b + b^\\top MM_h\\, b,

and the stratified with-replacement variance (Lumley 2010, §2.2) is

.. math::

    \\hat V = \\sum_h \\frac{n_h}{n_h - 1}
        \\Big[\\sum_{i \\in h} z_i^2 - \\frac{(\\sum_{i \\in h} z_i)^2}{n_h}\\Big],

with :math:`n_h` *all* respondents of the stratum (those who skipped an item
are PSUs with :math:`z_i = 0`: an item is a domain of the full design) and a
stratum with a single respondent contributing :math:`(\\sum_{i \\in h} z_i)^2`
(R's ``survey.lonely.psu = "adjust"``).  Degrees of freedom are the
respondents with a valid answer minus the strata that have any; the interval,
``n_eff`` and ``deff`` are those of :func:`~scoring.estimates.score`.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .design import FloatArray, IntArray, check_option
from .estimates import (
    DEFAULT_MIN_N,
    Estimates,
    IndexNode,
    topological_order,
    valid_ratings,
)
from .intervals import FALLBACK_FLAG, SHARE_CI_METHODS, ShareCI, share_interval

CoverSet = frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Moments:
    """Sums of satisfied/valid indicators and their cross-products.

    Every array has the same leading (batch) shape ``B`` — ``()`` for one
    group of respondents, ``(days,)``, ``(days, centres)``...; moments of
    disjoint groups of respondents add (``+``, :meth:`sum`, :meth:`cumsum`).

    Attributes
    ----------
    items : tuple of str
        Item codes of the K columns.
    cover_sets : tuple of frozenset of str
        Item sets whose coverage is counted (see ``covered``).
    n : ndarray of int64, shape B
        Respondents.
    covered : ndarray of int64, shape B + (G,)
        Respondents with at least one valid answer among each cover set.
    satisfied, answered : ndarray of int64, shape B + (K,)
        :math:`S_k` and :math:`N_k`.
    ss, sm, mm : ndarray of int64, shape B + (K, K)
        :math:`s^\\top s`, :math:`s^\\top m`, :math:`m^\\top m`.
    """

    items: tuple[str, ...]
    cover_sets: tuple[CoverSet, ...]
    n: IntArray
    covered: IntArray
    satisfied: IntArray
    answered: IntArray
    ss: IntArray
    sm: IntArray
    mm: IntArray

    _ARRAYS = ("n", "covered", "satisfied", "answered", "ss", "sm", "mm")

    @property
    def shape(self) -> tuple[int, ...]:
        """The batch shape."""
        return tuple(self.n.shape)

    def _map(self, fn: object) -> Moments:
        return Moments(items=self.items, cover_sets=self.cover_sets,
                       **{name: fn(getattr(self, name)) for name in self._ARRAYS})  # type: ignore[operator]

    def _check_compatible(self, other: Moments) -> None:
        if other.items != self.items or other.cover_sets != self.cover_sets:
            raise ValueError("moments over different items or cover sets; align() them first")

    def __add__(self, other: Moments) -> Moments:
        self._check_compatible(other)
        return Moments(items=self.items, cover_sets=self.cover_sets,
                       **{name: getattr(self, name) + getattr(other, name)
                          for name in self._ARRAYS})

    def __getitem__(self, index: object) -> Moments:
        """Index or slice the batch axes (``m[3]``, ``m[10:20]``, ``m[mask]``)."""
        return self._map(lambda a: a[index])

    def sum(self, axis: int = 0) -> Moments:
        """Sum over one batch axis (days, centres...)."""
        self._check_batch_axis(axis)
        return self._map(lambda a: a.sum(axis=axis))

    def cumsum(self, axis: int = 0) -> Moments:
        """Running sums over one batch axis: window sums are differences of them."""
        self._check_batch_axis(axis)
        return self._map(lambda a: np.cumsum(a, axis=axis))

    def _check_batch_axis(self, axis: int) -> None:
        if not -self.n.ndim <= axis < self.n.ndim:
            raise ValueError(f"axis {axis} is not a batch axis of moments of shape {self.shape}")

    def align(self, items: Sequence[str], cover_sets: Sequence[Iterable[str]] = ()) -> Moments:
        """The same respondents over ``items`` and ``cover_sets``.

        Items these moments do not have are never answered (zeros). A cover
        set's count is that of its intersection with :attr:`items`, which must
        be one of :attr:`cover_sets` (or empty: no respondent is covered).
        """
        items = tuple(items)
        covers = tuple(frozenset(c) for c in cover_sets)
        position = {code: j for j, code in enumerate(self.items)}
        src = np.array([position.get(code, -1) for code in items], dtype=np.int64)
        have = src >= 0
        take = np.where(have, src, 0)
        batch = self.shape
        k = len(items)

        def vec(a: IntArray) -> IntArray:
            return np.where(have, a[..., take], 0)

        def mat(a: IntArray) -> IntArray:
            out = a[..., take[:, None], take[None, :]]
            return np.where(have[:, None] & have[None, :], out, 0).reshape(batch + (k, k))

        own = set(self.items)
        stored = {c: g for g, c in enumerate(self.cover_sets)}
        columns = []
        for cover in covers:
            inside = frozenset(cover & own)
            if not inside:
                columns.append(np.zeros(batch, dtype=np.int64))
            elif inside in stored:
                columns.append(self.covered[..., stored[inside]])
            else:
                raise ValueError(f"no coverage count for items {sorted(inside)}; "
                                 "compute the moments with that cover set")
        covered = (np.stack(columns, axis=-1) if columns
                   else np.zeros(batch + (0,), dtype=np.int64))
        return Moments(items=items, cover_sets=covers, n=self.n, covered=covered,
                       satisfied=vec(self.satisfied), answered=vec(self.answered),
                       ss=mat(self.ss), sm=mat(self.sm), mm=mat(self.mm))

    def to_array(self) -> IntArray:
        """All counts flattened along one last axis: shape ``B + (L,)``."""
        batch = self.shape
        return np.concatenate([getattr(self, name).reshape(batch + (-1,))
                               for name in self._ARRAYS], axis=-1)

    @classmethod
    def from_array(cls, values: ArrayLike, *, items: Sequence[str],
                   cover_sets: Sequence[Iterable[str]] = ()) -> Moments:
        """Inverse of :meth:`to_array` (``values`` of shape ``B + (L,)``)."""
        arr = np.asarray(values, dtype=np.int64)
        k, g = len(items), len(cover_sets)
        width = moments_width(k, g)
        if arr.shape[-1] != width:
            raise ValueError(f"moments of {k} items and {g} cover sets need {width} "
                             f"values; got {arr.shape[-1]}")
        batch = arr.shape[:-1]
        sizes = (1, g, k, k, k * k, k * k, k * k)
        shapes = ((), (g,), (k,), (k,), (k, k), (k, k), (k, k))
        bounds = np.cumsum((0, *sizes))
        parts = {name: arr[..., bounds[i]:bounds[i + 1]].reshape(batch + shapes[i])
                 for i, name in enumerate(cls._ARRAYS)}
        return cls(items=tuple(items), cover_sets=tuple(frozenset(c) for c in cover_sets),
                   **parts)

    @classmethod
    def zeros(cls, shape: tuple[int, ...], *, items: Sequence[str],
              cover_sets: Sequence[Iterable[str]] = ()) -> Moments:
        """Moments of no respondents."""
        width = moments_width(len(items), len(cover_sets))
        return cls.from_array(np.zeros(shape + (width,), dtype=np.int64), items=items,
                              cover_sets=cover_sets)


def moments_width(n_items: int, n_cover: int) -> int:
    """Length of :meth:`Moments.to_array`'s last axis."""
    return 1 + n_cover + 2 * n_items + 3 * n_items * n_items


def stack(parts: Sequence[Moments]) -> Moments:
    """Moments of several groups along a new leading batch axis."""
    if not parts:
        raise ValueError("nothing to stack")
    for p in parts[1:]:
        parts[0]._check_compatible(p)
    first = parts[0]
    return Moments(items=first.items, cover_sets=first.cover_sets,
                   **{name: np.stack([getattr(p, name) for p in parts])
                      for name in Moments._ARRAYS})


def leaf_items(node: IndexNode, by_code: dict[str, IndexNode]) -> tuple[str, ...]:
    """Items below ``node`` (its own, then its children's), each once."""
    out = list(node.items)
    for child in node.children:
        out.extend(leaf_items(by_code[child], by_code))
    return tuple(dict.fromkeys(out))


def tree_cover(tree: Sequence[IndexNode]) -> tuple[CoverSet, ...]:
    """The distinct leaf-item sets of the nodes of ``tree`` (their cover sets)."""
    by_code = {node.code: node for node in tree}
    out: dict[CoverSet, None] = {}
    for node in tree:
        out[frozenset(leaf_items(node, by_code))] = None
    return tuple(out)


def moments_from_ratings(
    ratings: ArrayLike, *, items: Sequence[str] | None = None, groups: ArrayLike | None = None,
    n_groups: int | None = None, cover_sets: Sequence[Iterable[str]] = (),
    chunk: int = 50_000,
) -> Moments:
    """Moments of respondent-level ratings, per group (e.g. day) at once.

    Parameters
    ----------
    ratings : array_like, shape (n, K)
        Ratings; anything that is not 1..5 (NaN, 0, 9...) is missing.
    items : sequence of str, optional
        Item codes of the K columns (default ``q01``...).
    groups : array_like of int, shape (n,), optional
        Group of each respondent, ``0 <= g < n_groups``; default one group
        (the result then has batch shape ``()``).
    n_groups : int, optional
        Number of groups (default ``max(groups) + 1``); groups without
        respondents get zeros.
    cover_sets : sequence of sets of item codes
        Item sets whose coverage is counted (:func:`tree_cover` of the trees
        to be estimated).
    chunk : int
        Respondents per block of the cross-products (bounds the memory).

    Returns
    -------
    Moments
        Batch shape ``()`` or ``(n_groups,)``.

    Notes
    -----
    Respondents are sorted by group; cross-products are summed per group
    with one ``np.add.reduceat`` over the sorted rows per block of
    ``chunk`` respondents — no loop over respondents or groups.
    """
    r = valid_ratings(ratings)
    n_rows, k = r.shape
    codes = tuple(items) if items is not None else tuple(f"q{j + 1:02d}" for j in range(k))
    if len(codes) != k:
        raise ValueError(f"{len(codes)} item codes for {k} rating columns")
    covers = tuple(frozenset(c) for c in cover_sets)
    column = {code: j for j, code in enumerate(codes)}
    for cover in covers:
        unknown = sorted(cover - set(codes))
        if unknown:
            raise ValueError(f"cover set names unknown items {unknown}")
    single = groups is None
    if single:
        g_idx = np.zeros(n_rows, dtype=np.int64)
        n_g = 1
    else:
        g_idx = np.asarray(groups).astype(np.int64, copy=False).reshape(-1)
        if g_idx.shape[0] != n_rows:
            raise ValueError(f"groups has {g_idx.shape[0]} rows; ratings have {n_rows}")
        if n_rows and g_idx.min() < 0:
            raise ValueError("groups must be >= 0")
        n_g = int(n_groups) if n_groups is not None else int(g_idx.max(initial=-1)) + 1
        if n_rows and g_idx.max() >= n_g:
            raise ValueError(f"groups must be < n_groups = {n_g}")
    valid = ~np.isnan(r)
    m = valid.astype(np.int64)
    s = (valid & (np.nan_to_num(r) >= 4)).astype(np.int64)
    cov = np.empty((n_rows, len(covers)), dtype=np.int64)
    for c, cover in enumerate(covers):
        cols = [column[code] for code in cover]
        cov[:, c] = valid[:, cols].any(axis=1) if cols else False

    def per_group(x: IntArray) -> IntArray:
        out = np.zeros((n_g,) + x.shape[1:], dtype=np.int64)
        np.add.at(out, g_idx, x)
        return out

    order = np.argsort(g_idx, kind="stable")
    g_sorted, s_sorted, m_sorted = g_idx[order], s[order], m[order]
    cross = np.zeros((3, n_g, k, k), dtype=np.int64)
    for lo in range(0, n_rows, max(int(chunk), 1)):
        g_c = g_sorted[lo:lo + chunk]
        starts = np.flatnonzero(np.r_[True, g_c[1:] != g_c[:-1]])
        s_c, m_c = s_sorted[lo:lo + chunk], m_sorted[lo:lo + chunk]
        for q, (left, right) in enumerate(((s_c, s_c), (s_c, m_c), (m_c, m_c))):
            prod = (left[:, :, None] * right[:, None, :]).reshape(left.shape[0], k * k)
            cross[q, g_c[starts]] += np.add.reduceat(prod, starts, axis=0).reshape(-1, k, k)
    out = Moments(items=codes, cover_sets=covers,
                  n=np.bincount(g_idx, minlength=n_g).astype(np.int64),
                  covered=per_group(cov), satisfied=per_group(s), answered=per_group(m),
                  ss=cross[0], sm=cross[1], mm=cross[2])
    return out[0] if single else out


def _inverse(v: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.where(v > 0, 1.0 / np.where(v > 0, v, 1.0), 0.0)


def _safe_div(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


@dataclass(slots=True)
class _Linear:
    """One indicator: estimate, availability and influence coefficients (a, b)."""

    theta: FloatArray                 # (B,)
    avail: NDArray[np.bool_]          # (B,)
    a: FloatArray                     # (B, K)
    b: FloatArray                     # (B, K)
    cover: CoverSet
    missing: NDArray[np.bool_]        # (B,) "items-missing"


def estimate_tree_from_moments(
    moments: Moments, tree: Sequence[IndexNode] = (), *,
    psu_counts: ArrayLike | None = None, labels: ArrayLike | None = None,
    only: Sequence[str] | None = None, ci: ShareCI = "xlogit", alpha: float = 0.05,
    min_n: int = DEFAULT_MIN_N,
) -> dict[str, Estimates]:
    """Share satisfied of every item and index node, from stratum moments.

    Equals :func:`scoring.estimates.score` on the respondents behind the
    moments with weights 1, the strata as strata and every respondent a PSU
    (module notes).

    Parameters
    ----------
    moments : Moments
        Batch shape ``(H,)`` (one estimate over H strata) or ``(B, H)``
        (B estimates at once, e.g. days or windows).  The cover sets must
        include :func:`tree_cover` of ``tree``.
    tree : sequence of IndexNode
        Index nodes over ``moments.items``.
    psu_counts : array_like of int, shape (H,) or (B, H), optional
        Respondents per stratum in the full design when the moments are a
        domain of a larger design (R's ``svyby``); default ``moments.n``
        (the moments *are* the design).
    labels : array_like, shape (B,), optional
        Labels of the B estimates (``Estimates.domains``); default ``""`` for
        one estimate, ``0..B-1`` otherwise.
    only : sequence of str, optional
        Codes of the items and nodes wanted (default all): the others are
        only computed as far as the wanted ones need them.
    ci, alpha, min_n
        As in :func:`scoring.estimates.score`.

    Returns
    -------
    dict of str to Estimates
        Items (by code), then the nodes (those in ``only``);
        ``result[code][b]`` is an :class:`~scoring.estimates.Estimate`.
    """
    check_option("ci", ci, SHARE_CI_METHODS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
    if moments.n.ndim not in (1, 2):
        raise ValueError(f"moments need batch shape (H,) or (B, H); got {moments.shape}")
    batched = moments.n.ndim == 2
    mo = moments if batched else moments[None]
    n_b = mo.shape[0]
    items = mo.items
    col = {code: j for j, code in enumerate(items)}
    by_code = {node.code: node for node in tree}
    cover_col = {c: g for g, c in enumerate(mo.cover_sets)}

    nh = (mo.n if psu_counts is None else
          np.broadcast_to(np.asarray(psu_counts, dtype=np.int64), mo.shape)).astype(np.float64)
    s_h = mo.satisfied.astype(np.float64)             # B, H, K
    n_hk = mo.answered.astype(np.float64)
    ss, sm, mm = (x.astype(np.float64) for x in (mo.ss, mo.sm, mo.mm))
    s_tot, n_tot = s_h.sum(axis=1), n_hk.sum(axis=1)  # B, K
    p = _safe_div(s_tot, n_tot)
    inv = _inverse(n_tot)
    k = len(items)

    lin: dict[str, _Linear] = {}
    eye = np.eye(k)
    for j, code in enumerate(items):
        a = eye[j][None, :] * inv[:, j:j + 1]
        lin[code] = _Linear(theta=p[:, j], avail=n_tot[:, j] > 0, a=a,
                            b=a * np.nan_to_num(p[:, j:j + 1]), cover=frozenset((code,)),
                            missing=np.zeros(n_b, dtype=bool))
    item_avail = n_tot > 0
    nodes = topological_order(tree, items)
    for node in nodes:
        leaf = [col[c] for c in leaf_items(node, by_code)]
        cover = frozenset(items[j] for j in leaf)
        if node.rule == "pooled":
            mask = np.zeros(k)
            mask[leaf] = 1.0
            den = n_tot[:, leaf].sum(axis=1)
            theta = _safe_div(s_tot[:, leaf].sum(axis=1), den)
            a = mask[None, :] * _inverse(den)[:, None]
            lin[node.code] = _Linear(
                theta=theta, avail=den > 0, a=a, b=a * np.nan_to_num(theta)[:, None],
                cover=cover, missing=(den > 0) & ~item_avail[:, leaf].all(axis=1))
            continue
        if node.rule == "item-mean":
            members = [items[j] for j in leaf]
            weights = np.ones(len(members))
        else:
            members = list(node.children) + list(node.items)
            weights = (np.asarray(node.weights, dtype=np.float64) if node.rule == "weighted"
                       else np.ones(len(members)))
        parts = [lin[m] for m in members]
        mav = np.stack([q.avail for q in parts], axis=1)          # B, M
        cw = mav * weights[None, :]
        tot = cw.sum(axis=1)
        avail = tot > 0
        c = np.where(avail[:, None], _safe_div(cw, tot[:, None]), 0.0)
        theta_m = np.stack([np.nan_to_num(q.theta) for q in parts], axis=1)
        theta = np.where(avail, (c * theta_m).sum(axis=1), np.nan)
        missing = avail & ((cw == 0) & (weights[None, :] > 0)).any(axis=1)
        child_missing = [q.missing for q, m in zip(parts, members, strict=True)
                         if m in by_code]
        if child_missing:
            missing |= np.stack(child_missing, axis=1).any(axis=1) & avail
        a = np.einsum("bm,bmk->bk", c, np.stack([q.a for q in parts], axis=1))
        b = np.einsum("bm,bmk->bk", c, np.stack([q.b for q in parts], axis=1))
        lin[node.code] = _Linear(theta=theta, avail=avail, a=a, b=b, cover=cover,
                                 missing=missing)

    codes = list(items) + [node.code for node in tree]
    if only is not None:
        unknown = sorted(set(only) - set(codes))
        if unknown:
            raise ValueError(f"no items or nodes {unknown}")
        codes = [c for c in codes if c in set(only)]
    a_all = np.stack([lin[c].a for c in codes], axis=1)        # B, V, K
    b_all = np.stack([lin[c].b for c in codes], axis=1)
    # per stratum: sum of z and sum of z^2 for every indicator (B, H, V)
    sum_z = (np.einsum("bvk,bhk->bhv", a_all, s_h)
             - np.einsum("bvk,bhk->bhv", b_all, n_hk))
    sum_z2 = (np.einsum("bvk,bhkl,bvl->bhv", a_all, ss, a_all)
              - 2.0 * np.einsum("bvk,bhkl,bvl->bhv", a_all, sm, b_all)
              + np.einsum("bvk,bhkl,bvl->bhv", b_all, mm, b_all))
    nh3 = nh[:, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(nh3 > 1, nh3 / (nh3 - 1.0) * (sum_z2 - sum_z * sum_z / nh3),
                          sum_z * sum_z)
    contributes = (mo.n > 0)[:, :, None]
    var = np.where(contributes, spread, 0.0).sum(axis=1)          # B, V

    out: dict[str, Estimates] = {}
    if labels is None:
        dom = np.arange(n_b) if batched else np.array([""])
    else:
        dom = np.asarray(labels)
        if dom.shape != (n_b,):
            raise ValueError(f"labels must have shape ({n_b},); got {dom.shape}")
    for v, code in enumerate(codes):
        lv = lin[code]
        if code in col and code not in by_code:
            count_h = n_hk[:, :, col[code]]
        else:
            if lv.cover not in cover_col:
                raise ValueError(f"moments lack the cover set of node {code!r}; compute "
                                 "them with cover_sets=tree_cover(tree)")
            count_h = mo.covered[:, :, cover_col[lv.cover]].astype(np.float64)
        n_d = count_h.sum(axis=1)
        df = (n_d - (count_h > 0).sum(axis=1)).astype(np.int64)
        out[code] = _finish(dom, lv.theta, var[:, v], sum_z2[:, :, v].sum(axis=1),
                            df, n_d.astype(np.int64), lv.missing, ci=ci, alpha=alpha,
                            min_n=min_n)
    return out


def _finish(
    domains: ArrayLike, theta: FloatArray, var: FloatArray, sum_z2: FloatArray,
    df: IntArray, n: IntArray, missing: NDArray[np.bool_], *, ci: ShareCI, alpha: float,
    min_n: int,
) -> Estimates:
    """:class:`Estimates` as :func:`scoring.estimates.score` builds them (weights 1)."""
    nf = n.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        srs_wr = sum_z2 * nf / (nf - 1.0)
        srs_wor = srs_wr * 0.0  # (W - n) / W with weights 1
        deff = var / srs_wor
        deff_wr = var / srs_wr
        n_eff = np.where(np.isfinite(deff_wr) & (deff_wr > 0), nf / deff_wr, nf)
        se = np.sqrt(var)
        cv = se / np.abs(theta)
    lo, hi, fallback = share_interval(theta, var, df.astype(np.float64), nf, method=ci,
                                      alpha=alpha, n_rows=nf)
    flags = []
    for i in range(theta.shape[0]):
        f = ["items-missing"] if missing[i] else []
        if n[i] == 0:
            f.append("no-data")
        elif fallback[i]:
            f.append(FALLBACK_FLAG)
        if n[i] < min_n:
            f.append("small-n")
        flags.append(tuple(f))
    return Estimates(domains=np.asarray(domains), estimate=theta, se=se, ci_low=lo,
                     ci_high=hi, df=df, n=n, n_eff=n_eff, deff=deff, deff_wr=deff_wr, cv=cv,
                     reportable=(n >= min_n) & np.isfinite(theta), flags=tuple(flags),
                     method=ci)
