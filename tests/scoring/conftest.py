"""Fixtures for the scoring tests: the R reference cases under ``results/``.

Every case directory holds the generated survey (``data.csv``), its margins
and element map, and ``expected*/`` with what R ``survey`` 4.1.1 computed
(see ``results/README.md`` for the exact commands).  Nothing here reads
outside ``tests/scoring/results``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from scoring import make_design
from scoring.csvio import read_table

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Case:
    """One generated survey and where R's answers for it are."""

    root: Path
    items: list[str]
    ratings: np.ndarray
    weight: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    fpc: np.ndarray
    district: np.ndarray
    columns: dict[str, np.ndarray]
    elements: dict[str, list[str]]
    margin_rows: list[dict[str, str]]

    def expected(self, name: str, folder: str = "expected") -> dict[str, np.ndarray]:
        """An R output file as columns; numbers as float with NA -> NaN."""
        with open(self.root / folder / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        out: dict[str, np.ndarray] = {}
        for key in rows[0]:
            values = [r[key] for r in rows]
            try:
                out[key] = np.array([np.nan if v == "NA" else float(v) for v in values])
            except ValueError:
                out[key] = np.array(values)
        return out

    def design(self, **kwargs: object):
        return make_design(weights=self.weight, strata=self.stratum, psu=self.psu, **kwargs)


def load_case(name: str) -> Case:
    root = RESULTS / name
    table = read_table(str(root / "data.csv"))
    items = [c for c in table.header if c.startswith("q")]
    ratings = np.column_stack([table.ratings(c) for c in items])
    columns = {c: table.labels(c) for c in ("stratum", "psu", "district", "sex", "age_group")}
    elements: dict[str, list[str]] = {}
    with open(root / "elements.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            elements.setdefault(row["element"], []).append(row["item"])
    with open(root / "margins.csv", encoding="utf-8", newline="") as fh:
        margin_rows = list(csv.DictReader(fh))
    return Case(root=root, items=items, ratings=ratings, weight=table.numbers("weight"),
                stratum=columns["stratum"], psu=columns["psu"], fpc=table.numbers("fpc"),
                district=columns["district"], columns=columns, elements=elements,
                margin_rows=margin_rows)


@pytest.fixture(scope="session")
def sample1() -> Case:
    """seed 1, 2,000 respondents, 6 strata, 51 PSUs (the shared reference)."""
    return load_case("sample-1")


@pytest.fixture(scope="session")
def sample2() -> Case:
    """seed 2, 1,500 respondents, 5 strata, the last with a single PSU."""
    return load_case("sample-2")


@pytest.fixture(scope="session")
def sample3() -> Case:
    """seed 3, 1,200 respondents, 4 strata, with a finite-population correction."""
    return load_case("sample-3")
