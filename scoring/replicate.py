"""JKn (stratified delete-one-PSU jackknife) replicate-weight variances.

Notes
-----
Replicate :math:`(h, i)` drops PSU :math:`i` of stratum :math:`h` and multiplies
the other PSUs of :math:`h` by :math:`n_h/(n_h-1)`, so a domain total becomes

.. math::

    \\hat T_{(hi)} = \\hat T - T_h + \\frac{n_h}{n_h - 1}(T_h - t_{hi}),

and for a ratio :math:`\\hat\\theta_{(hi)} = \\hat Y_{(hi)} / \\hat W_{(hi)}`

.. math::

    \\hat V_{JKn} = \\sum_{h,i} (1 - f_h)\\frac{n_h - 1}{n_h}
        \\big(\\hat\\theta_{(hi)} - \\bar\\theta\\big)^2,

centred on the mean :math:`\\bar\\theta` of the replicates, as R's
``as.svrepdesign(type = "JKn")`` with ``survey.replicates.mse = FALSE``.
Lonely PSUs follow R's ``jknweights``: ``adjust`` adds one replicate that
drops the stratum and scales all others by :math:`H/(H-1)` (scale
:math:`(H-1)/H`); ``certainty`` and ``remove`` drop it; ``average`` drops it
and scales the variance by PSUs / replicates.  Replicates are computed from
(domain × PSU) totals — no replicate weight matrix is formed.  Calibrated
(raked) weights are not re-calibrated per replicate, so JKn with a calibrated
design is refused.

References
----------
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., ch. 4. Springer.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, §2.4. Wiley.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .design import Design, DomainIndex, FloatArray

if TYPE_CHECKING:
    from .estimates import IndexNode, _CellTables

MAX_CELLS = 50_000_000


class JackknifeN:
    """Replicate structure of a design for one domain variable."""

    def __init__(self, design: Design, index: DomainIndex) -> None:
        if design.calibration is not None:
            raise ValueError("JKn replicate weights with calibrated (raked) weights are not "
                             "supported; use linearisation")
        n_dom, p = index.n_domains, design.n_psus
        if n_dom * p > MAX_CELLS:
            raise ValueError(f"JKn over {n_dom} domains x {p} PSUs is too large; "
                             "use linearisation")
        self.design = design
        self.index = index
        nh = design.n_psu
        h_of_p = design.psu_stratum
        lonely = nh[h_of_p] == 1
        keep = ~lonely
        self.rep_psu = np.flatnonzero(keep)
        n_h = nh[h_of_p[keep]].astype(np.float64)
        self.rscale = design.fpc_factor[h_of_p[keep]] * (n_h - 1) / n_h
        self.lonely_strata = np.flatnonzero(nh == 1)
        self.scale = 1.0
        h_total = design.n_strata
        if self.lonely_strata.size:
            if design.lonely == "adjust":
                self.rscale = np.concatenate(
                    [self.rscale, np.full(self.lonely_strata.size, (h_total - 1) / h_total)])
            elif design.lonely == "average":
                self.scale = p / self.rep_psu.size
        self.n_rep = self.rscale.size

    def _replicate_totals(self, cell_values: FloatArray) -> FloatArray:
        """(D, R) replicate domain totals from (domain, PSU) cell totals."""
        d = self.index.n_domains
        design = self.design
        p, h = design.n_psus, design.n_strata
        t = np.zeros((d, p))
        t[self.index.cell_domain, self.index.cell_psu] = cell_values
        s = np.zeros((d, h))
        for k in range(h):
            s[:, k] = t[:, design.psu_stratum == k].sum(axis=1)
        total = s.sum(axis=1)
        hp = design.psu_stratum[self.rep_psu]
        nh = design.n_psu[hp].astype(np.float64)
        sh = s[:, hp]
        reps = total[:, None] - sh + nh / (nh - 1) * (sh - t[:, self.rep_psu])
        if self.lonely_strata.size and design.lonely == "adjust":
            factor = h / (h - 1)
            extra = (total[:, None] - s[:, self.lonely_strata]) * factor
            reps = np.concatenate([reps, extra], axis=1)
        return reps

    def _variance(self, thetas: FloatArray) -> FloatArray:
        """Variance from (D, R, K) replicate estimates."""
        ok = np.isfinite(thetas)
        use = (self.rscale > 0)[None, :, None] & ok
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(use, thetas, 0.0).sum(axis=1) / use.sum(axis=1)
        dev = np.where(ok, thetas - mean[:, None, :], 0.0)
        return self.scale * np.einsum("drk,r->dk", dev * dev, self.rscale)

    def _ratio_thetas(self, w: FloatArray, y: FloatArray, v: FloatArray) -> FloatArray:
        den = self._replicate_totals(w)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([self._replicate_totals(y) / den,
                             self._replicate_totals(v) / den], axis=-1)

    def item_variance(self, cells: FloatArray) -> tuple[FloatArray, FloatArray]:
        """JKn variance (D, 2) of an item's share and mean from its cell sums
        (columns: w, w*y, w*r), and its replicates (D, R, 2)."""
        th = self._ratio_thetas(cells[:, 0], cells[:, 1], cells[:, 2])
        return self._variance(th), th

    def node_variance(
        self, node: IndexNode, leaf: Sequence[int], coef_items: Mapping[int, FloatArray],
        coef_nodes: Mapping[str, FloatArray], item_reps: Mapping[int, FloatArray],
        node_reps: Mapping[str, FloatArray], tables: _CellTables,
    ) -> tuple[FloatArray, FloatArray]:
        """JKn variance (D, 2) of an index node and its replicates (D, R, 2)."""
        if node.rule == "pooled":
            sums = sum(tables.item(j).cells for j in leaf)
            th = self._ratio_thetas(sums[:, 0], sums[:, 1], sums[:, 2])
        else:
            th = np.zeros((self.index.n_domains, self.n_rep, 2))
            for j, c in coef_items.items():
                th += c[:, None, None] * np.nan_to_num(item_reps[j])
            for ch, c in coef_nodes.items():
                th += c[:, None, None] * np.nan_to_num(node_reps[ch])
        return self._variance(th), th
