"""Check new data against a fitted model: its stored profile, its predictions on the data, and labels if any."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from accelml.exceptions import DataError
from accelml.monitor.drift import check_drift
from accelml.monitor.profile import model_profile, with_text_embeddings
from accelml.monitor.report import DriftReport
from accelml.monitor.thresholds import DriftThresholds

__all__ = ["check_model_drift"]

logger = logging.getLogger(__name__)


def check_model_drift(
    automl: Any,
    new_frame: Any,
    *,
    labels: str | None = None,
    thresholds: DriftThresholds | Mapping[str, Any] | None = None,
) -> DriftReport:
    """Drift of ``new_frame`` against the model's training profile, with prediction drift and, given the name of a
    label column, the model's metric on the new rows against its validation score.

    Values that do not parse as their column's type are counted as schema breaks and predicted as missing; when a
    feature column is absent altogether the model cannot predict, so the report has no prediction drift. A text
    column whose stored profile has no mean sentence vector (the fit would have overrun its limit computing it) gets
    one from the model's training sample here, when a sentence encoder is installed. A recommender's new data is a
    log of interactions: :func:`accelml.monitor.interactions.check_interactions` checks it (new users and items, item
    popularity, ratings; ``labels`` names its rating column).

    Args:
        automl: A fitted :class:`accelml.AutoML` (or its ``result_``).
        new_frame: The new rows: a DataFrame or a table file; for an image model also what it predicts on (a folder
            of images, a list of image paths, NumPy images). A folder of class subfolders with ``labels`` gives the
            labels by folder name.
        labels: Column of ``new_frame`` holding the true targets, if they have arrived.
        thresholds: See :class:`DriftThresholds`.

    Raises:
        DataError: ``labels`` names no column of ``new_frame``, or the new data cannot be read.
    """
    from accelml.schema.validate import coerce_training_frame

    result = getattr(automl, "result_", automl)
    if getattr(result.ensemble, "kind", None) == "recommender":  # new interactions, not rows to predict
        from accelml.monitor.interactions import check_interactions

        return check_interactions(result, new_frame, labels=labels, thresholds=thresholds)
    schema = result.schema
    new_frame = _new_rows(new_frame, schema, labels)
    if labels is not None and labels not in new_frame.columns:
        raise DataError(f"the new data has no label column {labels!r}; its columns are "
                        f"{', '.join(map(repr, list(new_frame.columns)[:20]))}")
    predictions = None
    notes = []
    absent = [c.name for c in schema.features if c.name not in new_frame.columns]
    if absent:
        notes.append(f"no prediction drift or metric: the model cannot predict without column(s) {', '.join(absent)}")
    else:
        features = coerce_training_frame(new_frame[[c.name for c in schema.features]], schema)
        predictions = result.ensemble.predict(features)
    report = check_drift(
        with_text_embeddings(model_profile(result), result.sample),
        new_frame,
        schema,
        predictions=predictions,
        labels=new_frame[labels] if labels is not None and predictions is not None else None,
        metric=result.metric,
        thresholds=thresholds,
        reference_score=result.val_score,
    )
    report.notes.extend(notes)
    return report


def _new_rows(source: Any, schema: Any, labels: str | None) -> pd.DataFrame:
    """The new data as a table: read as the model's prediction path reads it when the model looks at images."""
    from accelml.data import read_table
    from accelml.data.images import is_image_folder, scan_image_folder
    from accelml.data.sources import prediction_frame
    from accelml.schema.schema import ColumnRole

    images = [c.name for c in schema.features if c.role is ColumnRole.IMAGE]
    if not images:
        return source if isinstance(source, pd.DataFrame) else read_table(source)
    if labels is not None and len(images) == 1 and is_image_folder(source):
        return scan_image_folder(source, target=labels, column=images[0]).frame
    return prediction_frame(source, schema)
