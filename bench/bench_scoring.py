"""Benchmarks for ``scoring`` (scripts, not timed tests).

Usage::

    python bench/bench_scoring.py [--n 1000000] [--seed 1] [--csv /tmp/bench.csv] [--r]

(a) n respondents x 20 items: items, the same by 12 strata, then raking to 3
    margins with the raking variance;
(b) n respondents in 600 centres: all items, five elements and the overall
    index with CIs for every centre (conditional design) and the province;
(c) the whole ``python -m scoring.cli`` process on an n-row CSV (wall time and
    peak memory of the child process).
``--r`` also times ``r_reference.R`` (items, domains, rake sections) on the
first ``--r-n`` (default 100,000) rows of the same generated data.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import (  # noqa: E402
    conditional_design,
    domain_index,
    elements_tree,
    make_design,
    margins_from_table,
    rake,
    score,
)

ELEMENTS = {"A": ["q01", "q02", "q03", "q04"], "B": ["q05", "q06", "q07", "q08"],
            "C": ["q09", "q10", "q11", "q12", "q13", "q14"], "D": ["q15", "q16", "q17", "q18"],
            "E": ["q19", "q20"]}
ITEMS = [f"q{j:02d}" for j in range(1, 21)]


def generate(n: int, seed: int, n_centres: int = 600, n_strata: int = 12) -> dict[str, np.ndarray]:
    """Synthetic kiosk data: centres nested in strata, unequal weights, 5% missing."""
    rng = np.random.default_rng(seed)
    centre = np.sort(rng.integers(0, n_centres, size=n))
    stratum = centre % n_strata
    c_eff = rng.normal(0.0, 0.3, n_centres)[centre]
    sex = rng.integers(0, 2, size=n)
    age = rng.choice(3, size=n, p=[0.3, 0.45, 0.25])
    latent = 1.2 + c_eff + 0.1 * sex + 0.15 * age + rng.normal(0, 0.8, n)
    cuts = np.array([-1.5, -0.8, 0.0, 1.15])
    ratings = np.empty((n, 20), order="F")
    for j in range(20):
        ratings[:, j] = 1 + np.searchsorted(cuts, latent + rng.normal(0, 0.6, n) - 0.1 * (j % 5))
    ratings[rng.random((n, 20)) < 0.05] = np.nan
    weight = rng.lognormal(np.log(50.0), 0.4, n)
    return {"centre": centre, "stratum": stratum, "sex": sex, "age": age,
            "ratings": ratings, "weight": weight}


def margins_for(d: dict[str, np.ndarray]) -> list[dict[str, str]]:
    total = float(d["weight"].sum())
    rows = []
    for var, key, shares in (("stratum", "stratum", np.full(12, 1 / 12)),
                             ("sex", "sex", np.array([0.48, 0.52])),
                             ("age_group", "age", np.array([0.38, 0.40, 0.22]))):
        del key
        for lev, sh in enumerate(shares):
            rows.append({"variable": var, "level": str(lev), "total": repr(float(total * sh))})
    return rows


def timed(label: str, fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs, with the CPU time of that run."""
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    print(f"{label}: {best:.3f} s wall, {cpu:.3f} s CPU (best of {repeat})")
    return best


def bench_a(d: dict[str, np.ndarray]) -> None:
    def run() -> None:
        design = make_design(weights=d["weight"], strata=d["stratum"], psu=d["centre"])
        score(d["ratings"], ITEMS, design=design)
        score(d["ratings"], ITEMS, design=design, domains=d["stratum"])
        cols = {"stratum": d["stratum"], "sex": d["sex"], "age_group": d["age"]}
        raked = rake(design, margins_from_table(margins_for(d), cols))
        score(d["ratings"], ITEMS, design=raked.design)
    timed("(a) items + by 12 strata + rake(3 margins) + raked estimates", run)


def bench_b(d: dict[str, np.ndarray]) -> None:
    tree = elements_tree(ELEMENTS)

    def run() -> None:
        province = make_design(weights=d["weight"], psu=d["centre"])
        score(d["ratings"], ITEMS, tree=tree, design=province)
        cond = conditional_design(d["weight"], d["centre"])
        score(d["ratings"], ITEMS, tree=tree, design=cond,
              index=domain_index(cond, d["centre"]))
    timed("(b) items + 5 elements + overall, 600 centres + province", run)


