"""The rows the report's performance charts are drawn from: held-out test data, or the out-of-fold sample."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelml.exceptions import DataError

__all__ = ["Evaluation", "evaluation"]

logger = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """True targets and the final model's outputs on rows no model trained on.

    Attributes:
        y: Class indices (classification) or values (regression).
        outputs: ``(n, K)`` probabilities in ``schema.classes`` order, or predicted values.
        is_test: ``True`` for user-given test data, ``False`` for the out-of-fold training sample.
        label: How the charts name these rows, e.g. ``"test data (1,000 rows)"``.
        score: The metric on these rows.
        dropped: Test rows left out (missing target or a class never seen in training).
    """

    y: np.ndarray
    outputs: np.ndarray
    is_test: bool
    label: str
    score: float
    dropped: int = 0


def evaluation(automl: Any, test_data: Any = None) -> Evaluation | None:
    """Evaluate on ``test_data`` (a frame or a file with the target), or else on the out-of-fold sample.

    Returns ``None`` when there is neither (a model saved without its sample and no test data).

    Raises:
        DataError: ``test_data`` lacks the target column or has no usable row.
    """
    from accelml.data import read_table
    from accelml.ensemble.threshold import score_decisions
    from accelml.explain.data import model_outputs
    from accelml.tasks import encode_target

    result = automl._result()
    schema, metric = result.schema, result.metric
    if test_data is None:
        if result.sample is None or result.sample_oof is None or len(result.sample) == 0:
            return None
        y = encode_target(result.sample[schema.target], schema)
        outputs = np.asarray(result.sample_oof, dtype=np.float64)
        label = f"out-of-fold predictions on {len(y):,} training rows"
        return Evaluation(y, outputs, False, label, score_decisions(metric, y, outputs, result.decision_threshold))

    frame = read_table(test_data)
    if schema.target not in frame.columns:
        raise DataError(f"the test data has no target column '{schema.target}' to evaluate against")
    usable = frame[schema.target].notna()
    if schema.classes is not None:
        known = {str(c) for c in schema.classes}
        usable &= frame[schema.target].map(lambda v: str(v.item() if isinstance(v, np.generic) else v) in known)
    dropped = int((~usable).sum())
    if dropped:
        logger.warning("test data: %d row(s) without a known target value left out of the evaluation", dropped)
    frame = frame[usable]
    if frame.empty:
        raise DataError(f"the test data has no row with a known value in the target column '{schema.target}'")
    outputs = model_outputs(automl, frame)
    y = encode_target(_as_training_labels(frame[schema.target], schema.classes), schema)
    label = f"test data ({len(y):,} rows)"
    return Evaluation(y, outputs, True, label, score_decisions(metric, y, outputs, result.decision_threshold), dropped)


def _as_training_labels(values: Any, classes: list[Any] | None) -> Any:
    """Test labels as the training labels they spell (``"1"`` read as text matches class ``1``)."""
    if classes is None:
        return values
    by_text = {str(c): c for c in classes}
    return values.map(lambda v: by_text[str(v.item() if isinstance(v, np.generic) else v)])
