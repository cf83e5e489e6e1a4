"""Validation splits, and the preprocessed fold matrices each model family needs (fitted on training folds only)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from accelml.features import Preprocessor
from accelml.schema import Schema

__all__ = ["FoldCache", "FoldData", "fold_build_seconds", "make_splits", "n_repeats_for", "n_splits_for"]

logger = logging.getLogger(__name__)

Split = tuple[np.ndarray, np.ndarray]


# Rows (times classes) one core-second of the time limit pays for in one fold, across a search: calibrated so that a
# 60 s run gets 3 folds on adult (32,561 rows), 5 on 20,000-row regression and a holdout on letter (20,000 x 26).
_WORK_PER_SECOND = 1700
# Eight folds (each model trained on 7/8 of the rows, as AutoGluon bags) when the budget is this many times what
# eight folds of one trial need: small data with minutes to spend, never a 60 s run on the development datasets.
_EIGHT_FOLD_MARGIN = 40


def n_splits_for(n_rows: int, *, n_classes: int = 1, time_limit: float | None = None) -> int:
    """k for k-fold validation (1 means a single holdout split).

    More folds where data is scarce (honest and stable scores); fewer where each fold is expensive for the time
    given: the work of a fold grows with rows and, for multiclass boosting, with classes. Small data with a generous
    budget gets eight folds, so that every model trains on more of the rows. Depends on the data and settings only,
    never on the clock.

    >>> n_splits_for(500), n_splits_for(30_000), n_splits_for(300_000)
    (5, 3, 1)
    >>> n_splits_for(32_561, time_limit=60), n_splits_for(20_000, n_classes=26, time_limit=60)
    (3, 1)
    >>> n_splits_for(1_095, time_limit=60), n_splits_for(1_095, time_limit=300)
    (5, 8)
    """
    by_rows = 5 if n_rows <= 20_000 else 3 if n_rows <= 100_000 else 1
    if time_limit is None:
        return by_rows
    work = n_rows * max(1, n_classes if n_classes > 2 else 1)
    if by_rows == 5 and 8 * work * _EIGHT_FOLD_MARGIN <= _WORK_PER_SECOND * time_limit:
        return 8
    affordable = [k for k in (5, 3) if k * work <= _WORK_PER_SECOND * time_limit]
    return min(by_rows, affordable[0]) if affordable else 1


def n_repeats_for(n_rows: int, n_splits: int, *, n_classes: int = 1, time_limit: float | None = None) -> int:
    """How many times k-fold is repeated with fresh shuffles: what a time budget buys on small data.

    On a few hundred rows one k-fold partition gives a noisy score, and a search of hundreds of cheap trials then
    picks whatever fits that partition's noise (validation far above test). Averaging each row's out-of-fold
    prediction over repeats steadies the score, and the extra fold models bag the final prediction. Repeats are
    only taken when the budget affords them, and never without a time limit (runs bounded by trials stay plain).

    >>> n_repeats_for(561, 5, time_limit=60), n_repeats_for(3_000, 5, time_limit=60)
    (3, 2)
    >>> n_repeats_for(15_000, 5, time_limit=60)
    1
    >>> n_repeats_for(1_700, 5, n_classes=7, time_limit=60), n_repeats_for(561, 5), n_repeats_for(561, 1, time_limit=60)
    (1, 1, 1)
    """
    if time_limit is None or n_splits < 2:
        return 1
    by_rows = 3 if n_rows <= 1_000 else 2 if n_rows <= 5_000 else 1
    work = n_rows * max(1, n_classes if n_classes > 2 else 1) * n_splits
    affordable = [r for r in range(by_rows, 1, -1) if r * work <= _WORK_PER_SECOND * time_limit]
    return affordable[0] if affordable else 1


def make_splits(
    y: np.ndarray,
    task: str,
    *,
    seed: int,
    n_splits: int | None = None,
    time_limit: float | None = None,
    n_repeats: int | None = None,
) -> list[Split]:
    """Seeded k-fold (stratified for classification), repeated ``n_repeats`` times with fresh shuffles (chosen by
    :func:`n_repeats_for` when None), or one 80/20 holdout for large data or tight budgets.

    Repeats follow one another: splits ``r*k .. r*k+k-1`` are repeat ``r``, each a partition of the rows.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    n_classes = int(y.max()) + 1 if task == "multiclass" else 1
    k = n_splits or n_splits_for(len(y), n_classes=n_classes, time_limit=time_limit)
    stratify = task in ("binary", "multiclass")
    index = np.arange(len(y))
    if k == 1:
        val_size = min(0.2, 50_000 / len(y))
        train, val = train_test_split(index, test_size=val_size, random_state=seed, stratify=y if stratify else None)
        return [(np.sort(train), np.sort(val))]
    if n_repeats is None:
        n_repeats = n_repeats_for(len(y), k, n_classes=n_classes, time_limit=time_limit) if n_splits is None else 1
    splits: list[Split] = []
    kfold = StratifiedKFold if stratify else KFold
    for r in range(n_repeats):
        splitter = kfold(k, shuffle=True, random_state=seed + 7919 * r)
        splits += [(train, val) for train, val in splitter.split(index, y if stratify else None)]
    return splits


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

    preprocessor: Preprocessor
    X_train: np.ndarray
    X_val: np.ndarray

    @property
    def categorical(self) -> tuple[list[int], list[int]]:
        return self.preprocessor.categorical_indices_, self.preprocessor.categorical_cardinalities_


