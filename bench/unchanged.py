"""Check that a refactor leaves the search unchanged: the same trials in the same order with the same scores.

Fits accelml with ``max_trials`` and no time limit, one worker and one thread (so the run depends only on the data, the
seed and the settings, never on the clock) on four development datasets: binary, multiclass, regression and one with
datetimes. ``record`` writes every trial (id, name, status, validation score) and the ensemble's score to JSON;
``compare`` reads two such files, prints a before/after table and writes it to ``bench/results/``.

Usage:
    python bench/unchanged.py record --out /tmp/before.json          # at the old revision (PYTHONPATH=that checkout)
    python bench/unchanged.py record --out /tmp/after.json
    python bench/unchanged.py compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from run_bench import DATASETS_DIR, ROOT, load_split

DATASETS = ("credit_approval", "segment", "sklearn_diabetes", "nyc_taxis")  # binary, multiclass, regression, dates
# The families of the revision the comparison started from: a family registered since (torch_mlp) would add trials
FAMILIES = ("lgbm", "linear", "xgb", "catboost", "extra_trees", "knn", "mlp", "rf")
TOLERANCE = 1e-9


def record(names: list[str], max_trials: int, seed: int, models: list[str] | None = None) -> dict[str, Any]:
    import accelml

    catalogue = json.loads((DATASETS_DIR / "datasets.json").read_text())
    entries = catalogue.get("datasets", catalogue)
    out: dict[str, Any] = {"accelml": accelml.__version__, "revision": _revision(accelml), "datasets": {}}
    for name in names:
        entry = entries[name]
        train, _, _, _ = load_split(name, entry, seed)
        started = time.monotonic()
        automl = accelml.AutoML(metric=entry.get("metric"), time_limit=None, max_trials=max_trials, n_jobs=1,
                                workers=1, seed=seed, models=models)
        automl.fit(train, target=entry["target"])
        result = automl._result()
        out["datasets"][name] = {
            "seconds": round(time.monotonic() - started, 1),
            "metric": result.metric.name,
            "val_score": float(result.val_score),
            "trials": [{"id": t.spec.trial_id, "name": t.spec.name, "status": t.status,
                        "score": None if t.score is None else float(t.score)} for t in result.trials],
            "ensemble": [{"name": m.name, "weight": float(m.weight)} for m in result.ensemble.members],
        }
        print(f"{name}: {len(result.trials)} trials, {result.metric.name} {result.val_score:.6f} "
              f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, bool]:
    lines = [
        f"# Unchanged behaviour: max_trials, one worker, one thread, no time limit ({dt.date.today()})",
        "",
        f"before: {before.get('revision')}  after: {after.get('revision')}  tolerance {TOLERANCE:g}",
        "",
        "| dataset | metric | trials before/after | same order | max score diff | ensemble before | ensemble after | same |",
        "|---|---|---|---|---|---|---|---|",
    ]
    all_same = True
    for name, b in before["datasets"].items():
        a = after["datasets"].get(name)
        if a is None:
            lines.append(f"| {name} | {b['metric']} | {len(b['trials'])}/— | — | — | {b['val_score']:.9f} | — | NO |")
            all_same = False
            continue
        order = [t["name"] for t in b["trials"]] == [t["name"] for t in a["trials"]]
        diffs = [_diff(x["score"], y["score"]) for x, y in zip(b["trials"], a["trials"])]
        diffs.append(_diff(b["val_score"], a["val_score"]))
        worst = max(diffs) if diffs else 0.0
        same = order and worst <= TOLERANCE and len(b["trials"]) == len(a["trials"])
        all_same &= same
        lines.append(f"| {name} | {b['metric']} | {len(b['trials'])}/{len(a['trials'])} | {'yes' if order else 'NO'} "
                     f"| {worst:.3g} | {b['val_score']:.9f} | {a['val_score']:.9f} | {'yes' if same else 'NO'} |")
    lines += ["", f"**{'All leaderboards match.' if all_same else 'Leaderboards differ.'}**", ""]
    return "\n".join(lines), all_same


def _diff(x: float | None, y: float | None) -> float:
    if x is None or y is None:
        return 0.0 if x is None and y is None else math.inf
    return abs(x - y)


def _revision(module: Any) -> str | None:
    try:
        folder = Path(module.__file__).resolve().parent.parent
        return subprocess.run(["git", "-C", str(folder), "rev-parse", "--short=8", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", required=True)
    rec.add_argument("--datasets", default=",".join(DATASETS))
    rec.add_argument("--max-trials", type=int, default=30)
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--models", default=",".join(FAMILIES), help="families to search ('' for every registered one)")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before")
    cmp.add_argument("after")
    cmp.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    if args.command == "record":
        data = record(args.datasets.split(","), args.max_trials, args.seed, args.models.split(",") if args.models else None)
        Path(args.out).write_text(json.dumps(data, indent=1))
        return 0
    text, same = compare(json.loads(Path(args.before).read_text()), json.loads(Path(args.after).read_text()))
    print(text)
    path = Path(args.out) / f"unchanged_{dt.datetime.now():%Y%m%d-%H%M}.md"
    path.write_text(text)
    print(f"written to {path}", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
