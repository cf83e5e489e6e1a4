"""Regression: one number per row, predicted and averaged as floats."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.tasks.base import Task, require_two_values

__all__ = ["Regression"]


class Regression(Task):
    key: ClassVar[str] = "regression"
    output: ClassVar[str] = "values"
    default_metric: ClassVar[str] = "rmse"

    def check_target(self, y: pd.Series) -> list[Any] | None:
        """Check the target is numeric.

        >>> Regression().check_target(pd.Series(["a", "b"], name="y"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        accelml.exceptions.DataError: task 'regression' needs a numeric target but column 'y' has dtype ...
        """
        require_two_values(y)
        if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
            raise DataError(f"task 'regression' needs a numeric target but column '{y.name}' has dtype {y.dtype}; "
                            "convert it to numbers or use a classification task")
        return None

    def encode(self, y: pd.Series, classes: list[Any] | None) -> np.ndarray:
        return pd.to_numeric(y, errors="raise").to_numpy(dtype=np.float64)
