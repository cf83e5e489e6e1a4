"""Regression metric functions: raw values on float arrays; scikit-learn is imported inside each function."""

from __future__ import annotations

from typing import Any

import numpy as np

from accelml.exceptions import DataError

__all__ = ["mae", "mape", "median_ae", "mse", "r2", "rmse", "rmsle"]


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error.

    Example:
        >>> mse([1.0, 2.0], [1.0, 4.0])
        2.0
    """
    from sklearn.metrics import mean_squared_error

    return float(mean_squared_error(y_true, y_pred))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, in the target's units.

    Example:
        >>> rmse([0.0, 0.0], [3.0, 3.0])
        3.0
    """
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error.

    Example:
        >>> mae([1.0, 2.0], [2.0, 4.0])
        1.5
    """
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(y_true, y_pred))


def median_ae(y_true: Any, y_pred: Any) -> float:
    """Median absolute error.

    Example:
        >>> median_ae([0.0, 0.0, 0.0], [1.0, 2.0, 100.0])
        2.0
    """
    from sklearn.metrics import median_absolute_error

    return float(median_absolute_error(y_true, y_pred))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination: 1 is perfect, 0 is as good as predicting the mean.

    Example:
        >>> r2([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
        0.0
    """
    from sklearn.metrics import r2_score

    return float(r2_score(y_true, y_pred))


def mape(y_true: Any, y_pred: Any) -> float:
    """Mean absolute percentage error, as a fraction (0.1 is 10%); explodes when ``y_true`` is near zero.

    Example:
        >>> mape([1.0, 2.0], [1.5, 2.0])
        0.25
    """
    from sklearn.metrics import mean_absolute_percentage_error

    return float(mean_absolute_percentage_error(y_true, y_pred))


def _check_non_negative(values: np.ndarray, what: str) -> None:
    negative = values < 0
    if negative.any():
        raise DataError(
            f"rmsle needs non-negative values, but {what} has {int(negative.sum())} negative value(s) "
            f"(smallest {float(values.min()):g}); choose rmse or mae instead, or clip predictions at 0"
        )


def rmsle(y_true: Any, y_pred: Any) -> float:
    """Root mean squared logarithmic error, for non-negative targets spanning orders of magnitude.

    Raises:
        DataError: ``y_true`` or ``y_pred`` holds a negative value.

    Example:
        >>> round(rmsle([0.0, np.e - 1], [0.0, 0.0]), 6)
        0.707107
    """
    from sklearn.metrics import mean_squared_log_error

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    _check_non_negative(y_true, "y_true")
    _check_non_negative(y_pred, "y_pred")
    return float(np.sqrt(mean_squared_log_error(y_true, y_pred)))
