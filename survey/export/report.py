"""The yearly report: weights, every estimate (from ``scoring``), ranks, trend.

All statistics come from :mod:`scoring`; this module only arranges data and
settings for it (strata, PSUs, margins, the index tree) and collects the
results into plain rows that the writers turn into sheets, files and pages.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version as package_version
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from scoring.design import Design, make_design
from scoring.estimates import Estimates, ScoreResult, score
from scoring.estimates import IndexNode as ScoreNode
from scoring.weights import Margin, design_weights, rake

from ..questionnaires import IndexNode, Questionnaire
from .queries import YearData
from .ranking import rank_intervals
from .settings import ExportSettings

#: Stratum code = centre × 16 + period (0 = whole year, 1..4 quarter, 1..12 month).
_PERIODS = 16


class ExportError(ValueError):
    """The export cannot be made with these data and settings; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EstimateRow:
    """One indicator in one domain; shares are 0..1."""

    code: str
    name: str
    kind: str
    depth: int
    share: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    n_eff: float
    deff: float
    mean: float
    reportable: bool
    flags: tuple[str, ...]
    version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CentreRow:
    code: str
    name: str
    index: EstimateRow
    rank: int | None
    rank_low: int | None
    rank_high: int | None
    tied_with: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendRow:
    month: int
    index: EstimateRow


@dataclass(frozen=True, slots=True, kw_only=True)
class Weighting:
    strata: int
    psus: int
    df: int
    weight_min: float
    weight_max: float
    frame_dossiers: int
    covered_dossiers: int
    raked: bool
    raking_converged: bool | None
    raking_iterations: int | None
    g_range: tuple[float, float] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    settings: ExportSettings
    questionnaire: Questionnaire
    versions: tuple[int, ...]
    #: Index codes whose items differ between the year's versions.
    changed: tuple[str, ...]
    summary: tuple[EstimateRow, ...]
    items: tuple[EstimateRow, ...]
    centres: tuple[CentreRow, ...]
    trend: tuple[TrendRow, ...]
    weighting: Weighting
    n: int
    first: datetime | None
    last: datetime | None
    other_questionnaires: dict[str, int]
    generated_at: datetime
    software: dict[str, str] = field(default_factory=dict)

    @property
    def overall(self) -> EstimateRow:
        return self.summary[0]

    @property
    def par_points(self) -> float:
        """PAR INDEX points: index % × maximum ÷ 100 (DOMAIN.md)."""
        return self.overall.share * 100 * self.settings.par_max / 100


def score_tree(questionnaire: Questionnaire) -> tuple[ScoreNode, ...]:
    """The questionnaire's index tree as :mod:`scoring` nodes (members: children, then items)."""
    nodes = []
    for node in questionnaire.index.walk():
        children = tuple(c.code for c in node.children)
        weights = None
        if node.rule == "weighted" and node.weights is not None:
            weights = tuple(float(node.weights.get(m, 0.0)) for m in (*children, *node.items))
        nodes.append(ScoreNode(code=node.code, rule=node.rule, children=children,
                               items=node.items, weights=weights, kind=node.level))
    return tuple(nodes)


def _depths(root: IndexNode) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}

    def visit(node: IndexNode, depth: int) -> None:
        out[node.code] = (depth, node.name)
        for child in node.children:
            visit(child, depth + 1)

    visit(root, 0)
    return out


def changed_indices(versions: list[Questionnaire]) -> tuple[str, ...]:
    """Codes of index nodes whose item sets are not the same in every version."""
    if len(versions) < 2:
        return ()
    sets: dict[str, set[frozenset[str]]] = {}
    for q in versions:
        present = {node.code: frozenset(node.all_items()) for node in q.index.walk()}
        for code in {n.code for v in versions for n in v.index.walk()}:
            sets.setdefault(code, set()).add(present.get(code, frozenset()))
    return tuple(code for node in versions[-1].index.walk()
                 if len(sets[code := node.code]) > 1)


def _strata(data: YearData, settings: ExportSettings) -> NDArray[np.int64]:
    if settings.strata == "centre-month":
        period = data.month
    elif settings.strata == "centre-quarter":
        period = (data.month - 1) // 3 + 1
    else:
        period = np.zeros_like(data.month)
    return data.centre * _PERIODS + period


def _stratum_label(code: int, data: YearData) -> str:
    centre, period = divmod(int(code), _PERIODS)
    return data.centre_codes[centre] + (f"/{period}" if period else "")


