"""Dashboard numbers from cached daily moments: sums of counts, never raw ratings.

Design (issue 4): the centre is the stratum, each respondent a PSU, weights 1
until frame counts are used for the dashboard. Every estimate is
:func:`scoring.moments.estimate_tree_from_moments` on moments summed over the
days (and centres) it covers — equal to :func:`scoring.estimates.score` on
the same respondents (tests/scoring/test_moments.py). A period is its own
design: the daily point of the chart, the headline and the 7-day line of a
day are the same estimate wherever they appear.

Finished days live in the :class:`~survey.models.DayMoments` cache (built for
all missing days of a centre at once, rebuilt when late ratings arrive or an
analyst excludes one); today is counted live. Range sums and daily arrays
are memoised per process under a fingerprint of the cached days, so any
rebuilt day invalidates them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from flask import current_app
from scipy import special
from sqlalchemy import delete, insert

from scoring.estimates import Estimate, Estimates, IndexNode
from scoring.moments import (
    Moments,
    estimate_tree_from_moments,
    moments_from_ratings,
    moments_width,
    stack,
    tree_cover,
)

from .. import registry
from ..extensions import db
from ..models import Centre, DayMoments, utcnow
from ..questionnaires import IndexNode as FormNode
from ..questionnaires import Questionnaire
from . import queries
from .queries import RatingRows

T = TypeVar("T")

# --------------------------------------------------------------------------
# index trees

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




# --------------------------------------------------------------------------
# layouts: which counts a centre's cached days hold


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns of a centre's day counts: moments of ``items`` with coverage of
    ``cover`` (its own tree's nodes and the province tree's, restricted to its
    items), then the answers 1..5 per item."""

    items: tuple[str, ...]
    cover: tuple[frozenset[str], ...]

    @property
    def moments_width(self) -> int:
        return moments_width(len(self.items), len(self.cover))

    @property
    def width(self) -> int:
        return self.moments_width + 5 * len(self.items)

    @property
    def signature(self) -> str:
        return ",".join(self.items) + "|" + ";".join("+".join(sorted(c)) for c in self.cover)

    def moments(self, counts: np.ndarray) -> Moments:
        return Moments.from_array(counts[..., :self.moments_width], items=self.items,
                                  cover_sets=self.cover)

    def levels(self, counts: np.ndarray) -> np.ndarray:
        """Answers 1..5 per item: shape ``counts.shape[:-1] + (items, 5)``."""
        return counts[..., self.moments_width:].reshape(counts.shape[:-1] + (len(self.items), 5))


def layout_of(scheme: Scheme, province: Scheme) -> Layout:
    own = frozenset(scheme.items)
    cover = dict.fromkeys(tree_cover(scheme.tree))
    for leaves in tree_cover(province.tree):
        if leaves & own:
            cover[frozenset(leaves & own)] = None
    return Layout(items=scheme.items, cover=tuple(cover))


def counts_from_rows(rows: RatingRows, layout: Layout, groups: np.ndarray,
                     n_groups: int) -> np.ndarray:
    """Counts ``(n_groups, layout.width)`` of respondents by group (day), vectorised."""
    ratings = queries.align(rows, layout.items).ratings
    moments = moments_from_ratings(ratings, items=layout.items, groups=groups,
                                   n_groups=n_groups, cover_sets=layout.cover)
    levels = np.zeros((n_groups, len(layout.items), 5), dtype=np.int64)
    np.add.at(levels, groups, ratings[:, :, None] == np.arange(1, 6, dtype=np.uint8))
    return np.concatenate([moments.to_array(), levels.reshape(n_groups, -1)], axis=1)


@dataclass(frozen=True, slots=True)
class Setting:
    """What the pages need to know about the centres shown: schemes and layouts."""

    province: Scheme
    province_layout: Layout
    schemes: dict[int, Scheme]
    layouts: dict[int, Layout]


