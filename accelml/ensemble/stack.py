"""A stacking layer: LightGBM trained on the original columns plus the best first-layer models' out-of-fold outputs.

The second layer uses the same folds as the first, so each of its out-of-fold predictions comes from a model that
never trained on that row; greedy selection then weighs it against the first-layer models on equal terms. (The
first-layer outputs it learns from were themselves made by models that saw the other folds, which makes its score
slightly optimistic, as in every k-fold stacker.)
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.ensemble.predictor import stack_features
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.folds import FoldCache, FoldData
from accelml.search.trial import TrialSpec

__all__ = ["MAX_INPUTS", "STACKER", "fit_stacker", "stack_inputs"]

logger = logging.getLogger(__name__)

MAX_INPUTS = 3  # first-layer models a stacker reads (each must be predicted too, so few and strong)
# Shallow, slowly learning and early-stopped: the first layer's outputs already carry most of the signal.
STACKER = ("lgbm", {"learning_rate": 0.03, "num_leaves": 8, "min_child_samples": 20, "feature_fraction": 0.7,
                    "lambda_l2": 1.0, "n_estimators": 2000, "early_stopping_rounds": 50})


def stack_inputs(candidates: list[FittedTrial], limit: int = MAX_INPUTS) -> list[FittedTrial]:
    """The best finished trial of each family, best first, at most ``limit``: strong and diverse inputs."""
    best: dict[str, FittedTrial] = {}
    for t in sorted(candidates, key=lambda t: (t.result.loss, t.result.spec.trial_id)):
        if t.result.ok and t.oof is not None and t.models and t.result.spec.stage != "stack":
            best.setdefault(t.result.spec.model, t)
    return list(best.values())[:limit]


class _StackedFolds:
    """A view of a :class:`FoldCache` whose matrices carry the first layer's out-of-fold outputs as extra columns
    (appended last, so categorical column indices stay valid)."""

    def __init__(self, folds: FoldCache, extra: np.ndarray):
        self.folds, self.extra = folds, extra
        self.X, self.y, self.schema, self.seed = folds.X, folds.y, folds.schema, folds.seed
        # The first repeat's folds only: the final model keeps those fold models anyway, and training every repeat
        # doubled the stacker's time (segment at 300 s, 10 folds of 7 classes: it never finished in its reserve).
        self.validation = folds.validation.first_repeat_only()
        self.splits = self.validation.splits

    @property
    def oof_rows(self) -> np.ndarray:
        return self.validation.oof_rows

    def get(self, fold: int, kind: str) -> FoldData:
        data = self.folds.get(fold, kind)
        train, val = self.splits[fold]
        return FoldData(data.preprocessor, np.hstack([data.X_train, self.extra[train]]),
                        np.hstack([data.X_val, self.extra[val]]))


def fit_stacker(candidates: list[FittedTrial], folds: FoldCache, context: TrialContext, deadline: Deadline, *,
                trial_id: int) -> FittedTrial | None:
    """Fit the second layer on every fold; None when it cannot help (fewer than two inputs, a holdout split whose
    training rows have no out-of-fold outputs) or did not finish.

    The result names its inputs in ``result.extra["inputs"]``; the ensemble predicts them first.
    """
    if len(folds.splits) < 2 or deadline.expired():
        return None
    inputs = stack_inputs(candidates)
    if len(inputs) < 2:
        return None
    extra = stack_features([t.oof for t in inputs])
    key, params = STACKER
    spec = TrialSpec(trial_id, key, dict(params), "stack")
    fitted = evaluate_trial(spec, _StackedFolds(folds, extra), context.at(deadline, started=time.monotonic()))
    if not fitted.result.ok:
        logger.info("stacker not used: %s", fitted.result.error or fitted.result.status)
        return None
    names = [t.result.spec.name for t in inputs]
    extra_info: dict[str, Any] = {**fitted.result.extra, "inputs": names}
    fitted.result = dataclasses.replace(fitted.result, extra=extra_info)
    logger.info("stacker on %s: %s=%.5f", names, context.metric.name, fitted.result.score)
    return fitted
