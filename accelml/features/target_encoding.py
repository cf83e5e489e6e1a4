"""Target encoding: each category becomes the smoothed mean of the target over its training rows.

Used by dense models for categorical columns with too many categories to one-hot. For the rows a model trains on,
:meth:`TargetEncoder.fit_transform` returns out-of-fold encodings, so no row ever sees its own target.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from accelml.exceptions import DataError
from accelml.features.base import ColumnEncoder, key_positions
from accelml.features.coerce import category_keys

__all__ = ["N_FOLDS", "SMOOTHING", "TargetEncoder"]

SMOOTHING = 10.0  # a category seen m times is pulled halfway to the prior
N_FOLDS = 5


class TargetEncoder(ColumnEncoder):
    """Smoothed per-category target means: ``(sum + m * prior) / (count + m)`` with ``m = 10``.

    Binary: one column, the rate of class 1. Multiclass: one column per class, the class probabilities.
    Regression: one column, the mean of the target standardized over the fitting rows. Missing and unseen
    categories get the prior.

    Example:
        >>> from accelml.features.base import EncoderContext
        >>> enc = TargetEncoder("c", EncoderContext("dense", "binary", 2))
        >>> x, y = pd.Series(["a"] * 10 + ["b"] * 10), np.array([1] * 10 + [0] * 10)
        >>> enc.fit(x, y).transform(pd.Series(["a", "b", "zzz"])).ravel().tolist()
        [0.75, 0.25, 0.5]
    """

    keys_lower = False

    @property
    def n_outputs(self) -> int:
        return self.context.n_classes if self.context.n_classes > 2 else 1

    def _targets(self, y: np.ndarray | None, n: int) -> np.ndarray:
        """The target as an ``(n, n_outputs)`` float matrix (indicators for classification)."""
        if y is None:
            raise DataError(f"Target encoding of column {self.column!r} needs the target y; pass y to fit.")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise DataError(f"The target for column {self.column!r} must be 1-D with {n} values, got {y.shape}.")
        if not self.context.n_classes:  # one value per row
            t = y.astype(np.float64)
            if not np.all(np.isfinite(t)):
                raise DataError("The regression target has missing or infinite values; drop those rows first.")
            return t[:, None]
        codes = y.astype(np.int64)
        if codes.size and (codes.min() < 0 or codes.max() >= self.context.n_classes):
            raise DataError(
                f"Class indices must lie in 0..{self.context.n_classes - 1}; encode labels as indices before fitting."
            )
        if self.context.n_classes > 2:
            return np.eye(self.context.n_classes)[codes]
        return (codes == 1).astype(np.float64)[:, None]

    def _table(self, codes: np.ndarray, targets: np.ndarray, n_categories: int) -> np.ndarray:
        """Encodings learned from these rows: one row per category, then the prior as a last row."""
        if not self.context.n_classes:
            mean, std = targets.mean(axis=0), targets.std(axis=0)
            targets = (targets - mean) / np.where(std > 0, std, 1.0)
        prior = targets.mean(axis=0)
        seen = codes >= 0
        counts = np.bincount(codes[seen], minlength=n_categories).astype(np.float64)
        sums = np.column_stack(
            [np.bincount(codes[seen], weights=column[seen], minlength=n_categories) for column in targets.T]
        )
        table = (sums + SMOOTHING * prior) / (counts[:, None] + SMOOTHING)
        return np.vstack([table, prior])

    def _codes(self, values: pd.Series) -> tuple[np.ndarray, list[str]]:
        keys = category_keys(values)
        categories = sorted(set(keys[pd.notna(keys)]))
        return pd.Index(categories, dtype=object).get_indexer(keys), categories

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        codes, categories = self._codes(values)
        table = self._table(codes, self._targets(y, len(codes)), len(categories))
        return {"categories": categories, "table": table}

    def fit_transform(self, values: pd.Series, y: np.ndarray | None = None) -> np.ndarray:
        """Fit on all rows, but encode each row with statistics from the other folds only.

        The rows are split into 5 seeded folds (``KFold(shuffle=True, random_state=seed)``); each fold is encoded with
        the table (prior and, for regression, standardization included) learned from the other four.
        """
        codes, categories = self._codes(values)
        targets = self._targets(y, len(codes))
        n_categories = len(categories)
        self.set_state({"categories": categories, "table": self._table(codes, targets, n_categories).tolist()})
        n_splits = min(N_FOLDS, len(codes))
        if n_splits < 2:
            return self.transform(values)
        out = np.empty((len(codes), self.n_outputs), dtype=np.float64)
        for train, held_out in KFold(n_splits, shuffle=True, random_state=self.context.seed).split(codes):
            table = self._table(codes[train], targets[train], n_categories)
            out[held_out] = table[np.where(codes[held_out] >= 0, codes[held_out], n_categories)]
        return out

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        self.categorical_ = []
        self._positions = {c: i for i, c in enumerate(state["categories"])}
        self._lookup = np.asarray(state["table"], dtype=np.float64).reshape(len(state["categories"]) + 1, -1)
        if self.n_outputs == 1:
            self.feature_names_ = [f"{self.column}__te"]
        else:
            self.feature_names_ = [f"{self.column}__te_{j}" for j in range(self.n_outputs)]

    def transform(self, values: pd.Series) -> np.ndarray:
        return self.transform_keys(category_keys(values))

    def transform_keys(self, keys: np.ndarray) -> np.ndarray:
        self._check_fitted()
        idx = key_positions(self._positions, keys)
        return self._lookup[idx]  # -1 (missing/unseen) reads the prior in the last row
