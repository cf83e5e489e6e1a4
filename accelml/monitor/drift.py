"""Compare new data (and the model's output on it, and labels when they arrive) with the training profile."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ConfigError, DataError
from accelml.monitor.images import image_drift
from accelml.monitor.report import STATUSES, DriftReport
from accelml.monitor.stats import TOP_CATEGORIES, category_bins, chi_square, numeric_bins, psi
from accelml.monitor.texts import text_drift
from accelml.monitor.thresholds import DriftThresholds, psi_status, resolve_thresholds, worst_status
from accelml.monitor.values import column_kind, column_values, type_errors
from accelml.schema.schema import ColumnSpec, Schema

__all__ = ["check_drift"]


def check_drift(
    profile: Mapping[str, Any],
    new_frame: pd.DataFrame,
    schema: Schema,
    predictions: np.ndarray | None = None,
    labels: Any = None,
    metric: Any = None,
    thresholds: DriftThresholds | Mapping[str, Any] | None = None,
    *,
    reference_score: float | None = None,
) -> DriftReport:
    """Per-column drift, schema breaks, prediction drift and (with labels) the metric on new data.

    Each feature column's new values are binned like the training profile's (quantile bins for numbers, top categories
    for categories, a bin for missing values) and compared by PSI and a chi-square test on the bin counts; the
    missing-rate change, the share of categories training never saw and the values that do not parse are reported
    too. A column is ``drift`` when PSI reaches ``psi_drift``, or ``psi_warning`` with a p-value below ``p_value``.
    An image column is compared by what its images look like (see :mod:`accelml.monitor.images`): its row holds its
    worst measure, and ``images`` of the report the measures one by one. A text column's row is its length's, with
    the out-of-vocabulary rate as its unseen share and the worst status of its length, vocabulary, language and
    sentence-vector measures (see :mod:`accelml.monitor.texts`), which ``texts`` of the report lists one by one.

    Args:
        profile: From :func:`accelml.monitor.build_profile` (or :func:`accelml.monitor.model_profile`).
        new_frame: The new rows, raw (extra columns are ignored).
        schema: The model's schema.
        predictions: The model's output on ``new_frame``: probabilities ``(n, K)`` or values ``(n,)``.
        labels: True targets of ``new_frame`` (missing ones are skipped); needs ``predictions``.
        metric: The metric to score with labels (a name or :class:`~accelml.metrics.Metric`; default: the task's).
        thresholds: A :class:`DriftThresholds`, or a dict of fields to change from the defaults.
        reference_score: The validation score to compare the metric with (default: ``profile["val_score"]``).

    Returns:
        A :class:`DriftReport`.

    Raises:
        DataError: ``new_frame`` has no rows, or labels do not match the rows or the model's classes.
        ConfigError: Labels without predictions, or an unknown threshold.
    """
    limits = resolve_thresholds(thresholds)
    if not isinstance(new_frame, pd.DataFrame):
        raise DataError(f"new data must be a pandas DataFrame, got {type(new_frame).__name__}")
    n = len(new_frame)
    if n == 0:
        raise DataError("the new data has no rows to compare with the training profile")
    notes: list[str] = []
    if n < limits.min_rows:
        notes.append(f"only {n} new rows (fewer than {limits.min_rows}): nothing is called drift, at most a warning")

    if profile.get("unprofiled"):
        notes.append(f"{profile['unprofiled']:,} columns were not profiled in training (its time limit did not pay for "
                     "every column of a wide table): their drift is not measured")
    rows, missing_columns, errors, images, texts = [], [], {}, {}, {}
    for spec in schema.features:
        summary = profile.get("columns", {}).get(spec.name)
        if summary is None:
            continue
        if spec.name not in new_frame.columns:
            missing_columns.append(spec.name)
            rows.append(_missing_row(spec, summary))
            continue
        if summary.get("kind") == "image":
            row, images[spec.name] = _image_row(spec, summary, new_frame[spec.name], limits, notes)
        else:
            row = _column_row(spec, summary, new_frame[spec.name], limits, n, profile.get("n_rows"))
            if summary.get("kind") == "text" and summary.get("text"):  # older profiles know only the length
                row, texts[spec.name] = _text_row(spec, summary, new_frame[spec.name], row, limits, notes)
        if row["type_errors"]:
            errors[spec.name] = row["type_errors"]
        rows.append(row)
    columns = pd.DataFrame(rows, columns=_COLUMNS)
    if len(columns):
        severity = columns["status"].map({s: i for i, s in enumerate(reversed(STATUSES))})
        order = np.lexsort((-columns["psi"].fillna(np.inf).to_numpy(), severity.to_numpy()))
        columns = columns.iloc[order].reset_index(drop=True)

    prediction = None
    if predictions is not None and profile.get("prediction"):
        prediction = _prediction_drift(profile["prediction"], np.asarray(predictions, dtype=np.float64), limits, n,
                                       profile.get("n_rows"))
    performance = None
    if labels is not None:
        performance = _performance(profile, schema, predictions, labels, metric, reference_score, limits, n)

    statuses = list(columns["status"]) + [p["status"] for p in (prediction, performance) if p]
    if missing_columns:
        statuses.append("drift")
    status = "drift" if "drift" in statuses else "warning" if "warning" in statuses else "ok"
    return DriftReport(
        status=status,
        n_rows=n,
        columns=columns,
        prediction=prediction,
        performance=performance,
        schema_breaks={"missing_columns": missing_columns, "type_errors": errors},
        thresholds=limits,
        notes=notes,
        images=images,
        texts=texts,
    )


_COLUMNS = ["column", "role", "psi", "statistic", "p_value", "missing_train", "missing_new", "missing_change",
            "unseen_share", "type_errors", "status"]


def _missing_row(spec: ColumnSpec, summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"column": spec.name, "role": spec.role.value, "psi": math.nan, "statistic": math.nan,
            "p_value": math.nan, "missing_train": summary.get("missing_rate", 0.0), "missing_new": math.nan,
            "missing_change": math.nan, "unseen_share": math.nan, "type_errors": 0, "status": "missing"}


def _image_row(spec: ColumnSpec, summary: Mapping[str, Any], values: pd.Series, limits: DriftThresholds,
               notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    row, detail = image_drift(summary, values, limits)
    if detail["n_images"] < detail["n_rows"]:
        notes.append(f"image column '{spec.name}': {detail['n_images']:,} of {detail['n_rows']:,} new images "
                     "measured (a seeded sample)")
    return {"column": spec.name, "role": spec.role.value, **row}, detail


def _text_row(spec: ColumnSpec, summary: Mapping[str, Any], values: pd.Series, row: dict[str, Any],
              limits: DriftThresholds, notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A text column's row (its length's, see :func:`_column_row`) with its text measures folded in, and the
    measures one by one, the length first."""
    measures, text_notes = text_drift(summary["text"], values, limits)
    lengths = column_values(values, spec.role)
    length = {"measure": "length", "train": summary.get("mean"),
              "new": float(np.nanmean(lengths)) if np.isfinite(lengths).any() else math.nan, "psi": row["psi"],
              "p_value": row["p_value"], "change": math.nan,
              "status": psi_status(row["psi"], row["p_value"], limits, len(values))}
    measures = [length, *measures]
    notes += [f"text column '{spec.name}': {note}" for note in text_notes]
    oov = measures[1]["new"]
    row = {**row, "unseen_share": oov, "status": worst_status(row["status"], *(m["status"] for m in measures))}
    return row, {"n_rows": len(values), "measures": measures, "notes": text_notes}


def _column_row(spec: ColumnSpec, summary: Mapping[str, Any], values: pd.Series, limits: DriftThresholds,
                n: int, n_reference: int | None) -> dict[str, Any]:
    converted = column_values(values, spec.role)
    unseen = math.nan
    if summary.get("kind", column_kind(spec.role)) == "categorical":  # an older profile's image column is one too
        counts = category_bins(summary["categories"], converted)
        present = n - counts[-1]
        if summary.get("n_categories", 0) <= TOP_CATEGORIES and present:  # the profile lists every training category
            unseen = float(counts[-2] / present)
    else:
        counts = numeric_bins(summary["edges"], converted)
    expected = np.asarray(summary["fractions"], dtype=np.float64)
    value = psi(expected, counts / n)
    statistic, p_value = chi_square(expected, counts, n_reference)
    missing_new = float(counts[-1] / n)
    missing_change = missing_new - float(summary.get("missing_rate", 0.0))
    bad = type_errors(values, converted, spec.role) if spec.role.value in ("numeric", "datetime") else 0
    status = psi_status(value, p_value, limits, n)
    if status == "ok" and (missing_change >= limits.missing_warning or bad
                           or (not math.isnan(unseen) and unseen >= limits.unseen_warning)):
        status = "warning"
    return {"column": spec.name, "role": spec.role.value, "psi": value, "statistic": statistic, "p_value": p_value,
            "missing_train": float(summary.get("missing_rate", 0.0)), "missing_new": missing_new,
            "missing_change": missing_change, "unseen_share": unseen, "type_errors": bad, "status": status}


def _prediction_drift(summary: Mapping[str, Any], out: np.ndarray, limits: DriftThresholds, n: int,
                      n_reference: int | None) -> dict[str, Any]:
    if out.shape[0] != n:
        raise DataError(f"there are {out.shape[0]} predictions for {n} rows of new data")
    if summary["kind"] == "classification":
        if out.ndim != 2 or out.shape[1] != len(summary["shares"]):
            raise DataError(f"predictions must be probabilities of shape (n, {len(summary['shares'])}) for this model")
        expected = np.asarray(summary["shares"], dtype=np.float64)
        counts = np.bincount(np.argmax(out, axis=1), minlength=len(expected))
        detail = {"classes": summary["classes"], "shares_train": summary["shares"],
                  "shares_new": (counts / n).tolist(), "mean_proba_new": out.mean(axis=0).tolist()}
    else:
        expected = np.asarray(summary["fractions"], dtype=np.float64)
        counts = numeric_bins(summary["edges"], out.ravel())
        detail = {"mean_train": summary.get("mean"), "mean_new": float(np.nanmean(out)) if out.size else None}
    value = psi(expected, counts / n)
    statistic, p_value = chi_square(expected, counts, n_reference)
    return {"kind": summary["kind"], "psi": value, "statistic": statistic, "p_value": p_value,
            "status": psi_status(value, p_value, limits, n), **detail}


def _performance(profile: Mapping[str, Any], schema: Schema, predictions: np.ndarray | None, labels: Any,
                 metric: Any, reference: float | None, limits: DriftThresholds, n: int) -> dict[str, Any]:
    from accelml.metrics import get_metric
    from accelml.tasks import encode_target

    if predictions is None:
        raise ConfigError("scoring labels needs the model's predictions on the same rows; pass predictions=")
    labels = pd.Series(np.asarray(labels, dtype=object) if not isinstance(labels, pd.Series) else labels.to_numpy())
    if len(labels) != n:
        raise DataError(f"there are {len(labels)} labels for {n} rows of new data")
    known = labels.notna().to_numpy()
    if not known.any():
        raise DataError("every label is missing; there is nothing to score")
    chosen = get_metric(metric, schema.task)
    try:
        y = encode_target(labels[known], schema)
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"the labels hold a value the model was not trained on ({exc}); check the label column") from exc
    value = chosen.score_from_proba(y, np.asarray(predictions)[known])
    reference = reference if reference is not None else profile.get("val_score")
    change = math.nan
    status = "ok"
    if reference is not None and math.isfinite(float(reference)) and float(reference) != 0.0:
        lost = (reference - value) if chosen.greater_is_better else (value - reference)
        change = float(lost / abs(reference))
        if change >= limits.metric_drift:
            status = "drift" if int(known.sum()) >= limits.min_rows else "warning"
        elif change >= limits.metric_warning:
            status = "warning"
    return {"metric": chosen.name, "greater_is_better": chosen.greater_is_better, "value": float(value),
            "reference": None if reference is None else float(reference), "relative_loss": change,
            "n_labelled": int(known.sum()), "status": status}
