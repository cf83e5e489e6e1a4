"""The rows an explanation is computed on, and the model's end-to-end output for any rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.tasks import get_task

__all__ = ["ExplainData", "explain_data", "model_outputs"]


@dataclass
class ExplainData:
    """Rows with a known target: features as given, the target encoded, and where they came from."""

    frame: pd.DataFrame  # the schema's feature columns, validated
    y: np.ndarray  # class indices or floats
    source: str


def explain_data(automl: Any, data: Any = None, *, max_rows: int = 2000, seed: int = 0) -> ExplainData:
    """Labelled rows to explain ``automl`` on: ``data`` (a frame or a file), or else the fit's training sample.

    Rows without a target are dropped, and at most ``max_rows`` rows are kept (a seeded sample).

    Raises:
        DataError: ``data`` has no target column or no labelled row, or ``data`` is ``None`` and the model keeps no
            training sample (saved by an older version).
    """
    from accelml.data import read_table
    from accelml.schema.validate import validate_frame
    from accelml.tasks import encode_target

    result = automl._result()  # NotFittedError with a hint when it is not fitted
    schema = result.schema
    if data is None:
        if result.sample is None or len(result.sample) == 0:
            raise DataError("this model keeps no training sample to explain; pass labelled data to explain it on")
        frame, source = result.sample, "the training sample (rows the model trained on)"
    else:
        frame = read_table(data)
        source = f"'{data}'" if isinstance(data, str) or hasattr(data, "__fspath__") else "the given data"
    if schema.target not in frame.columns:
        raise DataError(f"{source} has no target column '{schema.target}'; explanations need labelled rows")
    frame = frame[frame[schema.target].notna()]
    if frame.empty:
        raise DataError(f"{source} has no row with a value in the target column '{schema.target}'")
    if len(frame) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
        frame = frame.iloc[rows]
    frame = frame.reset_index(drop=True)
    y = encode_target(frame[schema.target], schema)
    return ExplainData(validate_frame(frame, schema, source=source), y, source)


def model_outputs(automl: Any, frame: pd.DataFrame) -> np.ndarray:
    """The whole model's output, end to end: an ``(n, K)`` probability matrix, or values for regression."""
    if not get_task(automl.task_).classification:
        return np.asarray(automl.predict(frame), dtype=np.float64)
    return automl.predict_proba(frame).to_numpy(dtype=np.float64)
