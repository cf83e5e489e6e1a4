"""Test-set metrics for the peer runners, written to give exactly what ``accelml.metrics`` gives.

The peers' virtual environments do not have accelml, so the few metrics the benchmark reports are restated here with
numpy and scikit-learn only, following ``accelml/metrics/classification.py`` and ``regression.py``: class indices
``0..K-1`` against an ``(n, K)`` probability matrix; ``roc_auc`` takes column 1 for binary and one-vs-rest macro over
the classes present for multiclass; ``log_loss`` clips at 1e-15 and renormalises each row. ``compare.py`` checks at
start that the two agree on random data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["GREATER_IS_BETTER", "extra_scores", "score"]

PROBA_EPS = 1e-15


def _proba(proba: Any) -> np.ndarray:
    proba = np.asarray(proba, dtype=float)
    return np.column_stack([1.0 - proba, proba]) if proba.ndim == 1 else proba


def roc_auc(y_true: Any, proba: Any) -> float:
    from sklearn.metrics import roc_auc_score

    y_true, proba = np.asarray(y_true), _proba(proba)
    present = np.unique(y_true)
    if present.size < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return float(roc_auc_score(y_true == 1, proba[:, 1]))
    return float(np.mean([roc_auc_score(y_true == k, proba[:, k]) for k in present]))


def log_loss(y_true: Any, proba: Any) -> float:
    from sklearn.metrics import log_loss as sk_log_loss

    proba = np.clip(_proba(proba), PROBA_EPS, 1.0 - PROBA_EPS)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(sk_log_loss(y_true, proba, labels=np.arange(proba.shape[1])))


def accuracy(y_true: Any, proba: Any) -> float:
    return float(np.mean(np.asarray(y_true) == _proba(proba).argmax(axis=1)))


def rmse(y_true: Any, y_pred: Any) -> float:
    diff = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    return float(np.sqrt(np.mean(diff**2)))


def mae(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


def r2(y_true: Any, y_pred: Any) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)))


# Classification metrics take probabilities (accuracy takes their argmax); regression metrics take predictions.
METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "log_loss": log_loss,
    "mae": mae,
    "r2": r2,
    "rmse": rmse,
    "roc_auc": roc_auc,
}
GREATER_IS_BETTER = {"accuracy": True, "log_loss": False, "mae": False, "r2": True, "rmse": False, "roc_auc": True}


def score(metric: str, y_true: Any, outputs: Any) -> float:
    """``metric`` of ``outputs`` (probabilities in class-index order, or regression predictions) against ``y_true``.

    Example:
        >>> score("roc_auc", [0, 0, 1, 1], [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
        0.75
    """
    if metric not in METRICS:
        raise KeyError(f"the peer benchmark cannot score metric {metric!r}; valid: {', '.join(sorted(METRICS))}")
    return METRICS[metric](y_true, outputs)


def extra_scores(task: str, metric: str, y_true: Any, outputs: Any) -> dict[str, float]:
    """The side scores ``run_bench.py`` reports: accuracy and log loss for classification, MAE and R² for regression."""
    names = ("mae", "r2") if task == "regression" else ("accuracy", "log_loss")
    return {name: score(name, y_true, outputs) for name in names if name != metric}