class FoldCache:
    """Builds each (fold, preprocessing kind) once and shares it between all trials that need it."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray, splits: list[Split], schema: Schema, seed: int = 0):
        self.X, self.y, self.splits, self.schema, self.seed = X, y, splits, schema, seed
        self._cache: dict[tuple[int, str], FoldData] = {}
        self.build_seconds: dict[str, float] = {}  # time to build one fold of each kind, measured

    def get(self, fold: int, kind: str) -> FoldData:
        key = (fold, kind)
        if key not in self._cache:
            started = time.monotonic()
            train, val = self.splits[fold]
            pre = Preprocessor(kind, self.schema, seed=self.seed)
            X_train = pre.fit_transform(self.X.iloc[train], self.y[train])
            X_val = pre.transform(self.X.iloc[val])
            self._cache[key] = FoldData(pre, X_train, X_val)
            self.build_seconds.setdefault(kind, time.monotonic() - started)
            logger.debug("fold %d (%s): %d features", fold, kind, X_train.shape[1])
        return self._cache[key]

    @property
    def oof_rows(self) -> np.ndarray:
        """Rows that get an out-of-fold prediction (all rows for k-fold, the holdout rows otherwise)."""
        return np.unique(np.concatenate([val for _, val in self.splits]))

    @property
    def n_repeats(self) -> int:
        """How many times each out-of-fold row is predicted (repeated k-fold), 1 for plain k-fold or a holdout."""
        return max(1, round(sum(len(val) for _, val in self.splits) / max(len(self.oof_rows), 1)))

    @property
    def first_repeat(self) -> list[Split]:
        """The splits of the first repeat: one partition of the rows (all splits for plain k-fold or a holdout)."""
        return self.splits[: len(self.splits) // self.n_repeats]

    def is_built(self, kind: str) -> bool:
        return all((k, kind) in self._cache for k in range(len(self.splits)))

    def estimated_build_seconds(self, kind: str) -> float:
        """Seconds still needed to build every fold of ``kind``: measured when one was built, else estimated from the
        other kind (dense preprocessing costs about twice the tree kind's)."""
        if self.is_built(kind):
            return 0.0
        missing = sum((k, kind) not in self._cache for k in range(len(self.splits)))
        return missing * fold_build_seconds(kind, self.build_seconds)

    def nbytes(self) -> int:
        return sum(fd.X_train.nbytes + fd.X_val.nbytes for fd in self._cache.values())
