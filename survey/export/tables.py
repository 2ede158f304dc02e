"""The report as tables: the same rows feed the workbook, CSV and JSON.

Indices are percentages (0..100) with their CI and standard error in
percentage points; PAR INDEX points = index % × maximum ÷ 100.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

from ..spreadsheets import Cell, Column, Table
from .report import EstimateRow, Report
from .vocabulary import word

PCT = "0.00"
INT = "#,##0"
DEC = "0.00"
MAX_TIED_SHOWN = 12


def _pct(x: float) -> float | None:
    return round(x * 100, 6) if x == x else None  # NaN -> empty cell


def _num(x: float) -> float | None:
    return round(x, 6) if x == x else None


def flags_text(flags: Sequence[str], lang: str) -> str:
    return "; ".join(word(f, lang) if f in _FLAG_KEYS else f for f in dict.fromkeys(flags))


_FLAG_KEYS = {"small-n", "items-missing", "questionnaire-changed", "no-data",
              "ci-clopper-pearson", "ci-srs", "not-ranked"}

_ESTIMATE_COLUMNS = ("index", "ci_low", "ci_high", "se", "n", "n_eff", "deff", "mean")


def _estimate_columns(lang: str) -> list[Column]:
    formats = {"n": INT, "n_eff": "#,##0.0", "deff": DEC, "mean": DEC}
    return [Column(header=word(k, lang), key=k, number_format=formats.get(k, PCT), width=14)
            for k in _ESTIMATE_COLUMNS]


def _estimate_cells(row: EstimateRow) -> list[Cell]:
    return [_pct(row.share), _pct(row.ci_low), _pct(row.ci_high), _pct(row.se), row.n,
            _num(row.n_eff), _num(row.deff), _num(row.mean)]


def build_tables(report: Report, lang: str, translate: Callable[[str], str]) -> list[Table]:
    """Summary, items, units, trend and method tables in ``lang``."""
    return [_summary(report, lang, translate), _items(report, lang, translate),
            _centres(report, lang), _trend(report, lang), _method(report, lang)]


def _level(kind: str, lang: str) -> str:
    return word(kind, lang) if kind in ("overall", "aspect", "element") else kind


def _summary(report: Report, lang: str, translate: Callable[[str], str]) -> Table:
    par = report.settings.par_max

    def rows() -> Iterator[list[Cell]]:
        for row in report.summary:
            name = ("  " * row.depth) + translate(row.name)
            yield [row.code, name, _level(row.kind, lang), row.version, *_estimate_cells(row),
                   _num(row.share * par) if row.kind == "overall" else None,
                   flags_text(row.flags, lang)]

    columns = [Column(header=word("code", lang), key="code", width=18),
               Column(header=word("indicator", lang), key="indicator", width=48),
               Column(header=word("level", lang), key="level", width=14),
               Column(header=word("version", lang), key="version", width=12),
               *_estimate_columns(lang),
               Column(header=word("par", lang), key="par", number_format="0.0000", width=14),
               Column(header=word("flags", lang), key="flags", width=30)]
    return Table(name=word("summary", lang), key="summary", columns=columns, rows=list(rows()),
                 notes=(word("interval_note", lang, level=_level_pct(report)),))


def _level_pct(report: Report) -> str:
    return f"{(1 - report.settings.alpha) * 100:g}"


def _items(report: Report, lang: str, translate: Callable[[str], str]) -> Table:
    elements = {n.code: n.name for n in report.questionnaire.index.walk()}
    rows = [[r.code, translate(r.name), translate(elements.get(r.kind, r.kind)),
             *_estimate_cells(r), flags_text(r.flags, lang)] for r in report.items]
    columns = [Column(header=word("code", lang), key="code", width=20),
               Column(header=word("item", lang), key="item", width=60),
               Column(header=word("element", lang), key="element", width=30),
               *_estimate_columns(lang), Column(header=word("flags", lang), key="flags", width=24)]
    return Table(name=word("items", lang), key="items", columns=columns, rows=rows)


def _centres(report: Report, lang: str) -> Table:
    def rows() -> Iterator[list[Cell]]:
        for c in report.centres:
            tied = ", ".join(c.tied_with[:MAX_TIED_SHOWN])
            if len(c.tied_with) > MAX_TIED_SHOWN:
                tied += f" … (+{len(c.tied_with) - MAX_TIED_SHOWN})"
            flags = list(c.index.flags) + ([] if c.rank is not None else ["not-ranked"])
            yield [c.code, c.name, *_estimate_cells(c.index), c.rank, c.rank_low, c.rank_high,
                   len(c.tied_with) if c.rank is not None else None, tied,
                   flags_text(flags, lang)]

    columns = [Column(header=word("code", lang), key="code", width=14),
               Column(header=word("centre", lang), key="centre", width=44),
               *_estimate_columns(lang),
               Column(header=word("rank", lang), key="rank", number_format="0", width=10),
               Column(header=word("rank_low", lang), key="rank_low", number_format="0", width=12),
               Column(header=word("rank_high", lang), key="rank_high", number_format="0",
                      width=12),
               Column(header=word("tied_count", lang), key="tied_count", number_format="0",
                      width=12),
               Column(header=word("tied", lang), key="tied", width=50),
               Column(header=word("flags", lang), key="flags", width=24)]
    return Table(name=word("centres", lang), key="centres", columns=columns, rows=list(rows()),
                 notes=(word("interval_note", lang, level=_level_pct(report)),))


def _trend(report: Report, lang: str) -> Table:
    rows = [[f"{report.settings.year}-{t.month:02d}", *_estimate_cells(t.index),
             flags_text(t.index.flags, lang)] for t in report.trend]
    columns = [Column(header=word("month", lang), key="month", width=10),
               *_estimate_columns(lang), Column(header=word("flags", lang), key="flags", width=24)]
    return Table(name=word("trend", lang), key="trend", columns=columns, rows=rows)


def method_entries(report: Report, lang: str) -> list[tuple[str, str]]:
    s, w = report.settings, report.weighting
    margins = "; ".join(f"{m.variable}={m.level}: {m.total:g}" for m in s.margins)
    raking = (f"{word('yes' if w.raking_converged else 'no', lang)} "
              f"({w.raking_iterations}), g ∈ [{w.g_range[0]:.3f}, {w.g_range[1]:.3f}]"
              if w.raked and w.g_range else word("none", lang))
    rules = ", ".join(sorted({f"{n.code}: {n.rule}"
                              for n in report.questionnaire.index.walk()}))
    period = (f"{report.first:%Y-%m-%d} – {report.last:%Y-%m-%d}"
              if report.first and report.last else "")
    excluded = ", ".join(f"{k}: {v}" for k, v in sorted(report.other_questionnaires.items()))
    return [
        (word("m_questionnaire", lang),
         f"{report.questionnaire.id} v{', v'.join(map(str, report.versions))}"),
        (word("m_period", lang), period),
        (word("m_responses", lang), f"{report.n:,}"),
        (word("m_excluded", lang), excluded or word("none", lang)),
        (word("m_strata", lang), word(s.strata, lang) if s.strata != "centre"
         else word("centre", lang)),
        (word("m_weights", lang), word(f"m_weights_{s.weighting}", lang)),
        (word("m_weight_range", lang), f"{w.weight_min:.4g} – {w.weight_max:.4g}"),
        (word("m_coverage", lang), f"{w.frame_dossiers:,} / {w.covered_dossiers:,}"),
        (word("m_margins", lang), margins or word("none", lang)),
        (word("m_trim", lang), f"{s.trim[0]:g} – {s.trim[1]:g}" if s.trim
         else word("none", lang)),
        (word("m_raking", lang), raking),
        (word("m_cluster", lang), word(s.cluster, lang)),
        (word("m_design", lang), f"{w.strata} / {w.psus} / {w.df}"),
        (word("m_variance", lang), word("m_variance_text", lang)),
        (word("m_ci", lang), f"{s.ci}, {(1 - s.alpha) * 100:g}%"),
        (word("m_index", lang), rules),
        (word("m_min_n", lang), str(s.min_n)),
        (word("m_par", lang), f"{s.par_max:g}"),
        (word("m_ranks", lang), word("m_ranks_text", lang, draws=s.rank_draws,
                                     seed=s.rank_seed)),
        (word("m_changed", lang), ", ".join(report.changed) or word("none", lang)),
        (word("m_software", lang), ", ".join(f"{k} {v}" for k, v in report.software.items())),
        (word("generated", lang), report.generated_at.isoformat(timespec="seconds")),
        (word("m_settings", lang), json.dumps(s.as_dict(), ensure_ascii=False,
                                              sort_keys=True)),
    ]


def _method(report: Report, lang: str) -> Table:
    columns = [Column(header=word("setting", lang), key="setting", width=44),
               Column(header=word("value", lang), key="value", width=90)]
    return Table(name=word("method", lang), key="method", columns=columns,
                 rows=[list(e) for e in method_entries(report, lang)])
