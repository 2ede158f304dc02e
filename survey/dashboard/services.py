"""Dashboard numbers: every estimate comes from :mod:`scoring` on respondent-level arrays.

Design (issue 4): the centre is the stratum, each respondent a PSU, weights 1
until frame counts are used for the dashboard. Finished days are read from the
:class:`~survey.models.DayRatings` cache (kept here, rebuilt when late ratings
arrive); results that depend on finished days only (the daily chart, alerts,
the province reference) are memoised per process under a fingerprint of the
cached data, so a new or late rating always invalidates them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from flask import current_app
from scipy import stats
from sqlalchemy import delete, insert

from scoring.design import make_design
from scoring.estimates import Estimate, IndexNode, ScoreResult, score

from .. import registry
from ..extensions import db
from ..models import Centre, DayRatings, utcnow
from ..questionnaires import IndexNode as FormNode
from ..questionnaires import Questionnaire
from . import queries
from .queries import RatingRows

T = TypeVar("T")


# --------------------------------------------------------------------------
# the cache of finished days


def ensure_day_cache(centre_ids: Sequence[int], first_day: int, end_day: int) -> None:
    """Make ``DayRatings`` hold every finished day in ``[first_day, end_day)`` exactly.

    One grouped query compares the response table with the cache per centre;
    only centres that differ (new centre, new days, late ratings) are
    inspected day by day and only the differing days rebuilt. Flushes.
    """
    end_day = min(end_day, queries.local_today())
    if end_day <= first_day or not centre_ids:
        return
    live = queries.live_fingerprints(centre_ids, first_day, end_day)
    cached = queries.cached_fingerprints(centre_ids, first_day, end_day)
    span = end_day - first_day
    for centre_id in centre_ids:
        days, n, max_id = cached.get(centre_id, (0, 0, 0))
        if days == span and (n, max_id) == live.get(centre_id, (0, 0)):
            continue
        _rebuild_centre_days(centre_id, first_day, end_day)
    db.session.flush()


def _rebuild_centre_days(centre_id: int, first_day: int, end_day: int) -> None:
    ids, days = queries.response_days(centre_id, first_day, end_day)
    cached = queries.cached_day_stats(centre_id, first_day, end_day)
    offsets = days - first_day
    counts = np.bincount(offsets, minlength=end_day - first_day)
    highest = np.zeros(end_day - first_day, dtype=np.int64)
    np.maximum.at(highest, offsets, ids)
    stale = [first_day + k for k in range(end_day - first_day)
             if cached.get(first_day + k) != (int(counts[k]), int(highest[k]))]
    if not stale:
        return
    rows = queries.load_answers([centre_id], min(stale), max(stale) + 1)
    stale_dates = [queries.day_date(d) for d in stale]
    db.session.execute(delete(DayRatings).where(DayRatings.centre_id == centre_id,
                                                DayRatings.day.in_(stale_dates)))
    now = utcnow()
    records = []
    for day in stale:
        mask = rows.day == day
        used = np.flatnonzero(rows.ratings[mask].any(axis=0)) if mask.any() else []
        block = np.ascontiguousarray(rows.ratings[mask][:, used])
        records.append({
            "centre_id": centre_id, "day": queries.day_date(day),
            "n": int(counts[day - first_day]),
            "max_response_id": int(highest[day - first_day]),
            "item_codes": ",".join(rows.items[j] for j in used),
            "ratings": _pad(block, int(counts[day - first_day])).tobytes(),
            "built_at": now})
    db.session.execute(insert(DayRatings), records)


def _pad(block: np.ndarray, n: int) -> np.ndarray:
    """Responses without any answer row still count as respondents (all missing)."""
    if block.shape[0] == n:
        return block
    return np.vstack([block, np.zeros((n - block.shape[0], block.shape[1]), dtype=np.uint8)])


def ratings(centre_ids: Sequence[int], first_day: int, end_day: int,
            items: Sequence[str]) -> RatingRows:
    """Respondents of ``[first_day, end_day)``: finished days from the cache, today live."""
    today = queries.local_today()
    parts = []
    if first_day < today:
        parts.append(queries.cached_ratings(centre_ids, first_day, min(end_day, today), items))
    if end_day > today:
        parts.append(queries.load_answers(centre_ids, max(first_day, today), end_day))
    return queries.concat(parts, items)


# --------------------------------------------------------------------------
# memo of results that depend on finished days only

_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MEMO_SIZE = 512


def memoised(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key]
    value = compute()
    _MEMO[key] = value
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return value


def fingerprint(centre_ids: Sequence[int], first_day: int, end_day: int) -> tuple[Any, ...]:
    """Identifies the cached data of a range: changes whenever a day is rebuilt."""
    cached = queries.cached_fingerprints(centre_ids, first_day, end_day)
    return (current_app.config["DATABASE_URL"], tuple(sorted(centre_ids)), first_day,
            end_day, tuple(sorted(cached.items())))


# --------------------------------------------------------------------------
# index trees and scoring


def questionnaire_of(centre: Centre) -> Questionnaire:
    questionnaire = registry().get(centre.questionnaire_id, centre.questionnaire_version)
    if questionnaire is None:
        raise LookupError(f"centre {centre.code} uses an unknown questionnaire "
                          f"{centre.questionnaire_id} v{centre.questionnaire_version}")
    return questionnaire


def scoring_tree(root: FormNode) -> tuple[IndexNode, ...]:
    """The questionnaire's index tree as :class:`scoring.estimates.IndexNode` records."""
    nodes = []
    for node in root.walk():
        members = [c.code for c in node.children] + list(node.items)
        weights = (tuple(float(node.weights[m]) for m in members)
                   if node.rule == "weighted" and node.weights else None)
        nodes.append(IndexNode(code=node.code, rule=node.rule,
                               children=tuple(c.code for c in node.children),
                               items=tuple(node.items), weights=weights, kind=node.level))
    return tuple(nodes)


