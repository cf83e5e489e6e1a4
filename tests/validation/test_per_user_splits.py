"""Per-user splits of an interaction log: each user's latest (or a random share of their) interactions held out, and
per-user folds; on MovieLens 100k rows and on tiny hand-made logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import ConfigError, DataError
from accelml.validation import per_user_folds, per_user_holdout
from tests.conftest import shared_dataset


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """The first 3,000 MovieLens ratings: 314 users, 32 of them with a single rating, 183 with five or more."""
    return pd.read_csv(shared_dataset("movielens_100k/ratings.csv"), nrows=3000)


def _expected_test_counts(sizes: np.ndarray, share: float, min_train: int = 1) -> np.ndarray:
    """round(share * n) with halves up, at least 1, leaving min_train in train."""
    return np.clip(np.maximum(np.floor(share * sizes + 0.5), 1), 0, np.maximum(sizes - min_train, 0)).astype(int)


def _assert_partition(train: np.ndarray, test: np.ndarray, n_rows: int) -> None:
    assert np.array_equal(train, np.sort(train)) and np.array_equal(test, np.sort(test))
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n_rows))


# ------------------------------------------------------------------------------------------------ per_user_holdout


@pytest.mark.parametrize("share", [0.25, 0.2, 0.5])
def test_holdout_by_time_tests_each_users_latest_share(ratings: pd.DataFrame, share: float) -> None:
    users, times = ratings["user_id"].to_numpy(), ratings["timestamp"].to_numpy()
    train, test = per_user_holdout(users, share=share, times=times)
    _assert_partition(train, test, len(ratings))
    sizes = ratings.groupby("user_id").size()
    tested = ratings.iloc[test].groupby("user_id").size().reindex(sizes.index, fill_value=0)
    assert np.array_equal(tested.to_numpy(), _expected_test_counts(sizes.to_numpy(), share))
    # no user is tested on an interaction earlier than one they trained on
    last_train = ratings.iloc[train].groupby("user_id")["timestamp"].max()
    first_test = ratings.iloc[test].groupby("user_id")["timestamp"].min()
    assert (first_test >= last_train.reindex(first_test.index)).all()
    # users with a single rating stay in train; every other user is tested
    single = sizes.index[sizes == 1]
    assert len(single) == 32 and not np.isin(users[test], single).any()
    assert set(users[test]) == set(sizes.index[sizes > 1])
    assert len(test) / len(ratings) == pytest.approx(share, abs=0.05)


def test_holdout_by_time_breaks_ties_by_row_order() -> None:
    users = np.array([0, 0, 0, 0, 1, 1, 1])
    times = np.array([5, 5, 5, 5, 9, 1, 9])
    train, test = per_user_holdout(users, share=0.5, times=times)
    # user 0: four equal times, the last two rows (2, 3) are the latest; user 1: order by time is rows 5, 4, 6 and
    # round(0.5 * 3) = 2 (halves up): rows 4 and 6
    assert train.tolist() == [0, 1, 5] and test.tolist() == [2, 3, 4, 6]


def test_holdout_takes_datetime_times() -> None:
    users = np.array([3, 3, 3, 3])
    times = np.array(["2021-05-01", "2020-01-01", "2022-01-01", "2021-01-01"], dtype="datetime64[D]")
    assert per_user_holdout(users, share=0.25, times=times)[1].tolist() == [2]  # 2022 is the latest


def test_holdout_at_random_keeps_shares_and_follows_the_seed(ratings: pd.DataFrame) -> None:
    users = ratings["user_id"].to_numpy()
    train, test = per_user_holdout(users, share=0.25, seed=0)
    _assert_partition(train, test, len(ratings))
    sizes = ratings.groupby("user_id").size()
    tested = ratings.iloc[test].groupby("user_id").size().reindex(sizes.index, fill_value=0)
    assert np.array_equal(tested.to_numpy(), _expected_test_counts(sizes.to_numpy(), 0.25))
    same = per_user_holdout(users, share=0.25, seed=0)
    other = per_user_holdout(users, share=0.25, seed=1)
    assert np.array_equal(same[1], test) and np.array_equal(same[0], train)
    assert not np.array_equal(other[1], test) and len(other[1]) == len(test)  # same counts, other rows
    # at random, not by time: some user's test holds an interaction earlier than one of their train interactions
    last_train = ratings.iloc[train].groupby("user_id")["timestamp"].max()
    first_test = ratings.iloc[test].groupby("user_id")["timestamp"].min()
    assert (first_test < last_train.reindex(first_test.index)).any()


def test_holdout_counts_on_small_users() -> None:
    # users with 1, 2, 3, 4, 10 interactions
    users = np.repeat([0, 1, 2, 3, 4], [1, 2, 3, 4, 10])
    train, test = per_user_holdout(users, share=0.25, seed=5)
    # round(0.25 n), halves up, at least 1, leaving one in train: 1 -> 0, 2 -> 1, 3 -> 1, 4 -> 1, 10 -> round(2.5) = 3
    assert np.bincount(users[test], minlength=5).tolist() == [0, 1, 1, 1, 3]
    _assert_partition(train, test, len(users))


def test_holdout_leaves_min_train_interactions_in_train() -> None:
    users = np.repeat([0, 1, 2], [4, 2, 10])
    train, test = per_user_holdout(users, share=0.9, min_train=3, seed=0)
    # 4 -> round(3.6) = 4, capped at 4 - 3 = 1;  2 -> fewer than min_train: all in train;  10 -> 9, capped at 7
    assert np.bincount(users[test], minlength=3).tolist() == [1, 0, 7]
    assert np.bincount(users[train], minlength=3).tolist() == [3, 2, 3]


def test_holdout_takes_string_and_mixed_user_ids() -> None:
    users = np.array(["ann", "bob", "ann", "ann", "bob", "cy"])
    train, test = per_user_holdout(users, share=0.5, times=np.arange(6))
    # ann: rows 0, 2, 3 -> round(1.5) = 2 latest (2, 3);  bob: rows 1, 4 -> 1 (row 4);  cy: single
    assert test.tolist() == [2, 3, 4]
    mixed = np.array(["a", 7, "a", 7], dtype=object)
    assert per_user_holdout(mixed, share=0.5, times=np.arange(4))[1].tolist() == [2, 3]


def test_holdout_on_100k_rows_is_a_partition_with_exact_shares() -> None:
    rng = np.random.default_rng(0)
    users = rng.integers(0, 2_000, 100_000)
    times = rng.integers(0, 1_000, 100_000)  # many equal times within a user
    train, test = per_user_holdout(users, share=0.25, times=times)
    _assert_partition(train, test, len(users))
    sizes = np.bincount(users)
    assert np.array_equal(np.bincount(users[test], minlength=len(sizes)), _expected_test_counts(sizes, 0.25))
    last_train = pd.Series(times[train]).groupby(users[train]).max()
    first_test = pd.Series(times[test]).groupby(users[test]).min()
    assert (first_test >= last_train.reindex(first_test.index)).all()


def test_holdout_errors() -> None:
    users = np.array([0, 0, 1, 1])
    for share in (0.0, 1.0, -0.5):
        with pytest.raises(ConfigError, match="share must be strictly between 0 and 1"):
            per_user_holdout(users, share=share)
    with pytest.raises(ConfigError, match="min_train must be a positive integer; got 0"):
        per_user_holdout(users, min_train=0)
    with pytest.raises(DataError, match=r"one value per interaction \(4\); got shape \(3,\)"):
        per_user_holdout(users, times=np.arange(3))
    with pytest.raises(DataError, match="times hold 1 missing value"):
        per_user_holdout(users, times=np.array([1.0, np.nan, 2.0, 3.0]))
    with_nat = np.array(["2020-01-01", "NaT", "2020-01-02", "2020-01-03"], dtype="datetime64[D]")
    with pytest.raises(DataError, match="times hold 1 missing value"):
        per_user_holdout(users, times=with_nat)
    with pytest.raises(DataError, match="numbers or datetime64"):
        per_user_holdout(users, times=np.array(["a", "b", "c", "d"]))
    with pytest.raises(DataError, match="users hold 1 missing value"):
        per_user_holdout(np.array([0.0, np.nan, 1.0]))
    with pytest.raises(DataError, match="users hold 1 missing value"):
        per_user_holdout(np.array(["a", None, "b"], dtype=object))


# -------------------------------------------------------------------------------------------------- per_user_folds


def test_folds_spread_every_user_over_every_fold(ratings: pd.DataFrame) -> None:
    users = ratings["user_id"].to_numpy()
    folds = per_user_folds(users, k=5, seed=0)
    assert len(folds) == 5
    for train, test in folds:
        _assert_partition(train, test, len(users))
    tests = [test for _, test in folds]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(len(users)))  # every row tested once
    sizes = ratings.groupby("user_id").size()
    counts = np.stack([pd.Series(users[t]).value_counts().reindex(sizes.index, fill_value=0) for t in tests])
    # each user's rows are dealt round the folds: fold counts differ by at most one
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all()
    assert (counts[:, sizes.to_numpy() >= 5] > 0).all()  # users with >= 5 ratings in every fold's test ...
    for train, _ in folds:  # ... and in every fold's train
        assert set(sizes.index[sizes >= 5]) <= set(users[train])
    fold_sizes = [len(t) for t in tests]
    assert max(fold_sizes) - min(fold_sizes) <= 0.05 * len(users)


def test_folds_follow_the_seed() -> None:
    users = np.repeat(np.arange(20), 7)
    first, again, other = (per_user_folds(users, k=3, seed=s) for s in (4, 4, 5))
    assert all(np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0]) for a, b in zip(first, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other))


def test_folds_on_a_hand_made_log() -> None:
    users = np.array([1, 1, 2, 1, 2, 3])  # user 1: 3 rows, user 2: 2 rows, user 3: 1 row
    folds = per_user_folds(users, k=3, seed=0)
    counts = np.array([np.bincount(users[test], minlength=4)[1:] for _, test in folds])
    assert counts.sum(axis=0).tolist() == [3, 2, 1] and counts.max() == 1  # at most one row per user and fold
    assert (counts[:, 0] == 1).all()  # user 1 (3 rows, k = 3) is in every fold


def test_folds_errors() -> None:
    for k in (1, 0, 2.5, True):
        with pytest.raises(ConfigError, match="k must be an integer of at least 2"):
            per_user_folds(np.array([0, 0, 1]), k=k)
