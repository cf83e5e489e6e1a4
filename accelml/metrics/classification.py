"""Classification metric functions: raw values, ``y_true`` as class indices ``0..K-1``.

Label metrics take class indices; probability metrics take an ``(n, K)`` matrix (a one-dimensional array is read as
the probability of class 1). scikit-learn is imported inside each function so ``import accelml`` stays fast.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "f1_weighted",
    "log_loss",
    "mcc",
    "pr_auc",
    "precision",
    "precision_binary",
    "precision_macro",
    "recall",
    "recall_binary",
    "recall_macro",
    "roc_auc",
]

# Clipping keeps log_loss finite when a model is certain and wrong.
PROBA_EPS = 1e-15


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of correct labels.

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
        0.75
    """
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, y_pred))


def balanced_accuracy(y_true: Any, y_pred: Any) -> float:
    """Recall averaged over the classes present in ``y_true``.

    Example:
        >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0])
        0.5
    """
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        # Predicting a class absent from y_true is a normal event on small folds, not worth a warning each time.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(y_true, y_pred))


def mcc(y_true: Any, y_pred: Any) -> float:
    """Matthews correlation coefficient, in ``[-1, 1]``.

    Example:
        >>> mcc([0, 1, 0, 1], [0, 1, 0, 1])
        1.0
    """
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(y_true, y_pred))


def _average(y_true: Any, y_pred: Any, average: str | None) -> str:
    # Without a task, labels that are all 0/1 are read as binary; get_metric binds the task instead of guessing.
    if average is not None:
        return average
    both = np.concatenate([np.ravel(y_true), np.ravel(y_pred)])
    return "binary" if both.size == 0 or set(np.unique(both).tolist()) <= {0, 1} else "macro"


def f1(y_true: Any, y_pred: Any, *, average: str | None = None) -> float:
    """F1 score; ``average`` is ``"binary"`` (class 1), ``"macro"``, ``"weighted"``, or ``None`` to infer.

    Example:
        >>> f1([0, 1, 1, 0], [0, 1, 0, 0])
        0.6666666666666666
    """
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average=_average(y_true, y_pred, average), pos_label=1, zero_division=0))


def precision(y_true: Any, y_pred: Any, *, average: str | None = None) -> float:
    """Precision; ``average`` as in :func:`f1`.

    Example:
        >>> precision([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    from sklearn.metrics import precision_score

    avg = _average(y_true, y_pred, average)
    return float(precision_score(y_true, y_pred, average=avg, pos_label=1, zero_division=0))


def recall(y_true: Any, y_pred: Any, *, average: str | None = None) -> float:
    """Recall; ``average`` as in :func:`f1`.

    Example:
        >>> recall([0, 1, 1, 0], [1, 1, 0, 0])
        0.5
    """
    from sklearn.metrics import recall_score

    return float(recall_score(y_true, y_pred, average=_average(y_true, y_pred, average), pos_label=1, zero_division=0))


# Named variants rather than functools.partial: functions pickle by reference, so a Metric loaded from an artifact
# still compares equal to the registry's.
def f1_binary(y_true: Any, y_pred: Any) -> float:
    """F1 of class 1."""
    return f1(y_true, y_pred, average="binary")


def f1_macro(y_true: Any, y_pred: Any) -> float:
    """F1 averaged over classes with equal weight."""
    return f1(y_true, y_pred, average="macro")


def f1_weighted(y_true: Any, y_pred: Any) -> float:
    """F1 averaged over classes weighted by support."""
    return f1(y_true, y_pred, average="weighted")


def precision_binary(y_true: Any, y_pred: Any) -> float:
    """Precision of class 1."""
    return precision(y_true, y_pred, average="binary")


def precision_macro(y_true: Any, y_pred: Any) -> float:
    """Precision averaged over classes with equal weight."""
    return precision(y_true, y_pred, average="macro")


def recall_binary(y_true: Any, y_pred: Any) -> float:
    """Recall of class 1."""
    return recall(y_true, y_pred, average="binary")


def recall_macro(y_true: Any, y_pred: Any) -> float:
    """Recall averaged over classes with equal weight."""
    return recall(y_true, y_pred, average="macro")


def _proba_matrix(proba: Any) -> np.ndarray:
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        return np.column_stack([1.0 - proba, proba])
    return proba


def _ranking_score(binary_score: Callable[[np.ndarray, np.ndarray], float], y_true: Any, proba: Any) -> float:
    # Binary: column 1. Multiclass: one-vs-rest macro over the classes present in y_true, because a class missing
    # from a validation fold has no positives and would otherwise turn the whole score into nan.
    y_true = np.asarray(y_true)
    proba = _proba_matrix(proba)
    present = np.unique(y_true)
    if present.size < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return float(binary_score(y_true == 1, proba[:, 1]))
    return float(np.mean([binary_score(y_true == k, proba[:, k]) for k in present]))


def roc_auc(y_true: Any, proba: Any) -> float:
    """Area under the ROC curve; one-vs-rest macro for multiclass; ``nan`` when ``y_true`` holds one class.

    Example:
        >>> roc_auc([0, 0, 1, 1], [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
        0.75
    """
    from sklearn.metrics import roc_auc_score

    return _ranking_score(roc_auc_score, y_true, proba)


def pr_auc(y_true: Any, proba: Any) -> float:
    """Average precision (area under the precision-recall curve); one-vs-rest macro for multiclass.

    Example:
        >>> pr_auc([0, 0, 1, 1], [[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])
        0.8333333333333333
    """
    from sklearn.metrics import average_precision_score

    return _ranking_score(average_precision_score, y_true, proba)


def log_loss(y_true: Any, proba: Any) -> float:
    """Mean negative log-likelihood of the true class, with probabilities clipped and rows renormalised.

    Example:
        >>> round(log_loss([0, 1], [[1.0, 0.0], [0.5, 0.5]]), 4)
        0.3466
    """
    from sklearn.metrics import log_loss as sk_log_loss

    proba = np.clip(_proba_matrix(proba), PROBA_EPS, 1.0 - PROBA_EPS)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(sk_log_loss(y_true, proba, labels=np.arange(proba.shape[1])))
