"""``hailong score``: satisfaction indices with design-based CIs from a CSV file.

The app wires ``hailong score`` to :func:`main`; ``python -m scoring.cli`` runs
it directly.  One output row per domain × indicator::

    domain,indicator,kind,n,share,share_se,share_ci_low,share_ci_high,
    mean,mean_se,share_deff,mean_deff,df,flag

With ``--by`` the whole-sample rows (empty ``domain``) come first, then every
domain.  Errors print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TextIO

import numpy as np

from .csvio import CsvError, read_records, read_table
from .design import LONELY_PSU_OPTIONS, domain_index, make_design
from .estimates import ScoreResult, elements_tree, score
from .intervals import SHARE_CI_METHODS
from .weights import margins_from_table, rake

COLUMNS = ("domain", "indicator", "kind", "n", "share", "share_se", "share_ci_low",
           "share_ci_high", "mean", "mean_se", "share_deff", "mean_deff", "df", "flag")
ITEM_PATTERN = re.compile(r"^q\d+$")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class UsageError(Exception):
    """A problem with the input that the user must fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hailong score", description=(
        "SIPAS-style satisfaction (share of ratings 4-5) and mean rating per item, "
        "element and overall, with design-based confidence intervals (R survey's method)."))
    p.add_argument("data", metavar="DATA.csv", help="UTF-8 CSV, one row per respondent")
    p.add_argument("--items", help="comma-separated item columns (default: every q<digits>)")
    p.add_argument("--weight", metavar="COL", help="sampling weight column (default 1)")
    p.add_argument("--strata", metavar="COL", help="stratum column")
    p.add_argument("--psu", metavar="COL", help="cluster (PSU) column, nested in strata")
    p.add_argument("--fpc", metavar="COL", help="population PSUs per stratum (or fraction)")
    p.add_argument("--elements", metavar="ITEMS.csv",
                   help="columns item,element: adds a row per element and one for ALL")
    p.add_argument("--index", choices=("item-mean", "pooled"), default="item-mean",
                   help="how elements and ALL combine items (default item-mean)")
    p.add_argument("--by", metavar="COL", help="domain column (domain estimates)")
    p.add_argument("--rake", metavar="MARGINS.csv",
                   help="columns variable,level,total: rake the weights first")
    p.add_argument("--replicates", choices=("jkn",),
                   help="replicate-weight SEs instead of linearisation")
    p.add_argument("--ci", choices=SHARE_CI_METHODS, default="xlogit",
                   help="interval for shares (default xlogit)")
    p.add_argument("--lonely", choices=LONELY_PSU_OPTIONS, default="adjust",
                   help="single-PSU strata, as R's survey.lonely.psu (default adjust)")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default stdout)")
    return p


