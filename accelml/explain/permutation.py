"""Permutation importance of the whole model: shuffle one raw input column, predict end to end, measure the loss."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from accelml.explain.data import ExplainData, model_outputs

__all__ = ["MAX_BATCH_ROWS", "permutation_importance"]

logger = logging.getLogger(__name__)

# Rows sent to the model in one call. Each call pays every fold preprocessor's fixed cost, which dominates for small
# frames (adult, 15 fold models: 18 calls of 2,400 rows took 15 s, one call of 34,000 rows 3 s), so batch widely.
MAX_BATCH_ROWS = 100_000


def permutation_importance(automl: Any, data: ExplainData, *, n_repeats: int = 5, seed: int = 0) -> pd.DataFrame:
    """How much the metric worsens when each feature column is shuffled, most important first.

    The shuffled copies of many features go through the model together, in as few calls as
    :data:`MAX_BATCH_ROWS` allows.

    Args:
        automl: A fitted :class:`accelml.AutoML`.
        data: Labelled rows (see :func:`accelml.explain.data.explain_data`).
        n_repeats: Shuffles per feature; the spread of their results is ``importance_std``.
        seed: Seed of the shuffles.

    Returns:
        Columns ``feature``, ``importance_mean``, ``importance_std``, as loss increases in the metric's units
        (positive: the feature helps; near zero: it does not; negative: the model does better without it).
    """
    metric = automl.metric_
    sign = 1.0 if metric.greater_is_better else -1.0
    baseline = metric.score_from_proba(data.y, model_outputs(automl, data.frame))
    rng = np.random.default_rng(seed)
    n = len(data.frame)
    features = list(data.frame.columns)
    per_call = max(1, MAX_BATCH_ROWS // (n * n_repeats))
    rows = []
    for start in range(0, len(features), per_call):
        chunk = features[start : start + per_call]
        batch = pd.concat([data.frame] * (n_repeats * len(chunk)), ignore_index=True)
        for f, column in enumerate(chunk):  # block f of the batch shuffles this column, n_repeats times
            values = data.frame[column].to_numpy()
            full = np.tile(values, n_repeats * len(chunk))
            for r in range(n_repeats):
                at = (f * n_repeats + r) * n
                full[at : at + n] = values[rng.permutation(n)]
            batch[column] = full  # validation restores the column's type
        outputs = model_outputs(automl, batch)
        for f, column in enumerate(chunk):
            blocks = (outputs[(f * n_repeats + r) * n : (f * n_repeats + r + 1) * n] for r in range(n_repeats))
            drops = [sign * (baseline - metric.score_from_proba(data.y, block)) for block in blocks]
            rows.append({"feature": column, "importance_mean": float(np.mean(drops)),
                         "importance_std": float(np.std(drops))})
            logger.debug("permutation importance of %s: %.4g", column, rows[-1]["importance_mean"])
    table = pd.DataFrame(rows, columns=["feature", "importance_mean", "importance_std"])
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