def build_design(data: YearData, settings: ExportSettings,
                 frame: dict[tuple[str, int], int]) -> tuple[Design, Weighting]:
    """Design weights from frame counts, clusters, and optional raking."""
    strata = _strata(data, settings)
    frame_total = sum(frame.values())
    present, counts = np.unique(strata, return_counts=True)
    if settings.weighting == "frame":
        totals: dict[str, float] = {}
        for code in present:
            centre, period = divmod(int(code), _PERIODS)
            months = ([period] if settings.strata == "centre-month"
                      else range(3 * period - 2, 3 * period + 1)
                      if settings.strata == "centre-quarter" else range(1, 13))
            totals[str(code)] = float(sum(frame.get((data.centre_codes[centre], m), 0)
                                          for m in months))
        missing = [_stratum_label(int(c), data) for c in present if totals[str(c)] <= 0]
        if missing:
            shown = ", ".join(missing[:10]) + (f" (+{len(missing) - 10})"
                                               if len(missing) > 10 else "")
            raise ExportError(f"no frame count (dossiers) for {len(missing)} weighting "
                              f"stratum/strata with ratings: {shown}. Import the frame counts "
                              "or export with weighting 'none'.")
        weights = design_weights(strata, totals)
        covered = int(sum(totals.values()))
    else:
        weights = np.ones(data.n)
        covered = frame_total
    psu = data.centre * 1_000_000 + data.day if settings.cluster == "centre-day" else None
    design = make_design(weights=weights, strata=strata, psu=psu)
    raked = None
    if settings.margins:
        margins = []
        wsum = float(weights.sum())
        for variable in dict.fromkeys(m.variable for m in settings.margins):
            values = getattr(data, variable)
            given = {m.level: m.total for m in settings.margins if m.variable == variable}
            unknown = float(weights[values == "unknown"].sum())
            if "unknown" not in given and unknown > 0:
                given["unknown"] = 0.0
                scale = (wsum - unknown) / sum(given.values())
                given = {k: v * scale for k, v in given.items()}
                given["unknown"] = unknown
            else:
                scale = wsum / sum(given.values())
                given = {k: v * scale for k, v in given.items()}
            margins.append(Margin(variable=variable, values=values, totals=given))
        try:
            raked = rake(design, margins, bounds=settings.trim, must_converge=False)
        except ValueError as exc:
            raise ExportError(f"raking failed: {exc}") from exc
        design = raked.design
    return design, Weighting(
        strata=design.n_strata, psus=design.n_psus, df=design.df,
        weight_min=float(design.weights.min()) if data.n else 0.0,
        weight_max=float(design.weights.max()) if data.n else 0.0,
        frame_dossiers=int(frame_total), covered_dossiers=covered, raked=raked is not None,
        raking_converged=raked.converged if raked else None,
        raking_iterations=raked.iterations if raked else None,
        g_range=raked.g_range if raked else None)


def _row(est: Estimates, mean: Estimates, i: int, *, code: str, name: str, kind: str,
         depth: int, version: int | None = None, flags: tuple[str, ...] = ()) -> EstimateRow:
    return EstimateRow(
        code=code, name=name, kind=kind, depth=depth, share=float(est.estimate[i]),
        se=float(est.se[i]), ci_low=float(est.ci_low[i]), ci_high=float(est.ci_high[i]),
        n=int(est.n[i]), n_eff=float(est.n_eff[i]), deff=_deff(est, i),
        mean=float(mean.estimate[i]), reportable=bool(est.reportable[i]),
        flags=tuple(est.flags[i]) + flags, version=version)


def _deff(est: Estimates, i: int) -> float:
    """Kish design effect (R ``deff=TRUE``); with-replacement one when that is undefined.

    With unit weights the population size equals n, so the without-replacement
    SRS variance is 0 and only the with-replacement comparison is meaningful.
    """
    deff = float(est.deff[i])
    return deff if np.isfinite(deff) else float(est.deff_wr[i])