@dataclass(frozen=True, slots=True)
class Scheme:
    """What to score: item columns, index tree, and the code of the overall index."""

    items: tuple[str, ...]
    tree: tuple[IndexNode, ...]
    overall: str


def scheme_of(questionnaire: Questionnaire) -> Scheme:
    return Scheme(items=tuple(i.code for i in questionnaire.rating_items),
                  tree=scoring_tree(questionnaire.index), overall=questionnaire.index.code)


PROVINCE_INDEX = "province"


def province_scheme(questionnaires: Sequence[Questionnaire]) -> Scheme:
    """One tree over every questionnaire in use: nodes merged by code.

    An element's items are the union of its items in every questionnaire (so
    with ``item-mean`` the element is the mean of all those item indices, each
    over the respondents who were asked it); the roots become one overall
    node ``province`` with the first questionnaire's rule over their children.
    """
    items: dict[str, None] = {}
    merged: dict[str, dict[str, Any]] = {}
    root_children: dict[str, None] = {}
    root_rule = questionnaires[0].index.rule if questionnaires else "item-mean"
    for q in questionnaires:
        items.update(dict.fromkeys(i.code for i in q.rating_items))
        for child in q.index.children:
            root_children[child.code] = None
        for node in q.index.walk():
            if node is q.index:
                continue
            entry = merged.setdefault(node.code, {"rule": node.rule, "kind": node.level,
                                                  "children": {}, "items": {}})
            entry["children"].update(dict.fromkeys(c.code for c in node.children))
            entry["items"].update(dict.fromkeys(node.items))
    tree = [IndexNode(code=code, rule=e["rule"] if e["rule"] != "weighted" else "item-mean",
                      children=tuple(e["children"]), items=tuple(e["items"]), kind=e["kind"])
            for code, e in merged.items()]
    tree.append(IndexNode(code=PROVINCE_INDEX, rule=root_rule if root_rule != "weighted"
                          else "item-mean", children=tuple(root_children), kind="overall"))
    return Scheme(items=tuple(items), tree=tuple(tree), overall=PROVINCE_INDEX)


def run_score(rows: RatingRows, scheme: Scheme, domains: np.ndarray | None = None, *,
              psu: np.ndarray | None = None) -> ScoreResult:
    """:func:`scoring.estimates.score` with centre strata and respondents as PSUs."""
    matrix = rows.ratings.astype(np.float64)
    matrix[matrix == 0] = np.nan
    design = make_design(rows.n, strata=rows.centre_id, psu=psu)
    return score(matrix, scheme.items, tree=scheme.tree, design=design, domains=domains,
                 min_n=current_app.config["MIN_REPORTABLE_N"])


def _min_n() -> int:
    return int(current_app.config["MIN_REPORTABLE_N"])


def empty_estimate() -> Estimate:
    nan = float("nan")
    return Estimate(estimate=nan, se=nan, ci=(nan, nan), df=0, n=0, n_eff=0.0, deff=nan,
                    deff_wr=nan, method="", cv=nan, reportable=False, flags=("no-data",))


def estimate_for(result: ScoreResult | None, code: str, domain: object) -> Estimate:
    if result is None:
        return empty_estimate()
    try:
        return result[code].share.at(domain)
    except KeyError:
        return empty_estimate()


def score_or_none(rows: RatingRows, scheme: Scheme,
                  domains: np.ndarray | None = None) -> ScoreResult | None:
    return run_score(rows, scheme, domains) if rows.n else None


# --------------------------------------------------------------------------
# the centre dashboard

