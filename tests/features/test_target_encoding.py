from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from accelml.exceptions import DataError
from accelml.features.base import EncoderContext
from accelml.features.target_encoding import N_FOLDS, SMOOTHING, TargetEncoder


def _encoder(task: str = "binary", n_classes: int = 2, seed: int = 0) -> TargetEncoder:
    return TargetEncoder("c", EncoderContext("dense", task, n_classes, seed))


def test_smoothed_mean_toward_the_prior() -> None:
    x = pd.Series(["a"] * 4 + ["b"] * 16)
    y = np.array([1, 1, 1, 1] + [0] * 16)
    out = _encoder().fit(x, y).transform(pd.Series(["a", "b", None, "new"])).ravel()
    prior = 4 / 20
    assert out[0] == pytest.approx((4 + SMOOTHING * prior) / (4 + SMOOTHING))
    assert out[1] == pytest.approx((0 + SMOOTHING * prior) / (16 + SMOOTHING))
    assert out[2] == out[3] == pytest.approx(prior)


def test_out_of_fold_never_uses_a_rows_own_target() -> None:
    # every row its own category: in-sample encodings leak the row's target, out-of-fold ones cannot
    n = 100
    rng = np.random.default_rng(0)
    x = pd.Series([f"row{i}" for i in range(n)])
    y = rng.integers(0, 2, n)
    enc = _encoder(seed=3)
    oof = enc.fit_transform(x, y).ravel()
    in_sample = enc.transform(x).ravel()
    assert np.corrcoef(in_sample, y)[0, 1] > 0.99
    assert not np.allclose(oof, in_sample)
    # each row gets exactly the prior of the other folds (its own category is unseen there)
    for train, held_out in KFold(N_FOLDS, shuffle=True, random_state=3).split(x):
        assert np.allclose(oof[held_out], y[train].mean())
    # flipping one row's target changes no encoding of that row
    for i in (0, 17, 99):
        flipped = y.copy()
        flipped[i] = 1 - flipped[i]
        assert _encoder(seed=3).fit_transform(x, flipped).ravel()[i] == oof[i]
        assert _encoder(seed=3).fit(x, flipped).transform(x).ravel()[i] != in_sample[i]


def test_regression_out_of_fold_is_also_free_of_the_own_target() -> None:
    n = 60
    x = pd.Series([f"g{i % 20}" for i in range(n)])
    y = np.arange(n, dtype=float)
    oof = _encoder("regression", 0).fit_transform(x, y).ravel()
    changed = y.copy()
    changed[5] = 1e6
    assert _encoder("regression", 0).fit_transform(x, changed).ravel()[5] == oof[5]


def test_multiclass_gives_one_probability_column_per_class() -> None:
    rng = np.random.default_rng(1)
    x = pd.Series(rng.choice(list("abcdefgh"), 300))
    y = rng.integers(0, 4, 300)
    enc = _encoder("multiclass", 4)
    out = enc.fit_transform(x, y)
    assert out.shape == (300, 4) and enc.feature_names_ == [f"c__te_{k}" for k in range(4)]
    assert np.allclose(out.sum(axis=1), 1.0) and np.all(out >= 0)
    prior = enc.transform(pd.Series([None])).ravel()
    assert np.allclose(prior, np.bincount(y, minlength=4) / 300)


def test_regression_encodes_the_standardized_target() -> None:
    x = pd.Series(["a", "b"] * 50)
    y = np.where(x == "a", 1000.0, 2000.0)
    enc = _encoder("regression", 0).fit(x, y)
    a, b, unseen = enc.transform(pd.Series(["a", "b", "z"])).ravel()
    assert a == pytest.approx(-50 / 60) and b == pytest.approx(50 / 60) and unseen == pytest.approx(0.0)


def test_seeded_and_reproducible() -> None:
    rng = np.random.default_rng(2)
    x, y = pd.Series(rng.choice(list("abcdefghij"), 200)), rng.integers(0, 2, 200)
    assert np.array_equal(_encoder(seed=1).fit_transform(x, y), _encoder(seed=1).fit_transform(x, y))
    assert not np.array_equal(_encoder(seed=1).fit_transform(x, y), _encoder(seed=2).fit_transform(x, y))


def test_bad_targets_are_data_errors() -> None:
    x = pd.Series(["a", "b", "c"])
    with pytest.raises(DataError, match="needs the target"):
        _encoder().fit(x, None)
    with pytest.raises(DataError, match="Class indices"):
        _encoder().fit(x, np.array([0, 1, 2]))
    with pytest.raises(DataError, match="missing"):
        _encoder("regression", 0).fit(x, np.array([0.0, np.nan, 1.0]))
