"""Learning tasks: one class each, one line each in :data:`TASKS`.

A task decides what is predicted, how the target is encoded and checked, how validation is stratified, which metric
is the default and how outputs are decoded. Look one up with :func:`get_task`; the rest of the package asks the task
object and never compares a task's name.

Example:
    >>> get_task("multiclass").output, get_task("regression").default_metric
    ('proba', 'rmse')
    >>> get_task("regresion")
    Traceback (most recent call last):
    ...
    accelml.exceptions.ConfigError: unknown task 'regresion'; did you mean 'regression'? Valid: binary, multiclass, recommend, regression
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.registry import Registry
from accelml.tasks.base import Task, is_integer_valued, is_string_like, nunique, require_two_values

__all__ = ["TASKS", "Task", "encode_target", "get_task", "infer_task"]

TASKS = Registry(
    "task",
    {
        "binary": "accelml.tasks.classification:Binary",
        "multiclass": "accelml.tasks.classification:Multiclass",
        "regression": "accelml.tasks.regression:Regression",
        "recommend": "accelml.tasks.recommend:Recommend",
    },
)

_INSTANCES: dict[str, Task] = {}


def get_task(task: str | Task) -> Task:
    """The task object for a key (a :class:`Task` is returned as it is); unknown keys list the valid ones."""
    if isinstance(task, Task):
        return task
    if task not in _INSTANCES:
        _INSTANCES[task] = TASKS[task]()
    return _INSTANCES[task]


def encode_target(y: pd.Series, schema: Any) -> np.ndarray:
    """A target column as models see it, by the schema's task and classes: class indices ``0..K-1`` in
    ``schema.classes`` order, or floats."""
    return get_task(schema.task).encode(y, schema.classes)


def infer_task(y: pd.Series, roles: Mapping[str, str] | None = None) -> str:
    """Guess the learning task: roles first (a USER and an ITEM column make a log of interactions, whose task is
    recommendation whatever the target), then the target column.

    Strings, categories and booleans are classification; integer-valued numbers are classification when they take
    few distinct values (2, at most 10, or at most 20 that are also at most 5% of the rows); all else is regression.

    Raises:
        DataError: The target has fewer than two distinct non-missing values, or holds dates.

    Examples:
        >>> infer_task(pd.Series(["spam", "ham", "ham"]))
        'binary'
        >>> infer_task(pd.Series([0, 1, 2, 1, 0]))
        'multiclass'
        >>> infer_task(pd.Series([0.5, 1.25, 3.0]))
        'regression'
    """
    if roles and {"user", "item"} <= set(_role_values(roles)):
        return "recommend"
    values = require_two_values(y)
    n_unique = nunique(values)
    labels = "binary" if n_unique == 2 else "multiclass"
    if is_string_like(y) or pd.api.types.is_bool_dtype(y.dtype) or isinstance(y.dtype, pd.CategoricalDtype):
        return labels
    if pd.api.types.is_datetime64_any_dtype(y.dtype) or pd.api.types.is_timedelta64_dtype(y.dtype):
        raise DataError(f"target column '{y.name}' holds dates or durations; convert it to numbers or labels first")
    if not pd.api.types.is_numeric_dtype(y.dtype):
        return labels
    if not is_integer_valued(values):
        return "regression"
    if n_unique == 2:
        return "binary"
    if n_unique <= 20 and (n_unique <= 10 or n_unique <= 0.05 * len(values)):
        return "multiclass"
    return "regression"


def _role_values(roles: Mapping[str, Any]) -> list[str]:
    """The role names given, as lower-case strings (a role may be given as a ColumnRole)."""
    return [str(getattr(role, "value", role)).strip().lower() for role in roles.values()]
