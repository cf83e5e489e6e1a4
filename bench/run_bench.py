"""Benchmark accelml on the shared tabular datasets under a fixed time limit and print a Markdown table.

Each dataset runs in a fresh Python process, so its peak memory is its own and a crash or a hang costs one row, not
the whole run. The parent prints progress to stderr, the table to stdout, and writes Markdown and JSON under ``--out``.

Usage:
    python bench/run_bench.py --time-limit 60
    python bench/run_bench.py --time-limit 10 --datasets blood_transfusion,sklearn_diabetes
    python bench/run_bench.py --time-limit 60 --all

See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_report import markdown_report, markdown_table

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = Path(os.environ.get("ACCELML_DATASETS", ROOT.parent / "shared" / "datasets"))
DEFAULT_DATASETS = (
    "blood_transfusion",  # binary, tiny, numeric
    "credit_approval",  # binary, small, categorical + missing values
    "kr_vs_kp",  # binary, all categorical
    "adult",  # binary, 32k rows, official test file
    "segment",  # multiclass (7), log loss
    "letter",  # multiclass (26), 20k rows
    "sklearn_diabetes",  # regression, tiny
    "house_prices_kaggle",  # regression, wide, log target
    "california_housing",  # regression, 20k rows
    "nyc_taxis",  # regression, datetimes and high-cardinality categories
    "nycflights13_flights",  # regression, 336k rows: the large one
)
RESULT_MARKER = "ACCELML_BENCH_RESULT "
# Targets scored on a transformed scale by convention: house prices are judged by RMSE of log(SalePrice).
TARGET_TRANSFORMS = {"house_prices_kaggle": "log"}
LIBRARIES = ("accelml", "numpy", "pandas", "scikit-learn", "scipy", "lightgbm", "xgboost", "catboost", "torch")
BATCH_ROWS = 1000
ONE_ROWS = 50  # single rows timed one at a time, in process (the median and the 99th percentile are reported)


def one_row_ms(predict: Any, X: Any) -> dict[str, float]:
    """Milliseconds to predict one row, each of up to ``ONE_ROWS`` test rows in turn (sliced beforehand, so only the
    prediction is timed; the first call is a warm-up): ``one_row_ms`` (median) and ``one_row_p99_ms``."""
    import numpy as np

    rows = [X.iloc[[i % len(X)]] for i in range(ONE_ROWS + 1)]
    predict(rows[0])
    times = []
    for row in rows[1:]:
        started = time.perf_counter()
        predict(row)
        times.append((time.perf_counter() - started) * 1000)
    return {"one_row_ms": float(np.median(times)), "one_row_p99_ms": float(np.percentile(times, 99))}


# ---------------------------------------------------------------------------------------------------------- child
def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Load, split, fit, predict and score one dataset; runs inside the child process."""
    import resource

    import accelml
    from accelml.data import read_table
    from accelml.metrics import get_metric

    entry, seed, limit = spec["entry"], spec["seed"], spec["time_limit"]
    task, target, metric_name = entry["task"], entry["target"], entry["metric"]
    if spec.get("train_path"):
        # Split once by bench/compare.py and shared by every framework; already transformed.
        train, test = read_table(spec["train_path"]), read_table(spec["test_path"])
        split, transform = spec["split"], spec.get("target_transform")
    else:
        train, test, split, transform = load_split(spec["name"], entry, seed)

    automl = accelml.AutoML(
        task=task, metric=metric_name, time_limit=limit, n_jobs=spec["jobs"], seed=seed, max_trials=spec["max_trials"],
        models=spec.get("models"),
    )
    rss_before_fit = _peak_rss_mb(resource)
    started = time.perf_counter()
    automl.fit(train, target=target)
    fit_s = time.perf_counter() - started

    X_test = test.drop(columns=[target])
    metric = get_metric(metric_name, task)
    started = time.perf_counter()
    outputs = _outputs(automl, X_test, task)
    predict_s = time.perf_counter() - started
    batch = X_test.sample(n=BATCH_ROWS, replace=len(X_test) < BATCH_ROWS, random_state=seed)
    started = time.perf_counter()
    _outputs(automl, batch, task)
    batch_s = time.perf_counter() - started
    one_row = one_row_ms(lambda row: _outputs(automl, row, task), X_test)

    if task == "regression":
        y_true = test[target].to_numpy(dtype=float)
        test_score = metric.score(y_true, outputs)
        extra = _regression_extras(y_true, outputs)
        dropped = 0
    else:
        test_score, extra, dropped = _classification_scores(automl, test[target], outputs, metric)

    # Peak memory is read before saving, so it covers fitting and predicting only.
    peak_rss, peak_rss_children = _peak_rss_mb(resource), _peak_rss_mb(resource, resource.RUSAGE_CHILDREN)
    artifact_mb, save_s, predict_peak = _artifact_size(automl, batch, task)
    result = automl.result_
    trials = result.trials
    return {
        "status": "ok",
        "train_rows": len(train),
        "test_rows": len(test),
        "test_rows_unseen_label": dropped,
        "split": split,
        "target_transform": transform,
        "metric": metric_name,
        "greater_is_better": metric.greater_is_better,
        "test_score": test_score,
        "val_score": float(automl.val_score_),
        "extra_test_scores": extra,
        "fit_s": fit_s,
        "predict_s_per_1k": predict_s / len(X_test) * 1000,
        "predict_1k_batch_s": batch_s,
        **one_row,
        "peak_rss_mb": peak_rss,
        "peak_rss_children_mb": peak_rss_children,
        "artifact_mb": artifact_mb,
        "save_s": save_s,
        "predict_peak_mb": predict_peak,
        "rss_before_fit_mb": rss_before_fit,
        "n_trials": len(trials),
        "n_trials_ok": sum(t.ok for t in trials),
        "n_trials_by_status": _count(t.status for t in trials),
        "n_splits": result.n_splits,
        "ensemble": [{"name": m.name, "weight": float(m.weight), "models": len(m.models)}
                     for m in result.ensemble.members],
        "fold_models": result.extra.get("fold_models"),  # the refit default's weighing of the bag, if any
        "families": _family_bests(trials, metric.greater_is_better),
    }


