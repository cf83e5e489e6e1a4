"""Partial dependence: the model's mean prediction as one feature is set to each value of a grid, all else kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.explain.data import model_outputs
from accelml.schema.schema import ColumnRole

__all__ = ["GRID_POINTS", "DEPENDENCE_ROLES", "partial_dependence"]

GRID_POINTS = 20  # numeric grid: quantiles between the 5th and 95th percentile
MAX_LEVELS = 12  # categorical grid: the most frequent values
DEPENDENCE_ROLES = frozenset({ColumnRole.NUMERIC, ColumnRole.CATEGORICAL, ColumnRole.BOOLEAN})
COLUMNS = ["feature", "value", "output", "mean_prediction"]


def _grid(values: pd.Series, role: ColumnRole) -> list[Any]:
    """Grid points of one column: quantiles for numbers, the most frequent values otherwise."""
    present = values.dropna()
    if present.empty:
        return []
    if role == ColumnRole.NUMERIC:
        quantiles = np.quantile(present.to_numpy(dtype=np.float64), np.linspace(0.05, 0.95, GRID_POINTS))
        if pd.api.types.is_integer_dtype(values.dtype):  # whole numbers stay whole: no 2.35 children
            quantiles = np.round(quantiles)
        return [float(v) for v in np.unique(quantiles)]
    return list(present.value_counts().index[:MAX_LEVELS])


def _output_names(automl: Any) -> list[Any]:
    """What each output column is: the positive class for binary, every class for multiclass, the target else."""
    schema = automl.schema_
    if schema.task == "regression":
        return [schema.target]
    return list(schema.classes)


def partial_dependence(
    automl: Any, frame: pd.DataFrame, features: list[str], *, max_rows: int = 500, seed: int = 0
) -> pd.DataFrame:
    """Mean prediction over ``frame`` with each feature in turn set to each point of its grid.

    Numeric, categorical and boolean features are explained; others (dates, text) are skipped. The whole grid of one
    feature goes through the model in one batch.

    Args:
        automl: A fitted :class:`accelml.AutoML`.
        frame: Validated feature rows (a seeded sample of ``max_rows`` is used when there are more).
        features: Features to explain, in order.
        max_rows: Rows averaged over at each grid point.
        seed: Seed of that sample.

    Returns:
        Long format, columns ``feature``, ``value``, ``output``, ``mean_prediction``: for binary the probability of
        the positive (second) class, for multiclass one row per class, for regression the predicted value.
    """
    schema = automl.schema_
    if len(frame) > max_rows:
        frame = frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))]
    frame = frame.reset_index(drop=True)
    names = _output_names(automl)
    rows: list[dict[str, Any]] = []
    for feature in features:
        role = schema.column(feature).role
        grid = _grid(frame[feature], role) if role in DEPENDENCE_ROLES else []
        if not grid:
            continue
        batch = pd.concat([frame] * len(grid), ignore_index=True)
        batch[feature] = np.repeat(np.array(grid, dtype=object), len(frame))  # validation restores the column type
        outputs = model_outputs(automl, batch)
        means = outputs.reshape(len(grid), len(frame), -1).mean(axis=1)  # (grid, outputs)
        shown = range(1, 2) if schema.task == "binary" else range(means.shape[1])
        for g, value in enumerate(grid):
            rows += [{"feature": feature, "value": value, "output": names[k], "mean_prediction": float(means[g, k])}
                     for k in shown]
    return pd.DataFrame(rows, columns=COLUMNS)
