"""The preprocessed fold matrices each model family needs, fitted on training folds only (the splits themselves are
:mod:`accelml.validation`'s)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from accelml.features import INPUTS, make_input
from accelml.schema import Schema
from accelml.validation import Split, Validation

__all__ = ["FoldCache", "FoldData", "fold_build_seconds"]

logger = logging.getLogger(__name__)


def fold_build_seconds(kind: str, measured: dict[str, float]) -> float:
    """Seconds to build one fold of preprocessing ``kind``: as ``measured`` (one fold of each kind built so far), else
    estimated from the other kinds (dense preprocessing costs about twice the tree kind's), else 0.

    >>> fold_build_seconds("dense", {"dense": 0.3}), fold_build_seconds("dense", {"tree": 0.2})
    (0.3, 0.4)
    >>> fold_build_seconds("tree", {})
    0.0
    """
    if kind in measured:
        return measured[kind]
    return 2.0 * max(measured.values()) if measured else 0.0


@dataclass
class FoldData:
    """One fold, preprocessed for one kind of model."""

    preprocessor: Any  # the fold's fitted featurizer (a Preprocessor for the tree and dense kinds)
    X_train: np.ndarray
    X_val: np.ndarray

    @property
    def categorical(self) -> tuple[list[int], list[int]]:
        return self.preprocessor.categorical_indices_, self.preprocessor.categorical_cardinalities_


class FoldCache:
    """Builds each (fold, preprocessing kind) of a :class:`~accelml.validation.Validation` once and shares it between
    all trials that need it."""

    def __init__(self, X: pd.DataFrame, validation: Validation, schema: Schema, seed: int = 0):
        self.X, self.validation, self.schema, self.seed = X, validation, schema, seed
        self._cache: dict[tuple[int, str], FoldData] = {}
        self._whole: dict[str, tuple[Any, np.ndarray]] = {}  # stateless inputs, on every row
        self.build_seconds: dict[str, float] = {}  # time to build one fold of each kind, measured

    def get(self, fold: int, kind: str) -> FoldData:
        """Fold ``fold``'s matrices for input ``kind`` (see :data:`~accelml.features.INPUTS`): a stateful featurizer
        fitted on the fold's training rows; a stateless one computed once on every row and sliced."""
        key = (fold, kind)
        if key not in self._cache:
            started = time.monotonic()
            train, val = self.splits[fold]
            if INPUTS[kind].stateless:
                featurizer, matrix = self._stateless(kind)
                X_train, X_val = matrix[train], matrix[val]
            else:
                featurizer = make_input(kind, self.schema, seed=self.seed)
                X_train = featurizer.fit_transform(self.X.iloc[train], self.y[train])
                X_val = featurizer.transform(self.X.iloc[val])
            self._cache[key] = FoldData(featurizer, X_train, X_val)
            self.build_seconds.setdefault(kind, time.monotonic() - started)
            logger.debug("fold %d (%s): %d features", fold, kind, X_train.shape[1])
        return self._cache[key]

    def _stateless(self, kind: str) -> tuple[Any, np.ndarray]:
        """A stateless featurizer and its output on every row, computed once per run."""
        if kind not in self._whole:
            featurizer = make_input(kind, self.schema, seed=self.seed)
            self._whole[kind] = (featurizer, featurizer.fit_transform(self.X, self.y))
        return self._whole[kind]

    @property
    def y(self) -> np.ndarray:
        return self.validation.truth

    @property
    def splits(self) -> list[Split]:
        return self.validation.splits

    @property
    def oof_rows(self) -> np.ndarray:
        """Rows that get an out-of-fold prediction (see :attr:`Validation.oof_rows`)."""
        return self.validation.oof_rows

    @property
    def n_repeats(self) -> int:
        """How many times k-fold was repeated with fresh shuffles (1 for plain k-fold, a holdout or time folds)."""
        return self.validation.n_repeats

    @property
    def first_repeat(self) -> list[Split]:
        """The splits of the first repeat: one partition of the rows (all splits for plain k-fold or a holdout)."""
        return self.validation.first_repeat

    def is_built(self, kind: str) -> bool:
        return all((k, kind) in self._cache for k in range(len(self.splits)))

    def estimated_build_seconds(self, kind: str) -> float:
        """Seconds still needed to build every fold of ``kind``: measured when one was built, else estimated from the
        other kind (dense preprocessing costs about twice the tree kind's)."""
        if self.is_built(kind):
            return 0.0
        estimate = getattr(INPUTS[kind], "estimated_seconds", None)  # a pretrained encoder knows its own pace
        if estimate is not None and kind not in self._whole:
            return float(estimate(len(self.X), X=self.X, schema=self.schema))
        missing = sum((k, kind) not in self._cache for k in range(len(self.splits)))
        return missing * fold_build_seconds(kind, self.build_seconds)

    def nbytes(self) -> int:
        return sum(fd.X_train.nbytes + fd.X_val.nbytes for fd in self._cache.values())