def _family_bests(trials: Any, greater_is_better: bool) -> dict[str, dict[str, Any]]:
    """Per family: trials run, trials that finished, and the best validation score of a finished trial."""
    out: dict[str, dict[str, Any]] = {}
    for t in trials:
        if t.spec.stage == "stack":
            continue
        row = out.setdefault(t.spec.model, {"trials": 0, "ok": 0, "best_val": None})
        row["trials"] += 1
        if t.ok and t.score is not None and math.isfinite(t.score):
            row["ok"] += 1
            best = row["best_val"]
            if best is None or (t.score > best if greater_is_better else t.score < best):
                row["best_val"] = float(t.score)
    return out


def load_split(name: str, entry: dict[str, Any], seed: int) -> tuple[Any, Any, str, str | None]:
    """Train and test frames of one dataset, its split description and target transform (shared with compare.py).

    Rows with a missing target are dropped; the official test file is used where ``datasets.json`` names one, else a
    seeded 75/25 split, stratified for classification. A transform from ``TARGET_TRANSFORMS`` is applied to both.
    """
    import numpy as np

    from accelml.data import read_table

    task, target = entry["task"], entry["target"]
    train = read_table(DATASETS_DIR / entry["train"])
    train = train[train[target].notna()].reset_index(drop=True)
    if entry.get("test"):
        test = read_table(DATASETS_DIR / entry["test"])
        test = test[test[target].notna()].reset_index(drop=True)
        split = "official"
    else:
        train, test = _split(train, target, task, seed)
        split = f"seeded 75/25{' stratified' if task != 'regression' else ''} (seed {seed})"
    transform = TARGET_TRANSFORMS.get(name)
    if transform == "log":
        train[target], test[target] = np.log(train[target]), np.log(test[target])
    return train, test, split, transform


def _split(frame: Any, target: str, task: str, seed: int) -> tuple[Any, Any]:
    from sklearn.model_selection import train_test_split

    stratify = frame[target] if task != "regression" else None
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _outputs(automl: Any, X: Any, task: str) -> Any:
    return automl.predict(X) if task == "regression" else automl.predict_proba(X).to_numpy()


def _classification_scores(automl: Any, y: Any, proba: Any, metric: Any) -> tuple[float, dict[str, float], int]:
    """Score probabilities against labels mapped to indices in ``automl.classes_`` order.

    Test labels the training split never saw cannot be scored; their rows are dropped and counted.
    """
    import numpy as np

    from accelml.metrics import get_metric

    lookup = {_plain(c): i for i, c in enumerate(automl.classes_)}
    index = np.array([lookup.get(_plain(v), -1) for v in y])
    seen = index >= 0
    y_idx, proba = index[seen], proba[seen]
    extra = {"accuracy": get_metric("accuracy", automl.task_).score_from_proba(y_idx, proba)}
    if metric.name != "log_loss":
        extra["log_loss"] = get_metric("log_loss", automl.task_).score_from_proba(y_idx, proba)
    return metric.score_from_proba(y_idx, proba), extra, int((~seen).sum())