def _cell_text(value: object) -> str:
    """Text for a CSV cell; leading = + - @ neutralised (CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _num(value: float) -> str:
    return "" if not math.isfinite(value) else repr(float(value))


def _rows(results: Sequence[tuple[str | None, ScoreResult]]) -> Iterator[dict[str, object]]:
    for by_label, res in results:
        for d in range(len(res.domains)):
            domain = "" if by_label is None else str(res.domains[d])
            for ind in res.indicators:
                s, m = ind.share, ind.mean
                flags = dict.fromkeys((*s.flags[d], *m.flags[d]))
                yield {
                    "domain": domain, "indicator": ind.code, "kind": ind.kind,
                    "n": int(s.n[d]), "share": float(s.estimate[d]), "share_se": float(s.se[d]),
                    "share_ci_low": float(s.ci_low[d]), "share_ci_high": float(s.ci_high[d]),
                    "mean": float(m.estimate[d]), "mean_se": float(m.se[d]),
                    "share_deff": float(s.deff[d]), "mean_deff": float(m.deff[d]),
                    "df": int(s.df[d]), "flag": ";".join(flags),
                }


def _text(value: object) -> str:
    """A text cell: neutralised, quoted if it holds a comma, quote or newline."""
    t = _cell_text(value)
    return '"' + t.replace('"', '""') + '"' if any(ch in t for ch in ',"\n') else t


def _nums(values: np.ndarray) -> list[str]:
    return [repr(v) if math.isfinite(v) else "" for v in values.astype(np.float64).tolist()]


def _csv_lines(results: Sequence[tuple[str | None, ScoreResult]]) -> Iterator[str]:
    """The CSV rows of :func:`_rows`, built column by column (no dict per row)."""
    for by_label, res in results:
        n_dom = len(res.domains)
        domains = ([""] * n_dom if by_label is None
                   else [_text(str(d)) for d in res.domains])
        per_ind = []
        for ind in res.indicators:
            s, m = ind.share, ind.mean
            head = f"{_text(ind.code)},{_text(ind.kind)},"
            cols = [[str(v) for v in s.n.tolist()], _nums(s.estimate), _nums(s.se),
                    _nums(s.ci_low), _nums(s.ci_high), _nums(m.estimate), _nums(m.se),
                    _nums(s.deff), _nums(m.deff), [str(v) for v in s.df.tolist()],
                    [_text(";".join(dict.fromkeys((*fs, *fm))))
                     for fs, fm in zip(s.flags, m.flags, strict=True)]]
            per_ind.append([head + ",".join(cells) for cells in zip(*cols, strict=True)])
        for d in range(n_dom):
            for lines in per_ind:
                yield f"{domains[d]},{lines[d]}\n"


def _write(results: Sequence[tuple[str | None, ScoreResult]], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                  for k, v in r.items()} for r in _rows(results)]
        json.dump({"columns": list(COLUMNS), "rows": clean}, out, ensure_ascii=False)
        out.write("\n")
        return
    out.write(",".join(COLUMNS) + "\n")
    out.writelines(_csv_lines(results))


def run(args: argparse.Namespace) -> list[tuple[str | None, ScoreResult]]:
    """Read, weight and score as the parsed arguments say."""
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1; got {args.alpha}")
    table = read_table(args.data)
    if args.items:
        items = [c.strip() for c in args.items.split(",") if c.strip()]
    else:
        items = [c for c in table.header if ITEM_PATTERN.match(c)]
        if not items:
            raise UsageError(f"{args.data}: no item columns named q<digits>; use --items")
    ratings = table.rating_matrix(items)  # int8 codes, 0 = missing
    if table.n_rows == 0:
        raise UsageError(f"{args.data}: no data rows")
    no_valid = [c for j, c in enumerate(items) if not ratings[:, j].any()]
    if no_valid:
        raise UsageError(f"{args.data}: item {no_valid[0]!r} has no valid rating (1..5)")
    weights = table.numbers(args.weight) if args.weight else None
    if weights is not None:
        bad = ~(np.isfinite(weights) & (weights > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UsageError(f"{args.data}, line {i + 2}: weight {weights[i]!r} in column "
                             f"{args.weight!r} is not > 0")
    strata = table.codes(args.strata)[0] if args.strata else None
    psu = table.codes(args.psu)[0] if args.psu else None
    fpc = table.numbers(args.fpc) if args.fpc else None
    design = make_design(table.n_rows, weights=weights, strata=strata, psu=psu, fpc=fpc,
                         lonely=args.lonely)
    if args.rake:
        recs = read_records(args.rake, ("variable", "level", "total"))
        variables = sorted({r["variable"] for r in recs})
        columns = {v: table.labels(v) for v in variables}
        design = rake(design, margins_from_table(recs, columns), epsilon=1e-10,
                      maxit=100).design
    tree = ()
    if args.elements:
        recs = read_records(args.elements, ("item", "element"))
        groups: dict[str, list[str]] = {}
        for k, r in enumerate(recs, start=2):
            if r["item"] not in items:
                raise UsageError(f"{args.elements}, line {k}: item {r['item']!r} is not "
                                 "among the scored items")
            groups.setdefault(r["element"], []).append(r["item"])
        nodes = list(elements_tree(groups, args.index))
        nodes[-1] = type(nodes[-1])(code="ALL", rule=args.index, items=tuple(items),
                                    kind="overall")
        tree = tuple(nodes)
    variance = "jkn" if args.replicates == "jkn" else "linearization"
    common = dict(tree=tree, design=design, ci=args.ci, alpha=args.alpha, variance=variance)
    results: list[tuple[str | None, ScoreResult]] = [(None, score(ratings, items, **common))]
    if args.by:
        dom_codes, dom_labels = table.codes(args.by)
        index = domain_index(design, dom_codes)
        index = replace(index, labels=dom_labels[index.labels])
        results.append((args.by, score(ratings, items, index=index, **common)))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hailong score``; returns the exit status (0, or 2 on bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        results = run(args)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as fh:
                _write(results, args.format, fh)
        else:
            _write(results, args.format, sys.stdout)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (UsageError, CsvError, ValueError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"hailong score: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
