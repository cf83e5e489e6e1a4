"""The hard time budget at the edges (issue 18): ``accelml fit`` from the command line, imports included, on awkward
but legitimate table shapes at several limits; wall/limit against the promise (1.05 x the limit + 5 s), trials
finished, one-row and 1,000-row prediction of the saved model, and peak memory. Run it alone.

    .venv/bin/python bench/budget_edges.py                           # every shape at 10, 30 and 60 s (about 25 min)
    .venv/bin/python bench/budget_edges.py --shapes wide5000 --limits 10,30

Shapes (seeded synthetic tables, written once to ``bench/.cache/edges/`` as CSV):

* ``wide5000``: 120 rows x 5,000 numeric columns, binary;
* ``wide2000``: 200 rows x 2,000 numeric columns, regression;
* ``classes50``: 20,000 rows, 50 classes, 10 numeric columns;
* ``rows1m``: 1,000,000 rows x 8 numeric columns, binary;
* ``levels100k``: 200,000 rows with a categorical of 100,000 levels and 5 numeric columns, regression.

Printed and saved to ``bench/results/budget_edges_<stamp>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_report import plain_table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache" / "edges"
RESULTS = BENCH / "results"
ACCELML = ROOT / ".venv" / "bin" / "accelml"
PYTHON = ROOT / ".venv" / "bin" / "python"


def make(shape: str) -> tuple[Path, str]:
    """The shape's CSV (written once) and its target column."""
    path = CACHE / f"{shape}.csv"
    if path.exists():
        return path, "y"
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if shape.startswith("wide"):
        n, p = (120, 5000) if shape == "wide5000" else (200, 2000)
        X = rng.normal(size=(n, p)).astype(np.float32)
        signal = X[:, :5].sum(axis=1)
        y = (signal > 0).astype(int) if shape == "wide5000" else signal + rng.normal(0, 0.5, n)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(p)]).assign(y=y)
    elif shape == "classes50":
        X = rng.normal(size=(20_000, 10))
        centers = rng.normal(size=(50, 10)) * 2
        y = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(y=[f"c{v}" for v in y])
    elif shape == "rows1m":
        X = rng.normal(size=(1_000_000, 8)).astype(np.float32)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(y=(X[:, 0] + X[:, 1] > 0).astype(int))
    elif shape == "levels100k":
        n = 200_000
        level = rng.integers(0, 100_000, n)
        effect = rng.normal(size=100_000)
        X = rng.normal(size=(n, 5))
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(
            level=[f"L{v}" for v in level], y=effect[level] + X[:, 0] + rng.normal(0, 0.3, n))
    else:
        raise SystemExit(f"unknown shape {shape!r}")
    frame.to_csv(path, index=False)
    return path, "y"


def run(shape: str, limit: float) -> dict[str, Any]:
    data, target = make(shape)
    out = Path(tempfile.mkdtemp(prefix="edges_")) / "model"
    cmd = ["/usr/bin/time", "-f", "MAXRSS %M", str(ACCELML), "fit", str(data), "--target", target,
           "--time-limit", f"{limit:g}", "--out", str(out)]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, check=False,
                          timeout=limit * 3 + 120)
    wall = time.monotonic() - started
    rss = next((int(line.split()[1]) / 2**20 for line in proc.stderr.splitlines() if line.startswith("MAXRSS")), None)
    row: dict[str, Any] = {"shape": shape, "limit_s": limit, "wall_s": wall, "wall_over_limit": wall / limit,
                           "within_promise": wall <= 1.05 * limit + 5, "exit": proc.returncode, "peak_gb": rss}
    if proc.returncode != 0:
        row["error"] = (proc.stderr.strip().splitlines() or [""])[-2 if rss is not None else -1][:200]
        return row
    manifest = json.loads((out / "manifest.json").read_text())
    row["trials"] = sum(1 for t in manifest["trials"] if t.get("status") == "ok")
    row.update(_predict_times(out, data, target))
    return row


def _predict_times(model: Path, data: Path, target: str) -> dict[str, float]:
    """One-row (median of 20) and 1,000-row prediction of the saved model, in a fresh process, load excluded (the
    rows sliced beforehand, so that only the prediction is timed; a table of fewer rows is cycled to 1,000)."""
    code = f"""
import time, json, numpy as np, pandas as pd, accelml
m = accelml.load({str(model)!r})
rows = pd.read_csv({str(data)!r}, nrows=1000).drop(columns=[{target!r}])
batch = pd.concat([rows] * -(-1000 // len(rows)), ignore_index=True).iloc[:1000]  # 1,000 rows, cycled if fewer
singles = [rows.iloc[[i % len(rows)]] for i in range(21)]  # sliced before timing: only predict is timed
m.predict(singles[0])
one = []
for row in singles[1:]:
    t = time.perf_counter(); m.predict(row); one.append(time.perf_counter() - t)
t = time.perf_counter(); m.predict(batch); batch = time.perf_counter() - t
print("RESULT", json.dumps({{"one_row_ms": float(np.median(one)) * 1000, "rows_1000_ms": batch * 1000}}))
"""
    proc = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=False, timeout=600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    return json.loads(line[7:]) if line else {"predict_error": proc.stderr.strip()[-200:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="wide5000,wide2000,classes50,rows1m,levels100k")
    ap.add_argument("--limits", default="10,30,60")
    args = ap.parse_args()
    rows = []
    stamp = time.strftime("%Y%m%d-%H%M")
    out = RESULTS / f"budget_edges_{stamp}"
    for shape in args.shapes.split(","):
        for limit in (float(v) for v in args.limits.split(",")):
            row = run(shape, limit)
            rows.append(row)
            print(json.dumps(row, default=str), flush=True)
            text = ("# The hard budget at the edges: `accelml fit` wall time, imports included\n\n"
                    + plain_table(rows, digits=2))
            out.with_suffix(".md").write_text(text + "\n")
            out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str))
    print(text)
    print(f"\nsaved {out}.md and .json")


if __name__ == "__main__":
    sys.exit(main())
