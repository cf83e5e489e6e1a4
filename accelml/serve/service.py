"""The model behind the server: validate rows, predict, warn per row, and remember them for monitoring."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from accelml.ensemble.threshold import class_indices
from accelml.monitor import PredictionLog, RollingWindow, check_drift, model_profile
from accelml.schema.schema import ColumnRole
from accelml.schema.validate import validate_frame
from accelml.serve.images import ImageRows, decoded_frames
from accelml.serve.row_checks import known_values, row_warnings
from accelml.serve.settings import ServiceSettings
from accelml.tasks import get_task

__all__ = ["ModelService"]

logger = logging.getLogger(__name__)


class ModelService:
    """A loaded model with what serving it needs: known categories, the training profile, the window and the log.

    Args:
        automl: A fitted :class:`accelml.AutoML`.
        settings: The server's settings.
        source: Where the model was loaded from (shown in ``/health`` and ``/metadata``), if from a folder.
        manifest: The artifact's manifest, when loaded from a folder.
    """

    def __init__(self, automl: Any, settings: ServiceSettings, *, source: str | None = None,
                 manifest: dict[str, Any] | None = None):
        self.automl = automl
        self.result = automl.result_
        self.schema = self.result.schema
        self.task = self.schema.task
        self.settings = settings
        self.source = source
        self.manifest = manifest
        self.started = time.time()
        self.classes = np.array(self.schema.classes, dtype=object) if self.schema.classes else None
        self.class_keys = [str(c) for c in self.schema.classes] if self.schema.classes else []
        self.threshold = self.result.decision_threshold  # binary: the positive class from this probability on
        ensemble = self.result.ensemble
        # A recommender (see accelml.serve.recommend) has no table features: its rows are (user, item) pairs
        self.recommender = ensemble if getattr(ensemble, "kind", None) == "recommender" else None
        self.known = {} if self.recommender is not None else known_values(
            p for m in ensemble.members for p in m.preprocessors)
        self.image_columns = [c.name for c in self.schema.features if c.role is ColumnRole.IMAGE]
        self.text_columns = [c.name for c in self.schema.features if c.role is ColumnRole.TEXT]
        self.profile = _without(model_profile(self.result), self.image_columns)
        self.window = RollingWindow(settings.window)
        self.log = PredictionLog(settings.prediction_log, settings.log_rows) if settings.prediction_log else None
        self.warm_up_s = self._warm_up()

    def _warm_up(self) -> float | None:
        """Predict one row of missing values before the first request, so that what the models build on their first
        small request (XGBoost's flat trees: about 0.65 s per 3,000 trees) is not paid by a client; the seconds it
        took, or None where it does not apply (images, text, a recommender) or failed (logged; serving goes on)."""
        if self.recommender is not None or self.image_columns or self.text_columns:
            return None
        started = time.perf_counter()
        columns = self.result.ensemble.required_columns() or [c.name for c in self.schema.features]
        try:
            self._predict(pd.DataFrame({c: [None] for c in columns}), proba=False)
        except Exception:  # a model that cannot predict a row of missing values is still served
            logger.warning("warming up the model on a row of missing values failed; the first request pays its "
                           "set-up instead", exc_info=True)
            return None
        return time.perf_counter() - started

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    def predict(self, frame: pd.DataFrame, *, proba: bool, request_id: str | None = None,
                records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Predict the rows of ``frame`` (raw request values).

        Raises:
            SchemaError: A column is missing or a value does not fit its column's type.
        """
        response, outputs = self._predict(frame, proba)
        offset = 0
        if records is None:  # a CSV body: only the rows that the window and the log keep become records
            offset = max(0, len(frame) - max(self.settings.window, self.settings.log_rows if self.log else 0))
            records = frame.iloc[offset:].to_dict("records")
        self._remember(request_id, records, outputs[offset:], response, offset)
        return response

    def predict_images(self, rows: ImageRows, *, proba: bool, request_id: str | None = None) -> dict[str, Any]:
        """Predict the rows of an image request, decoding its images in batches of bounded size; the response also
        names each row's image. Nothing is remembered unless every image could be predicted.

        Raises:
            DataError: An image is corrupt or too large to decode, or another column's value does not fit.
        """
        response: dict[str, Any] = {}
        outputs = []
        for frame in decoded_frames(rows, self.settings.max_image_pixels):
            part, out = self._predict(frame, proba)
            for key in ("predictions", "probability", "probabilities", "warnings"):
                response.setdefault(key, []).extend(part.get(key, []))
            if "threshold" in part:
                response["threshold"] = part["threshold"]
            outputs.append(out)
        if not proba:
            del response["probabilities"]
        if not get_task(self.task).two_classes:
            del response["probability"]
        response["n_rows"] = len(rows)
        response["names"] = rows.names
        self._remember(request_id, rows.logged_records(), np.concatenate(outputs), response, 0)
        return response

    def _predict(self, frame: pd.DataFrame, proba: bool) -> tuple[dict[str, Any], np.ndarray]:
        if self.recommender is not None:
            from accelml.serve.recommend import rate_pairs

            outputs, warnings = rate_pairs(self.recommender, frame)
            return {"predictions": outputs.tolist(), "warnings": warnings, "n_rows": len(frame)}, outputs
        validated = validate_frame(frame, self.schema, source="request",
                                   columns=self.result.ensemble.required_columns())
        outputs = self.result.ensemble.predict(validated)
        if self.is_classifier:
            predictions = self.classes[class_indices(outputs, self.threshold)].tolist()
        else:
            outputs = np.asarray(outputs, dtype=np.float64)
            predictions = outputs.tolist()
        response: dict[str, Any] = {"predictions": predictions}
        if get_task(self.task).two_classes:  # the label and the probability behind it, and where the one turns into the other
            response["probability"] = np.asarray(outputs, dtype=np.float64)[:, 1].tolist()
            response["threshold"] = 0.5 if self.threshold is None else self.threshold
        if proba:
            response["probabilities"] = [dict(zip(self.class_keys, row)) for row in outputs.tolist()]
        response["warnings"] = row_warnings(validated, self.schema, self.known)
        response["n_rows"] = len(frame)
        return response, outputs

    def _remember(self, request_id: str | None, records: list[dict[str, Any]], outputs: np.ndarray,
                  response: dict[str, Any], offset: int) -> None:
        """Keep the rows (from ``offset`` of the response's) in the window and the prediction log."""
        if self.recommender is None:  # drift of (user, item) pairs is not measured (see drift)
            self.window.add(records, outputs)
        if self.log is None:
            return
        probabilities = response.get("probabilities")
        try:
            self.log.write(request_id, records, response["predictions"][offset:],
                           probabilities[offset:] if probabilities is not None else None)
        except Exception:  # the prediction is made; a full disk must not turn it into an error
            logger.exception("could not write to the prediction log %s", self.log.path)

    def drift_report(self) -> Any:
        """The :class:`~accelml.monitor.DriftReport` of the rows in the window, or ``None`` before any request."""
        rows, outputs = self.window.snapshot()
        if not len(rows):
            return None
        report = check_drift(self.profile, rows, self.schema, predictions=outputs)
        for column in self.image_columns:
            report.notes.append(f"image column '{column}' is not compared: the server's window keeps each image's "
                                "name, not the image")
        return report

    def drift(self) -> dict[str, Any]:
        """Drift of the rows in the window against the training profile, as JSON data."""
        window = {"window_rows": len(self.window), "window_size": self.window.size, "rows_seen": self.window.total}
        if self.recommender is not None:
            return {"status": "not_available", "summary": "drift monitoring of a recommender's requests is not "
                    "available yet", **window}
        report = self.drift_report()
        if report is None:
            return {"status": "no_data", "summary": "no prediction requests yet", **window}
        return {**report.to_dict(), **window}

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def _without(profile: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """The training profile without the image columns: their values are file names, so the drift check, which skips
    a column the profile does not describe, cannot compare them."""
    return {**profile, "columns": {k: v for k, v in profile.get("columns", {}).items() if k not in columns}}
