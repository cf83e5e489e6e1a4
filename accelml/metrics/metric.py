"""The :class:`Metric` record and :func:`make_metric`, the public way to build a custom one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelml.exceptions import ConfigError
from accelml.tasks import TASKS as _TASK_REGISTRY
from accelml.tasks import get_task

__all__ = ["CLASSIFICATION_TASKS", "TABLE_TASKS", "TASKS", "Metric", "make_metric"]

TASKS: frozenset[str] = frozenset(_TASK_REGISTRY)
CLASSIFICATION_TASKS: frozenset[str] = frozenset(key for key in TASKS if get_task(key).classification)
# Tasks whose predictions are one row's labels or values (a custom f(y_true, y_pred) applies to these by default)
TABLE_TASKS: frozenset[str] = frozenset(key for key in TASKS if not get_task(key).recommends)


@dataclass(frozen=True)
class Metric:
    """A named scoring function that keeps its raw value and says which direction is better.

    Args:
        name: Short snake_case key, e.g. ``"roc_auc"``.
        func: ``func(y_true, y_pred) -> float`` returning the raw value.
        greater_is_better: ``True`` for scores (accuracy), ``False`` for errors (rmse).
        needs_proba: ``True`` when ``y_pred`` is an ``(n, K)`` probability matrix; ``False`` when it is class
            indices (classification) or values (regression).
        tasks: The tasks the metric is defined for, a subset of ``{"binary", "multiclass", "regression"}``.
        description: One verb phrase completing "chosen because it ...", shown in the report.
        task_funcs: Optional task-specific replacements for ``func`` (e.g. ``f1`` is of class 1 for binary and
            macro-averaged for multiclass); :meth:`for_task` swaps them in. Not part of equality.

    Example:
        >>> m = Metric("max_error", lambda t, p: float(np.max(np.abs(t - p))), greater_is_better=False,
        ...            needs_proba=False, tasks=frozenset({"regression"}))
        >>> m.score(np.array([1.0, 2.0]), np.array([1.5, 2.0]))
        0.5
        >>> m.loss(np.array([1.0, 2.0]), np.array([1.5, 2.0]))
        0.5
    """

    name: str
    func: Callable[..., float]
    greater_is_better: bool
    needs_proba: bool
    tasks: frozenset[str]
    description: str = ""
    task_funcs: Mapping[str, Callable[..., float]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"a metric needs a non-empty string name; got {self.name!r}")
        if not callable(self.func):
            raise ConfigError(f"metric {self.name!r}: func must be callable; got {type(self.func).__name__}")
        tasks = frozenset(self.tasks)
        unknown = sorted(tasks - TASKS)
        if not tasks or unknown:
            raise ConfigError(
                f"metric {self.name!r}: tasks must be a non-empty subset of {sorted(TASKS)}; got {sorted(tasks)}"
            )
        valued = sorted(task for task in tasks if not get_task(task).classification)
        if self.needs_proba and valued:
            raise ConfigError(f"metric {self.name!r} needs probabilities, so it cannot apply to {', '.join(valued)}")
        object.__setattr__(self, "tasks", tasks)

    def score(self, y_true: Any, y_pred: Any) -> float:
        """The raw value of the metric, whatever its direction."""
        return float(self.func(y_true, y_pred))

    def loss(self, y_true: Any, y_pred: Any) -> float:
        """A value where lower is always better: ``-score`` for scores, ``score`` for errors.

        Example:
            >>> from accelml.metrics import get_metric
            >>> get_metric("accuracy", "binary").loss(np.array([0, 1]), np.array([0, 1]))
            -1.0
        """
        value = self.score(y_true, y_pred)
        return -value if self.greater_is_better else value

    def score_from_proba(self, y_true: Any, proba: Any) -> float:
        """Score an ``(n, K)`` probability matrix, turning it into class indices for label metrics.

        A one-dimensional array is passed through unchanged, so regression predictions can go through the same call.

        Example:
            >>> from accelml.metrics import get_metric
            >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
            >>> get_metric("accuracy", "binary").score_from_proba(np.array([0, 1, 1]), proba)
            0.6666666666666666
        """
        proba = np.asarray(proba)
        if self.needs_proba or proba.ndim == 1:
            return self.score(y_true, proba)
        return self.score(y_true, proba.argmax(axis=1))

    def for_task(self, task: str) -> Metric:
        """This metric with ``func`` specialised for ``task`` (itself when nothing is task-specific)."""
        if task not in self.task_funcs:
            return self
        return dataclasses.replace(self, func=self.task_funcs[task])


def make_metric(
    func: Callable[..., float],
    *,
    name: str | None = None,
    greater_is_better: bool = True,
    needs_proba: bool = False,
    tasks: Iterable[str] | None = None,
    description: str = "",
) -> Metric:
    """Build a custom :class:`Metric` from a plain function ``func(y_true, y_pred) -> float``.

    Args:
        func: Returns the raw value.
        name: Defaults to ``func.__name__``.
        greater_is_better: Set ``False`` for errors and losses.
        needs_proba: Set ``True`` to receive the ``(n, K)`` probability matrix instead of class indices.
        tasks: A task name or several; defaults to every task the metric can apply to (classification only when
            ``needs_proba``).
        description: Optional phrase for the report.

    Returns:
        The metric.

    Raises:
        ConfigError: ``func`` is not callable or ``tasks`` names an unknown task.

    Example:
        >>> def max_error(y_true, y_pred):
        ...     return float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))
        >>> m = make_metric(max_error, greater_is_better=False, tasks=["regression"])
        >>> m.name, m.loss([1.0, 3.0], [1.0, 1.0])
        ('max_error', 2.0)
    """
    if not callable(func):
        raise ConfigError(f"a custom metric must be callable as func(y_true, y_pred); got {type(func).__name__}")
    if name is None:
        name = getattr(func, "__name__", None) or type(func).__name__
    if isinstance(tasks, str):
        tasks = [tasks]
    if tasks is None:
        tasks = CLASSIFICATION_TASKS if needs_proba else TABLE_TASKS
    return Metric(
        name=name,
        func=func,
        greater_is_better=bool(greater_is_better),
        needs_proba=bool(needs_proba),
        tasks=frozenset(tasks),
        description=description,
    )
