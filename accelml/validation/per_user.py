"""Splits of an interaction log that cut inside each user: every user is trained on part of their history and tested
on the rest, as a recommender is used (it knows a user's past and must find their next items).

A per-user holdout tests each user's latest interactions when the log has times (no peeking at a user's future), a
random share of them otherwise; per-user folds spread each user's interactions over k folds. Both are vectorised: one
sort by user (then time or a seeded random key) and a rank within each user, so a million rows take well under a
second. Every split is a pair ``(train_rows, test_rows)`` of sorted row indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accelml.exceptions import ConfigError, DataError
from accelml.validation.splits import Split

__all__ = ["per_user_folds", "per_user_holdout"]


def per_user_holdout(users: np.ndarray, *, share: float = 0.25, seed: int = 0, times: np.ndarray | None = None,
                     min_train: int = 1) -> Split:
    """Hold out about ``share`` of each user's interactions: the latest ones when ``times`` is given (equal times in
    row order), a seeded random choice otherwise.

    A user with ``n`` interactions gets ``round(share * n)`` of them in test (halves round up), at least one, and at
    most ``n - min_train``, so every user keeps ``min_train`` interactions in train; a user with a single interaction
    (or at most ``min_train``) stays entirely in train.

    Args:
        users: each row's user (integer codes, or any sortable ids).
        share: the share of each user's interactions to test, strictly between 0 and 1.
        seed: the random choice's seed (unused with ``times``).
        times: each row's time (numbers or ``datetime64``), or None for a random holdout.
        min_train: the fewest interactions a user keeps in train, at least 1.

    Returns:
        ``(train_rows, test_rows)``: sorted, disjoint, together every row.

    Raises:
        ConfigError: ``share`` or ``min_train`` out of range.
        DataError: ``users`` or ``times`` missing values or of another length.

    Example:
        >>> users = np.array([0, 0, 1, 0, 1, 0, 2])
        >>> times = np.array([4, 1, 7, 3, 5, 2, 9])
        >>> train, test = per_user_holdout(users, times=times, share=0.25)
        >>> train.tolist(), test.tolist()  # user 0's latest (row 0), user 1's latest (row 2); user 2 has one row
        ([1, 3, 4, 5, 6], [0, 2])
    """
    if not 0.0 < share < 1.0:
        raise ConfigError(f"share must be strictly between 0 and 1 (the share of each user's interactions to test); "
                          f"got {share!r}")
    if isinstance(min_train, bool) or not isinstance(min_train, (int, np.integer)) or min_train < 1:
        raise ConfigError(f"min_train must be a positive integer; got {min_train!r}")
    users = _users(users)
    n_rows = len(users)
    key = np.random.default_rng(seed).random(n_rows) if times is None else _times(times, n_rows)
    order, rank, size = _rank_within_user(users, key, distinct=times is None)
    n_test = np.floor(share * size + 0.5)
    n_test = np.clip(np.maximum(n_test, 1), 0, np.maximum(size - min_train, 0))
    is_test = np.zeros(n_rows, dtype=bool)
    is_test[order] = rank >= size - n_test  # each user's last n_test rows in (time or random) order
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def per_user_folds(users: np.ndarray, *, k: int = 5, seed: int = 0) -> list[Split]:
    """k folds that each hold about 1/k of every user's interactions (chosen at random, seeded).

    Each user's interactions are shuffled and dealt round the folds from a random starting fold, so a user with at
    least ``k`` interactions is in every fold's test and every fold's train, and users with fewer land in different
    folds (fold sizes stay even). The test rows of the folds partition the log: every row is tested exactly once,
    which gives an out-of-fold prediction for every row. A user with fewer than ``k`` interactions is missing from the
    test of some folds, and a user with one interaction is new to the model in the fold that tests it.

    Args:
        users: each row's user (integer codes, or any sortable ids).
        k: the number of folds, at least 2.
        seed: the shuffle's seed.

    Returns:
        ``k`` pairs ``(train_rows, test_rows)`` of sorted row indices.

    Raises:
        ConfigError: ``k`` below 2.
        DataError: ``users`` has missing values.

    Example:
        >>> users = np.array([0, 0, 0, 1, 1, 1, 0])
        >>> folds = per_user_folds(users, k=3, seed=0)
        >>> [sorted(set(users[test].tolist())) for _, test in folds]  # user 1's three rows: one per fold
        [[0, 1], [0, 1], [0, 1]]
        >>> np.sort(np.concatenate([test for _, test in folds])).tolist()
        [0, 1, 2, 3, 4, 5, 6]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ConfigError(f"k must be an integer of at least 2 (the number of folds); got {k!r}")
    users = _users(users)
    rng = np.random.default_rng(seed)
    order, rank, _ = _rank_within_user(users, rng.random(len(users)), distinct=True)
    sorted_users = users[order]
    code = np.unique(sorted_users, return_inverse=True)[1].ravel()  # dense user codes, for the random starting fold
    start = rng.integers(0, k, int(code.max()) + 1 if len(code) else 0)
    fold = np.empty(len(users), dtype=np.int64)
    fold[order] = (rank + start[code]) % k
    rows = np.arange(len(users))
    return [(rows[fold != f], rows[fold == f]) for f in range(k)]


