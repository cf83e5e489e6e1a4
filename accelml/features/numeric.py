"""Numeric columns: kept as they are for trees; imputed, flagged, standardized and clipped for dense models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.features.base import ColumnEncoder
from accelml.features.coerce import to_float

__all__ = ["NumericEncoder"]

CLIP = 5.0  # standardized values beyond ±5 are outliers that only destabilise linear models and networks


class NumericEncoder(ColumnEncoder):
    """One numeric column.

    ``tree``: the float value, NaN kept. ``dense``: median-imputed, standardized with the training mean and standard
    deviation (0 → 1), clipped to ``[-5, 5]``, plus a ``__missing`` indicator when training had missing values.

    Example:
        >>> from accelml.features.base import EncoderContext
        >>> enc = NumericEncoder("x", EncoderContext("dense", "regression", 0)).fit(pd.Series([1.0, 3.0, None]))
        >>> enc.feature_names_
        ['x', 'x__missing']
        >>> enc.transform(pd.Series([1.0, None])).tolist()
        [[-1.0, 0.0], [0.0, 1.0]]
    """

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        if self.kind == "tree":
            return {}
        x = to_float(values)
        observed = x[~np.isnan(x)]
        if observed.size == 0:
            return {"median": 0.0, "mean": 0.0, "std": 1.0, "indicator": True}
        std = float(observed.std())
        return {
            "median": float(np.median(observed)),
            "mean": float(observed.mean()),
            "std": std if np.isfinite(std) and std > 0 else 1.0,
            "indicator": bool(observed.size < x.size),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        self.categorical_ = []
        self.feature_names_ = [self.column]
        if self.kind == "dense" and state["indicator"]:
            self.feature_names_.append(f"{self.column}__missing")

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        x = to_float(values)
        if self.kind == "tree":
            return x[:, None]
        s = self.state_
        missing = np.isnan(x)
        z = np.clip((np.where(missing, s["median"], x) - s["mean"]) / s["std"], -CLIP, CLIP)
        if s["indicator"]:
            return np.column_stack([z, missing.astype(np.float64)])
        return z[:, None]
