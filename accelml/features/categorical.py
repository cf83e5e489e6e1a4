"""Categorical columns: frequency-ranked codes for trees; one-hot or target encoding for dense models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.features.base import ColumnEncoder, key_positions
from accelml.features.coerce import category_keys
from accelml.features.target_encoding import TargetEncoder

__all__ = ["MAX_CODES", "MAX_ONE_HOT", "CategoricalEncoder", "rank_categories"]

MAX_CODES = 254  # most frequent categories that keep their own code for trees; the rest share one 'other' code
MAX_ONE_HOT = 30  # dense models one-hot up to this many categories, and target-encode beyond


def rank_categories(keys: np.ndarray) -> tuple[list[str], list[int]]:
    """Distinct non-missing keys, most frequent first (ties by value), with their counts.

    Example:
        >>> rank_categories(np.array(["b", "a", None, "b", "c"], dtype=object))
        (['b', 'a', 'c'], [2, 1, 1])
    """
    counts = pd.Series(keys[pd.notna(keys)], dtype=object).value_counts(sort=False)
    ranked = sorted(zip(counts.index.tolist(), counts.tolist(), strict=True), key=lambda kv: (-kv[1], kv[0]))
    return [k for k, _ in ranked], [int(c) for _, c in ranked]


class CategoricalEncoder(ColumnEncoder):
    """One categorical column.

    ``tree``: one column of codes ``0..card-1`` for the training categories ranked by frequency; beyond the 254 most
    frequent, the rest share code 254 ('other'), and a ``__freq`` column gives each value's training frequency
    (unseen → 0). Missing and unseen values → NaN. ``dense``: one-hot over at most 30 training categories (unseen and
    missing → all zeros), otherwise out-of-fold target encoding (see :class:`TargetEncoder`).

    Example:
        >>> from accelml.features.base import EncoderContext
        >>> enc = CategoricalEncoder("c", EncoderContext("tree", "binary", 2)).fit(pd.Series(["b", "a", "b", None]))
        >>> enc.transform(pd.Series(["a", "b", None, "new"])).ravel().tolist()
        [1.0, 0.0, nan, nan]
        >>> enc.categorical_
        [(0, 2)]
    """

    keys_lower = False

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        categories, counts = rank_categories(category_keys(values))
        if self.kind == "tree":
            state: dict[str, Any] = {"mode": "codes", "categories": categories}
            if len(categories) > MAX_CODES:
                state["frequencies"] = [c / len(values) for c in counts]
            return state
        if len(categories) <= MAX_ONE_HOT:
            return {"mode": "one_hot", "categories": categories}
        return {"mode": "target", "target": self._target_encoder().fit(values, y).get_state()}

    def _target_encoder(self) -> TargetEncoder:
        return TargetEncoder(self.column, self.context)

    def fit_transform(self, values: pd.Series, y: np.ndarray | None = None) -> np.ndarray:
        """Like ``fit(...).transform(...)``, except that target-encoded columns are encoded out of fold."""
        if self.kind == "dense":
            n_categories = len(set(category_keys(values)) - {None})
            if n_categories > MAX_ONE_HOT:
                target = self._target_encoder()
                out = target.fit_transform(values, y)
                self.set_state({"mode": "target", "target": target.get_state()})
                return out
        return super().fit_transform(values, y)

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        mode = state["mode"]
        if mode == "target":
            self._target = self._target_encoder()
            self._target.set_state(state["target"])
            self.feature_names_ = list(self._target.feature_names_)
            self.categorical_ = []
            return
        categories = state["categories"]
        self._positions = {c: i for i, c in enumerate(categories)}
        if mode == "one_hot":
            self.feature_names_ = [f"{self.column}__{c}" for c in categories]
            self.categorical_ = []
            return
        n_codes = min(len(categories), MAX_CODES + 1)
        # index -1 (missing/unseen) reads NaN at the end; ranks past MAX_CODES all read the 'other' code
        self._codes = np.append(np.minimum(np.arange(len(categories)), MAX_CODES), np.nan).astype(np.float64)
        self.feature_names_ = [self.column]
        self.categorical_ = [(0, max(n_codes, 1))]
        if "frequencies" in state:
            self._frequencies = np.append(np.asarray(state["frequencies"], dtype=np.float64), 0.0)
            self.feature_names_.append(f"{self.column}__freq")

    def transform(self, values: pd.Series) -> np.ndarray:
        return self.transform_keys(category_keys(values))

    def transform_keys(self, keys: np.ndarray) -> np.ndarray:
        self._check_fitted()
        mode = self.state_["mode"]
        if mode == "target":
            return self._target.transform_keys(keys)
        idx = key_positions(self._positions, keys)
        if mode == "one_hot":
            out = np.zeros((len(idx), len(self.feature_names_)), dtype=np.float64)
            rows = np.flatnonzero(idx >= 0)
            out[rows, idx[rows]] = 1.0
            return out
        codes = self._codes[idx]
        if "frequencies" not in self.state_:
            return codes[:, None]
        frequencies = self._frequencies[idx]
        frequencies[pd.isna(keys)] = np.nan  # missing is not 'unseen'
        return np.column_stack([codes, frequencies])
