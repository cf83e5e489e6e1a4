"""Build accelml's opening portfolio offline: the configurations that, ensembled, do best across datasets.

For each development dataset (seeded subsample), every candidate configuration — each family's default plus seeded
random draws from its search space — is evaluated with accelml's own k-fold machinery and its out-of-fold predictions
are kept. Then configurations are chosen greedily: each step adds the one that most raises the mean normalized score
(0 = the worst single candidate on that dataset, 1 = the greedy ensemble of all candidates) of the greedy ensemble of those chosen so far. The result is
written to ``accelml/search/portfolio.json`` (plain data, read by the search) and a table to ``bench/results/``.

Usage:
    python bench/build_portfolio.py [--size 10] [--draws 4] [--max-rows 4000] [--datasets a,b,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = Path(os.environ.get("ACCELML_DATASETS", ROOT.parent / "shared" / "datasets"))
OUT = ROOT / "accelml" / "search" / "portfolio.json"
DEV_DATASETS = (
    "blood_transfusion", "credit_approval", "credit_data", "ibm_attrition", "spambase", "magic_telescope",
    "segment", "penguins", "sklearn_wine", "house_prices_kaggle", "sklearn_diabetes", "california_housing",
)
DRAWS = {"lgbm": 2, "xgb": 1.5, "catboost": 1, "extra_trees": 0.75, "rf": 0.75, "linear": 0.75, "knn": 0.75}


def candidates(draws: int, seed: int) -> list[dict[str, Any]]:
    """Each family's default, then seeded random draws from its space (more for the stronger families)."""
    from accelml.models import MODELS
    from accelml.space import Categorical, Int

    rng = np.random.default_rng(seed)
    out = []
    for key, weight in DRAWS.items():
        cls = MODELS[key]
        out.append({"model": key, "params": {}})
        for _ in range(max(1, round(draws * weight))):
            params: dict[str, Any] = {}
            for name, dim in cls.space.items():
                if isinstance(dim, Categorical):
                    params[name] = dim.choices[rng.integers(len(dim.choices))]
                elif dim.log:
                    value = float(np.exp(rng.uniform(np.log(dim.low), np.log(dim.high))))
                    params[name] = int(round(value)) if isinstance(dim, Int) else value
                else:
                    value = float(rng.uniform(dim.low, dim.high))
                    params[name] = int(round(value)) if isinstance(dim, Int) else value
            out.append({"model": key, "params": params})
    return out


def evaluate_dataset(name: str, entry: dict[str, Any], configs: list[dict[str, Any]], args: argparse.Namespace):
    """Out-of-fold predictions, losses and times of every candidate on one dataset."""
    from accelml.budget import Deadline
    from accelml.data import read_table
    from accelml.metrics import get_metric
    from accelml.profiling import check_data
    from accelml.schema import coerce_training_frame, infer_schema
    from accelml.search.context import TrialContext
    from accelml.search.evaluate import evaluate_trial
    from accelml.search.folds import FoldCache
    from accelml.search.trial import TrialSpec
    from accelml.tasks import encode_target, get_task
    from accelml.validation import make_validation

    frame = read_table(DATASETS_DIR / entry["train"])
    target = entry["target"]
    frame = frame[frame[target].notna()]
    if len(frame) > args.max_rows:
        frame = frame.sample(args.max_rows, random_state=args.seed)
    schema = infer_schema(frame, target, task=entry["task"])
    frame, _ = check_data(frame, schema)
    schema.classes = get_task(schema.task).labels(frame[target])
    X = coerce_training_frame(frame, schema)
    y = encode_target(frame[target], schema)
    metric = get_metric(None, schema.task)
    folds = FoldCache(X, make_validation(y, schema.task, seed=args.seed, n_splits=5), schema, seed=args.seed)
    results = []
    for i, config in enumerate(configs):
        spec = TrialSpec(i, config["model"], config["params"], "portfolio")
        context = TrialContext(schema.task, metric, seed=args.seed, n_jobs=args.jobs)
        fitted = evaluate_trial(spec, folds, context.at(Deadline.after(args.trial_seconds), started=time.monotonic()))
        r = fitted.result
        results.append({"loss": r.loss if r.ok else None, "time": r.fit_time, "oof": fitted.oof if r.ok else None})
        print(f"  {name:<22} {spec.model:<12} {r.status:<8} loss {r.loss:9.5f}  {r.fit_time:6.2f}s", file=sys.stderr)
    return {"y": y, "metric": metric, "results": results}


