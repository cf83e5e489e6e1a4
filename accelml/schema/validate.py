"""Make a frame match a schema: the right columns in the right order, with values of the right kind.

:func:`validate_frame` is strict and used at predict time: a value that does not fit its column is an error that
names the column, the row and the value. :func:`coerce_training_frame` applies the same conversions at fit time but
turns bad values into missing ones, which the preprocessors then impute.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import SchemaError
from accelml.schema.schema import ColumnRole, Schema

__all__ = ["coerce_training_frame", "plain_number", "validate_frame"]

logger = logging.getLogger(__name__)

try:  # pandas >= 2.3: the string dtype that pandas 3 infers by default, with NaN as its missing value
    _STRING_DTYPE: Any = pd.StringDtype(na_value=np.nan)
except TypeError:  # older pandas: plain Python strings in an object column
    _STRING_DTYPE = np.dtype(object)


def validate_frame(df: pd.DataFrame, schema: Schema, *, source: str = "data",
                   columns: list[str] | None = None) -> pd.DataFrame:
    """Check and convert data for prediction against the schema the model was trained on.

    Args:
        df: The data to predict on; extra columns (the target included) are allowed and dropped.
        schema: The training schema.
        source: How to call the data in error messages.
        columns: The feature columns the model reads (see :meth:`accelml.ensemble.Ensemble.required_columns`);
            only these must be present, and only these are checked and returned. None: every feature column.

    Returns:
        A new DataFrame with exactly the schema's feature columns in schema order (or ``columns``, in their order),
        converted per role: numbers for numeric columns, timestamps for datetime columns, strings (missing kept) for categorical and
        text columns, booleans left as they are.

    Raises:
        SchemaError: A feature column is missing, or a value cannot be converted to its column's type.

    Examples:
        >>> import pandas as pd
        >>> from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
        >>> schema = Schema([ColumnSpec("age", ColumnRole.NUMERIC, "int64")], target="y", task="regression")
        >>> validate_frame(pd.DataFrame({"y": [1], "age": ["7"]}), schema)["age"].tolist()
        [7]
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{source} must be a pandas DataFrame, got {type(df).__name__}; use accelml.data.read_table")
    specs = schema.features if columns is None else [schema.column(name) for name in columns]
    names = [c.name for c in specs]
    if df.columns.is_unique:  # positions found in one call: a wide frame is costly to touch column by column
        positions = df.columns.get_indexer(names)
        missing = [name for name, at in zip(names, positions, strict=True) if at < 0]
    else:
        present = set(df.columns)
        missing = [name for name in names if name not in present]
    if missing:
        listed = ", ".join(repr(n) for n in missing)
        raise SchemaError(f"{source} is missing column(s) {listed} that the model was trained on")
    if logger.isEnabledFor(logging.DEBUG):
        extra = [c for c in df.columns if c not in set(names)]
        logger.debug("%s: ignoring %d column(s) not used by the model: %s", source, len(extra), extra[:10])
    if not df.columns.is_unique:
        return _coerce(df, Schema(list(specs), target=schema.target, task=schema.task), strict=True, source=source,
                       keep_other_columns=False)
    # Only the model's columns from here on; a frame of float64 numbers becomes one array (one copy, not one per
    # column), as a wide table read from a file usually is.
    frame = df if len(names) == df.shape[1] and bool(np.all(positions == np.arange(len(names)))) \
        else df.iloc[:, positions]
    if all(c.role is ColumnRole.NUMERIC for c in specs):
        dtypes = frame.dtypes.tolist()
        if all(t == np.float64 for t in dtypes):
            return pd.DataFrame(frame.to_numpy(dtype=np.float64), columns=names, index=df.index)
        if all(plain_number(t) for t in dtypes):  # what _coerce gives: nothing to convert (one row: 0.3 -> 0.03 ms)
            return frame.copy(deep=False)
    return _coerce(frame, Schema(list(specs), target=schema.target, task=schema.task), strict=True, source=source,
                   keep_other_columns=True)


