from __future__ import annotations

import numpy as np
import pandas as pd

from accelml.features.base import EncoderContext
from accelml.features.categorical import MAX_CODES, MAX_ONE_HOT, CategoricalEncoder


def _encoder(kind: str) -> CategoricalEncoder:
    return CategoricalEncoder("c", EncoderContext(kind, "binary", 2))


def test_tree_codes_rank_by_frequency_then_value() -> None:
    x = pd.Series(["z", "b", "a", "z", "b", None])
    enc = _encoder("tree").fit(x)
    assert enc.transform(pd.Series(["z", "b", "a", None, "new"])).ravel().tolist()[:3] == [1.0, 0.0, 2.0]
    assert np.isnan(enc.transform(pd.Series([None, "new"]))).all()
    assert enc.categorical_ == [(0, 3)] and enc.feature_names_ == ["c"]


def test_tree_keeps_the_254_most_frequent_and_adds_frequencies_past_that() -> None:
    n_values = MAX_CODES + 46
    values = [f"v{i:03d}" for i in range(n_values) for _ in range(1 + (i < 10))] + [None]
    x = pd.Series(values)
    enc = _encoder("tree").fit(x)
    assert enc.feature_names_ == ["c", "c__freq"] and enc.categorical_ == [(0, MAX_CODES + 1)]
    out = enc.transform(pd.Series(["v000", "v299", None, "never"]))
    assert out[0, 0] == 0 and out[1, 0] == MAX_CODES  # rare values share the 'other' code
    assert out[0, 1] == 2 / len(values) and out[1, 1] == 1 / len(values)
    assert np.isnan(out[2]).all()  # missing: no code, no frequency
    assert np.isnan(out[3, 0]) and out[3, 1] == 0.0  # unseen: no code, frequency 0
    codes = enc.transform(x)[:, 0]
    assert np.nanmax(codes) == MAX_CODES and len(np.unique(codes[~np.isnan(codes)])) == MAX_CODES + 1


def test_numbers_as_ints_floats_or_strings_share_a_code() -> None:
    enc = _encoder("tree").fit(pd.Series([1, 2, 2, 3]))
    same = [enc.transform(pd.Series(v, dtype=object)).ravel().tolist() for v in ([2, 1], [2.0, 1.0], ["2", "1"])]
    assert same[0] == same[1] == same[2] == [0.0, 1.0]
    assert enc.transform(pd.Series([2.0, np.nan])).ravel()[0] == 0.0
    with_zero = _encoder("tree").fit(pd.Series([0.0, 1.0]))
    assert np.isnan(with_zero.transform(pd.Series([np.inf, 0.0]))[0, 0])  # inf is its own (unseen) value, not 0


def test_dense_one_hot_up_to_the_limit_then_target_encoding() -> None:
    few = pd.Series([f"v{i % MAX_ONE_HOT}" for i in range(3 * MAX_ONE_HOT)])
    enc = _encoder("dense").fit(few, np.zeros(len(few)))
    assert len(enc.feature_names_) == MAX_ONE_HOT
    out = enc.transform(pd.Series(["v0", "nope", None]))
    assert out.sum(axis=1).tolist() == [1.0, 0.0, 0.0]
    many = pd.Series([f"v{i % (MAX_ONE_HOT + 1)}" for i in range(3 * (MAX_ONE_HOT + 1))])
    enc = _encoder("dense").fit(many, np.arange(len(many)) % 2)
    assert enc.feature_names_ == ["c__te"] and enc.state_["mode"] == "target"


def test_all_missing_training_column_does_not_crash() -> None:
    for kind in ("tree", "dense"):
        enc = _encoder(kind).fit(pd.Series([None, None], dtype=object), np.array([0, 1]))
        out = enc.transform(pd.Series(["a", None]))
        assert out.shape[0] == 2
    assert _encoder("tree").fit(pd.Series([np.nan, np.nan])).categorical_ == [(0, 1)]