def build_report(data: YearData, questionnaires: list[Questionnaire], settings: ExportSettings,
                 frame: dict[tuple[str, int], int], zone: ZoneInfo) -> Report:
    """Every table of the yearly export, computed with :func:`scoring.estimates.score`."""
    if data.n == 0:
        raise ExportError(f"no ratings for questionnaire {data.questionnaire_id!r} "
                          f"in {settings.year}")
    latest = questionnaires[-1]
    design, weighting = build_design(data, settings, frame)
    tree = score_tree(latest)
    options = {"design": design, "ci": settings.ci, "alpha": settings.alpha,
               "min_n": settings.min_n}
    province = score(data.ratings, data.items, tree=tree, **options)
    by_centre = score(data.ratings, data.items, tree=tree, domains=data.centre, **options)
    by_month = score(data.ratings, data.items, tree=tree, domains=data.month, **options)
    changed = changed_indices(questionnaires)
    root = latest.index.code
    depth = _depths(latest.index)
    change_flag = ("questionnaire-changed",)

    summary: list[EstimateRow] = []
    for node in latest.index.walk():
        ind = province[node.code]
        flags = change_flag if node.code in changed else ()
        summary.append(_row(ind.share, ind.mean, 0, code=node.code, name=node.name,
                            kind=node.level, depth=depth[node.code][0], flags=flags))
    if changed:
        summary.extend(_per_version(data, questionnaires, changed, options))

    names = {item.code: item.text for q in questionnaires for item in q.rating_items}
    element_of = {item.code: item.element or "" for q in questionnaires
                  for item in q.rating_items}
    items = [_row(province[code].share, province[code].mean, 0, code=code, name=names[code],
                  kind=element_of[code], depth=0) for code in data.items]

    centres = _centre_rows(data, by_centre, root, settings)
    trend = [TrendRow(month=int(m), index=_row(by_month[root].share, by_month[root].mean, i,
                                               code=root, name="", kind="overall", depth=0))
             for i, m in enumerate(by_month.domains)]
    return Report(
        settings=settings, questionnaire=latest,
        versions=tuple(q.version for q in questionnaires), changed=changed,
        summary=tuple(summary), items=tuple(items), centres=tuple(centres), trend=tuple(trend),
        weighting=weighting, n=data.n, first=data.first, last=data.last,
        other_questionnaires=data.other_questionnaires, generated_at=datetime.now(zone),
        software={"hailong": package_version("hailong"), "numpy": np.__version__,
                  "python": platform.python_version()})


def _per_version(data: YearData, questionnaires: list[Questionnaire], changed: tuple[str, ...],
                 options: dict[str, object]) -> list[EstimateRow]:
    """Changed indices computed with each version's own tree, as domains of the design."""
    rows = []
    for q in questionnaires:
        tree = score_tree(q)
        codes = {node.code for node in q.index.walk()}
        result: ScoreResult = score(data.ratings, data.items, tree=tree, domains=data.version,
                                    **options)  # type: ignore[arg-type]
        hits = np.flatnonzero(result.domains == q.version)
        if hits.size == 0:
            continue
        i = int(hits[0])
        depth = _depths(q.index)
        for code in changed:
            if code in codes:
                ind = result[code]
                rows.append(_row(ind.share, ind.mean, i, code=code, name=depth[code][1],
                                 kind=next(n.level for n in q.index.walk() if n.code == code),
                                 depth=depth[code][0], version=q.version,
                                 flags=("questionnaire-changed",)))
    return rows


def _centre_rows(data: YearData, result: ScoreResult, root: str,
                 settings: ExportSettings) -> list[CentreRow]:
    share, mean = result[root].share, result[root].mean
    ranked = np.flatnonzero(share.reportable)
    ranks = rank_intervals(share.estimate[ranked], share.se[ranked], draws=settings.rank_draws,
                           seed=settings.rank_seed, alpha=settings.alpha)
    position = {int(d): k for k, d in enumerate(ranked)}
    rows = []
    for i, label in enumerate(result.domains):
        c = int(label)
        k = position.get(i)
        tied = (tuple(data.centre_codes[int(result.domains[ranked[j]])]
                      for j in np.flatnonzero(ranks.tied[k])) if k is not None else ())
        rows.append(CentreRow(
            code=data.centre_codes[c], name=data.centre_names[c],
            index=_row(share, mean, i, code=data.centre_codes[c], name=data.centre_names[c],
                       kind="centre", depth=0),
            rank=int(ranks.rank[k]) if k is not None else None,
            rank_low=int(ranks.low[k]) if k is not None else None,
            rank_high=int(ranks.high[k]) if k is not None else None,
            tied_with=tied))
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.code))
    return rows
