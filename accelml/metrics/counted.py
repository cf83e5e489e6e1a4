"""The label metrics of a binary task at many decision thresholds at once, counted from the confusion matrix.

Each entry of :data:`COUNTED` is the registry's metric of the same name (tests check them against each other) written
on the counts of true and false positives and negatives, so that a whole grid of thresholds costs one sort.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["COUNTED", "confusion"]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den`` is 0 (scikit-learn's ``zero_division=0``)."""
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _f1_negative(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    return _ratio(2 * tn, 2 * tn + fn + fp)


def _mcc(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return _ratio(tp * tn - fp * fn, den)


Counts = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

# The registry's binary label metrics from the confusion counts (true/false positives/negatives, one per threshold).
COUNTED: dict[str, Counts] = {
    "accuracy": lambda tp, fp, fn, tn: (tp + tn) / (tp + fp + fn + tn),
    "balanced_accuracy": lambda tp, fp, fn, tn: (_ratio(tp, tp + fn) + _ratio(tn, tn + fp)) / 2,
    "f1": _f1,
    "f1_macro": lambda tp, fp, fn, tn: (_f1(tp, fp, fn, tn) + _f1_negative(tp, fp, fn, tn)) / 2,
    "f1_weighted": lambda tp, fp, fn, tn: (((tp + fn) * _f1(tp, fp, fn, tn) + (tn + fp) * _f1_negative(tp, fp, fn, tn))
                                           / (tp + fp + fn + tn)),
    "mcc": _mcc,
    "precision": lambda tp, fp, fn, tn: _ratio(tp, tp + fp),
    "recall": lambda tp, fp, fn, tn: _ratio(tp, tp + fn),
}


def confusion(p: np.ndarray, y: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """True positives, false positives, false negatives and true negatives at each threshold (positive: ``p >= t``).

    >>> [c.tolist() for c in confusion(np.array([0.2, 0.6, 0.4, 0.9]), np.array([0, 0, 1, 1]), np.array([0.5]))]
    [[1.0], [1.0], [1.0], [1.0]]
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y) == 1
    pos, neg = np.sort(p[y]), np.sort(p[~y])
    tp = (len(pos) - np.searchsorted(pos, grid, side="left")).astype(float)
    fp = (len(neg) - np.searchsorted(neg, grid, side="left")).astype(float)
    return tp, fp, len(pos) - tp, len(neg) - fp
