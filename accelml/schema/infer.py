"""Infer the task from the target and a role for every other column.

The rules are deliberately simple and explainable: each role is decided by one small predicate, checked in a
fixed order (constant, boolean, image, datetime, identifier, text, then categorical or numeric). The user's ``roles``
override wins over every rule.
"""

from __future__ import annotations

import difflib
import logging
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ConfigError, DataError
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
from accelml.tasks import TASKS, get_task, infer_task
from accelml.tasks.base import is_integer_valued, is_string_like

__all__ = ["infer_role", "infer_schema", "infer_task", "looks_like_images"]

logger = logging.getLogger(__name__)

_ID_NAME = re.compile(r"^(?:id|uuid|guid|key|index|idx)$|[_\- ](?:id|uuid|guid|key|index|idx)$", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z0-9](?:Id|ID|Uuid|UUID|Key)$")
# A value looks like a date or time if it has a separator ("-", "/", ":") or a month name ("1939 Jan"), and also a
# 4-digit year, two separators ("3/4/21") or a clock time ("9:30"); this keeps ranges such as "10-20" or scores
# such as "2-1" (which dateutil happily parses as dates) out.
_DATE_SEPARATOR = re.compile(
    r"[-/:]|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)
_DATE_LIKE = re.compile(r"\d{4}|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}:\d{2}")
_DATE_SAMPLE = 500
_TEXT_SAMPLE = 10_000
# Phrases of several words take the text role when most rows hold their own, or when there are this many distinct
# ones even if they repeat (support tickets, reviews copied across rows): as categories, most would be seen a few times
# and teach nothing, while their words are shared.
_TEXT_CARDINALITY = 1000
_MIN_TEXTS = 20
_MIN_ID_ROWS = 20


def infer_schema(
    df: pd.DataFrame,
    target: str,
    *,
    task: str | None = None,
    roles: Mapping[str, str | ColumnRole] | None = None,
) -> Schema:
    """Build the schema: the task, the class labels and a role for every non-target column.

    Args:
        df: The training data, target included.
        target: Name of the target column.
        task: One of :data:`~accelml.schema.TASKS`; inferred with :func:`infer_task` when ``None``.
        roles: Column name to role name (``"numeric"``, ``"categorical"``, ...) for columns whose inferred role is
            wrong. These win over inference and are marked ``user_role=True``.

    Returns:
        The :class:`~accelml.schema.Schema`; ``classes`` holds the sorted labels as plain Python values for
        classification and is ``None`` for regression.

    Raises:
        DataError: The target is not a column, has a single value, or does not fit the given task.
        ConfigError: The task, a role name or a column named in ``roles`` is unknown.

    Examples:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"age": [22, 38, 26, 35], "sex": ["m", "f", "f", "m"], "survived": [0, 1, 1, 0]})
        >>> schema = infer_schema(df, "survived")
        >>> schema.task, schema.classes
        ('binary', [0, 1])
        >>> [(c.name, c.role.value) for c in schema.columns]
        [('age', 'numeric'), ('sex', 'boolean')]
    """
    _check_target(df, target)
    if task is not None and task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    overrides = _check_roles(df, target, roles or {})

    y = df[target]
    task = task or infer_task(y, roles)
    classes = get_task(task).check_target(y)

    columns = []
    numeric = _numeric_summaries(df, [c for c in df.columns if c != target])
    for name in df.columns:
        if name == target:
            continue
        s = df[name]
        user_role = name in overrides
        missing, n_unique, role = numeric.get(name) or (None, None, None)
        if user_role:
            role = overrides[name]
        elif role is None:
            role = infer_role(s)
        columns.append(
            ColumnSpec(
                name=name,
                role=role,
                dtype=str(s.dtype),
                missing_fraction=(float(s.isna().mean()) if len(s) else 0.0) if missing is None else missing,
                n_unique=_nunique(s.dropna()) if n_unique is None else n_unique,
                user_role=user_role,
            )
        )
        logger.debug("column %r: role %s%s", name, role.value, " (user)" if user_role else "")
    return Schema(columns=columns, target=target, task=task, classes=classes)


def infer_role(s: pd.Series) -> ColumnRole:
    """Infer the role of one input column (the rules listed in the module docstring, in order).

    Examples:
        >>> import pandas as pd
        >>> infer_role(pd.Series(["yes", "no", "no"])).value
        'boolean'
        >>> infer_role(pd.Series([1.5, 2.0, 3.25])).value
        'numeric'
    """
    values = s.dropna()
    n_unique = _nunique(values)
    if n_unique <= 1:
        return ColumnRole.CONSTANT
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnRole.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnRole.DATETIME
    if n_unique == 2 and _is_boolean_pair(values):
        return ColumnRole.BOOLEAN
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return ColumnRole.IDENTIFIER if _is_integer_identifier(s.name, values, n_unique, len(s)) else ColumnRole.NUMERIC
    if isinstance(dtype, pd.CategoricalDtype):
        return ColumnRole.CATEGORICAL
    if not is_string_like(s):
        return ColumnRole.CATEGORICAL  # periods, intervals, ...: treat levels as categories
    strings = values.astype(str)
    if looks_like_images(strings):
        return ColumnRole.IMAGE
    if _looks_like_datetime(strings):
        return ColumnRole.DATETIME
    if _is_string_identifier(s.name, strings, n_unique, len(s)):
        return ColumnRole.IDENTIFIER
    if _looks_like_text(strings, n_unique):
        return ColumnRole.TEXT
    return ColumnRole.CATEGORICAL


_BLOCK_CELLS = 4_000_000  # cells of one block of numeric columns summarised at once


def _numeric_summaries(df: pd.DataFrame, names: list[Any]) -> dict[Any, tuple[float, int, ColumnRole | None]]:
    """Missing fraction, distinct values and role of the plain NumPy numeric columns among ``names``, computed a
    block of columns at a time (per column, pandas' calls cost about half a millisecond: seconds on thousands of
    columns). The role is NUMERIC where :func:`infer_role` would surely say so (more than two distinct values, and
    not all-distinct whole numbers that could be an identifier), else None: infer it column by column.

    >>> df = pd.DataFrame({"x": [0.5, 1.5, None, 2.5] * 5, "n": range(20), "b": [0, 1] * 10})
    >>> {k: (round(m, 2), u, r and r.value) for k, (m, u, r) in _numeric_summaries(df, ["x", "n", "b"]).items()}
    {'x': (0.25, 3, 'numeric'), 'n': (0.0, 20, None), 'b': (0.0, 2, None)}
    """
    if not df.columns.is_unique or not len(df):
        return {}
    by_dtype: dict[Any, list[Any]] = {}
    dtypes = dict(zip(df.columns, df.dtypes))
    for name in names:
        dtype = dtypes[name]
        if isinstance(dtype, np.dtype) and dtype.kind in "fi":
            by_dtype.setdefault(dtype, []).append(name)
    out: dict[Any, tuple[float, int, ColumnRole | None]] = {}
    step = max(1, _BLOCK_CELLS // len(df))
    for group in by_dtype.values():
        for start in range(0, len(group), step):
            block = group[start:start + step]
            values = np.sort(df[block].to_numpy(), axis=0)  # NaN sorts last
            present = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, dtype=bool)
            count = present.sum(axis=0)
            n_unique = np.where(count > 0, 1, 0) + ((values[1:] != values[:-1]) & present[1:]).sum(axis=0)
            if values.dtype.kind == "f":
                with np.errstate(invalid="ignore"):
                    whole = ((np.isfinite(values) & (values == np.round(values))) | ~present).all(axis=0)
            else:
                whole = np.ones(len(block), dtype=bool)
            for i, name in enumerate(block):
                u, c = int(n_unique[i]), int(count[i])
                surely_numeric = u > 2 and (u != c or len(df) < _MIN_ID_ROWS or not whole[i])
                out[name] = (1.0 - c / len(df), u, ColumnRole.NUMERIC if surely_numeric else None)
    return out


# --- target and overrides --------------------------------------------------------------------------------------


def _check_target(df: pd.DataFrame, target: str) -> None:
    if target in df.columns:
        return
    names = [str(c) for c in df.columns]
    same_case = [c for c in names if c.lower() == str(target).lower()]
    close = same_case or difflib.get_close_matches(str(target), names, n=1, cutoff=0.6)
    message = f"target column {target!r} not found"
    if close:
        message += f"; did you mean {close[0]!r}?"
    if len(names) <= 20:
        message += f" (columns: {', '.join(repr(c) for c in names)})"
    raise DataError(message)


def _check_roles(df: pd.DataFrame, target: str, roles: Mapping[str, str | ColumnRole]) -> dict[str, ColumnRole]:
    unknown_columns = [c for c in roles if c not in df.columns]
    if unknown_columns:
        shown = ", ".join(repr(c) for c in df.columns[:30])
        raise ConfigError(
            f"roles name column(s) {', '.join(repr(c) for c in unknown_columns)} that are not in the data; "
            f"columns are: {shown}{', ...' if len(df.columns) > 30 else ''}"
        )
    if target in roles:
        raise ConfigError(f"roles give a role to the target column {target!r}; remove it from roles")
    valid = {r.value: r for r in ColumnRole}
    out = {}
    for column, role in roles.items():
        key = role.value if isinstance(role, ColumnRole) else str(role).strip().lower()
        if key not in valid:
            raise ConfigError(
                f"unknown role {role!r} for column {column!r}; valid roles are: {', '.join(sorted(valid))}"
            )
        out[column] = valid[key]
    return out


# --- per-column predicates -------------------------------------------------------------------------------------


def _nunique(values: pd.Series) -> int:
    try:
        return int(values.nunique(dropna=True))
    except TypeError:  # unhashable cells (lists, dicts)
        return int(values.astype(str).nunique(dropna=True))


def _is_boolean_pair(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return set(values.unique().tolist()) == {0, 1}
    # Any 2-valued string column (yes/no, male/female, ...): the preprocessor maps the two levels to 0/1.
    return is_string_like(values) or isinstance(values.dtype, pd.CategoricalDtype)


def _looks_like_id_name(name: Any) -> bool:
    text = str(name).strip()
    return bool(_ID_NAME.search(text) or _CAMEL_ID.search(text))


def _is_integer_identifier(name: Any, values: pd.Series, n_unique: int, n_rows: int) -> bool:
    # Differs from "every all-unique integer column is an id" on purpose: in small data an honest measurement
    # (an area, a price in cents) is often all-unique, and dropping it would silently lose signal. So an all-unique
    # integer column is an id only if its name says so or its values are a dense range such as 1..n.
    if n_rows < _MIN_ID_ROWS or n_unique != len(values) or not pd.api.types.is_numeric_dtype(values.dtype):
        return False
    if pd.api.types.is_bool_dtype(values.dtype) or not is_integer_valued(values):
        return False
    if _looks_like_id_name(name):
        return True
    span = float(values.max()) - float(values.min()) + 1
    return span <= 2 * n_unique


def _is_string_identifier(name: Any, strings: pd.Series, n_unique: int, n_rows: int) -> bool:
    if n_rows < _MIN_ID_ROWS or n_unique != len(strings):
        return False
    return _looks_like_id_name(name) or not bool(strings.str.contains(r"\s", regex=True).any())


def _looks_like_datetime(strings: pd.Series) -> bool:
    sample = strings.sample(n=min(_DATE_SAMPLE, len(strings)), random_state=0) if len(strings) else strings
    if sample.empty:
        return False
    looks = sample.str.contains(_DATE_LIKE, regex=True) & sample.str.contains(_DATE_SEPARATOR, regex=True)
    looks &= pd.to_numeric(sample, errors="coerce").isna()  # never purely numeric strings such as "-5" or "1e-3"
    if looks.mean() < 0.9:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        except (ValueError, TypeError, OverflowError):
            return False
    return bool(parsed.notna().mean() >= 0.9)


def looks_like_images(strings: pd.Series) -> bool:
    """Paths of image files (by extension) or in-memory image references, in at least 90 % of a sample."""
    from accelml.data.images import IMAGE_EXTENSIONS
    from accelml.data.memory import PREFIX

    sample = strings.sample(n=min(_DATE_SAMPLE, len(strings)), random_state=0) if len(strings) else strings
    if sample.empty:
        return False
    lowered = sample.str.strip().str.lower()
    return bool((lowered.str.endswith(IMAGE_EXTENSIONS) | lowered.str.startswith(PREFIX)).mean() >= 0.9)


def _looks_like_text(strings: pd.Series, n_unique: int) -> bool:
    if n_unique < _TEXT_CARDINALITY:
        # Most rows hold their own text, once a placeholder that fills more than half of them ("No comment", "") is
        # set aside; with fewer than 20 distinct values a column is categories whatever their share.
        top_value, top_rows = _most_frequent(strings)
        if n_unique >= _MIN_TEXTS and top_rows > 0.5 * len(strings):
            strings = strings[strings != top_value]
        if n_unique <= 0.5 * len(strings):
            return False
    sample = strings.sample(n=min(_TEXT_SAMPLE, len(strings)), random_state=0)
    mean_length = sample.str.len().mean()
    mean_words = sample.str.count(r"\S+").mean()
    return bool(mean_length >= 20 and mean_words >= 3)


def _most_frequent(strings: pd.Series) -> tuple[str | None, int]:
    counts = strings.value_counts()
    return (str(counts.index[0]), int(counts.iloc[0])) if len(counts) else (None, 0)
