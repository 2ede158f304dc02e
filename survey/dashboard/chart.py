"""Server-rendered SVG geometry for the daily chart (no script, no inline style)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .services import SeriesPoint

WIDTH, HEIGHT = 800, 300
LEFT, RIGHT, TOP = 44, 12, 12
PLOT_BOTTOM = 200  # index panel: TOP..PLOT_BOTTOM; counts panel below
COUNT_TOP, COUNT_BOTTOM = 222, 270


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class ChartGeometry:
    width: int
    height: int
    bands: tuple[str, ...]
    rolling: tuple[str, ...]
    dots: tuple[Dot, ...]
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    reference_y: float | None
    max_count: int
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    counts: tuple[int, int]


def _segments(flags: Sequence[bool]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, ok in enumerate([*flags, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            out.append((start, i))
            start = None
    return out


def geometry(points: Sequence[SeriesPoint], reference: float | None,
             day_label: Callable[[int], str]) -> ChartGeometry:
    """Coordinates of every mark; ``day_label(day)`` formats an x tick."""
    n = max(len(points), 1)
    step = (WIDTH - LEFT - RIGHT) / n
    lows = [p.ci[0] for p in points if p.reportable] + (
        [reference] if reference is not None and math.isfinite(reference) else [])
    lows += [p.rolling for p in points if p.rolling_reportable]
    floor = min(lows, default=0.5)
    y_min = max(0.0, math.floor(floor * 10) / 10 - 0.1) if lows else 0.0
    y_min = min(y_min, 0.6)

    def y(value: float) -> float:
        return PLOT_BOTTOM - (value - y_min) / (1.0 - y_min) * (PLOT_BOTTOM - TOP)

    def x(i: int) -> float:
        return LEFT + step * (i + 0.5)

    bands = []
    for a, b in _segments([p.reportable for p in points]):
        upper = [f"{x(i):.1f},{y(points[i].ci[1]):.1f}" for i in range(a, b)]
        lower = [f"{x(i):.1f},{y(points[i].ci[0]):.1f}" for i in reversed(range(a, b))]
        if b - a == 1:  # a lone day: a narrow vertical band
            upper = [f"{x(a) - step / 3:.1f},{y(points[a].ci[1]):.1f}",
                     f"{x(a) + step / 3:.1f},{y(points[a].ci[1]):.1f}"]
            lower = [f"{x(a) + step / 3:.1f},{y(points[a].ci[0]):.1f}",
                     f"{x(a) - step / 3:.1f},{y(points[a].ci[0]):.1f}"]
        bands.append(" ".join(upper + lower))
    rolling = []
    for a, b in _segments([p.rolling_reportable for p in points]):
        rolling.append("M" + " L".join(f"{x(i):.1f},{y(points[i].rolling):.1f}"
                                       for i in range(a, b)))
    dots = tuple(Dot(x(i), y(p.estimate)) for i, p in enumerate(points) if p.reportable)
    max_count = max((p.n for p in points), default=0)
    bars = tuple(
        Bar(x(i) - step * 0.4, COUNT_BOTTOM - (p.n / max_count) * (COUNT_BOTTOM - COUNT_TOP),
            step * 0.8, (p.n / max_count) * (COUNT_BOTTOM - COUNT_TOP))
        for i, p in enumerate(points) if max_count and p.n)
    y_ticks = tuple(Tick(y(v / 100), f"{v:d}") for v in range(int(round(y_min * 100)), 101, 10))
    every = max(1, math.ceil(n / 6))
    x_ticks = tuple(Tick(x(i), day_label(points[i].day)) for i in range(0, len(points), every))
    ref = y(reference) if reference is not None and math.isfinite(reference) else None
    return ChartGeometry(width=WIDTH, height=HEIGHT, bands=tuple(bands), rolling=tuple(rolling),
                         dots=dots, bars=bars, y_ticks=y_ticks, x_ticks=x_ticks, reference_y=ref,
                         max_count=max_count, plot=(LEFT, TOP, WIDTH - RIGHT, PLOT_BOTTOM),
                         counts=(COUNT_TOP, COUNT_BOTTOM))