def _regression_extras(y_true: Any, y_pred: Any) -> dict[str, float]:
    from accelml.metrics import get_metric

    return {name: get_metric(name, "regression").score(y_true, y_pred) for name in ("mae", "r2")}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _artifact_size(automl: Any, batch: Any, task: str) -> tuple[float | None, float | None, float | None]:
    """Size on disk (MB) of the saved artifact folder, the seconds the save took, and the peak memory (MB) of a fresh
    process that loads it and predicts ``batch`` (what a deployment needs); the folder is then removed.

    A failed save costs these numbers (``None``, the error on stderr), not the row: the scores are already in.
    """
    import tempfile
    import traceback

    try:
        with tempfile.TemporaryDirectory(prefix="accelml_bench_") as tmp:
            started = time.perf_counter()
            path = automl.save(Path(tmp) / "model")
            save_s = time.perf_counter() - started
            size = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
            batch.to_parquet(Path(tmp) / "batch.parquet")
            peak = _predict_peak_mb(Path(path), Path(tmp) / "batch.parquet", task)
    except Exception:  # noqa: BLE001 - reported, and the row keeps its scores
        traceback.print_exc()
        return None, None, None
    return size / 1024**2, save_s, peak


# Run in a fresh interpreter: load the artifact, predict the batch, print the peak resident memory in MB.
_PREDICT_PEAK_CODE = """
import resource, sys
import pandas as pd
import accelml
model = accelml.load(sys.argv[1])
batch = pd.read_parquet(sys.argv[2])
model.predict(batch) if sys.argv[3] == "regression" else model.predict_proba(batch)
try:  # this program's own high-water mark: ru_maxrss would start from the parent's size at the fork
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024**2 if sys.platform == "darwin" else 1024)
print("PEAK_MB", peak)
"""


