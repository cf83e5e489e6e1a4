from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelml.features.base import EncoderContext
from accelml.features.boolean import BooleanEncoder
from accelml.features.numeric import NumericEncoder


def _context(kind: str) -> EncoderContext:
    return EncoderContext(kind, "binary", 2)


def test_numeric_tree_keeps_values_and_nan() -> None:
    enc = NumericEncoder("x", _context("tree")).fit(pd.Series(["1.5", None, "x", "inf"], dtype=object))
    assert enc.feature_names_ == ["x"]
    assert enc.transform(pd.Series([2, None])).ravel().tolist() == [2.0, pytest.approx(np.nan, nan_ok=True)]


def test_numeric_dense_imputes_flags_standardizes_and_clips() -> None:
    x = pd.Series([1.0, 2.0, 3.0, None, -100.0])  # a negative value: never log-scaled
    enc = NumericEncoder("x", _context("dense")).fit(x)
    assert enc.feature_names_ == ["x", "x__missing"] and not enc.state_["log"]
    mean, std = np.mean([1, 2, 3, -100]), np.std([1, 2, 3, -100])
    out = enc.transform(pd.Series([2.0, None, 1e9, -1e9]))
    assert out[0].tolist() == pytest.approx([(2 - mean) / std, 0.0])
    assert out[1].tolist() == pytest.approx([(1.5 - mean) / std, 1.0])  # the median is 1.5
    # values beyond the training range are clipped to it: no extrapolation from what was never seen
    assert out[2].tolist() == pytest.approx([(3 - mean) / std, 0.0])
    assert out[3].tolist() == pytest.approx([(-100 - mean) / std, 0.0])
    spike = NumericEncoder("x", _context("dense")).fit(pd.Series([0.0] * 99 + [-1000.0]))
    assert spike.transform(pd.Series([-1000.0])).ravel().tolist() == [-5.0]  # and never beyond ±5
    complete = NumericEncoder("x", _context("dense")).fit(pd.Series([4.0, 4.0]))
    assert complete.feature_names_ == ["x"]
    assert complete.transform(pd.Series([5.0, None])).ravel().tolist() == [0.0, 0.0]  # a constant stays constant
    empty = NumericEncoder("x", _context("dense")).fit(pd.Series([None, None], dtype=object))
    assert np.all(np.isfinite(empty.transform(pd.Series([None, 3.0]))))


def test_numeric_dense_log_scales_skewed_non_negative_columns() -> None:
    skewed = pd.Series([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 1000.0])
    enc = NumericEncoder("area", _context("dense")).fit(skewed)
    assert enc.state_["log"]
    logged = np.log1p(skewed.to_numpy())
    out = enc.transform(pd.Series([8.0, -3.0, None]))
    assert out[0, 0] == pytest.approx((np.log1p(8.0) - logged.mean()) / logged.std())
    assert out[1, 0] == pytest.approx((0.0 - logged.mean()) / logged.std())  # below the training range: as 0
    assert np.isfinite(out).all()
    symmetric = NumericEncoder("x", _context("dense")).fit(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert not symmetric.state_["log"]
    assert NumericEncoder("x", _context("tree")).fit(skewed).transform(pd.Series([8.0])).tolist() == [[8.0]]


@pytest.mark.parametrize(
    "train, yes, no",
    [
        (["yes", "no", "Yes"], "YES", "no"),
        ([True, False], True, False),
        ([1, 0, 1], 1.0, "0"),
        (["t", "f"], "T", "f"),
        (["on", "off"], "on", "off"),
        (["yes", "yes"], "yes", "no"),  # only one value seen: its meaning decides
    ],
)
def test_boolean_spellings_map_true_to_one(train: list, yes: object, no: object) -> None:
    enc = BooleanEncoder("b", _context("tree")).fit(pd.Series(train, dtype=object))
    assert enc.transform(pd.Series([yes, no], dtype=object)).ravel().tolist()[0] == 1.0
    if len(set(map(str, train))) > 1:
        assert enc.transform(pd.Series([no], dtype=object)).ravel().tolist() == [0.0]


def test_boolean_other_values_sort_and_unknowns_fall_back() -> None:
    x = pd.Series(["male", "female", None])
    tree = BooleanEncoder("b", _context("tree")).fit(x)
    assert tree.transform(pd.Series(["female", "male"])).ravel().tolist() == [0.0, 1.0]
    assert np.isnan(tree.transform(pd.Series(["other", None]))).all()
    dense = BooleanEncoder("b", _context("dense")).fit(x)
    assert dense.transform(pd.Series(["other", None, "male"])).ravel().tolist() == [0.5, 0.5, 1.0]
