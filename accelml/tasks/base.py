"""The contract of a learning task: what is predicted, how the target is encoded, validated and decoded.

A task is not a modality: image classification is the multiclass task with an image column, sentiment is binary with a
text column. Code outside :mod:`accelml.tasks` asks the task object (``task.output``, ``task.stratified``,
``task.encode(...)``) and never compares a task's name.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import DataError

__all__ = ["Task", "is_integer_valued", "is_string_like", "nunique", "plain_sorted", "require_two_values"]


class Task:
    """Base class of the tasks in :data:`accelml.tasks.TASKS`. A task's parameters, if any, are its fields.

    Class attributes:
        key: the registry key, stored in the schema and the artifact.
        output: what models predict and ensembles average: ``"proba"`` (``(n, K)`` class probabilities),
            ``"values"`` (``(n,)`` numbers) or ``"scores"`` (users x items, for lists of items).
        default_metric: the metric used when the user names none.
        stratified: whether validation splits keep each class's share in every fold.
        shap_units: the units of this task's SHAP values.
    """

    key: ClassVar[str] = ""
    output: ClassVar[str] = "values"
    default_metric: ClassVar[str] = ""
    stratified: ClassVar[bool] = False
    shap_units: ClassVar[str] = "target units"
    two_classes: ClassVar[bool] = False  # a positive and a negative class: a decision threshold applies

    @property
    def recommends(self) -> bool:
        """Whether the task scores users against items (ordered lists of items are its output)."""
        return self.output == "scores"

    @property
    def classification(self) -> bool:
        """Whether the task predicts one of a fixed set of classes (class probabilities are its output)."""
        return self.output == "proba"

    def check_target(self, y: pd.Series) -> list[Any] | None:
        """Check that the target fits this task; return the class labels in encoded order (``None`` without classes).

        Raises:
            DataError: naming the column and what to do.
        """
        raise NotImplementedError

    def labels(self, y: pd.Series) -> list[Any] | None:
        """The class labels of a target whose task is already known (after rows were dropped), or ``None``."""
        return None

    def encode(self, y: pd.Series, classes: list[Any] | None) -> np.ndarray:
        """The target as models see it: class indices ``0..K-1`` in ``classes`` order, or floats."""
        raise NotImplementedError

    def n_outputs(self, classes: list[Any] | None) -> int:
        """Columns of the output: the number of classes, or 0 for one value per row."""
        return 0

    def decode(self, outputs: np.ndarray, classes: list[Any] | None) -> np.ndarray:
        """Predictions in the user's terms from the models' output: labels from probabilities, or the values."""
        return np.asarray(outputs, dtype=np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(self.key)


def require_two_values(y: pd.Series) -> pd.Series:
    """The target's non-missing values, checked to hold at least two distinct ones.

    Raises:
        DataError: the target is all missing or constant.

    >>> require_two_values(pd.Series([1, None, 1]))
    Traceback (most recent call last):
    ...
    accelml.exceptions.DataError: target column 'None' has a single value (1.0); nothing to learn
    """
    values = y.dropna()
    n_unique = nunique(values)
    if n_unique == 0:
        raise DataError(f"target column '{y.name}' has no values (all missing); nothing to learn")
    if n_unique == 1:
        value = values.iloc[0]
        value = value.item() if isinstance(value, np.generic) else value
        raise DataError(f"target column '{y.name}' has a single value ({value!r}); nothing to learn")
    return values


def nunique(s: pd.Series) -> int:
    """Distinct values, also for unhashable ones (lists, dicts), which are compared by their text."""
    try:
        return int(s.nunique(dropna=True))
    except TypeError:
        return int(s.astype(str).nunique(dropna=True))


def plain_sorted(values: Any) -> list[Any]:
    """Distinct labels as plain, sorted Python values; 0/1 labels read as floats are reported as ints.

    >>> plain_sorted(np.array([1.0, 0.0]))
    [0, 1]
    """
    plain = [v.item() if isinstance(v, np.generic) else v for v in values]
    if plain and all(isinstance(v, float) and v.is_integer() for v in plain):
        plain = [int(v) for v in plain]
    try:
        return sorted(plain)
    except TypeError:  # mixed types, e.g. 1 and "a": order by type name, then text
        return sorted(plain, key=lambda v: (type(v).__name__, str(v)))


def is_string_like(s: pd.Series) -> bool:
    """Text held as objects or pandas strings."""
    return pd.api.types.is_object_dtype(s.dtype) or isinstance(s.dtype, pd.StringDtype)


def is_integer_valued(values: pd.Series) -> bool:
    """Integers, booleans, or floats that are all whole numbers.

    >>> is_integer_valued(pd.Series([1.0, 2.0])), is_integer_valued(pd.Series([1.5]))
    (True, False)
    """
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return True
    if not pd.api.types.is_float_dtype(values.dtype):
        return False
    arr = values.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))
