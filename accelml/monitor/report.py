"""The result of a drift check: one overall status, a per-column table, and JSON and HTML views of both."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from accelml.monitor.thresholds import STATUSES, DriftThresholds

__all__ = ["STATUSES", "DriftReport", "json_safe"]


def json_safe(value: Any) -> Any:
    """Numbers and containers as strict JSON data: NaN and infinities become ``None``.

    >>> json_safe({"a": float("nan"), "b": [1.5, float("inf")]})
    {'a': None, 'b': [1.5, None]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class DriftReport:
    """What :func:`accelml.monitor.check_drift` found.

    Attributes:
        status: ``ok``, ``warning`` or ``drift``, the worst of every part below.
        n_rows: New rows compared.
        columns: One row per feature column: ``column``, ``role``, ``psi``, chi-square ``statistic`` and ``p_value``,
            missing rate in training, now and its change, ``unseen_share`` (present values in categories training
            never saw; NaN where the profile does not list every category), ``type_errors`` and ``status``.
        prediction: Drift of the model's output (PSI, test, class shares or mean), or ``None``.
        performance: The metric on labelled new rows against the validation score, or ``None``.
        schema_breaks: ``missing_columns`` and ``type_errors`` (column → values that did not parse).
        thresholds: The limits used.
        notes: Caveats, e.g. too few rows to call anything drift.
        images: Per image column, what its row in ``columns`` sums up: one row per measure (height, width,
            channels, brightness, contrast, embedding) with training and new means, PSI, p-value and status, the
            images looked at, and the mean 8x8 thumbnails of training and new images.
        texts: Per text column, what its row in ``columns`` sums up: one row per measure (``length``, ``oov_rate``,
            ``english_share``, ``embedding`` when a sentence encoder could measure it) with its training and new
            values, PSI and p-value (length), change (points of out-of-vocabulary rate above the expected one,
            relative change of the English share, shift of the mean sentence vector) and status, and notes.
        interactions: For a recommender (see :mod:`accelml.monitor.interactions`), what the user, item and rating
            rows of ``columns`` sum up: one row per measure (``new_users``, ``new_items``, ``item_popularity``,
            ``rating``) with its training and new values, PSI, p-value, change and status, and the items whose share
            moved most.
    """

    status: str
    n_rows: int
    columns: pd.DataFrame
    prediction: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None
    schema_breaks: dict[str, Any] = field(default_factory=dict)
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    notes: list[str] = field(default_factory=list)
    images: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, Any] = field(default_factory=dict)
    interactions: dict[str, Any] = field(default_factory=dict)

    def columns_with(self, status: str) -> list[str]:
        """Names of the columns whose status is ``status``, worst PSI first."""
        return self.columns.loc[self.columns["status"] == status, "column"].tolist()

    def summary(self) -> str:
        """One line: the status and what drove it.

        >>> DriftReport("ok", 10, pd.DataFrame({"column": ["a"], "status": ["ok"]})).summary()
        'ok: 0 of 1 columns drifted, 0 with warnings'
        """
        drifted, warned = self.columns_with("drift"), self.columns_with("warning")
        text = f"{self.status}: {len(drifted)} of {len(self.columns)} columns drifted"
        if drifted:
            text += " (" + ", ".join(drifted[:5]) + (", ..." if len(drifted) > 5 else "") + ")"
        text += f", {len(warned)} with warnings"
        missing = self.schema_breaks.get("missing_columns") or []
        if missing:
            text += f"; missing column(s): {', '.join(missing)}"
        if self.prediction:
            text += f"; predictions {self.prediction['status']} (PSI {self.prediction['psi']:.3f})"
        if self.performance:
            p = self.performance
            text += f"; {p['metric']} {p['value']:.4f}"
            if p.get("reference") is not None:
                text += f" vs {p['reference']:.4f} in validation ({p['status']})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Everything as strict JSON data (NaN as ``null``)."""
        return json_safe(
            {
                "status": self.status,
                "summary": self.summary(),
                "n_rows": self.n_rows,
                "columns": self.columns.to_dict(orient="records"),
                "prediction": self.prediction,
                "performance": self.performance,
                "schema_breaks": self.schema_breaks,
                "thresholds": self.thresholds.to_dict(),
                "notes": self.notes,
                "images": self.images,
                "texts": self.texts,
                "interactions": self.interactions,
            }
        )

    def to_html(self) -> str:
        """A self-contained HTML section (inline styles, no external assets) that a report page can embed."""
        from accelml.monitor.html import drift_section

        return drift_section(self)