def _predict_peak_mb(artifact: Path, batch: Path, task: str) -> float | None:
    """Peak memory of a fresh process that loads ``artifact`` and predicts ``batch`` (None when it fails)."""
    done = subprocess.run([sys.executable, "-c", _PREDICT_PEAK_CODE, str(artifact), str(batch), task],
                          capture_output=True, text=True, timeout=600, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("PEAK_MB "):
            return float(line.split()[1])
    print(f"predict-peak child failed (exit {done.returncode}):\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def _peak_rss_mb(resource: Any, who: int | None = None) -> float:
    """Peak resident memory in MB of this process, or with ``who=RUSAGE_CHILDREN`` of its largest finished child."""
    peak = resource.getrusage(resource.RUSAGE_SELF if who is None else who).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def child_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    result = run_one(spec)
    print(RESULT_MARKER + json.dumps(result, default=float), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------------------- parent
def run_child(name: str, entry: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Run one dataset in a fresh interpreter with a hard timeout; never raises."""
    spec = {
        "name": name,
        "entry": entry,
        "time_limit": args.time_limit,
        "jobs": args.jobs,
        "seed": args.seed,
        "max_trials": args.max_trials,
        "models": args.models.split(",") if args.models else None,
    }
    row: dict[str, Any] = {
        "dataset": name,
        "task": entry["task"],
        "metric": entry["metric"],
        "rows": entry.get("rows"),
        "time_limit": args.time_limit,
        # Other work on the machine slows a time-limited search; a high load here explains a weak row.
        "load_avg_1m_before": _load_avg(),
    }
    timeout = 3 * args.time_limit + 120
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    started = time.perf_counter()
    # A new session lets a timeout kill the child and anything it started, and nothing else.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        row.update(status="timeout", error=f"child killed after {timeout:.0f} s")
        row["process_s"] = time.perf_counter() - started
        return row
    row["process_s"] = time.perf_counter() - started
    result = _parse_result(stdout)
    if proc.returncode == 0 and result is not None:
        row.update(result)
        row["wall_over_limit"] = row["fit_s"] / args.time_limit
        row["within_budget"] = row["fit_s"] <= 1.05 * args.time_limit + 5
        row["rows"] = row["train_rows"] + row["test_rows"]
        return row
    tail = [line for line in stderr.strip().splitlines() if line.strip()]
    reason = f"exit code {proc.returncode}" + (" (killed: out of memory?)" if proc.returncode == -9 else "")
    row.update(status="crash", error=tail[-1] if tail else reason, exit_code=proc.returncode,
               stderr_tail="\n".join(tail[-30:]))
    return row


def _parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    return None


def machine_info() -> dict[str, Any]:
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": _memory_gb(),
        "load_avg_at_start": _load_avg(),
        "gpu": _gpu(),
        "accelml_version": versions["accelml"],
        "accelml_git": _git_revision(),
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _gpu() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip().replace("\n", "; ") or None


def _git_revision() -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def select_datasets(catalogue: dict[str, Any], names: str | None, use_all: bool) -> list[str]:
    tabular = sorted(k for k, v in catalogue.items() if v.get("kind") == "tabular")
    if use_all:
        return tabular
    chosen = [n.strip() for n in names.split(",") if n.strip()] if names else list(DEFAULT_DATASETS)
    unknown = [n for n in chosen if n not in tabular]
    if unknown:
        sys.exit(f"unknown or non-tabular dataset(s): {', '.join(unknown)}; valid: {', '.join(tabular)}")
    return chosen


def _limit_label(limit: float) -> str:
    return f"{limit:g}s"


def write_outputs(out: Path, stem: str, limit: float, rows: list[dict[str, Any]], info: dict[str, Any],
                  args: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    report = markdown_report(rows, info, args, TARGET_TRANSFORMS)
    md, js, latest = out / f"{stem}.md", out / f"{stem}.json", out / f"latest_{_limit_label(limit)}.md"
    md.write_text(report)
    latest.write_text(report)
    payload = _finite({"machine": info, "args": args, "rows": rows})
    js.write_text(json.dumps(payload, indent=2, allow_nan=False, default=str) + "\n")
    return [md, js, latest]


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None``, so the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per dataset given to AutoML.fit")
    parser.add_argument("--datasets", help=f"comma-separated names (default: {','.join(DEFAULT_DATASETS)})")
    parser.add_argument("--all", action="store_true", help="every tabular dataset in datasets.json")
    parser.add_argument("--jobs", type=int, default=-1, help="n_jobs for AutoML (default -1: all cores)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of AutoML")
    parser.add_argument("--max-trials", type=int, default=None, help="optional trial cap (default: time limit only)")
    parser.add_argument("--models", help="comma-separated model families to search (default: every registered one)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for .md and .json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")

    catalogue = json.loads((DATASETS_DIR / "datasets.json").read_text())
    names = select_datasets(catalogue, args.datasets, args.all)
    info = machine_info()
    run_args = {"time_limit": args.time_limit, "jobs": args.jobs, "seed": args.seed, "max_trials": args.max_trials,
                "datasets": names, "child_timeout_s": 3 * args.time_limit + 120}
    stem = f"accelml_{_limit_label(args.time_limit)}_{dt.datetime.now():%Y%m%d-%H%M}"
    _log(f"accelml {info['accelml_version']} ({info['accelml_git']}), {info['cpu_count']} CPUs, "
         f"{len(names)} dataset(s), limit {args.time_limit:g} s, jobs {args.jobs}, seed {args.seed}")

    rows: list[dict[str, Any]] = []
    for i, name in enumerate(names, 1):
        _log(f"[{i}/{len(names)}] {name} ({catalogue[name]['task']}, {catalogue[name].get('rows')} rows) ...")
        row = run_child(name, catalogue[name], args)
        rows.append(row)
        _log("    " + _progress_line(row))
        # Written after every dataset so an interrupted run still leaves its finished rows behind.
        paths = write_outputs(args.out, stem, args.time_limit, rows, info, run_args)

    print(markdown_table(rows, TARGET_TRANSFORMS))
    for path in paths if rows else []:
        _log(f"wrote {path}")
    return 0


def _progress_line(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['status'].upper()}: {row.get('error')} ({row['process_s']:.0f} s)"
    budget = "ok" if row["within_budget"] else "OVER BUDGET"
    return (f"test {row['metric']} {row['test_score']:.4f} (val {row['val_score']:.4f}), fit {row['fit_s']:.1f} s "
            f"[{budget}], {row['n_trials']} trials, {len(row['ensemble'])} members, peak {row['peak_rss_mb']:.0f} MB")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