HEADLINE_PERIODS = ("today", "yesterday", "7d", "30d")
PERIOD_CHOICES = (7, 30, 90, 365)
CHART_CHOICES = (30, 90, 365)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    day: int
    n: int
    estimate: float
    ci: tuple[float, float]
    reportable: bool
    rolling: float
    rolling_reportable: bool


@dataclass(frozen=True, slots=True)
class Alert:
    flagged: bool
    recent: Estimate
    baseline: Estimate
    difference: float
    p_value: float
    first_day: int
    last_day: int


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    code: str
    name: str
    kind: str
    current: Estimate
    previous: Estimate
    change: float
    distribution: tuple[int, ...]  # answers 1..5, then no answer
    children: tuple[IndicatorRow, ...] = ()


def headline(rows: RatingRows, scheme: Scheme, today: int) -> dict[str, Estimate]:
    """Overall index today, yesterday, the last 7 and the last 30 days (today included)."""
    windows = {"today": (today, today + 1), "yesterday": (today - 1, today),
               "7d": (today - 6, today + 1), "30d": (today - 29, today + 1)}
    out = {}
    for key, (lo, hi) in windows.items():
        part = subset(rows, (rows.day >= lo) & (rows.day < hi))
        out[key] = estimate_for(score_or_none(part, scheme), scheme.overall, "")
    return out


def subset(rows: RatingRows, mask: np.ndarray) -> RatingRows:
    return RatingRows(rows.response_id[mask], rows.centre_id[mask], rows.day[mask], rows.items,
                      rows.ratings[mask])


def daily_series(rows: RatingRows, scheme: Scheme, first_day: int,
                 end_day: int, window: int = 7) -> list[SeriesPoint]:
    """Daily overall index and its trailing ``window``-day index, each from :func:`score`.

    The trailing index is estimated, not averaged: every respondent is copied
    into each window that contains their day, keeping their PSU, so each
    window is a domain of one design (windows share respondents, never PSUs'
    totals within a domain).
    """
    part = subset(rows, (rows.day >= first_day - window + 1) & (rows.day < end_day))
    inside = part.day >= first_day
    daily = score_or_none(subset(part, inside), scheme, part.day[inside])
    copies = [part.day + k for k in range(window)]
    stacked_day = np.concatenate(copies)
    keep = (stacked_day >= first_day) & (stacked_day < end_day)
    stacked = RatingRows(np.tile(part.response_id, window)[keep],
                         np.tile(part.centre_id, window)[keep], stacked_day[keep], part.items,
                         np.tile(part.ratings, (window, 1))[keep])
    psu = np.tile(np.arange(part.n), window)[keep]
    rolling = (run_score(stacked, scheme, stacked.day, psu=psu) if stacked.n else None)
    points = []
    for day in range(first_day, end_day):
        e = estimate_for(daily, scheme.overall, day)
        r = estimate_for(rolling, scheme.overall, day)
        points.append(SeriesPoint(day=day, n=e.n, estimate=e.estimate, ci=e.ci,
                                  reportable=e.reportable, rolling=r.estimate,
                                  rolling_reportable=r.reportable))
    return points


def one_sided_drop(recent: Estimate, baseline: Estimate) -> tuple[float, float]:
    """Difference and one-sided p-value of "recent below baseline".

    The two periods are disjoint domains of one centre (stratum) whose
    respondents are the PSUs; their linearised values each sum to zero over
    the stratum, so the covariance of the two estimates is zero and the
    variance of the difference is the sum of the variances (Lumley 2010, §2.3).
    t on the design df (PSUs - strata).
    """
    difference = recent.estimate - baseline.estimate
    se = float(np.hypot(recent.se, baseline.se))
    if not (np.isfinite(difference) and se > 0):
        return difference, float("nan")
    df = max(recent.n + baseline.n - 1, 1)
    return difference, float(stats.t.cdf(difference / se, df))


def alerts(centres: Sequence[Centre], today: int) -> dict[int, Alert]:
    """Per centre: are the last finished days credibly below the baseline before them?"""
    config = current_app.config
    recent_days, baseline_days = config["ALERT_RECENT_DAYS"], config["ALERT_BASELINE_DAYS"]
    first = today - recent_days - baseline_days
    ids = [c.id for c in centres]
    key = ("alerts", fingerprint(ids, first, today), recent_days, baseline_days,
           config["ALERT_ALPHA"], config["ALERT_MIN_N"])
    return memoised(key, lambda: _alerts(centres, first, today, recent_days))


