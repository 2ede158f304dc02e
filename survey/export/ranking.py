"""Rank intervals from the joint sampling distribution of the centres' indices.

Notes
-----
Centre indices are estimated in disjoint strata (strata are centres, or
centre × period), so their sampling errors are independent and the joint
distribution is the product of the margins. Each margin is approximated as
normal on the logit scale, :math:`\\operatorname{logit}\\hat p_c \\sim
N(\\operatorname{logit} p_c, (\\mathrm{se}_c / (\\hat p_c(1-\\hat p_c)))^2)`
(the delta method; it keeps draws inside 0..1, as the xlogit interval does).
``draws`` joint draws are taken with ``numpy.random.default_rng(seed)``, the
centres are ranked in each draw (1 = most satisfied), and the rank interval
is the ``alpha/2`` and ``1 - alpha/2`` quantiles of each centre's ranks
(Goldstein & Spiegelhalter 1996). Two centres whose rank intervals overlap
are statistically tied. Raking to province-wide margins induces a small
covariance between centres that this ignores.

References
----------
Goldstein, H. and Spiegelhalter, D. J. (1996). League tables and their
limitations. *JRSS A* 159, 385–443.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Shares are clipped away from 0 and 1 before the logit.
CLIP = 1e-4


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranks:
    rank: NDArray[np.int64]
    low: NDArray[np.int64]
    high: NDArray[np.int64]
    #: tied[i, j]: the rank intervals of i and j overlap (i != j).
    tied: NDArray[np.bool_]


def rank_intervals(estimate: NDArray[np.float64], se: NDArray[np.float64], *,
                   draws: int, seed: int, alpha: float) -> Ranks:
    """Point ranks (competition ranking, 1 = best) and simulated rank intervals."""
    c = estimate.shape[0]
    if c == 0:
        empty = np.empty(0, dtype=np.int64)
        return Ranks(rank=empty, low=empty, high=empty, tied=np.zeros((0, 0), dtype=bool))
    p = np.clip(estimate, CLIP, 1 - CLIP)
    centre = np.log(p / (1 - p))
    spread = np.nan_to_num(se) / (p * (1 - p))
    rng = np.random.default_rng(seed)
    sims = centre + rng.standard_normal((draws, c)) * spread
    order = np.argsort(-sims, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, c + 1)[None, :].repeat(draws, axis=0), axis=1)
    low = np.quantile(ranks, alpha / 2, axis=0, method="lower").astype(np.int64)
    high = np.quantile(ranks, 1 - alpha / 2, axis=0, method="higher").astype(np.int64)
    point = 1 + (estimate[None, :] > estimate[:, None]).sum(axis=1)
    tied = (low[:, None] <= high[None, :]) & (low[None, :] <= high[:, None])
    np.fill_diagonal(tied, False)
    return Ranks(rank=point.astype(np.int64), low=low, high=high, tied=tied)
