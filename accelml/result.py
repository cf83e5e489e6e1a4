"""What a fit learned: the one record that the artifact stores and that reports, explanations and monitoring read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from accelml.config import FitConfig
from accelml.ensemble.predictor import Ensemble
from accelml.metrics import Metric
from accelml.profiling import DataIssue
from accelml.schema import Schema
from accelml.search.trial import TrialResult

__all__ = ["FitResult"]


@dataclass
class FitResult:
    """Everything a fit learned; what an artifact stores and loads."""

    schema: Schema
    metric: Metric
    metric_reason: str
    issues: list[DataIssue]
    trials: list[TrialResult]
    ensemble: Ensemble
    val_score: float
    config: FitConfig
    fit_seconds: float
    n_rows: int
    n_splits: int  # folds per repeat (1: one holdout split)
    n_repeats: int = 1  # times k-fold was repeated with fresh shuffles
    sample: pd.DataFrame | None = None  # up to accelml.run.SAMPLE_ROWS training rows as given (target included), seeded
    sample_oof: np.ndarray | None = None  # the ensemble's out-of-fold output on those rows (never trained on them)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def decision_threshold(self) -> float | None:
        """The probability of the positive class from which a binary model predicts it (tuned or fixed at fit time,
        see :mod:`accelml.ensemble.threshold`); ``None`` where labels are the most probable class (other tasks, or an
        artifact saved before thresholds were stored, which thus keeps predicting as it did)."""
        decision = self.extra.get("decision")
        return float(decision["threshold"]) if decision else None
