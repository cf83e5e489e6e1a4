"""Numeric columns: kept as they are for trees; for dense models imputed, flagged, log-scaled when heavily skewed,
standardized and clipped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.features.base import ColumnEncoder
from accelml.features.coerce import to_float

__all__ = ["NumericEncoder"]

CLIP = 5.0  # standardized values beyond ±5 are outliers that only destabilise linear models and networks
SKEW = 1.0  # a non-negative column skewed beyond this is log-scaled (areas, prices, counts): linear in its order


class NumericEncoder(ColumnEncoder):
    """One numeric column.

    ``tree``: the float value, NaN kept. ``dense``: ``log1p`` of the value when training values are non-negative and
    skewed beyond ``SKEW``, median-imputed, standardized with the training mean and standard deviation (0 → 1),
    clipped to the training range within ``[-5, 5]`` (dense models extrapolate from values never seen in training),
    plus a ``__missing`` indicator when training had missing values.

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
        log = bool(observed.min() >= 0 and _skew(observed) > SKEW)
        if log:
            observed = np.log1p(observed)
        std = float(observed.std())
        std = std if np.isfinite(std) and std > 0 else 1.0
        mean = float(observed.mean())
        return {
            "log": log,
            "median": float(np.median(observed)),
            "mean": mean,
            "std": std,
            "low": max(-CLIP, (float(observed.min()) - mean) / std),
            "high": min(CLIP, (float(observed.max()) - mean) / std),
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
        if s.get("log"):
            x = np.log1p(np.maximum(x, 0.0))  # NaN stays NaN
        z = np.clip((np.where(missing, s["median"], x) - s["mean"]) / s["std"], s.get("low", -CLIP), s.get("high", CLIP))
        if s["indicator"]:
            return np.column_stack([z, missing.astype(np.float64)])
        return z[:, None]


    @staticmethod
    def transform_many(encoders: list[NumericEncoder], x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`transform` of many columns at once, with the same numbers.

        Args:
            encoders: fitted encoders of one kind.
            x: their columns as float64, missing and infinite values as NaN (``to_float`` of each).

        Returns:
            ``(values, indicators, with_indicator)``: the encoded values ``(n, len(encoders))``, the ``__missing``
            columns ``(n, len(with_indicator))``, and the positions in ``encoders`` of those that have one.

        Example:
            >>> from accelml.features.base import EncoderContext
            >>> context = EncoderContext("dense", "regression", 0)
            >>> a = NumericEncoder("a", context).fit(pd.Series([1.0, 3.0, None]))
            >>> b = NumericEncoder("b", context).fit(pd.Series([0.0, 10.0, 20.0]))
            >>> x = np.array([[1.0, 10.0], [np.nan, 40.0]])
            >>> values, indicators, with_indicator = NumericEncoder.transform_many([a, b], x)
            >>> values.tolist(), indicators.tolist(), with_indicator.tolist()
            ([[-1.0, 0.0], [0.0, 1.224744871391589]], [[0.0], [1.0]], [0])
            >>> [a.transform(pd.Series([1.0, None]))[:, 0].tolist(), b.transform(pd.Series([10.0, 40.0]))[:, 0].tolist()]
            [[-1.0, 0.0], [0.0, 1.224744871391589]]
        """
        if not encoders or encoders[0].kind == "tree":
            return x, np.empty((len(x), 0)), np.empty(0, dtype=np.int64)
        for e in encoders:
            e._check_fitted()
        states = [e.state_ for e in encoders]
        missing = np.isnan(x)
        log = np.flatnonzero([bool(s.get("log")) for s in states])
        if log.size:
            x = x.copy()
            x[:, log] = np.log1p(np.maximum(x[:, log], 0.0))
        median, mean, std, low, high = (np.array([s.get(k, d) for s in states], dtype=np.float64) for k, d in
                                        (("median", 0.0), ("mean", 0.0), ("std", 1.0), ("low", -CLIP),
                                         ("high", CLIP)))
        values = np.clip((np.where(missing, median, x) - mean) / std, low, high)
        with_indicator = np.flatnonzero([bool(s["indicator"]) for s in states])
        return values, missing[:, with_indicator].astype(np.float64), with_indicator


def _skew(x: np.ndarray) -> float:
    """Sample skewness (0 for a constant column).

    >>> round(_skew(np.array([1.0, 1.0, 1.0, 10.0])), 3), _skew(np.array([2.0, 2.0]))
    (1.155, 0.0)
    """
    std = x.std()
    return float(np.mean((x - x.mean()) ** 3) / std**3) if std > 0 else 0.0
