"""Turn the search's trials into the final predictor."""

from __future__ import annotations

import logging

import numpy as np

from accelml.ensemble.greedy import greedy_weights
from accelml.ensemble.predictor import Ensemble, Member
from accelml.metrics import Metric
from accelml.search.evaluate import FittedTrial
from accelml.search.folds import FoldCache

__all__ = ["build_ensemble"]

logger = logging.getLogger(__name__)


def build_ensemble(
    trials: list[FittedTrial], folds: FoldCache, metric: Metric
) -> tuple[Ensemble, float, np.ndarray]:
    """Greedy ensemble selection over the kept trials' out-of-fold predictions.

    Returns the ensemble, its validation score, and its out-of-fold output for every row (zeros where a holdout split
    made no prediction; see ``folds.oof_rows``).

    The ensemble only ever sees out-of-fold predictions, so its score is measured on rows no member trained on
    (though choosing the weights on them makes it slightly optimistic).
    """
    from accelml.exceptions import AccelMLError
    from accelml.models import MODELS

    candidates = [t for t in trials if t.result.ok and t.models and t.oof is not None]
    if not candidates:
        failures = "; ".join(f"{t.result.spec.name}: {t.result.error}" for t in trials if t.result.error)[:500]
        raise AccelMLError(
            "no model finished within the time limit; give a larger --time-limit"
            + (f" (failures: {failures})" if failures else "")
        )
    candidates.sort(key=lambda t: (t.result.loss, t.result.spec.trial_id))
    rows = folds.oof_rows
    y = folds.y[rows]

    def loss(pred: np.ndarray) -> float:
        value = metric.score_from_proba(y, pred)
        return -value if metric.greater_is_better else value

    weights, ens_loss = greedy_weights([t.oof[rows] for t in candidates], loss)
    oof = sum(weight * candidates[index].oof for index, weight in weights.items())
    members = []
    for index, weight in weights.items():
        t = candidates[index]
        kind = MODELS[t.result.spec.model].preprocessing
        pre = [folds.get(k, kind).preprocessor for k in range(len(t.models))]
        members.append(Member(t.result.spec.name, t.result.spec.model, weight, pre, t.models))
    score = -ens_loss if metric.greater_is_better else ens_loss
    logger.info("ensemble of %s: %s=%.5f", [m.name for m in members], metric.name, score)
    return Ensemble(members), float(score), oof
