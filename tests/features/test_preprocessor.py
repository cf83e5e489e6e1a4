from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import ArtifactError, ConfigError, DataError, NotFittedError, SchemaError
from accelml.features import Preprocessor
from accelml.features.categorical import MAX_ONE_HOT
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema

from .conftest import make_frame, make_schema, make_target

KINDS = ("tree", "dense")
TASKS = ("binary", "multiclass", "regression")


def _unseen_frame(n: int = 40) -> pd.DataFrame:
    """Rows full of values never seen in training: new categories, gibberish, and all-missing columns."""
    frame = make_frame(n, seed=7)
    frame["low"] = ["zzz"] * (n // 2) + [None] * (n - n // 2)
    frame["high"] = [f"never{i}" for i in range(n)]
    frame["flag"] = ["maybe"] * (n // 2) + [None] * (n - n // 2)
    frame["num"] = np.nan
    frame["num_str"] = pd.Series(["not a number"] * n, dtype=object)
    frame["when"] = np.nan
    frame["text"] = np.nan
    return frame


def test_unknown_kind_is_a_config_error(schema: Schema) -> None:
    with pytest.raises(ConfigError, match="tree"):
        Preprocessor("linear", schema)


@pytest.mark.parametrize("kind", KINDS)
def test_output_is_float32_c_contiguous_with_one_name_each(kind: str, frame: pd.DataFrame, schema: Schema) -> None:
    pre = Preprocessor(kind, schema)
    out = pre.fit_transform(frame, make_target(frame, "binary"))
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert out.shape == (len(frame), len(pre.feature_names_)) == (len(frame), pre.n_features_out_)
    assert len(set(pre.feature_names_)) == len(pre.feature_names_)
    assert not any(n.startswith(("id", "const", "y")) for n in pre.feature_names_)
    again = pre.transform(frame)
    assert again.dtype == np.float32 and again.flags.c_contiguous and again.shape == out.shape


def test_tree_keeps_nan_and_gives_consistent_category_codes(frame: pd.DataFrame, schema: Schema) -> None:
    pre = Preprocessor("tree", schema)
    out = pre.fit_transform(frame, make_target(frame, "binary"))
    names = pre.feature_names_
    assert np.isnan(out[:, names.index("num")]).sum() == frame["num"].isna().sum()
    assert [names[i] for i in pre.categorical_indices_] == ["low", "high"]
    assert pre.categorical_cardinalities_ == [3, frame["high"].nunique()]
    for index, cardinality in zip(pre.categorical_indices_, pre.categorical_cardinalities_, strict=True):
        codes = out[:, index]
        seen = codes[~np.isnan(codes)]
        assert np.all(seen == np.round(seen)) and seen.min() == 0 and seen.max() == cardinality - 1
    low = out[:, names.index("low")]
    assert np.array_equal(np.isnan(low), frame["low"].isna().to_numpy())
    # the most frequent category gets code 0
    assert np.all(low[(frame["low"] == frame["low"].mode()[0]).to_numpy()] == 0)
    # without target encoding, fit_transform is exactly fit().transform()
    assert np.array_equal(out, Preprocessor("tree", schema).fit(frame, None).transform(frame), equal_nan=True)


def test_dense_is_finite_standardized_and_clipped(frame: pd.DataFrame, schema: Schema) -> None:
    pre = Preprocessor("dense", schema)
    out = pre.fit_transform(frame, make_target(frame, "binary"))
    assert np.all(np.isfinite(out))
    assert pre.categorical_indices_ == [] and pre.categorical_cardinalities_ == []
    names = pre.feature_names_
    observed = ~frame["num"].isna().to_numpy()
    num = out[observed, names.index("num")].astype(np.float64)
    assert abs(num.mean()) < 1e-5 and abs(num.std() - 1) < 1e-5
    assert "num__missing" in names and "num_str__missing" not in names
    assert np.array_equal(out[:, names.index("num__missing")], (~observed).astype(np.float32))
    assert sum(n.startswith("low__") for n in names) == 3  # one-hot over the 3 training categories
    assert "high__te" in names  # 60 categories > 30: target encoded
    extreme = frame.copy()
    extreme["num"] = 1e12
    assert pre.transform(extreme)[:, names.index("num")].max() == pytest.approx(num.max())  # the training range


@pytest.mark.parametrize("kind", KINDS)
def test_unseen_and_missing_values_at_transform(kind: str, frame: pd.DataFrame, schema: Schema) -> None:
    pre = Preprocessor(kind, schema).fit(frame, make_target(frame, "binary"))
    out = pre.transform(_unseen_frame())
    names = pre.feature_names_
    if kind == "dense":
        assert np.all(np.isfinite(out))
        assert np.all(out[:, [i for i, n in enumerate(names) if n.startswith("low__")]] == 0)
        assert np.all(out[:, names.index("flag")] == 0.5)
        te = out[:, names.index("high__te")]
        assert np.all(te == te[0])  # every unseen category gets the prior
    else:
        for index in pre.categorical_indices_:
            assert np.all(np.isnan(out[:, index]))
        assert np.all(np.isnan(out[:, names.index("flag")]))
        assert np.all(out[:, names.index("text__n_chars")] == 0)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kind", KINDS)
def test_json_round_trip_is_bit_identical(kind: str, task: str) -> None:
    frame, schema = make_frame(150, seed=3), make_schema(task)
    pre = Preprocessor(kind, schema, seed=5)
    pre.fit_transform(frame, make_target(frame, task))
    saved = json.dumps(pre.to_dict(), allow_nan=False)
    restored = Preprocessor.from_dict(json.loads(saved), schema)
    for rows in (frame, make_frame(60, seed=11), _unseen_frame()):
        assert np.array_equal(pre.transform(rows), restored.transform(rows), equal_nan=True)
    assert restored.feature_names_ == pre.feature_names_
    assert restored.categorical_indices_ == pre.categorical_indices_
    assert restored.categorical_cardinalities_ == pre.categorical_cardinalities_
    assert json.dumps(restored.to_dict()) == saved


def test_fit_and_fit_transform_learn_the_same_state(frame: pd.DataFrame, schema: Schema) -> None:
    y = make_target(frame, "binary")
    a, b = Preprocessor("dense", schema), Preprocessor("dense", schema)
    a.fit(frame, y)
    b.fit_transform(frame, y)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())


def test_learns_only_from_the_rows_it_is_given(frame: pd.DataFrame, schema: Schema) -> None:
    rows = frame[frame["low"] != "c"]
    pre = Preprocessor("dense", schema).fit(rows, make_target(rows, "binary"))
    assert sorted(n for n in pre.feature_names_ if n.startswith("low__")) == ["low__a", "low__b"]


def test_ignores_extra_columns_and_their_order(frame: pd.DataFrame, schema: Schema) -> None:
    y = make_target(frame, "binary")
    pre = Preprocessor("tree", schema).fit(frame, y)
    shuffled = frame[list(reversed(frame.columns))].assign(extra=1.0).drop(columns=["y", "id"])
    assert np.array_equal(pre.transform(frame), pre.transform(shuffled), equal_nan=True)


def test_numeric_strings_parse_like_numbers(frame: pd.DataFrame, schema: Schema) -> None:
    pre = Preprocessor("tree", schema).fit(frame)
    as_numbers = frame.assign(num_str=pd.to_numeric(frame["num_str"]))
    assert np.array_equal(pre.transform(frame), pre.transform(as_numbers), equal_nan=True)


def test_errors_name_what_is_wrong(frame: pd.DataFrame, schema: Schema) -> None:
    pre = Preprocessor("tree", schema)
    with pytest.raises(NotFittedError):
        pre.transform(frame)
    with pytest.raises(NotFittedError):
        pre.to_dict()
    with pytest.raises(DataError, match="when"):
        pre.fit(frame.drop(columns=["when"]))
    pre.fit(frame)
    with pytest.raises(SchemaError, match="text"):
        pre.transform(frame.drop(columns=["text"]))
    with pytest.raises(DataError, match="rows"):
        pre.fit(frame, np.zeros(3))
    with pytest.raises(ArtifactError):
        Preprocessor.from_dict({"format": "something/else"}, schema)
    other = Schema([ColumnSpec("num", ColumnRole.NUMERIC, "float64")], target="y", task="binary")
    with pytest.raises(ArtifactError, match="num_str"):
        Preprocessor.from_dict(pre.to_dict(), other)


def test_target_encoding_needs_y(frame: pd.DataFrame, schema: Schema) -> None:
    with pytest.raises(DataError, match="high"):
        Preprocessor("dense", schema).fit(frame)


def test_dense_target_encoding_is_out_of_fold_only_in_fit_transform(frame: pd.DataFrame, schema: Schema) -> None:
    y = make_target(frame, "binary")
    pre = Preprocessor("dense", schema, seed=1)
    train = pre.fit_transform(frame, y)
    again = pre.transform(frame)
    te = pre.feature_names_.index("high__te")
    others = [i for i in range(train.shape[1]) if i != te]
    assert not np.array_equal(train[:, te], again[:, te])
    assert np.array_equal(train[:, others], again[:, others])


@pytest.mark.parametrize("task, width", [("binary", 1), ("multiclass", 3), ("regression", 1)])
def test_target_encoding_width_follows_the_task(task: str, width: int) -> None:
    frame, schema = make_frame(), make_schema(task)
    pre = Preprocessor("dense", schema)
    out = pre.fit_transform(frame, make_target(frame, task))
    columns = [i for i, n in enumerate(pre.feature_names_) if n.startswith("high__te")]
    assert len(columns) == width
    if task == "multiclass":
        assert np.allclose(out[:, columns].sum(axis=1), 1.0, atol=1e-5)


def test_feature_names_are_safe_for_model_libraries() -> None:
    specs = [ColumnSpec('a,b:[c]{"d"}<e', ColumnRole.CATEGORICAL, "object"), ColumnSpec("a b", ColumnRole.NUMERIC, "")]
    schema = Schema(specs, target="y", task="binary")
    frame = pd.DataFrame({'a,b:[c]{"d"}<e': ["x y", "x,y", "x y"], "a b": [1.0, 2.0, 3.0]})
    names = Preprocessor("dense", schema).fit(frame, np.array([0, 1, 0])).feature_names_
    assert len(names) == len(set(names)) == 3
    assert not any(set(n) & set(',:[]{}"< ') for n in names)


def test_no_feature_columns_gives_an_empty_matrix(frame: pd.DataFrame) -> None:
    schema = Schema([ColumnSpec("id", ColumnRole.IDENTIFIER, "int64")], target="y", task="binary")
    out = Preprocessor("dense", schema).fit_transform(frame, make_target(frame, "binary"))
    assert out.shape == (len(frame), 0) and out.dtype == np.float32


def test_single_row_and_cardinality_past_one_hot_limit() -> None:
    n = 3 * (MAX_ONE_HOT + 1)
    frame = pd.DataFrame({"c": [f"v{i % (MAX_ONE_HOT + 1)}" for i in range(n)]})
    schema = Schema([ColumnSpec("c", ColumnRole.CATEGORICAL, "object")], target="y", task="regression")
    pre = Preprocessor("dense", schema)
    pre.fit_transform(frame, np.arange(n, dtype=float))
    assert pre.feature_names_ == ["c__te"]
    assert pre.transform(frame.iloc[:1]).shape == (1, 1)
    assert Preprocessor("dense", schema).fit_transform(frame.iloc[:1], np.ones(1)).shape == (1, 1)