def _alerts(centres: Sequence[Centre], first: int, today: int,
            recent_days: int) -> dict[int, Alert]:
    config = current_app.config
    out: dict[int, Alert] = {}
    for questionnaire, group in by_questionnaire(centres):
        scheme = scheme_of(questionnaire)
        rows = queries.cached_ratings([c.id for c in group], first, today, scheme.items)
        period = np.where(rows.day >= today - recent_days, 1, 0)
        domains = rows.centre_id * 2 + period
        result = score_or_none(rows, scheme, domains)
        for centre in group:
            recent = estimate_for(result, scheme.overall, centre.id * 2 + 1)
            baseline = estimate_for(result, scheme.overall, centre.id * 2)
            difference, p = one_sided_drop(recent, baseline)
            enough = min(recent.n, baseline.n) >= config["ALERT_MIN_N"]
            out[centre.id] = Alert(flagged=bool(enough and p < config["ALERT_ALPHA"]),
                                   recent=recent, baseline=baseline, difference=difference,
                                   p_value=p, first_day=today - recent_days, last_day=today - 1)
    return out


def by_questionnaire(centres: Sequence[Centre]) -> list[tuple[Questionnaire, list[Centre]]]:
    groups: dict[tuple[str, int], list[Centre]] = {}
    for centre in centres:
        groups.setdefault((centre.questionnaire_id, centre.questionnaire_version),
                          []).append(centre)
    return [(questionnaire_of(group[0]), group) for group in groups.values()]


def indicator_table(rows: RatingRows, questionnaire: Questionnaire, today: int,
                    days: int) -> list[IndicatorRow]:
    """Elements (weakest first) with their items, for the last ``days`` days and the
    ``days`` before them; answer distributions of the current period."""
    scheme = scheme_of(questionnaire)
    current = rows.day > today - days
    part = subset(rows, rows.day > today - 2 * days)
    period = np.where(part.day > today - days, 1, 0)
    result = score_or_none(part, scheme, period)
    now = subset(rows, current)
    names = {i.code: i.text for i in questionnaire.rating_items}

    def row(code: str, name: str, kind: str, children: tuple[IndicatorRow, ...] = ()
            ) -> IndicatorRow:
        cur = estimate_for(result, code, 1)
        prev = estimate_for(result, code, 0)
        if kind == "item":
            column = now.ratings[:, scheme.items.index(code)]
            counts = np.bincount(column, minlength=6)
            distribution = (*(int(c) for c in counts[1:6]), int(counts[0]))
        else:
            distribution = ()
        return IndicatorRow(code=code, name=name, kind=kind, current=cur, previous=prev,
                            change=cur.estimate - prev.estimate, distribution=distribution,
                            children=children)

    def weakest_first(r: IndicatorRow) -> tuple[bool, float]:
        value = r.current.estimate
        return (not np.isfinite(value), value if np.isfinite(value) else 0.0)

    elements = []
    for node in questionnaire.index.walk():
        if node.level != "element":
            continue
        items = sorted((row(code, names.get(code, code), "item") for code in node.items),
                       key=weakest_first)
        elements.append(row(node.code, node.name, "element", tuple(items)))
    elements.sort(key=weakest_first)
    if questionnaire.overall is not None:
        elements.append(row(questionnaire.overall.code, questionnaire.overall.text, "item"))
    return elements


def province_reference(today: int, days: int) -> Estimate:
    """The province's overall index over the finished days of the chart window."""
    centres = queries.active_centres()
    ids = [c.id for c in centres]
    first = today - days
    ensure_day_cache(ids, first, today)
    key = ("province", fingerprint(ids, first, today))
    return memoised(key, lambda: province_estimate(centres, first, today))


def province_estimate(centres: Sequence[Centre], first_day: int, end_day: int) -> Estimate:
    if not centres:
        return empty_estimate()
    scheme = province_scheme([q for q, _ in by_questionnaire(centres)])
    rows = ratings([c.id for c in centres], first_day, end_day, scheme.items)
    return estimate_for(score_or_none(rows, scheme), scheme.overall, "")


# --------------------------------------------------------------------------
# the province overview


@dataclass(frozen=True, slots=True)
class CentreSummary:
    centre: Centre
    current: Estimate
    previous: Estimate
    change: float
    alert: Alert | None


def overview(centres: Sequence[Centre], today: int, days: int) -> list[CentreSummary]:
    """Every centre's overall index for the last ``days`` days (today included), the
    same length before, and its alert."""
    first = today - 2 * days + 1
    out = []
    flags = alerts(centres, today)
    for questionnaire, group in by_questionnaire(centres):
        scheme = scheme_of(questionnaire)
        rows = ratings([c.id for c in group], first, today + 1, scheme.items)
        period = np.where(rows.day > today - days, 1, 0)
        result = score_or_none(rows, scheme, rows.centre_id * 2 + period)
        for centre in group:
            cur = estimate_for(result, scheme.overall, centre.id * 2 + 1)
            prev = estimate_for(result, scheme.overall, centre.id * 2)
            out.append(CentreSummary(centre=centre, current=cur, previous=prev,
                                     change=cur.estimate - prev.estimate,
                                     alert=flags.get(centre.id)))
    return out
