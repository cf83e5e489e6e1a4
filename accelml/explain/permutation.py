"""Permutation importance of the whole model: shuffle one raw input column, predict end to end, measure the loss."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from accelml.explain.data import ExplainData, model_outputs

__all__ = ["permutation_importance"]

logger = logging.getLogger(__name__)


def permutation_importance(automl: Any, data: ExplainData, *, n_repeats: int = 5, seed: int = 0) -> pd.DataFrame:
    """How much the metric worsens when each feature column is shuffled, most important first.

    All repeats of one feature go through the model in one batch, so each feature costs one prediction call.

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
    rows = []
    for column in data.frame.columns:
        batch = pd.concat([data.frame] * n_repeats, ignore_index=True)
        values = data.frame[column].to_numpy()
        batch[column] = np.concatenate([values[rng.permutation(n)] for _ in range(n_repeats)])
        outputs = model_outputs(automl, batch)
        drops = [
            sign * (baseline - metric.score_from_proba(data.y, outputs[r * n : (r + 1) * n]))
            for r in range(n_repeats)
        ]
        rows.append({"feature": column, "importance_mean": float(np.mean(drops)), "importance_std": float(np.std(drops))})
        logger.debug("permutation importance of %s: %.4g", column, rows[-1]["importance_mean"])
    table = pd.DataFrame(rows, columns=["feature", "importance_mean", "importance_std"])
    return table.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