def coerce_training_frame(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Apply :func:`validate_frame`'s conversions to training data, turning values that do not fit into missing.

    Unlike :func:`validate_frame`, every column of ``df`` is kept (target, identifiers and constants included), in
    its original order, so the result can be handed on to the rest of the pipeline; only feature columns are
    converted.

    Examples:
        >>> import pandas as pd
        >>> from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
        >>> schema = Schema([ColumnSpec("age", ColumnRole.NUMERIC, "str")], target="y", task="regression")
        >>> coerce_training_frame(pd.DataFrame({"age": ["3", "abc"], "y": [1.0, 2.0]}), schema)["age"].tolist()
        [3.0, nan]
    """
    return _coerce(df, schema, strict=False, source="training data", keep_other_columns=True)


def _coerce(df: pd.DataFrame, schema: Schema, *, strict: bool, source: str, keep_other_columns: bool) -> pd.DataFrame:
    roles = {c.name: c.role for c in schema.features if c.name in df.columns}
    # df.iloc, not df.loc: far faster on wide unconsolidated frames (what pandas 3 reads from a file)
    names = [c.name for c in schema.features]
    if keep_other_columns:
        out = df.copy(deep=False)
    else:
        out = (df.iloc[:, df.columns.get_indexer(names)] if df.columns.is_unique else df.loc[:, names]).copy(deep=False)
    dtypes = df.dtypes.to_dict() if df.columns.is_unique else {}
    for name, role in roles.items():
        if role is ColumnRole.NUMERIC and name in dtypes and plain_number(dtypes[name]):
            continue  # numbers already: nothing to convert or check
        s = df[name]
        if role is ColumnRole.NUMERIC:
            converted = _to_numeric(s)
        elif role.is_datetime:
            converted = _to_datetime(s)
        elif role in (ColumnRole.CATEGORICAL, ColumnRole.TEXT):
            converted = _to_strings(s)
        else:  # BOOLEAN: the preprocessor maps the two levels itself
            continue
        if strict and role is not ColumnRole.CATEGORICAL and role is not ColumnRole.TEXT:  # text never fails
            _raise_on_new_nulls(s, converted, name, role, source)
        if converted is not s:  # a column already of its kind is left as it is
            out[name] = converted
    return out


def plain_number(dtype: Any) -> bool:
    """Whether a column of ``dtype`` holds numbers already (nothing for a numeric column to convert or check): numbers
    and booleans, nullable ones included, not categories; such a column converts to float64 in one array operation."""
    return pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)


def _to_numeric(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    return pd.to_numeric(s, errors="coerce")  # surrounding whitespace is accepted


def _to_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(s, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            # Mixed time zones cannot share one dtype: convert everything to UTC.
            return pd.to_datetime(s, errors="coerce", format="mixed", utc=True)


def _to_strings(s: pd.Series) -> pd.Series:
    if s.dtype == _STRING_DTYPE:
        return s
    return s.astype(object).map(_to_string, na_action="ignore").astype(_STRING_DTYPE)


def _to_string(value: Any) -> str:
    # 3 and 3.0 must give the same category: an integer column with a missing value is read as float in training,
    # while the same value arrives as an int in a JSON request.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _to_string(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _raise_on_new_nulls(before: pd.Series, after: pd.Series, name: str, role: ColumnRole, source: str) -> None:
    bad = after.isna() & before.notna()
    if not bad.any():
        return
    row = bad.idxmax()
    value = before.loc[row]
    if isinstance(value, pd.Series):  # duplicated index labels: take the first bad one
        value = value[bad.loc[row].to_numpy()].iloc[0]
    expected = "numbers" if role is ColumnRole.NUMERIC else "dates or times"
    count = int(bad.sum())
    more = f" ({count} bad values in all)" if count > 1 else ""
    raise SchemaError(f"column {name!r} expects {expected} but row {row} has {value!r}{more}; fix or remove it")
