"""The decision threshold of a binary classifier: an objective counted at each threshold of a grid, the best one
chosen, and labels decided by it.

A binary model predicts the positive class (class 1) where its probability is at least the threshold. 0.5 suits
calibrated probabilities when both kinds of error weigh alike; F1, balanced accuracy, precision at a given recall or
unequal costs are each best at another threshold. Every label metric of the registry that applies to binary tasks is
counted from the confusion matrix at each threshold (:mod:`accelml.metrics.counted`), so tuning costs milliseconds on
any number of rows. Which objective a run tunes for, and the record it keeps, are in
:mod:`accelml.ensemble.decision`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelml.metrics.counted import COUNTED, confusion
from accelml.metrics.threshold_options import COST_KEYS

__all__ = ["GRID", "Objective", "ThresholdCurve", "best_index", "class_indices", "score_decisions", "tune_threshold"]

GRID = np.round(np.arange(1, 200) * 0.005, 3)  # 0.005, 0.01, ..., 0.995: 0.5 is on it


@dataclass(frozen=True)
class Objective:
    """What a threshold is chosen for: a counted metric, precision at a minimum recall, the expected cost of a cost
    matrix, or a custom label metric (``metric``, scored at each threshold)."""

    key: str  # a COUNTED name, "precision_at_recall", "cost", or a custom metric's name
    greater_is_better: bool = True
    min_recall: float | None = None
    costs: Mapping[str, float] | None = None
    metric: Any = field(default=None, compare=False)  # an accelml.metrics.Metric for a custom metric

    @property
    def label(self) -> str:
        """How the report and the log name it."""
        if self.key == "cost":
            return "expected cost"
        if self.min_recall is not None:
            return f"precision at recall >= {self.min_recall:g}"
        return self.key

    def values(self, p: np.ndarray, y: np.ndarray, grid: np.ndarray = GRID) -> np.ndarray:
        """The objective at each threshold of ``grid`` for probabilities ``p`` of class 1 and labels ``y`` (0/1);
        ``nan`` where precision at recall does not reach its recall."""
        if self.metric is not None:
            return np.array([self.metric.score(y, (p >= t).astype(np.int64)) for t in grid], dtype=float)
        tp, fp, fn, tn = confusion(p, y, grid)
        if self.key == "cost":
            c = {cell: (self.costs or {}).get(cell, 0.0) for cell in COST_KEYS}
            total = (c["false_positive"] * fp + c["false_negative"] * fn + c["true_positive"] * tp
                     + c["true_negative"] * tn)
            return total / len(y)
        if self.min_recall is not None:
            precision = COUNTED["precision"](tp, fp, fn, tn)
            return np.where(COUNTED["recall"](tp, fp, fn, tn) >= self.min_recall - 1e-12, precision, np.nan)
        return COUNTED[self.key](tp, fp, fn, tn)




def best_index(values: np.ndarray, grid: np.ndarray, greater_is_better: bool) -> int | None:
    """The threshold to choose among equally good ones: 0.5 if it is one of them, else the middle of the run of best
    thresholds nearest 0.5 (the lower one on a tie); ``None`` when no value is finite.

    >>> best_index(np.array([0.1, 0.3, 0.3, 0.3, 0.2]), np.array([0.1, 0.2, 0.3, 0.4, 0.5]), True)
    2
    >>> best_index(np.array([1.0, 0.0, 1.0]), np.array([0.4, 0.5, 0.6]), False)  # 0.4 and 0.6 tie: the lower
    1
    """
    finite = np.isfinite(values)
    if not finite.any():
        return None
    signed = np.where(finite, values if greater_is_better else -values, -np.inf)
    top = signed.max()
    best = signed >= top - 1e-12 * max(1.0, abs(top))
    runs, start = [], None
    for i, good in enumerate(np.r_[best, False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            runs.append((start, i - 1))
            start = None
    if any(abs(grid[a] - 0.5) < 1e-9 for a in np.flatnonzero(best)):
        return int(np.flatnonzero(np.abs(grid - 0.5) < 1e-9)[0])
    middles = [(a + b) // 2 for a, b in runs]
    return min(middles, key=lambda i: (abs(grid[i] - 0.5), grid[i]))


@dataclass(frozen=True)
class ThresholdCurve:
    """The objective against the threshold, and the threshold chosen on it."""

    objective: Objective
    grid: np.ndarray
    values: np.ndarray
    threshold: float
    value: float  # at the chosen threshold
    default_value: float  # at 0.5


def tune_threshold(p: Any, y: Any, objective: Objective, grid: np.ndarray = GRID) -> ThresholdCurve:
    """The threshold on ``grid`` that is best for ``objective`` on probabilities ``p`` of class 1 and labels ``y``.

    Deterministic: ties go to 0.5 or to the middle of the best run nearest it (see :func:`best_index`). Where no
    threshold is feasible (precision at a recall no threshold reaches) it stays at 0.5.

    Example:
        >>> p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8])
        >>> y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
        >>> curve = tune_threshold(p, y, Objective("f1"))
        >>> curve.threshold, round(curve.value, 3), round(curve.default_value, 3)
        (0.25, 0.8, 0.571)
        >>> dear_false_alarms = Objective("cost", greater_is_better=False, costs={"false_positive": 5, "false_negative": 1})
        >>> tune_threshold(p, y, dear_false_alarms).threshold  # the middle of (0.8, 1): predict no positive at all
        0.9
    """
    p, y = np.asarray(p, dtype=float), np.asarray(y)
    values = objective.values(p, y, grid)
    index = best_index(values, grid, objective.greater_is_better)
    at_default = objective.values(p, y, np.array([0.5]))[0]
    if index is None:
        return ThresholdCurve(objective, grid, values, 0.5, float(at_default), float(at_default))
    return ThresholdCurve(objective, grid, values, float(grid[index]), float(values[index]), float(at_default))


# --------------------------------------------------------------------------------------------- deciding
def class_indices(proba: Any, threshold: float | None) -> np.ndarray:
    """Class indices from an ``(n, K)`` probability matrix: for a binary model with a ``threshold``, 1 where the
    probability of class 1 is at least it; otherwise the most probable class (the first one on a tie).

    >>> proba = np.array([[0.7, 0.3], [0.4, 0.6]])
    >>> class_indices(proba, 0.25).tolist(), class_indices(proba, None).tolist()
    ([1, 1], [0, 1])
    """
    proba = np.asarray(proba)
    if threshold is not None and proba.ndim == 2 and proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype(np.int64)
    return np.argmax(proba, axis=1)


def score_decisions(metric: Any, y: Any, proba: Any, threshold: float | None) -> float:
    """``metric`` on ``proba``: a label metric on the labels that ``threshold`` decides (see :func:`class_indices`),
    a metric of probabilities on the probabilities."""
    proba = np.asarray(proba)
    if metric.needs_proba or proba.ndim != 2:
        return metric.score_from_proba(y, proba)
    return metric.score(y, class_indices(proba, threshold))
