"""Probe of the default refit on all rows (accelml/ensemble/refit.py): for each dataset one accelml fit under the time
limit, then the same ensemble predicted three ways on the held-out test set of bench/run_bench.py's split:

* ``folds``: every member keeps its fold models (``refit_full=False``; k-nearest neighbours are refit for free);
* ``default``: what the fit chose (with 5 folds: trees and linear models refit on all rows, networks keep their fold
  models, each refit only while the time left allows);
* ``families``: the same families refit with no deadline (what the default gives with time to spare).

The two extra refits run inside ``fit`` after the real one and without a deadline, so ``fit s`` overshoots the limit;
the search itself is the default's. Prints a Markdown table and saves it under bench/results/.

Usage:
    python bench/refit_probe.py --time-limit 60 --datasets segment,kr_vs_kp
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from run_bench import DATASETS_DIR, DEFAULT_DATASETS, _classification_scores, _outputs, load_split

ROOT = Path(__file__).resolve().parent
MARKER = "REFIT_PROBE "
DATASETS = ("blood_transfusion", "credit_approval", "kr_vs_kp", "credit_data", "spambase", "segment",
            "sklearn_diabetes", "house_prices_kaggle", "california_housing", "nyc_taxis")
VARIANTS = ("folds", "default", "families")


def probe(name: str, limit: float, seed: int) -> dict[str, Any]:
    """Fit once and score the three variants; runs in a child process of its own."""
    import accelml
    from accelml import run
    from accelml.budget import Deadline
    from accelml.metrics import get_metric

    extra: dict[str, Any] = {}
    real_refit = run.refit_full

    def refit_and_keep_alternatives(ensemble, X, y, schema, deadline, **kw):
        chosen = real_refit(ensemble, X, y, schema, deadline, **kw)
        for label, mode in (("folds", "free"), ("families", "families")):
            alt = real_refit(ensemble, X, y, schema, Deadline.never(), n_jobs=kw["n_jobs"], seed=kw["seed"], mode=mode)
            extra[label] = alt.share_preprocessors().set_threads(kw["n_jobs"])
        extra["mode"] = kw["mode"]
        return chosen

    run.refit_full = refit_and_keep_alternatives
    entry = json.loads((DATASETS_DIR / "datasets.json").read_text())[name]
    train, test, _, _ = load_split(name, entry, seed)
    task, target = entry["task"], entry["target"]
    automl = accelml.AutoML(task=task, metric=entry["metric"], time_limit=limit, n_jobs=2, seed=seed)
    automl.fit(train, target=target)
    X = test.drop(columns=[target])
    batch = X.sample(n=1000, replace=len(X) < 1000, random_state=seed)
    metric = get_metric(entry["metric"], task)
    chosen = automl.result_.ensemble
    out: dict[str, Any] = {"dataset": name, "metric": metric.name, "greater": metric.greater_is_better,
                           "mode": extra["mode"],
                           "members": ", ".join(f"{m.name}×{len(m.models)}" for m in chosen.members)}
    for label, ensemble in (("folds", extra["folds"]), ("default", chosen), ("families", extra["families"])):
        automl.result_.ensemble = ensemble
        outputs = _outputs(automl, X, task)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            _outputs(automl, batch, task)
            times.append(time.perf_counter() - started)
        score = (metric.score(test[target].to_numpy(float), outputs) if task == "regression"
                 else _classification_scores(automl, test[target], outputs, metric)[0])
        out[label] = {"score": float(score), "batch_s": min(times)}
    automl.result_.ensemble = chosen
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| dataset | metric | refit mode | " + " | ".join(f"{v} test" for v in VARIANTS) + " | "
            + " | ".join(f"{v} 1k batch s" for v in VARIANTS) + " | default vs folds | final members (models each) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dataset']} | error: {r['error']} |")
            continue
        change = (r["default"]["score"] - r["folds"]["score"]) / abs(r["folds"]["score"]) * 100
        change = change if r["greater"] else -change
        lines.append(f"| {r['dataset']} | {r['metric']} | {r['mode']} | "
                     + " | ".join(f"{r[v]['score']:.5g}" for v in VARIANTS) + " | "
                     + " | ".join(f"{r[v]['batch_s']:.4f}" for v in VARIANTS)
                     + f" | {change:+.2f} % | {r['members']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(MARKER + json.dumps(probe(args.child, args.time_limit, args.seed)), flush=True)
        return
    rows = []
    for name in args.datasets.split(","):
        if name not in DEFAULT_DATASETS and name not in DATASETS:
            print(f"note: {name} is not one of the benchmark's datasets", file=sys.stderr)
        print(f"{name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--child", name, "--time-limit", str(args.time_limit),
                               "--seed", str(args.seed)], capture_output=True, text=True, check=False)
        found = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
        rows.append(json.loads(found[-1][len(MARKER):]) if found
                    else {"dataset": name, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]})
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    text = (f"# Refit on all rows: fold models vs the default, {args.time_limit:g} s per dataset\n\n"
            f"- date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}, seed {args.seed}, 2 cores\n"
            "- `default vs folds`: relative change of the test score, positive is better\n\n" + table(rows) + "\n")
    print(text)
    out = ROOT / "results" / f"refit_{args.time_limit:g}s_{stamp}.md"
    out.write_text(text)
    (out.with_suffix(".json")).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