def write_csv(d: dict[str, np.ndarray], path: Path) -> None:
    n = d["weight"].shape[0]
    missing_text = "không trả lời"
    cols = [np.arange(1, n + 1).astype(str), np.char.add("C", d["centre"].astype(str)),
            np.char.add("P", d["stratum"].astype(str)),
            d["sex"].astype(str), d["age"].astype(str), d["weight"].astype(str)]
    for j in range(20):
        r = d["ratings"][:, j]
        cols.append(np.where(np.isnan(r), missing_text, np.nan_to_num(r).astype(int).astype(str)))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("respondent_id,psu,stratum,sex,age_group,weight," + ",".join(ITEMS) + "\n")
        step = 100_000
        for lo in range(0, n, step):
            block = np.stack([c[lo:lo + step] for c in cols], axis=1)
            fh.write("\n".join(",".join(row) for row in block.tolist()) + "\n")


def bench_c(path: Path, elements: Path) -> None:
    cmd = [sys.executable, "-m", "scoring.cli", str(path), "--weight", "weight", "--strata",
           "stratum", "--psu", "psu", "--elements", str(elements), "--by", "psu",
           "-o", os.devnull]
    timer = shutil.which("time", path="/usr/bin")
    t0 = time.perf_counter()
    if timer:  # GNU time reports the child's own peak RSS (not the forked parent's)
        proc = subprocess.run([timer, "-v", *cmd], check=True, cwd=ROOT, capture_output=True,
                              text=True)
        stats = dict(x.strip().rsplit(": ", 1) for x in proc.stderr.splitlines() if ": " in x)
        peak = int(stats["Maximum resident set size (kbytes)"]) / 1024
        cpu = float(stats["User time (seconds)"]) + float(stats["System time (seconds)"])
    else:
        subprocess.run(cmd, check=True, cwd=ROOT)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = usage.ru_maxrss / 1024
        cpu = usage.ru_utime + usage.ru_stime
    wall = time.perf_counter() - t0
    size = path.stat().st_size / 2**20
    print(f"(c) hailong score process on {path.name} ({size:.0f} MiB): {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU (user+sys), peak RSS {peak:.0f} MiB")


def bench_r(d: dict[str, np.ndarray], tmp: Path, n: int) -> None:
    if shutil.which("Rscript") is None:
        print("(R) Rscript not found: skipped")
        return
    small = {k: v[:n] for k, v in d.items()}
    path = tmp / "r-data.csv"
    write_csv(small, path)
    margins = tmp / "margins.csv"
    with open(margins, "w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, ["variable", "level", "total"])
        wr.writeheader()
        for row in margins_for(small):
            if row["variable"] == "stratum":
                row["level"] = "P" + row["level"]
            wr.writerow(row)
    out = tmp / "r-out"
    cmd = ["Rscript", str(ROOT / "tests/scoring/results/r_reference.R"), "--data", str(path),
           "--out", str(out), "--margins", str(margins), "--sections", "items,domains,rake",
           "--ci-methods", "xlogit"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    print(f"(R) r_reference.R items+domains+rake on {n:,} rows: "
          f"{time.perf_counter() - t0:.1f} s wall")
    for row in csv.DictReader(open(out / "timings.csv", encoding="utf-8")):
        print(f"    R section {row['section']}: {float(row['seconds']):.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--r", action="store_true", help="also time R on the first --r-n rows")
    ap.add_argument("--r-n", type=int, default=100_000, help="rows for R (default 100,000)")
    ap.add_argument("--only-r", action="store_true", help="time R only")
    a = ap.parse_args()
    d = generate(a.n, a.seed)
    print(f"n = {a.n:,}, 20 items, 600 centres, 12 strata; {os.cpu_count()} CPUs")
    if a.only_r:
        with tempfile.TemporaryDirectory() as tmpdir:
            bench_r(d, Path(tmpdir), a.r_n)
        return
    bench_a(d)
    bench_b(d)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        path = tmp / "bench.csv"
        write_csv(d, path)
        elements = tmp / "elements.csv"
        with open(elements, "w", encoding="utf-8") as fh:
            fh.write("item,element\n")
            for e, its in ELEMENTS.items():
                fh.writelines(f"{it},{e}\n" for it in its)
        bench_c(path, elements)
        if a.r:
            bench_r(d, tmp, a.r_n)


if __name__ == "__main__":
    main()
