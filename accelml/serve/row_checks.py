"""Per-row warnings for a prediction request: missing values, and categories the model never saw in training.

Neither stops a prediction (the preprocessors treat both as missing), but a client should know its answer rests on
less information than it sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from accelml.features.coerce import category_keys, keys_of_objects
from accelml.schema.schema import ColumnRole, Schema

__all__ = ["known_values", "row_warnings"]

_FEW_ROWS = 64  # rows up to which a request's values are read as one object array


def known_values(preprocessors: Iterable[Any]) -> dict[str, frozenset[str]]:
    """Category keys (and boolean spellings) that any of the fitted ``preprocessors`` has a code for, per column.

    Every fold of every member is read, so a category counts as known when any fold model saw it.
    """
    known: dict[str, set[str]] = {}
    for pre in preprocessors:
        for column in pre.to_dict().get("columns", ()):
            if not isinstance(column, dict):  # a text input lists its columns' names: no per-column state
                continue
            state = column.get("state")
            if state is None:  # nor has an image input
                continue
            if column["role"] == ColumnRole.CATEGORICAL.value:
                values = state.get("categories") or (state.get("target") or {}).get("categories") or []
            elif column["role"] == ColumnRole.BOOLEAN.value:
                values = state.get("values") or []
            else:
                continue
            known.setdefault(column["name"], set()).update(str(v) for v in values)
    return {name: frozenset(values) for name, values in known.items()}


def row_warnings(frame: pd.DataFrame, schema: Schema, known: dict[str, frozenset[str]]) -> list[list[dict[str, Any]]]:
    """For each row of the validated ``frame``, the warnings that apply to it (often none).

    Each warning is ``{"column", "kind", "message"}`` with ``kind`` one of ``missing``, ``unseen_category`` and
    ``unknown_value`` (a boolean column's value that is neither of its two training values).

    Example:
        >>> from accelml.schema.schema import ColumnSpec
        >>> schema = Schema([ColumnSpec("c", ColumnRole.CATEGORICAL, "str")], target="y", task="binary")
        >>> [[w["kind"] for w in row] for row in row_warnings(pd.DataFrame({"c": ["a", "z", None]}), schema,
        ...                                                   {"c": frozenset({"a"})})]
        [[], ['unseen_category'], ['missing']]
    """
    # Single rows are the common case, where every pandas call costs more than the work: one isna for the whole
    # frame, then plain set lookups on the (few) categorical columns.
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    nulls = frame.isna().to_numpy(dtype=bool)
    position = {name: j for j, name in enumerate(frame.columns)}
    objects = frame.to_numpy(dtype=object) if len(frame) <= _FEW_ROWS else None  # one call, not one per column
    for spec in schema.features:
        name = spec.name
        j = position.get(name)
        if j is None:  # a column the model does not read
            continue
        if nulls[:, j].any():
            message = f"column {name!r} is missing; it was treated as unknown"
            for i in np.flatnonzero(nulls[:, j]):
                out[i].append({"column": name, "kind": "missing", "message": message})
        seen = known.get(name)
        if seen is None or spec.role not in (ColumnRole.CATEGORICAL, ColumnRole.BOOLEAN):
            continue
        if spec.role is ColumnRole.BOOLEAN:
            keys = category_keys(frame[name], lower=True) if objects is None \
                else keys_of_objects(objects[:, j], lower=True)
            kind, what = "unknown_value", "value"
        else:  # validated categorical values are already the string keys the encoders use
            keys = frame[name].to_numpy(dtype=object) if objects is None else objects[:, j]
            kind, what = "unseen_category", "category"
        for i in np.flatnonzero(~nulls[:, j]):
            if keys[i] not in seen:
                out[i].append({"column": name, "kind": kind,
                               "message": f"{what} {keys[i]!r} of column {name!r} was not seen in training; "
                                          "it was treated as missing"})
    return out
