"""Turn raw column values (strings, mixed objects, nullable dtypes) into canonical numpy arrays.

Every encoder reads its column through one of these functions, both when fitting and when transforming, so that
values arriving in a different raw form at prediction time (``"3"`` vs ``3`` vs ``3.0``) land on the same key.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["category_keys", "keys_of_objects", "to_datetime", "to_float", "to_text"]


def to_float(values: pd.Series) -> np.ndarray:
    """Numbers as float64; anything unparsable, missing or infinite becomes NaN.

    Example:
        >>> to_float(pd.Series(["1.5", None, "x", 2, "inf"], dtype=object)).tolist()
        [1.5, nan, nan, 2.0, nan]
    """
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values
    else:
        numbers = pd.to_numeric(values, errors="coerce")
    out = np.array(numbers.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


def _key(value: Any) -> str:
    """One value as a category key: integral numbers lose their ``.0`` so ``1``, ``1.0`` and ``"1"`` agree."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if f.is_integer() and abs(f) < 2**63:
            return str(int(f))
        return repr(f)
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def category_keys(values: pd.Series, lower: bool = False) -> np.ndarray:
    """Category keys as an object array of ``str``, ``None`` where missing.

    Args:
        values: the raw column.
        lower: also strip whitespace and lowercase (used for booleans such as ``'Yes'``/``'no'``).

    Example:
        >>> category_keys(pd.Series([1.0, None, 2.0])).tolist()
        ['1', None, '2']
        >>> category_keys(pd.Series([" Yes", "no", True], dtype=object), lower=True).tolist()
        ['yes', 'no', 'true']
    """
    missing = values.isna().to_numpy(dtype=bool)
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype) and not isinstance(dtype, pd.api.types.CategoricalDtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        present = arr[~np.isnan(arr)]
        if np.all(np.abs(present) < 2**53) and np.all(present == np.round(present)):  # integral and finite
            keys = np.where(np.isnan(arr), 0, arr).astype(np.int64).astype(str).astype(object)
        else:
            keys = np.array([_key(v) for v in arr], dtype=object)
    elif pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        keys = np.array(values.to_numpy(dtype=object), dtype=object)  # a copy: pandas may hand out read-only views
    else:
        keys = np.array([_key(v) for v in values.to_numpy(dtype=object)], dtype=object)
    keys[missing] = None
    if lower:
        codes, uniques = pd.factorize(keys)  # normalise each distinct value once, not once per row
        normalised = np.array([u.strip().lower() for u in uniques] + [None], dtype=object)
        keys = normalised[codes]  # code -1 (missing) reads the trailing None
    return keys


def keys_of_objects(values: np.ndarray, lower: bool = False) -> np.ndarray:
    """:func:`category_keys` of a column given as an object array of its values (a few rows: one Python call per
    value costs less there than pandas' per-column set-up).

    Example:
        >>> keys_of_objects(np.array([1.0, None, 2.5, " Yes", True, np.nan], dtype=object), lower=True).tolist()
        ['1', None, '2.5', 'yes', 'true', None]
    """
    missing = pd.isna(values)
    keys = np.array([None if m else _key(v) for v, m in zip(values, missing, strict=True)], dtype=object)
    if lower:
        keys = np.array([None if k is None else k.strip().lower() for k in keys], dtype=object)
    return keys


def to_datetime(values: pd.Series) -> pd.Series:
    """Timestamps as naive UTC ``datetime64``; unparsable values become ``NaT``.

    Strings are parsed with the format pandas infers from the first value; the few that do not match it are parsed
    again one by one, so a column mixing ``2020-01-31`` and ``2020/02/01`` loses nothing.

    Example:
        >>> to_datetime(pd.Series(["2020-01-31", "2020/02/01 10:30", None, "x"])).dt.day.tolist()
        [31.0, 1.0, nan, nan]
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            parsed = values.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(values.dtype):
            return values.reset_index(drop=True)
        else:
            values = values.reset_index(drop=True)
            parsed = pd.to_datetime(values, errors="coerce", utc=True)
            failed = (parsed.isna() & values.notna()).to_numpy()
            if failed.any():
                retry = pd.to_datetime(values[failed], errors="coerce", utc=True, format="mixed")
                parsed = parsed.astype(retry.dtype) if retry.dtype != parsed.dtype else parsed.copy()
                parsed[failed] = retry
    return parsed.dt.tz_localize(None).reset_index(drop=True)


def to_text(values: pd.Series) -> list[str]:
    """Documents as a list of ``str``; missing values become ``''``.

    Example:
        >>> to_text(pd.Series(["a b", None, 3]))
        ['a b', '', '3']
    """
    missing = values.isna().to_numpy(dtype=bool)
    return [
        "" if m else (v if isinstance(v, str) else _key(v))
        for v, m in zip(values.to_numpy(dtype=object), missing, strict=True)
    ]
