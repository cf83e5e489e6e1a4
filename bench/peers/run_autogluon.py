"""Fit AutoGluon Tabular on one benchmark job and print its result line; run with ``.venv-autogluon/bin/python``.

Usage:
    bench/peers/.venv-autogluon/bin/python bench/peers/run_autogluon.py JOB.json

The job's ``options.preset`` picks the preset (``medium_quality`` or ``best_quality``). ``TabularPredictor(label,
problem_type, eval_metric, path=workdir).fit(train, time_limit=limit, presets=preset, num_cpus=cores, num_gpus=0)``,
AutoGluon's defaults otherwise. The artifact is the predictor's folder, which AutoGluon writes while fitting.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from peer_runner import Peer, folder_mb, main

# The benchmark's metric name -> AutoGluon's.
METRICS = {
    "roc_auc": "roc_auc",
    "log_loss": "log_loss",
    "accuracy": "accuracy",
    "rmse": "root_mean_squared_error",
    "mae": "mean_absolute_error",
    "r2": "r2",
}
PRESETS = ("medium_quality", "best_quality", "high_quality", "good_quality", "extreme_quality")


def ag_metric(metric: str) -> str:
    """AutoGluon's name for ``metric``.

    Example:
        >>> ag_metric("rmse")
        'root_mean_squared_error'
    """
    if metric not in METRICS:
        raise KeyError(f"no AutoGluon name for metric {metric!r}; valid: {', '.join(sorted(METRICS))}")
    return METRICS[metric]


def fit(X: Any, y: Any, train: Any, job: dict[str, Any]) -> Any:
    from autogluon.tabular import TabularPredictor

    preset = job.get("options", {}).get("preset", "medium_quality")
    if preset not in PRESETS:
        raise KeyError(f"unknown AutoGluon preset {preset!r}; valid: {', '.join(PRESETS)}")
    predictor = TabularPredictor(
        label=job["target"],
        problem_type=job["task"],
        eval_metric=ag_metric(job["metric"]),
        path=str(Path(job["workdir"]) / "predictor"),
        verbosity=0,
    )
    return predictor.fit(train, time_limit=job["time_limit"], presets=preset, num_cpus=job["cores"], num_gpus=0)


def outputs(predictor: Any, X: Any, task: str) -> Any:
    if task == "regression":
        return predictor.predict(X).to_numpy()
    return predictor.predict_proba(X, as_multiclass=True)[predictor.class_labels].to_numpy()


def classes(predictor: Any) -> list[Any]:
    return list(predictor.class_labels)


def artifact_mb(predictor: Any, job: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    board = predictor.leaderboard(silent=True)
    return folder_mb(Path(predictor.path)), {
        "best_model": predictor.model_best,
        "n_models": len(board),
        "models": board["model"].tolist()[:30],
    }


def load(job: dict[str, Any]) -> Any:
    from autogluon.tabular import TabularPredictor

    return TabularPredictor.load(str(Path(job["workdir"]) / "predictor"), verbosity=0)


PEER = Peer(name="autogluon", package="autogluon.tabular", fit=fit, outputs=outputs, classes=classes,
            artifact_mb=artifact_mb, load=load)

if __name__ == "__main__":
    sys.exit(main(PEER))