def setting(centres: Sequence[Centre]) -> Setting:
    """Schemes and layouts of ``centres`` against the tree of every active centre."""
    province = province_scheme([q for q, _ in by_questionnaire(queries.active_centres())])
    schemes = {c.id: scheme_of(questionnaire_of(c)) for c in centres}
    return Setting(province=province,
                   province_layout=Layout(items=province.items,
                                          cover=tree_cover(province.tree)),
                   schemes=schemes,
                   layouts={cid: layout_of(s, province) for cid, s in schemes.items()})


# --------------------------------------------------------------------------
# the cache of finished days


#: A transaction may commit after one with a higher response id: ratings up to
#: this many ids below the last highest one seen are looked at again.
ID_MARGIN = 1000
_CHECKED = "hailong.dashboard.checked"


@dataclass(slots=True)
class _Checked:
    """Per app: the change signal last seen and the day ranges known to be exact."""

    signal: tuple[int, int, int] | None = None
    ranges: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)


def _forget_changed(state: _Checked, today: int) -> None:
    """Drop the ranges of centres whose finished days may have changed since the
    last look: new ratings submitted before today, or any exclusion decision."""
    signal = queries.change_signal()
    last = state.signal
    if last is None or last[1:] != signal[1:]:
        state.ranges.clear()
    elif signal[0] != last[0]:
        late = queries.centres_rated_late(last[0] - ID_MARGIN, today)
        state.ranges = {key: span for key, span in state.ranges.items() if key[0] not in late}
    state.signal = signal


def ensure_day_cache(centres: Sequence[Centre], layouts: dict[int, Layout], first_day: int,
                     end_day: int, *, exact: Sequence[int] = ()) -> None:
    """Make ``DayMoments`` hold every finished day in ``[first_day, end_day)`` exactly.

    Centres whose days may have changed since this app last compared them
    (:func:`queries.change_signal`: a new rating for a past day, an
    exclusion), whose range was not compared yet, or in ``exact`` are compared
    with one grouped query over their counted responses; only centres that
    differ are inspected day by day, and all their differing days are rebuilt
    from one read of their answers. Flushes.
    """
    end_day = min(end_day, queries.local_today())
    if end_day <= first_day or not centres:
        return
    state: _Checked = current_app.extensions.setdefault(_CHECKED, _Checked())
    _forget_changed(state, end_day)

    def known(centre_id: int) -> bool:
        lo, hi = state.ranges.get((centre_id, layouts[centre_id].signature), (0, 0))
        return lo <= first_day and end_day <= hi

    ids = [c.id for c in centres if c.id in exact or not known(c.id)]
    if not ids:
        return
    live = queries.live_fingerprints(ids, first_day, end_day)
    cached = queries.cached_fingerprints(
        ids, first_day, end_day, {cid: layouts[cid].signature for cid in ids})
    span = end_day - first_day
    for centre_id in ids:
        days, print_ = cached.get(centre_id, (0, (0, 0, 0)))
        if days != span or print_ != live.get(centre_id, (0, 0, 0)):
            _rebuild_centre_days(centre_id, layouts[centre_id], first_day, end_day)
        key = (centre_id, layouts[centre_id].signature)
        lo, hi = state.ranges.get(key, (first_day, end_day))
        state.ranges[key] = ((min(lo, first_day), max(hi, end_day))
                             if lo <= end_day and first_day <= hi else (first_day, end_day))
    db.session.flush()


