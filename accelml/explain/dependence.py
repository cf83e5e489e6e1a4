"""Partial dependence: the model's mean prediction as one feature is set to each value of a grid, all else kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.explain.data import model_outputs
from accelml.schema.schema import ColumnRole
from accelml.tasks import get_task

__all__ = ["DEPENDENCE_ROLES", "GRID_POINTS", "partial_dependence"]

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
        numbers = present.to_numpy(dtype=np.float64)
        grid = np.quantile(numbers, np.linspace(0.05, 0.95, GRID_POINTS))
        if len(np.unique(grid)) < GRID_POINTS // 2 and grid[-1] > grid[0]:  # piled-up values (mostly 0): even steps
            grid = np.linspace(grid[0], grid[-1], GRID_POINTS)
        if pd.api.types.is_integer_dtype(values.dtype):  # whole numbers stay whole: no 2.35 children
            grid = np.round(grid)
        return [float(v) for v in np.unique(grid)]
    return list(present.value_counts().index[:MAX_LEVELS])


def _output_names(automl: Any) -> list[Any]:
    """What each output column is: the positive class for binary, every class for multiclass, the target else."""
    schema = automl.schema_
    if not get_task(schema.task).classification:
        return [schema.target]
    return list(schema.classes)


def partial_dependence(
    automl: Any, frame: pd.DataFrame, features: list[str], *, max_rows: int = 500, seed: int = 0
) -> pd.DataFrame:
    """Mean prediction over ``frame`` with each feature in turn set to each point of its grid.

    Numeric, categorical and boolean features are explained; others (dates, text) are skipped. Every grid point of
    every feature goes through the model in one batch.

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
    grids = {f: _grid(frame[f], schema.column(f).role) for f in features
             if schema.column(f).role in DEPENDENCE_ROLES}
    grids = {f: g for f, g in grids.items() if g}
    points = [(f, value) for f, grid in grids.items() for value in grid]  # one block of rows per grid point
    if not points:
        return pd.DataFrame(columns=COLUMNS)
    n = len(frame)
    batch = pd.concat([frame] * len(points), ignore_index=True)
    for feature in grids:  # one batch for every feature's grid: each model call has a high fixed cost
        column = np.tile(frame[feature].to_numpy(), len(points)).astype(object)
        for p, (f, value) in enumerate(points):
            if f == feature:
                column[p * n : (p + 1) * n] = value
        batch[feature] = column  # validation restores the column's type
    means = model_outputs(automl, batch).reshape(len(points), n, -1).mean(axis=1)  # (grid points, outputs)
    shown = range(1, 2) if means.shape[1] == 2 else range(means.shape[1])  # two classes: the positive one
    rows = [{"feature": f, "value": value, "output": names[k], "mean_prediction": float(means[p, k])}
            for p, (f, value) in enumerate(points) for k in shown]
    return pd.DataFrame(rows, columns=COLUMNS)
