"""Fit FLAML on one benchmark job and print its result line; run with ``bench/peers/.venv-flaml/bin/python``.

Usage:
    bench/peers/.venv-flaml/bin/python bench/peers/run_flaml.py JOB.json

``AutoML().fit(X, y, task, metric, time_budget=limit, n_jobs=cores, seed=seed)`` with FLAML's defaults otherwise. The
artifact is the pickled ``AutoML`` object, which is how FLAML's documentation saves a model.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

from peer_runner import Peer, main

# The benchmark's metric name -> FLAML's, per task where they differ.
METRICS = {
    "roc_auc": {"binary": "roc_auc", "multiclass": "roc_auc_ovr"},
    "log_loss": "log_loss",
    "accuracy": "accuracy",
    "rmse": "rmse",
    "mae": "mae",
    "r2": "r2",
}
TASKS = {"binary": "classification", "multiclass": "classification", "regression": "regression"}


def flaml_metric(metric: str, task: str) -> str:
    """FLAML's name for ``metric`` on ``task``.

    Example:
        >>> flaml_metric("roc_auc", "multiclass")
        'roc_auc_ovr'
    """
    if metric not in METRICS:
        raise KeyError(f"no FLAML name for metric {metric!r}; valid: {', '.join(sorted(METRICS))}")
    name = METRICS[metric]
    return name[task] if isinstance(name, dict) else name


def safe_columns(X: Any) -> Any:
    """``X`` with column names LightGBM accepts (it rejects JSON's special characters, e.g. spambase's
    ``char_freq_[``), as a FLAML user would rename them; numbered, so that two names never collide.

    Example:
        >>> import pandas as pd
        >>> list(safe_columns(pd.DataFrame(columns=["a", "char_freq_[", 'x"y'])).columns)
        ['a', 'c1_char_freq__', 'c2_x_y']
    """
    import re

    renamed = [name if re.fullmatch(r"[A-Za-z0-9_]+", str(name)) else f"c{i}_{re.sub(r'[^A-Za-z0-9_]', '_', str(name))}"
               for i, name in enumerate(X.columns)]
    return X.set_axis(renamed, axis=1)


def fit(X: Any, y: Any, train: Any, job: dict[str, Any]) -> Any:
    from flaml import AutoML

    automl = AutoML()
    automl.fit(
        X_train=safe_columns(X),
        y_train=y,
        task=TASKS[job["task"]],
        metric=flaml_metric(job["metric"], job["task"]),
        time_budget=job["time_limit"],
        n_jobs=job["cores"],
        seed=job["seed"],
        verbose=0,
    )
    return automl


def outputs(automl: Any, X: Any, task: str) -> Any:
    X = safe_columns(X)
    return automl.predict(X) if task == "regression" else automl.predict_proba(X)


def classes(automl: Any) -> list[Any]:
    return list(automl.classes_)


def artifact_mb(automl: Any, job: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    folder = Path(job["workdir"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "automl.pkl"
    with path.open("wb") as f:
        pickle.dump(automl, f, pickle.HIGHEST_PROTOCOL)
    # The AutoML object also keeps its training data; the best model alone is what a lean deployment would ship.
    best = len(pickle.dumps(automl.model, pickle.HIGHEST_PROTOCOL)) / 1024**2
    return path.stat().st_size / 1024**2, {
        "artifact_best_model_mb": best,
        "best_estimator": automl.best_estimator,
        "best_config": automl.best_config,
    }


def load(job: dict[str, Any]) -> Any:
    with (Path(job["workdir"]) / "automl.pkl").open("rb") as f:
        return pickle.load(f)  # the file this runner wrote a moment ago


PEER = Peer(name="flaml", package="flaml", fit=fit, outputs=outputs, classes=classes, artifact_mb=artifact_mb,
            load=load)

if __name__ == "__main__":
    sys.exit(main(PEER))