def _rebuild_centre_days(centre_id: int, layout: Layout, first_day: int, end_day: int) -> None:
    ids, days = queries.response_days(centre_id, first_day, end_day)
    span = end_day - first_day
    offsets = days - first_day
    counts = np.bincount(offsets, minlength=span)
    highest = np.zeros(span, dtype=np.int64)
    np.maximum.at(highest, offsets, ids)
    id_sums = np.zeros(span, dtype=np.int64)
    np.add.at(id_sums, offsets, ids)
    cached = queries.cached_day_stats(centre_id, first_day, end_day)
    stale = [first_day + k for k in range(span)
             if cached.get(first_day + k) != (layout.signature, (
                 int(counts[k]), int(highest[k]), int(id_sums[k])))]
    if not stale:
        return
    lo, hi = min(stale), max(stale) + 1
    rows = queries.load_answers([centre_id], lo, hi, layout.items)
    table = counts_from_rows(rows, layout, rows.day - lo, hi - lo)
    # respondents whose answers are all absent are PSUs too: n from the responses
    table[:, 0] = counts[lo - first_day:hi - first_day]
    db.session.execute(delete(DayMoments).where(
        DayMoments.centre_id == centre_id,
        DayMoments.day.in_([queries.day_date(d) for d in stale])))
    now = utcnow()
    db.session.execute(insert(DayMoments), [{
        "centre_id": centre_id, "day": queries.day_date(day),
        "n": int(counts[day - first_day]), "max_response_id": int(highest[day - first_day]),
        "id_sum": int(id_sums[day - first_day]), "layout": layout.signature,
        "counts": (table[day - lo].astype(queries.COUNT_DTYPE).tobytes()
                   if counts[day - first_day] else b""),
        "built_at": now} for day in stale])


def build_day_cache(first_day: int, end_day: int) -> int:
    """Cache every active centre's finished days in the range (e.g. after a demo
    import, so the first page is not slow); returns the centres. Flushes."""
    centres = queries.active_centres()
    ensure_day_cache(centres, setting(centres).layouts, first_day, end_day)
    return len(centres)


# --------------------------------------------------------------------------
# memo of results that depend on finished days only

_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MEMO_SIZE = 2048
_DAYS: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
_DAYS_SIZE = 8  # dense daily arrays are large (two years of one centre: ~6 MB)


def memoised(key: tuple[Any, ...], compute: Callable[[], T],
             memo: OrderedDict[tuple[Any, ...], Any] = _MEMO, size: int = _MEMO_SIZE) -> T:
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    value = compute()
    memo[key] = value
    if len(memo) > size:
        memo.popitem(last=False)
    return value


def clear_memo() -> None:
    """Forget memoised sums and what the current app knows about its cache."""
    _MEMO.clear()
    _DAYS.clear()
    current_app.extensions.pop(_CHECKED, None)


def _fingerprints(centre_ids: Sequence[int], layouts: dict[int, Layout], first_day: int,
                  end_day: int) -> dict[int, tuple[Any, ...]]:
    """Per centre, a key that changes whenever a cached day of the range is rebuilt."""
    cached = queries.cached_fingerprints(
        centre_ids, first_day, end_day, {c: layouts[c].signature for c in centre_ids})
    url = current_app.config["DATABASE_URL"]
    return {c: (url, c, layouts[c].signature, first_day, end_day, cached.get(c))
            for c in centre_ids}


def running_counts(centre_id: int, layout: Layout, first_day: int, today: int) -> np.ndarray:
    """Counts of days ``[first_day, first_day + k)`` for ``k = 0 .. today + 1 - first_day``
    (:func:`running_sums` of the cached days, memoised, then today live)."""
    key = ("running", *_fingerprints([centre_id], {centre_id: layout}, first_day,
                                     today)[centre_id])
    finished = memoised(key, lambda: running_sums(queries.cached_counts(
        centre_id, first_day, today, layout.width)), _DAYS, _DAYS_SIZE)
    live = today_counts([centre_id], {centre_id: layout}, today)[centre_id]
    return np.vstack([finished, finished[-1:] + live])


def range_sums(centre_ids: Sequence[int], layouts: dict[int, Layout],
               ranges: Sequence[tuple[int, int]], today: int) -> dict[int, np.ndarray]:
    """Per centre, counts ``(len(ranges), width)`` summed over each day range
    ``[lo, hi)``; finished days from the cache (memoised), today live."""
    first = min(lo for lo, _ in ranges)
    prints = _fingerprints(centre_ids, layouts, first, today)
    live = (today_counts(centre_ids, layouts, today)
            if any(hi > today for _, hi in ranges) else {})
    out = {}
    for centre_id in centre_ids:
        layout = layouts[centre_id]

        def compute(centre_id: int = centre_id, layout: Layout = layout) -> np.ndarray:
            days = queries.cached_counts(centre_id, first, today, layout.width)
            return windows(running_sums(days), first, ranges)

        sums = memoised(("sums", tuple(ranges), *prints[centre_id]), compute).copy()
        for r, (lo, hi) in enumerate(ranges):
            if lo <= today < hi:
                sums[r] += live[centre_id]
        out[centre_id] = sums
    return out