def _rank_within_user(users: np.ndarray, key: np.ndarray, distinct: bool = False
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows sorted by user then ``key`` (ties in row order), and for each sorted row its rank within its user
    (0 first) and its user's number of rows.

    The same order as ``np.lexsort((key, users))``, computed as one sort of a unique integer key (the user's code
    times the rows, plus the key's rank), several times faster on millions of rows.
    """
    n = len(users)
    key_rank = np.empty(n, dtype=np.int64)
    key_rank[np.argsort(key, kind="quicksort" if distinct else "stable")] = np.arange(n)  # ties keep row order
    if users.dtype.kind in "iu" and n and users.min() >= 0 and int(users.max()) < 2**62 // max(n, 1):
        codes = users.astype(np.int64)
    else:
        codes = np.unique(users, return_inverse=True)[1].ravel().astype(np.int64)
    order = np.argsort(codes * n + key_rank)  # unique values: any sort gives the one order
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]]) if n else np.array([], int)
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    return order, rank, np.repeat(sizes, sizes)


def _users(users: Any) -> np.ndarray:
    users = np.asarray(users)
    if users.ndim != 1:
        raise DataError(f"users must be one value per interaction (a 1-D array); got shape {users.shape}")
    if users.dtype.kind == "f":
        missing = int(np.isnan(users).sum())
    elif users.dtype == object:
        missing = sum(u is None or u != u for u in users)  # None or NaN
    else:
        missing = 0
    if missing:
        raise DataError(f"users hold {missing} missing value(s); drop the interactions without a user first")
    if users.dtype == object:  # mixed ids do not sort together: compare them as text
        users = np.unique(users.astype(str), return_inverse=True)[1].ravel()
    return users


def _times(times: Any, n_rows: int) -> np.ndarray:
    times = np.asarray(times)
    if times.shape != (n_rows,):
        raise DataError(f"times must be one value per interaction ({n_rows}); got shape {times.shape}")
    if times.dtype.kind in "mM":
        missing = np.isnat(times)
        times = times.view(np.int64)
    elif times.dtype.kind in "biuf":
        missing = np.isnan(times) if times.dtype.kind == "f" else np.zeros(n_rows, dtype=bool)
    else:
        raise DataError(f"times must be numbers or datetime64 values; got {times.dtype} (convert them with "
                        f"pandas.to_datetime first)")
    if missing.any():
        raise DataError(f"times hold {int(missing.sum())} missing value(s); drop those interactions or give them a "
                        f"time")
    return times
