"""What a binary run does with its decision threshold: the objective that the ``threshold`` and ``costs`` options
(:mod:`accelml.metrics.threshold_options`) and the run's metric ask for, and the record of the threshold chosen on the
out-of-fold predictions (which the result, the artifact, the report and the service read)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelml.ensemble.threshold import GRID, Objective, ThresholdCurve, tune_threshold
from accelml.exceptions import ConfigError
from accelml.metrics.counted import COUNTED
from accelml.metrics.threshold_options import DEGENERATE, PRECISION_AT_RECALL
from accelml.tasks import get_task

__all__ = ["ThresholdPlan", "decision_record", "threshold_plan"]

logger = logging.getLogger(__name__)

MAX_CUSTOM_ROWS = 20_000  # rows a custom metric is scored on at each threshold (a seeded sample beyond that)


@dataclass(frozen=True)
class ThresholdPlan:
    """What a binary run does with its threshold: tune it for ``objective``, or keep the user's ``fixed`` one; and
    which objectives' curves the report draws (the one tuned for first)."""

    objective: Objective | None
    fixed: float | None
    curves: tuple[Objective, ...]


def threshold_plan(threshold: str | float, costs: Mapping[str, float] | None, metric: Any,
                   task: str) -> ThresholdPlan | None:
    """The plan for the options ``threshold`` and ``costs`` (as :class:`~accelml.config.FitConfig` holds them), the
    run's ``metric`` and its ``task``; ``None`` where labels stay the most probable class.

    ``"auto"`` tunes for the costs when given, else for the metric when it reads labels (not precision or recall
    alone), and does nothing for a metric of probabilities (roc_auc, log_loss) or a task that is not binary.

    Raises:
        ConfigError: A threshold or costs given for a task that is not binary.
    """
    if not get_task(task).two_classes:
        if threshold != "auto" or costs is not None:
            raise ConfigError(f"threshold and costs choose between the two classes of a binary task; this task is "
                              f"{task}, so leave threshold='auto' (--threshold auto) and costs unset")
        return None
    metric_curve = _metric_objective(metric)
    cost = Objective("cost", greater_is_better=False, costs=dict(costs)) if costs is not None else None
    if isinstance(threshold, float):
        curves = tuple(o for o in (cost, metric_curve) if o is not None)
        return ThresholdPlan(None, threshold, curves)
    if threshold == "auto":
        objective = cost or (metric_curve if metric_curve is not None and metric.name not in DEGENERATE else None)
    elif threshold == "cost":
        objective = cost  # FitConfig refuses "cost" without costs
    elif threshold.startswith(PRECISION_AT_RECALL):
        objective = Objective(PRECISION_AT_RECALL, min_recall=float(threshold.partition("=")[2]))
    else:
        objective = Objective(threshold)
    if objective is None:
        return None
    extra = metric_curve if metric_curve is not None and metric_curve.key != objective.key else None
    return ThresholdPlan(objective, None, tuple(o for o in (objective, extra) if o is not None))


def _metric_objective(metric: Any) -> Objective | None:
    """The run's metric as an objective, where it reads labels."""
    if metric is None or metric.needs_proba:
        return None
    if metric.name in COUNTED:
        return Objective(metric.name, greater_is_better=metric.greater_is_better)
    return Objective(metric.name, greater_is_better=metric.greater_is_better, metric=metric)


def decision_record(plan: ThresholdPlan, proba: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The threshold of ``plan`` on the out-of-fold probabilities ``proba`` ``(n, 2)`` and labels ``y``, as the plain
    JSON that the result keeps in ``extra["decision"]`` (and the artifact stores), and one log line saying what
    tuning gained."""
    p = np.asarray(proba, dtype=float)[:, 1]
    y = np.asarray(y)
    if len(p) > MAX_CUSTOM_ROWS and any(o.metric is not None for o in plan.curves):
        keep = np.sort(np.random.default_rng(seed).choice(len(p), MAX_CUSTOM_ROWS, replace=False))
        p, y = p[keep], y[keep]
    curves: dict[str, ThresholdCurve] = {}
    for objective in plan.curves:
        try:
            curves[objective.label] = tune_threshold(p, y, objective)
        except Exception as exc:  # noqa: BLE001 - a custom metric's own error: no curve (0.5 if it was the objective)
            logger.warning("decision threshold: could not score %s at each threshold (%s)", objective.label, exc)
    tuned = curves.get(plan.objective.label) if plan.objective is not None else None
    threshold = tuned.threshold if tuned is not None else (plan.fixed if plan.fixed is not None else 0.5)
    record: dict[str, Any] = {
        "threshold": threshold,
        "tuned": tuned is not None,
        "objective": tuned.objective.label if tuned is not None else None,
        "greater_is_better": tuned.objective.greater_is_better if tuned is not None else None,
        "value": _finite(tuned.value) if tuned is not None else None,
        "default_value": _finite(tuned.default_value) if tuned is not None else None,  # None: recall not reached
        "costs": next((dict(o.costs) for o in plan.curves if o.costs is not None), None),
        "rows": len(p),
        "grid": [float(t) for t in GRID],
        "curves": {label: {"values": [_finite(round(float(v), 6)) for v in c.values],
                           "greater_is_better": c.objective.greater_is_better}
                   for label, c in curves.items()},
    }
    if tuned is not None:
        logger.info("decision threshold %.3g tuned for %s on out-of-fold predictions: %s %s vs %s at 0.5",
                    threshold, tuned.objective.label, tuned.objective.label, _fmt(tuned.value),
                    _fmt(tuned.default_value))
    return record


def _finite(value: float) -> float | None:
    """``value``, or ``None`` where it is not finite (the record is strict JSON)."""
    return float(value) if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "not reached"