def today_counts(centre_ids: Sequence[int], layouts: dict[int, Layout],
                 today: int) -> dict[int, np.ndarray]:
    """Each centre's counts of today, from today's answers."""
    rows = queries.load_answers(centre_ids, today, today + 1, tuple(dict.fromkeys(
        code for centre_id in centre_ids for code in layouts[centre_id].items)))
    responses = queries.live_fingerprints(centre_ids, today, today + 1)
    out = {}
    for centre_id in centre_ids:
        mine = rows.centre_id == centre_id
        part = RatingRows(rows.response_id[mine], rows.centre_id[mine], rows.day[mine],
                          rows.items, rows.ratings[mine])
        counts = counts_from_rows(part, layouts[centre_id], np.zeros(part.n, dtype=np.int64),
                                  1)[0]
        counts[0] = responses.get(centre_id, (0, 0, 0))[0]
        out[centre_id] = counts
    return out


def running_sums(daily: np.ndarray) -> np.ndarray:
    """Counts of days ``[0, k)`` for every ``k``: shape ``(days + 1, width)``."""
    return np.vstack([np.zeros((1, daily.shape[1]), dtype=np.int64), np.cumsum(daily, axis=0)])


def windows(running: np.ndarray, first_day: int,
            spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Counts summed over day ranges ``[lo, hi)`` (clipped to the days of
    ``running``, whose first day is ``first_day``): ``(len(spans), width)``."""
    days = running.shape[0] - 1
    lo = np.clip(np.array([s[0] for s in spans]) - first_day, 0, days)
    hi = np.clip(np.array([s[1] for s in spans]) - first_day, 0, days)
    return running[hi] - running[lo]


# --------------------------------------------------------------------------
# estimates from counts


def _min_n() -> int:
    return int(current_app.config["MIN_REPORTABLE_N"])


def estimate_counts(counts: np.ndarray, layout: Layout, tree: Sequence[IndexNode],
                    only: Sequence[str] | None = None) -> dict[str, Estimates]:
    """Items and nodes (all, or ``only``) for each row of ``counts`` (B, width), each
    row one centre's respondents."""
    moments = layout.moments(counts[:, None, :])
    return estimate_tree_from_moments(moments, tree, only=only, min_n=_min_n())


def province_estimate_counts(per_centre: Sequence[np.ndarray], layouts: Sequence[Layout],
                             setting_: Setting) -> Estimate:
    """The province's overall index: centres as strata, province-wide shares."""
    if not per_centre:
        return empty_estimate()
    target = setting_.province_layout
    moments = stack([layout.moments(counts).align(target.items, target.cover)
                     for counts, layout in zip(per_centre, layouts, strict=True)])
    result = estimate_tree_from_moments(moments, setting_.province.tree,
                                        only=(setting_.province.overall,), min_n=_min_n())
    return result[setting_.province.overall][0]


def empty_estimate() -> Estimate:
    nan = float("nan")
    return Estimate(estimate=nan, se=nan, ci=(nan, nan), df=0, n=0, n_eff=0.0, deff=nan,
                    deff_wr=nan, method="", cv=nan, reportable=False, flags=("no-data",))




# --------------------------------------------------------------------------
# the centre dashboard

HEADLINE_PERIODS = ("today", "yesterday", "7d", "30d")
PERIOD_CHOICES = (7, 30, 90, 365)
CHART_CHOICES = (30, 90, 365)
ROLLING_DAYS = 7


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




@dataclass(frozen=True, slots=True)
class CentreDashboard:
    headline: dict[str, Estimate]
    series: list[SeriesPoint]
    reference: Estimate
    alert: Alert
    table: list[IndicatorRow]


def centre_dashboard(centre: Centre, today: int, period: int,
                     chart_days: int) -> CentreDashboard:
    """Every number of a centre's page, from one array of running day counts."""
    config = current_app.config
    recent, baseline = config["ALERT_RECENT_DAYS"], config["ALERT_BASELINE_DAYS"]
    first = today - max(2 * period, chart_days + ROLLING_DAYS - 1, recent + baseline, 30)
    where = setting([centre])
    layout, scheme = where.layouts[centre.id], where.schemes[centre.id]
    ensure_day_cache([centre], where.layouts, first, today, exact=[centre.id])
    running = running_counts(centre.id, layout, first, today)
    spans = {"today": (today, today + 1), "yesterday": (today - 1, today),
             "7d": (today - 6, today + 1), "30d": (today - 29, today + 1)}
    head = estimate_counts(windows(running, first, list(spans.values())), layout,
                           scheme.tree, (scheme.overall,))[scheme.overall]
    return CentreDashboard(
        headline={key: head[i] for i, key in enumerate(spans)},
        series=daily_series(running, first, layout, scheme, today - chart_days, today),
        reference=province_reference(today, chart_days),
        alert=_alerts([centre], where, today)[centre.id],
        table=indicator_table(running, first, layout, questionnaire_of(centre), today, period))


def daily_series(running: np.ndarray, first: int, layout: Layout, scheme: Scheme,
                 first_day: int, end_day: int,
                 window: int = ROLLING_DAYS) -> list[SeriesPoint]:
    """Each day's overall index and that of the ``window`` days ending with it, each
    estimated from the respondents of its own days (all at once)."""
    days = range(first_day, end_day)
    spans = [(d, d + 1) for d in days] + [(d - window + 1, d + 1) for d in days]
    result = estimate_counts(windows(running, first, spans), layout, scheme.tree,
                             (scheme.overall,))[scheme.overall]
    width = len(days)
    return [SeriesPoint(day=d, n=int(result.n[k]), estimate=float(result.estimate[k]),
                        ci=(float(result.ci_low[k]), float(result.ci_high[k])),
                        reportable=bool(result.reportable[k]),
                        rolling=float(result.estimate[width + k]),
                        rolling_reportable=bool(result.reportable[width + k]))
            for k, d in enumerate(days)]


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
    # Student t CDF; scipy.special.stdtr spares the processes' start the
    # import of scipy.stats (≈ 0.3 s of each restart).
    return difference, float(special.stdtr(df, difference / se))




def alerts(centres: Sequence[Centre], today: int) -> dict[int, Alert]:
    """Per centre: are the last finished days credibly below the baseline before them?"""
    if not centres:
        return {}
    config = current_app.config
    where = setting(centres)
    first = today - config["ALERT_RECENT_DAYS"] - config["ALERT_BASELINE_DAYS"]
    ensure_day_cache(centres, where.layouts, first, today)
    return _alerts(centres, where, today)


def _alerts(centres: Sequence[Centre], where: Setting, today: int) -> dict[int, Alert]:
    config = current_app.config
    recent_days, baseline_days = config["ALERT_RECENT_DAYS"], config["ALERT_BASELINE_DAYS"]
    split = today - recent_days
    ranges = [(split, today), (split - baseline_days, split)]
    out: dict[int, Alert] = {}
    for _, group in by_questionnaire(centres):
        ids = [c.id for c in group]
        layout, scheme = where.layouts[ids[0]], where.schemes[ids[0]]
        sums = range_sums(ids, where.layouts, ranges, today)
        result = estimate_counts(np.concatenate([sums[c] for c in ids]), layout,
                                 scheme.tree, (scheme.overall,))[scheme.overall]
        for k, centre_id in enumerate(ids):
            recent, baseline = result[2 * k], result[2 * k + 1]
            difference, p = one_sided_drop(recent, baseline)
            enough = min(recent.n, baseline.n) >= config["ALERT_MIN_N"]
            out[centre_id] = Alert(flagged=bool(enough and p < config["ALERT_ALPHA"]),
                                   recent=recent, baseline=baseline, difference=difference,
                                   p_value=p, first_day=split, last_day=today - 1)
    return out


def by_questionnaire(centres: Sequence[Centre]) -> list[tuple[Questionnaire, list[Centre]]]:
    groups: dict[tuple[str, int], list[Centre]] = {}
    for centre in centres:
        groups.setdefault((centre.questionnaire_id, centre.questionnaire_version),
                          []).append(centre)
    return [(questionnaire_of(group[0]), group) for group in groups.values()]


def indicator_table(running: np.ndarray, first: int, layout: Layout,
                    questionnaire: Questionnaire, today: int, days: int) -> list[IndicatorRow]:
    """Elements (weakest first) with their items, for the last ``days`` days and the
    ``days`` before them; answer distributions of the current period."""
    scheme = scheme_of(questionnaire)
    sums = windows(running, first, [(today - days + 1, today + 1),
                                  (today - 2 * days + 1, today - days + 1)])
    result = estimate_counts(sums, layout, scheme.tree)
    levels = layout.levels(sums[0])
    respondents = int(sums[0, 0])
    names = {i.code: i.text for i in questionnaire.rating_items}

    def row(code: str, name: str, kind: str, children: tuple[IndicatorRow, ...] = ()
            ) -> IndicatorRow:
        cur, prev = result[code][0], result[code][1]
        if kind == "item":
            counts = levels[layout.items.index(code)]
            distribution = (*(int(c) for c in counts), respondents - int(counts.sum()))
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
    where = setting(centres)
    ensure_day_cache(centres, where.layouts, today - days, today)
    return province_estimate(centres, where, today - days, today, today)


def province_estimate(centres: Sequence[Centre], where: Setting, first_day: int,
                      end_day: int, today: int) -> Estimate:
    """The overall index of ``centres`` together (strata) over ``[first_day, end_day)``."""
    if not centres:
        return empty_estimate()
    ids = [c.id for c in centres]
    sums = range_sums(ids, where.layouts, [(first_day, end_day)], today)
    return province_estimate_counts([sums[c][0] for c in ids],
                                    [where.layouts[c] for c in ids], where)


# --------------------------------------------------------------------------
# the province overview


@dataclass(frozen=True, slots=True)
class CentreSummary:
    centre: Centre
    current: Estimate
    previous: Estimate
    change: float
    alert: Alert | None


def overview(centres: Sequence[Centre], today: int,
             days: int) -> tuple[list[CentreSummary], Estimate]:
    """Every centre's overall index for the last ``days`` days (today included), the
    same length before, and its alert; and the province index of the period."""
    config = current_app.config
    where = setting(centres)
    first = today - max(2 * days - 1, config["ALERT_RECENT_DAYS"] + config["ALERT_BASELINE_DAYS"])
    ensure_day_cache(centres, where.layouts, first, today)
    flags = _alerts(centres, where, today)
    current, previous = (today - days + 1, today + 1), (today - 2 * days + 1, today - days + 1)
    out = []
    per_centre: dict[int, np.ndarray] = {}
    for _, group in by_questionnaire(centres):
        ids = [c.id for c in group]
        layout, scheme = where.layouts[ids[0]], where.schemes[ids[0]]
        sums = range_sums(ids, where.layouts, [current, previous], today)
        per_centre.update({c: sums[c][0] for c in ids})
        result = estimate_counts(np.concatenate([sums[c] for c in ids]), layout,
                                 scheme.tree, (scheme.overall,))[scheme.overall]
        for k, centre in enumerate(group):
            cur, prev = result[2 * k], result[2 * k + 1]
            out.append(CentreSummary(centre=centre, current=cur, previous=prev,
                                     change=cur.estimate - prev.estimate,
                                     alert=flags.get(centre.id)))
    ids = [c.id for c in centres]
    province = (province_estimate_counts([per_centre[c] for c in ids],
                                         [where.layouts[c] for c in ids], where)
                if ids else empty_estimate())
    return out, province
