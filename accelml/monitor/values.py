"""Read one raw column as the numbers or category keys that a profile describes, for any column role."""

from __future__ import annotations

import numpy as np
import pandas as pd

from accelml.features.coerce import category_keys, to_datetime, to_float
from accelml.schema.schema import ColumnRole

__all__ = ["NUMERIC_KINDS", "column_kind", "column_values", "type_errors"]

NUMERIC_KINDS = ("numeric", "text")  # kinds profiled with quantile bins (text: its length in characters)

_EPOCH = pd.Timestamp("1970-01-01")


def column_kind(role: ColumnRole) -> str:
    """How a role is profiled: ``numeric`` (numbers and datetimes), ``categorical`` (and booleans), ``text`` or
    ``image`` (by what the images look like, see :mod:`accelml.monitor.images`).

    >>> column_kind(ColumnRole.DATETIME), column_kind(ColumnRole.BOOLEAN), column_kind(ColumnRole.IMAGE)
    ('numeric', 'categorical', 'image')
    """
    if role is ColumnRole.NUMERIC or role.is_datetime:
        return "numeric"
    if role is ColumnRole.TEXT:
        return "text"
    if role is ColumnRole.IMAGE:
        return "image"
    return "categorical"


def column_values(values: pd.Series, role: ColumnRole) -> np.ndarray:
    """The values a profile bins: floats (NaN where missing) or category keys (``None`` where missing).

    Datetimes become seconds since 1970, text its length, booleans lowercased keys.

    Examples:
        >>> column_values(pd.Series(["1.5", None]), ColumnRole.NUMERIC).tolist()
        [1.5, nan]
        >>> column_values(pd.Series(["ab", None]), ColumnRole.TEXT).tolist()
        [2.0, nan]
        >>> column_values(pd.Series([" Yes", "no"]), ColumnRole.BOOLEAN).tolist()
        ['yes', 'no']
    """
    if role is ColumnRole.NUMERIC:
        return to_float(values)
    if role.is_datetime:
        parsed = to_datetime(values)
        return ((parsed - _EPOCH).dt.total_seconds()).to_numpy(dtype=np.float64, na_value=np.nan)
    if role is ColumnRole.TEXT:
        lengths = values.astype(object).map(lambda v: len(str(v)), na_action="ignore")
        return np.array(lengths.to_numpy(dtype=np.float64, na_value=np.nan))
    return category_keys(values, lower=role is ColumnRole.BOOLEAN)


def type_errors(values: pd.Series, converted: np.ndarray, role: ColumnRole) -> int:
    """How many present values could not be read as the column's type (numbers and datetimes only).

    >>> s = pd.Series(["1", "x", None])
    >>> type_errors(s, column_values(s, ColumnRole.NUMERIC), ColumnRole.NUMERIC)
    1
    """
    if role is not ColumnRole.NUMERIC and not role.is_datetime:
        return 0
    present = values.notna().to_numpy(dtype=bool)
    return int(np.count_nonzero(present & np.isnan(converted)))
