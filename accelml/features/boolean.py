"""Boolean columns (``True``/``False``, ``'yes'``/``'no'``, ``0``/``1``, ...) as 0/1."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.features.base import ColumnEncoder, key_positions
from accelml.features.coerce import category_keys

__all__ = ["BooleanEncoder"]

_TRUE = frozenset({"true", "yes", "y", "t", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "f", "0", "off"})


class BooleanEncoder(ColumnEncoder):
    """One boolean column as 0/1, mapped by the values seen in training.

    The two most frequent training values (stripped, lowercased) are sorted and mapped to 0 and 1, which for every
    usual spelling (``false/true``, ``no/yes``, ``0/1``, ``n/y``, ``off/on``) puts the "true" value at 1; when every
    training value is such a spelling, its meaning is used instead, so a column that only saw ``'yes'`` still maps
    it to 1. Missing or unseen values become NaN for ``tree`` and 0.5 for ``dense``.

    Example:
        >>> from accelml.features.base import EncoderContext
        >>> enc = BooleanEncoder("b", EncoderContext("tree", "binary", 2)).fit(pd.Series(["Yes", "no", None]))
        >>> enc.transform(pd.Series(["no", "YES", "maybe"])).ravel().tolist()
        [0.0, 1.0, nan]
    """

    keys_lower = True

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        keys = category_keys(values, lower=True)
        counts = pd.Series(keys[pd.notna(keys)], dtype=object).value_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        seen = sorted(k for k, _ in ranked[:2])
        if seen and all(k in _TRUE or k in _FALSE for k in seen):
            codes = [1.0 if k in _TRUE else 0.0 for k in seen]
        else:
            codes = [float(i) for i in range(len(seen))]
        return {"values": seen, "codes": codes}

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        self.categorical_ = []
        self.feature_names_ = [self.column]
        fallback = np.nan if self.kind == "tree" else 0.5
        self._positions = {v: i for i, v in enumerate(state["values"])}
        self._table = np.array([*state["codes"], fallback], dtype=np.float64)

    def transform(self, values: pd.Series) -> np.ndarray:
        return self.transform_keys(category_keys(values, lower=True))

    def transform_keys(self, keys: np.ndarray) -> np.ndarray:
        self._check_fitted()
        idx = key_positions(self._positions, keys)
        return self._table[idx][:, None]  # index -1 (missing/unseen) reads the fallback at the end