def greedy_portfolio(per_dataset: dict[str, Any], n_configs: int, size: int) -> list[tuple[int, float]]:
    """Indices chosen greedily with the mean normalized ensemble score reached after each addition."""
    from accelml.ensemble.greedy import greedy_weights

    def ensemble_loss(d: dict[str, Any], chosen: list[int]) -> float | None:
        preds = [d["results"][i]["oof"] for i in chosen if d["results"][i]["oof"] is not None]
        if not preds:
            return None
        metric, y = d["metric"], d["y"]

        def loss(p: np.ndarray) -> float:
            v = metric.score_from_proba(y, p)
            return -v if metric.greater_is_better else v

        return greedy_weights(preds, loss, rounds=10)[1]

    # 0 = the worst single candidate, 1 = the greedy ensemble of every candidate (what a portfolio could reach)
    bounds = {}
    for name, d in per_dataset.items():
        worst = max(r["loss"] for r in d["results"] if r["loss"] is not None)
        bounds[name] = (worst, ensemble_loss(d, list(range(n_configs))))

    def ensemble_score(chosen: list[int]) -> float:
        scores = []
        for name, d in per_dataset.items():
            worst, best = bounds[name]
            loss = ensemble_loss(d, chosen)
            if loss is None:
                scores.append(0.0)
            else:
                scores.append(1.0 if worst <= best else float(np.clip((worst - loss) / (worst - best), 0.0, 1.0)))
        return float(np.mean(scores))

    chosen: list[tuple[int, float]] = []
    for _ in range(size):
        options = []
        for i in range(n_configs):
            if i in [c for c, _ in chosen]:
                continue
            mean_time = np.mean([d["results"][i]["time"] for d in per_dataset.values()])
            options.append((ensemble_score([c for c, _ in chosen] + [i]), -mean_time, i))
        score, _, pick = max(options)
        if chosen and score <= chosen[-1][1] + 1e-4:
            break
        chosen.append((pick, score))
        print(f"portfolio step {len(chosen)}: config {pick} -> mean normalized score {score:.4f}", file=sys.stderr)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--max-rows", type=int, default=4000)
    parser.add_argument("--trial-seconds", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default=",".join(DEV_DATASETS))
    args = parser.parse_args()

    catalogue = json.loads((DATASETS_DIR / "datasets.json").read_text())
    configs = candidates(args.draws, args.seed)
    print(f"{len(configs)} candidate configurations", file=sys.stderr)
    started = time.monotonic()
    per_dataset = {}
    for name in args.datasets.split(","):
        per_dataset[name] = evaluate_dataset(name, catalogue[name], configs, args)
    chosen = greedy_portfolio(per_dataset, len(configs), args.size)
    times = {i: float(np.mean([d["results"][i]["time"] for d in per_dataset.values()])) for i, _ in chosen}
    entries = []
    previous = 0.0
    for i, score in chosen:
        entries.append({**configs[i], "gain": round(score - previous, 5), "mean_fit_seconds": round(times[i], 3)})
        previous = score
    portfolio = {
        "built": dt.date.today().isoformat(),
        "by": "bench/build_portfolio.py",
        "datasets": list(per_dataset),
        "max_rows": args.max_rows,
        "candidates": len(configs),
        "mean_normalized_score": round(chosen[-1][1], 5),
        "configs": entries,
    }
    OUT.write_text(json.dumps(portfolio, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
    lines = ["| # | model | params | gain | mean fit s |", "|---|---|---|---|---|"]
    for n, e in enumerate(entries, 1):
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in e["params"].items())
        lines.append(f"| {n} | {e['model']} | {params or 'default'} | {e['gain']:.4f} | {e['mean_fit_seconds']:.2f} |")
    table = "\n".join(lines)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    (ROOT / "bench" / "results" / f"portfolio_{stamp}.md").write_text(
        f"# Portfolio ({len(configs)} candidates, {len(per_dataset)} datasets, {time.monotonic() - started:.0f} s)\n\n"
        f"Datasets: {', '.join(per_dataset)} (at most {args.max_rows} rows each, 5-fold).\n\n{table}\n"
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
