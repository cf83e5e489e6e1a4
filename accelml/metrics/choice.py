"""One sentence for the report saying which metric the run optimised and why."""

from __future__ import annotations

from accelml.metrics.metric import Metric

__all__ = ["choice_reason"]


def choice_reason(metric: Metric, task: str, user_given: bool) -> str:
    """Why ``metric`` was used for ``task``, in one sentence.

    Args:
        metric: The metric the run optimised.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        user_given: Whether the user named it (otherwise it was chosen automatically).

    Example:
        >>> from accelml.metrics import get_metric
        >>> choice_reason(get_metric(None, "multiclass"), "multiclass", user_given=False)
        'log_loss: chosen automatically for multiclass because it rewards well-calibrated probabilities for every class'
        >>> choice_reason(get_metric("accuracy", "binary"), "binary", user_given=True)
        'accuracy: given by the user'
    """
    if user_given:
        return f"{metric.name}: given by the user"
    because = f" because it {metric.description}" if metric.description else ""
    return f"{metric.name}: chosen automatically for {task}{because}"
