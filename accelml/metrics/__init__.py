"""Metrics with raw values and a ``greater_is_better`` flag, and the automatic choice of one per task.

Example:
    >>> from accelml.metrics import get_metric
    >>> m = get_metric("rmse", "regression")
    >>> m.score([0.0, 0.0], [3.0, 3.0]), m.greater_is_better
    (3.0, False)
"""

from __future__ import annotations

from accelml.metrics.choice import choice_reason
from accelml.metrics.metric import Metric, make_metric
from accelml.metrics.registry import default_metric, get_metric, list_metrics

__all__ = [
    "Metric",
    "choice_reason",
    "default_metric",
    "get_metric",
    "list_metrics",
    "make_metric",
]
