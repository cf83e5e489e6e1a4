"""The training data profile: what each feature column and the model's output looked like, as plain JSON.

It is what new data is compared with (see :func:`accelml.monitor.check_drift`), and travels in the artifact under
``extra["profile"]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.monitor.images import image_summary
from accelml.monitor.stats import category_summary, numeric_summary
from accelml.monitor.texts import EMBED_ROWS, FIT_EMBED_SECONDS, embedding_baseline, sample_texts, text_summary
from accelml.monitor.values import column_kind, column_values
from accelml.schema.schema import Schema

__all__ = ["PROFILE_FORMAT", "build_profile", "model_profile", "prediction_summary", "with_text_embeddings"]

PROFILE_FORMAT = "accelml.profile/1"

logger = logging.getLogger(__name__)


def build_profile(frame: pd.DataFrame, schema: Schema, predictions: np.ndarray | None = None, *,
                  embed_seconds: float | None = FIT_EMBED_SECONDS, seconds: float | None = None,
                  first: Sequence[str] | None = None) -> dict[str, Any]:
    """Summarise every feature column of ``frame`` and, when given, the model's ``predictions`` on it.

    Numeric and datetime columns (as seconds since 1970) get 10 quantile bins with their fractions, missing rate, mean
    and standard deviation; categorical and boolean columns the fractions of their 50 most frequent categories, an
    'other' share and the missing rate; text columns the same as numbers, of their length, and under ``text`` their
    vocabulary, English share and mean sentence vector (see :mod:`accelml.monitor.texts`); image columns the
    distributions of their images' height, width, channels, brightness and contrast, and an embedding summary (see
    :mod:`accelml.monitor.images`; up to 1,000 images, a seeded sample beyond that).

    Args:
        frame: Training rows as given (raw values; extra columns such as the target are ignored).
        schema: The model's schema; only its feature columns present in ``frame`` are profiled.
        predictions: The model's output on these rows, or on those of them it has out-of-fold output for:
            probabilities ``(m, K)`` or values ``(m,)``; only its distribution is kept.
        embed_seconds: Seconds a text column's mean sentence vector may cost (its encoder's estimate; ``None``: any);
            a dearer one is left out, with the reason (see :func:`~accelml.monitor.texts.text_summary`).
        seconds: Seconds the column summaries may take (``None``: any): on a wide table the columns left when they
            are spent are not profiled (counted under ``unprofiled``, with a log line), so their drift is not
            measured.
        first: Columns to profile before the others (those the model reads).

    Returns:
        A JSON-able dict with ``format``, ``n_rows``, ``task``, ``columns`` (name → summary) and ``prediction``.

    Example:
        >>> from accelml.schema.schema import ColumnRole, ColumnSpec
        >>> schema = Schema([ColumnSpec("c", ColumnRole.CATEGORICAL, "str")], target="y", task="binary",
        ...                 classes=["no", "yes"])
        >>> profile = build_profile(pd.DataFrame({"c": ["a", "a", "b", None]}), schema, np.array([[0.9, 0.1]] * 4))
        >>> profile["columns"]["c"]["categories"], profile["columns"]["c"]["fractions"]
        (['a', 'b'], [0.5, 0.25, 0.0, 0.25])
        >>> profile["prediction"]["shares"]
        [1.0, 0.0]
    """
    columns: dict[str, Any] = {}
    specs = [spec for spec in schema.features if spec.name in frame.columns]
    if first is not None:
        ahead = set(first)
        specs = [spec for spec in specs if spec.name in ahead] + [spec for spec in specs if spec.name not in ahead]
    started, unprofiled = time.monotonic(), 0
    for n_done, spec in enumerate(specs):
        if seconds is not None and time.monotonic() - started > seconds:  # per-column work is bounded on wide tables
            unprofiled = len(specs) - n_done
            logger.info("profile stopped after %.1f s: %d of %d columns profiled; the drift of the others is not "
                        "measured", seconds, n_done, len(specs))
            break
        kind = column_kind(spec.role)
        if kind == "image":
            columns[spec.name] = {"role": spec.role.value, **image_summary(frame[spec.name])}
            continue
        values = column_values(frame[spec.name], spec.role)
        summary = category_summary(values) if kind == "categorical" else numeric_summary(values)
        columns[spec.name] = {"role": spec.role.value, "kind": kind, **summary}
        if kind == "text":
            columns[spec.name]["text"] = text_summary(frame[spec.name], embed_seconds=embed_seconds)
    return {
        "format": PROFILE_FORMAT,
        "n_rows": len(frame),
        "task": schema.task,
        "columns": columns,
        **({"unprofiled": unprofiled} if unprofiled else {}),
        "prediction": None if predictions is None else prediction_summary(predictions, schema),
    }


def prediction_summary(predictions: np.ndarray, schema: Schema) -> dict[str, Any]:
    """Class shares (from the most probable class) and mean probabilities, or quantile bins of predicted values.

    >>> from accelml.schema.schema import ColumnRole, ColumnSpec
    >>> schema = Schema([], target="y", task="regression")
    >>> prediction_summary(np.array([1.0, 2.0, 3.0]), schema)["mean"]
    2.0
    """
    out = np.asarray(predictions, dtype=np.float64)
    if out.ndim == 2:
        k = out.shape[1]
        shares = np.bincount(np.argmax(out, axis=1), minlength=k) / max(len(out), 1)
        return {
            "kind": "classification",
            "classes": list(schema.classes) if schema.classes else list(range(k)),
            "shares": shares.tolist(),
            "mean_proba": out.mean(axis=0).tolist() if len(out) else [0.0] * k,
        }
    return {"kind": "regression", **numeric_summary(out.ravel())}


def model_profile(result: Any) -> dict[str, Any]:
    """The profile stored with a fitted model, or one built from its training sample when none was stored.

    Args:
        result: An ``accelml.result.FitResult`` or a fitted :class:`accelml.AutoML`.

    Raises:
        DataError: The model has neither a stored profile nor a training sample.
    """
    result = getattr(result, "result_", result)
    profile = (result.extra or {}).get("profile")
    if profile:
        return profile
    if result.sample is None:
        raise DataError(
            "the model stores neither a data profile nor a training sample to compare new data with; "
            "refit it with this version of accelml"
        )
    return build_profile(result.sample, result.schema, result.sample_oof)


def with_text_embeddings(profile: dict[str, Any], sample: pd.DataFrame | None) -> dict[str, Any]:
    """``profile`` with the mean sentence vector of each text column that lacks one computed from ``sample`` (the
    model's training sample), when a sentence encoder is installed; the profile itself is not changed.

    A fit leaves the vector out when computing it would have overrun its time limit (see
    :func:`~accelml.monitor.texts.text_summary`); checking new data pays for it instead.
    """
    from accelml.features.text_encoders import available_encoders

    columns = profile.get("columns", {})
    lacking = [name for name, summary in columns.items()
               if summary.get("text") and not summary["text"].get("embedding")]
    if not lacking or sample is None or not available_encoders():
        return profile

    columns = dict(columns)
    for name in lacking:
        if name not in sample.columns:
            continue
        baseline, note = embedding_baseline(sample_texts(sample[name], EMBED_ROWS))
        text = {**columns[name]["text"], "embedding": baseline, "embedding_note": note}
        columns[name] = {**columns[name], "text": text}
    return {**profile, "columns": columns}
