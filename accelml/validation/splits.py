"""Validation splits: shuffled, stratified, repeated and grouped k-fold, a holdout, and time-ordered folds.

Every split is a pair ``(train_rows, validation_rows)`` of sorted row indices. How many folds (and repeats) a run gets
depends on the data and settings only, never on the clock.
"""

from __future__ import annotations

import logging

import numpy as np

from accelml.exceptions import DataError

__all__ = ["Split", "grouped_splits", "n_repeats_for", "n_splits_for", "shuffled_splits", "time_splits"]

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



def shuffled_splits(y: np.ndarray, *, k: int, stratify: bool, seed: int, n_repeats: int = 1,
                    holdout_rows: int = 50_000) -> list[Split]:
    """Seeded k-fold (stratified when asked), repeated ``n_repeats`` times with fresh shuffles, or, for ``k == 1``,
    one holdout of 20 % of the rows (at most ``holdout_rows``).

    Repeats follow one another: splits ``r*k .. r*k+k-1`` are repeat ``r``, each a partition of the rows.

    >>> y = np.array([0, 1] * 10)
    >>> [len(val) for _, val in shuffled_splits(y, k=4, stratify=True, seed=0)]
    [5, 5, 5, 5]
    """
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    index = np.arange(len(y))
    if k == 1:
        val_size = min(0.2, holdout_rows / len(y))
        train, val = train_test_split(index, test_size=val_size, random_state=seed, stratify=y if stratify else None)
        return [(np.sort(train), np.sort(val))]
    splits: list[Split] = []
    kfold = StratifiedKFold if stratify else KFold
    for r in range(n_repeats):
        splitter = kfold(k, shuffle=True, random_state=seed + 7919 * r)
        splits += [(train, val) for train, val in splitter.split(index, y if stratify else None)]
    return splits


def grouped_splits(y: np.ndarray, groups: np.ndarray, *, k: int, stratify: bool, seed: int,
                   column: str = "groups", holdout_rows: int = 50_000) -> list[Split]:
    """k-fold in which all rows of a group (a patient, a customer, a site) fall in the same fold, so a model is never
    validated on a group it trained on; stratified by class where asked. ``k == 1``: one holdout of about 20 % of
    the groups (about ``holdout_rows`` rows at most).

    Raises:
        DataError: fewer than two groups, or missing group values (naming ``column``).

    >>> y, g = np.array([0, 1, 0, 1, 0, 1, 0, 1]), np.array([1, 1, 2, 2, 3, 3, 4, 4])
    >>> splits = grouped_splits(y, g, k=2, stratify=True, seed=0)
    >>> all(set(g[tr]).isdisjoint(g[va]) for tr, va in splits), np.sort(np.concatenate([va for _, va in splits])).tolist()
    (True, [0, 1, 2, 3, 4, 5, 6, 7])
    """
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

    codes = _codes(groups, column, "group")
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    if n_groups < 2:
        raise DataError(f"the groups column '{column}' has {n_groups} group(s); grouped validation needs at least two")
    index = np.arange(len(y))
    if k == 1:
        splitter = GroupShuffleSplit(n_splits=1, test_size=min(0.2, holdout_rows / len(y)), random_state=seed)
        train, val = next(splitter.split(index, y, codes))
        return [(np.sort(train), np.sort(val))]
    k = min(k, n_groups)
    if stratify:
        splits = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(index, y, codes)
    else:
        # GroupKFold balances fold sizes deterministically; shuffling the group labels first makes the seed count
        from sklearn.model_selection import GroupKFold

        shuffled = np.random.default_rng(seed).permutation(n_groups)[codes]
        splits = GroupKFold(k).split(index, y, shuffled)
    return [(np.sort(train), np.sort(val)) for train, val in splits]


def time_splits(times: np.ndarray, *, k: int, column: str = "time") -> list[Split]:
    """Time-ordered validation: each fold trains on the rows up to a point in time and is validated on the rows just
    after it (an expanding window), so no model is validated on the past with the future in training. Rows with the
    same time stay on one side. ``k == 1``: train on the earliest 80 % of the times, validate on the rest.

    Raises:
        DataError: missing times, or fewer distinct times than folds need (naming ``column``).

    >>> t = np.array(["2021-03", "2021-01", "2021-02", "2021-04", "2021-01", "2021-05"], dtype="datetime64[M]")
    >>> [(tr.tolist(), va.tolist()) for tr, va in time_splits(t, k=2)]
    [([0, 1, 2, 4], [3]), ([0, 1, 2, 3, 4], [5])]
    """
    from sklearn.model_selection import TimeSeriesSplit

    codes = _codes(times, column, "time")  # distinct times in order: 0 is the earliest
    n_times = int(codes.max()) + 1 if len(codes) else 0
    if n_times < k + 1 or n_times < 2:
        raise DataError(f"the time column '{column}' has {n_times} distinct time(s); time-ordered validation with "
                        f"{k} fold(s) needs at least {max(k + 1, 2)}")
    if k == 1:
        cut = max(1, min(n_times - 1, round(0.8 * n_times)))
        folds = [(np.arange(cut), np.arange(cut, n_times))]
    else:
        folds = list(TimeSeriesSplit(n_splits=k).split(np.arange(n_times)))
    return [(np.flatnonzero(np.isin(codes, train)), np.flatnonzero(np.isin(codes, val))) for train, val in folds]


def _codes(values: np.ndarray, column: str, what: str) -> np.ndarray:
    """Each row's rank among the distinct values (sorted), for group ids or times; missing values are an error."""
    import pandas as pd

    series = pd.Series(values)
    missing = int(series.isna().sum())
    if missing:
        raise DataError(f"the {what} column '{column}' has {missing} missing value(s); fill or drop those rows first")
    codes, _ = pd.factorize(series, sort=True)
    return codes.astype(np.int64)
