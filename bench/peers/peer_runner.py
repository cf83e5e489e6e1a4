"""What every peer runner does around its framework's fit: read the job, time, predict, score, measure, print.

A runner (``run_flaml.py``, ``run_autogluon.py``) runs in its framework's own virtual environment, in a fresh process
started by ``bench/compare.py``, and hands :func:`main` a :class:`Peer`: how to fit, how to predict, the class order
and where the saved model lies. The job is a JSON file written by the parent::

    {"dataset": ..., "train_path": ..., "test_path": ..., "target": ..., "task": "binary"|"multiclass"|"regression",
     "metric": ..., "time_limit": 60, "cores": 2, "seed": 0, "workdir": ..., "options": {...}}

The result is one line on stdout: ``PEER_BENCH_RESULT {json}``. Only numpy, pandas and scikit-learn are imported here.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import scoring

__all__ = ["BATCH_ROWS", "RESULT_MARKER", "Peer", "folder_mb", "main"]

RESULT_MARKER = "PEER_BENCH_RESULT "
BATCH_ROWS = 1000
PREDICT_PEAK = "--predict-peak"  # runner argument: load the saved model, predict a batch, print the peak memory
ONE_ROWS = 50  # as bench/run_bench.py: single rows timed one at a time, in process


def _one_row_ms(predict: Callable[[Any], Any], X: Any) -> dict[str, float]:
    """Median and 99th-percentile milliseconds to predict one row (as ``one_row_ms`` in bench/run_bench.py)."""
    import numpy as np

    rows = [X.iloc[[i % len(X)]] for i in range(ONE_ROWS + 1)]
    predict(rows[0])
    times = []
    for row in rows[1:]:
        started = time.perf_counter()
        predict(row)
        times.append((time.perf_counter() - started) * 1000)
    return {"one_row_ms": float(np.median(times)), "one_row_p99_ms": float(np.percentile(times, 99))}
LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "xgboost-cpu", "catboost", "torch", "ray")


@dataclass(frozen=True)
class Peer:
    """One framework as the runner sees it.

    Attributes:
        name: The framework, as reported (``flaml``, ``autogluon``).
        package: Its distribution name, for the version.
        fit: ``fit(X, y, train, job) -> model``; ``train`` is the whole frame (target included) for APIs that want it.
        outputs: ``outputs(model, X, task)``: an ``(n, K)`` probability matrix in :attr:`classes` order for
            classification, predictions for regression.
        classes: ``classes(model)``: the class labels in the column order of :attr:`outputs`.
        artifact_mb: ``artifact_mb(model, job) -> (MB, extra fields)``: the model saved in the framework's own format.
        load: ``load(job) -> model``: the model that :attr:`artifact_mb` saved, read back (in a fresh process, to
            measure the peak memory of a deployment that loads the model and predicts a batch).
    """

    name: str
    package: str
    fit: Callable[[Any, Any, Any, dict[str, Any]], Any]
    outputs: Callable[[Any, Any, str], Any]
    classes: Callable[[Any], list[Any]]
    artifact_mb: Callable[[Any, dict[str, Any]], tuple[float, dict[str, Any]]]
    load: Callable[[dict[str, Any]], Any]


def main(peer: Peer, argv: list[str] | None = None) -> int:
    """Run the job file named on the command line and print its result line."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == PREDICT_PEAK:
        job = json.loads(Path(argv[1]).read_text())
        model = peer.load(job)
        peer.outputs(model, read_frame(job["batch_path"]), job["task"])
        print(RESULT_MARKER + json.dumps({"predict_peak_mb": _own_peak_mb()}), flush=True)
        return 0
    if len(argv) != 1:
        print(f"usage: {Path(sys.argv[0]).name} JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    result = run(peer, job)
    print(RESULT_MARKER + json.dumps(result, default=float), flush=True)
    return 0


def run(peer: Peer, job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    task, target, metric, seed = job["task"], job["target"], job["metric"], job["seed"]
    train, test = read_frame(job["train_path"]), read_frame(job["test_path"])
    X, y = train.drop(columns=[target]), train[target]
    X_test = test.drop(columns=[target])
    rss_before_fit = _peak_mb(resource.RUSAGE_SELF)

    started = time.perf_counter()
    model = peer.fit(X, y, train, job)
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    outputs = np.asarray(peer.outputs(model, X_test, task))
    predict_s = time.perf_counter() - started
    batch = X_test.sample(n=BATCH_ROWS, replace=len(X_test) < BATCH_ROWS, random_state=seed)
    started = time.perf_counter()
    peer.outputs(model, batch, task)
    batch_s = time.perf_counter() - started
    one_row = _one_row_ms(lambda row: peer.outputs(model, row, task), X_test)

    dropped = 0
    if task == "regression":
        y_true = test[target].to_numpy(dtype=float)
    else:
        lookup = {_plain(c): i for i, c in enumerate(peer.classes(model))}
        index = np.array([lookup.get(_plain(v), -1) for v in test[target]])
        seen = index >= 0
        y_true, outputs, dropped = index[seen], outputs[seen], int((~seen).sum())
    # Peak memory is read before saving, so it covers fitting and predicting only (as for accelml).
    peak_self, peak_children = _peak_mb(resource.RUSAGE_SELF), _peak_mb(resource.RUSAGE_CHILDREN)
    artifact_mb, artifact_extra = peer.artifact_mb(model, job)
    predict_peak = _predict_peak_mb(batch, job)
    return {
        "status": "ok",
        "framework": peer.name,
        "version": _version(peer.package),
        "options": job.get("options", {}),
        "train_rows": len(train),
        "test_rows": len(test),
        "test_rows_unseen_label": dropped,
        "metric": metric,
        "greater_is_better": scoring.GREATER_IS_BETTER[metric],
        "test_score": scoring.score(metric, y_true, outputs),
        "extra_test_scores": scoring.extra_scores(task, metric, y_true, outputs),
        "fit_s": fit_s,
        "predict_s_per_1k": predict_s / len(X_test) * 1000,
        "predict_1k_batch_s": batch_s,
        **one_row,
        "peak_rss_mb": peak_self,
        "peak_rss_children_mb": peak_children,
        "rss_before_fit_mb": rss_before_fit,
        "artifact_mb": artifact_mb,
        "predict_peak_mb": predict_peak,
        **artifact_extra,
        "versions": {lib: _version(lib) for lib in LIBRARIES},
    }


def _predict_peak_mb(batch: Any, job: dict[str, Any]) -> float | None:
    """Peak memory (MB) of a fresh process of this runner that loads the saved model and predicts the 1,000-row
    batch: what a deployment needs. None (the error on stderr) when that process fails."""
    import subprocess

    folder = Path(job["workdir"])
    batch_path, job_path = folder / "predict_batch.parquet", folder / "predict_job.json"
    batch.to_parquet(batch_path)
    job_path.write_text(json.dumps({**job, "batch_path": str(batch_path)}))
    done = subprocess.run([sys.executable, sys.argv[0], PREDICT_PEAK, str(job_path)], capture_output=True, text=True,
                          timeout=600, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return float(json.loads(line[len(RESULT_MARKER):])["predict_peak_mb"])
    print(f"predict-peak child failed (exit {done.returncode}):\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def read_frame(path: str) -> Any:
    """A split file as pandas reads it, with pandas 3's string columns turned back into ``object``.

    The frameworks were written for ``object`` strings; some test ``dtype == object`` to find categorical columns,
    and would otherwise hand raw strings to their models.
    """
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(path)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.StringDtype):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), np.nan)
    return frame


def folder_mb(path: Path) -> float:
    """Size of the files under ``path``, in MB."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1024**2


def _own_peak_mb() -> float:
    """This program's own peak memory (MB) since it started: ``VmHWM`` on Linux, where ``ru_maxrss`` of a process
    started by ``subprocess`` begins at its parent's size at the fork."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except OSError:
        return _peak_mb(resource.RUSAGE_SELF)


def _peak_mb(who: int) -> float:
    # Linux reports kilobytes, macOS bytes. For RUSAGE_CHILDREN: the largest finished (waited-for) descendant.
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
