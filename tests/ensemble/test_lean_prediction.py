"""The lean prediction path: only the columns the models read are checked and encoded, numeric columns in one array
operation, with the same numbers as the column-by-column path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accelml
from accelml.features.base import EncoderContext
from accelml.features.numeric import NumericEncoder
from accelml.features.preprocessor import Preprocessor
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
from accelml.schema.validate import validate_frame


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    skewed = rng.lognormal(0, 2, n)
    skewed[::7] = np.nan
    ints = rng.integers(0, 50, n)
    return pd.DataFrame({
        "a": rng.normal(size=n),
        "skewed": skewed,
        "ints": ints,
        "nullable": pd.array([None if i % 5 == 0 else int(v) for i, v in enumerate(ints)], dtype="Int64"),
        "flag": rng.random(n) > 0.5,
        "inf": np.where(rng.random(n) > 0.8, np.inf, rng.normal(size=n)),
        "city": rng.choice(["Oslo", "Rome", "Lima"], n),
    })


def _schema(frame: pd.DataFrame) -> Schema:
    specs = [ColumnSpec(c, ColumnRole.CATEGORICAL if c == "city" else ColumnRole.NUMERIC, str(frame[c].dtype))
             for c in frame.columns]
    return Schema(specs, target="y", task="regression")


def _column_by_column(pre: Preprocessor, X: pd.DataFrame) -> np.ndarray:
    return pre._assemble([e.transform(X[e.column]) for e in pre.encoders_], len(X))


@pytest.mark.parametrize("kind", ["tree", "dense"])
@pytest.mark.parametrize("rows", [3, 200])  # a few rows read category keys value by value
def test_numeric_columns_in_one_operation_give_the_same_numbers(kind: str, rows: int) -> None:
    frame = _frame()
    pre = Preprocessor(kind, _schema(frame)).fit(frame.iloc[:40], np.arange(40, dtype=float))
    new = _frame(n=rows, seed=1)
    assert np.array_equal(pre.transform(new), _column_by_column(pre, new), equal_nan=True)


@pytest.mark.parametrize("values", [
    pd.Series([1.0, np.nan, 2.5, 3.0, 2.0**60, -0.0]),
    pd.Series([" Yes", "no", None, "NO"], dtype=object),
    pd.Series(["a", None, "b"], dtype="str"),
    pd.Series([True, False, None], dtype="boolean"),
    pd.Series([1, None, 3], dtype="Int64"),
    pd.Series(["x", "y", None], dtype="category"),
    pd.Series([1.5, "1.5", 2, None, True], dtype=object),
])
def test_keys_value_by_value_are_the_category_keys(values: pd.Series) -> None:
    from accelml.features.coerce import category_keys, keys_of_objects

    frame = values.to_frame("c")
    objects = frame.to_numpy(dtype=object)[:, 0]
    for lower in (False, True):
        if lower and not all(isinstance(k, str) or k is None for k in category_keys(values)):
            continue
        assert keys_of_objects(objects, lower).tolist() == category_keys(values, lower).tolist()


def test_transform_many_matches_each_encoder() -> None:
    context = EncoderContext("dense", "regression", 0)
    frame = _frame()
    encoders = [NumericEncoder(c, context).fit(frame[c]) for c in ("a", "skewed", "ints", "inf")]
    x = np.column_stack([frame[c].to_numpy(dtype=float) for c in ("a", "skewed", "ints", "inf")])
    x[~np.isfinite(x)] = np.nan
    values, indicators, with_indicator = NumericEncoder.transform_many(encoders, x)
    for j, e in enumerate(encoders):
        block = e.transform(frame[e.column])
        assert np.array_equal(values[:, j], block[:, 0])
        if j in with_indicator:
            assert np.array_equal(indicators[:, list(with_indicator).index(j)], block[:, 1])
        else:
            assert block.shape[1] == 1
    assert any(encoders[j].state_.get("log") for j in range(4))  # the log-scaled path was exercised


def test_only_the_read_outputs_are_encoded_and_the_rest_may_be_absent() -> None:
    frame = _frame()
    for kind, empty in (("tree", np.nan), ("dense", 0.0)):
        pre = Preprocessor(kind, _schema(frame)).fit(frame, np.arange(len(frame), dtype=float))
        names = pre.feature_names_
        outputs = np.array([names.index("skewed"), names.index("ints")])
        assert pre.columns_behind(outputs) == ["skewed", "ints"]
        full = pre.transform(frame)
        lean = pre.transform(frame[["ints", "skewed"]], outputs)  # the other columns are not there at all
        behind = [j for j, n in enumerate(names) if n.startswith(("skewed", "ints"))]
        assert np.array_equal(lean[:, behind], full[:, behind], equal_nan=True)
        rest = np.setdiff1d(np.arange(len(names)), behind)
        assert np.array_equal(lean[:, rest], np.full((len(frame), len(rest)), empty, dtype=np.float32),
                              equal_nan=True)
    with pytest.raises(accelml.exceptions.SchemaError, match="skewed"):
        pre.transform(frame[["ints"]], outputs)


def test_validate_frame_checks_only_the_columns_asked_for() -> None:
    frame = _frame()
    schema = _schema(frame)
    out = validate_frame(frame.drop(columns=["city", "a"]), schema, columns=["ints", "skewed"])
    assert list(out.columns) == ["ints", "skewed"]  # in the order asked for
    with pytest.raises(accelml.exceptions.SchemaError, match="'ints'"):
        validate_frame(frame.drop(columns=["ints"]), schema, columns=["ints", "skewed"])
    with pytest.raises(accelml.exceptions.SchemaError, match="'a'"):
        validate_frame(frame.drop(columns=["a"]), schema)
    # a frame of float64 numbers only takes the one-copy path, with the same values
    floats = frame[["a", "skewed"]].assign(y=1.0)
    fast = validate_frame(floats, schema, columns=["a", "skewed"])
    assert list(fast.columns) == ["a", "skewed"] and fast.index.equals(floats.index)
    pd.testing.assert_frame_equal(fast, floats[["a", "skewed"]])


def test_a_column_no_tree_reads_may_be_absent_at_prediction_time() -> None:
    rng = np.random.default_rng(0)
    n, p = 120, 60
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"x{i}" for i in range(p)])
    data = X.assign(y=(X["x0"] + X["x1"] > 0).astype(int))
    model = accelml.AutoML(time_limit=None, max_trials=1, n_jobs=1, n_splits=3, models=["lgbm"], seed=0,
                           stacking=False).fit(data, "y")
    ensemble = model._result().ensemble
    required = ensemble.required_columns()
    assert required is not None and {"x0", "x1"} <= set(required) and len(required) < p
    unused = [c for c in X.columns if c not in required]
    full = model.predict_proba(X)
    lean = model.predict_proba(X.drop(columns=unused))
    pd.testing.assert_frame_equal(full, lean)
    # and the same numbers as encoding every column
    features = validate_frame(X, model.schema_)
    every = {}
    for m in ensemble.members:
        for pre in m.preprocessors:
            every[id(pre)] = pre.transform(features)
    by_hand = sum(m.weight * m.predict(features, every) for m in ensemble.members if m.weight > 0)
    assert np.allclose(by_hand, full.to_numpy(), rtol=0, atol=1e-12)
    with pytest.raises(accelml.exceptions.SchemaError, match="x0"):
        model.predict(X.drop(columns=["x0"]))


@pytest.mark.parametrize("key", ["lgbm", "xgb", "rf", "extra_trees"])
def test_columns_a_tree_model_does_not_read_do_not_change_its_predictions(key: str) -> None:
    from accelml.models import MODELS

    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 40)).astype(np.float32)
    y = (X[:, 0] - X[:, 3] > 0).astype(int)
    params = {"n_estimators": 20, "max_depth": 2} if key in ("rf", "extra_trees") else {"n_estimators": 20}
    model = MODELS[key](task="binary", params=params, n_jobs=1, seed=0).fit(X, y)
    used = model.used_inputs()
    assert used is not None and 0 < len(used) < X.shape[1] and 0 in used
    scrambled = X.copy()
    unused = np.setdiff1d(np.arange(X.shape[1]), used)
    scrambled[:, unused] = np.nan
    assert np.array_equal(model.predict_proba(X), model.predict_proba(scrambled))
    scrambled[:, used[:1]] = 100.0  # a column it reads does change them
    assert not np.array_equal(model.predict_proba(X), model.predict_proba(scrambled))


@pytest.mark.parametrize("key", ["rf", "extra_trees"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_forest_walked_by_hand_predicts_what_scikit_learn_does(key: str, task: str) -> None:
    from accelml.models import MODELS
    from accelml.models._forest import _fill

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    signal = np.nan_to_num(X[:, 0])
    y = {"binary": (signal > 0).astype(int), "multiclass": (signal > 0).astype(int) + (np.nan_to_num(X[:, 1]) > 0.5),
         "regression": 3 * signal + rng.normal(size=300)}[task]
    model = MODELS[key](task=task, params={"n_estimators": 25}, n_jobs=1, seed=0).fit(X, y)
    new = rng.normal(size=(90, 8)).astype(np.float32)
    new[rng.random(new.shape) < 0.1] = np.nan
    forest = model.estimator_
    expected = forest.predict_proba(_fill(new)) if model.is_classifier else forest.predict(_fill(new))
    one_by_one = np.concatenate([model._tree_mean(_fill(new[i: i + 1])) for i in range(len(new))])
    assert np.array_equal(one_by_one, expected)  # a few rows: every tree walked at once
    assert np.array_equal(model._tree_mean(_fill(new)), expected)  # many rows: tree by tree
    model.set_threads(3)  # the trees shared out between threads, added up in the same order
    assert np.array_equal(model._tree_mean(_fill(new)), expected)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_catboost_reads_a_few_rows_as_lists_with_the_same_numbers(task: str) -> None:
    pytest.importorskip("catboost")
    from accelml.models import MODELS

    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    X[:, 2] = rng.integers(0, 5, 200)  # category codes, missing as NaN
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int) if task == "binary" else np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 2]) % 2
    model = MODELS["catboost"](task=task, params={"n_estimators": 30}, n_jobs=1, seed=0)
    model.fit(X, y, categorical=([2], [5]))
    native = model.estimator_.predict_proba if model.is_classifier else model.estimator_.predict
    expected = native(model._frame(X))  # the DataFrame path, as many rows take it
    assert isinstance(model._rows(X[:3]), list)
    one_by_one = np.concatenate([model._predict_raw(X[i: i + 1]) for i in range(len(X))])
    assert np.array_equal(one_by_one, expected)


def test_xgboost_predicts_from_the_array_what_it_does_from_a_dmatrix() -> None:
    pytest.importorskip("xgboost")
    from accelml.models import MODELS

    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    X[:, 1] = rng.integers(0, 12, 200)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) + (np.nan_to_num(X[:, 1]) % 3)
    model = MODELS["xgb"](task="regression", params={"n_estimators": 30}, n_jobs=1, seed=0)
    model.fit(X, y, categorical=([1], [12]))
    expected = model.booster_.predict(model._matrix(X), iteration_range=(0, model.best_iteration_))
    assert np.array_equal(model._predict_raw(X), expected)


def test_datetime_parts_are_those_of_the_dt_accessor() -> None:
    from accelml.features.datetime import _EPOCH, _parts

    dt = pd.Series(pd.to_datetime(["2021-03-04 10:11:12.5", None, "1969-12-31 23:59:59.0", "2024-02-29 00:00:00.0"]))
    names = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "epoch")
    parts = _parts(dt, names)
    for name in names:
        series = (dt - _EPOCH).dt.total_seconds() if name == "epoch" else getattr(dt.dt, name)
        assert np.array_equal(parts[name], series.to_numpy(dtype=np.float64, na_value=np.nan), equal_nan=True)


@pytest.mark.parametrize("depth", [2, 6])
def test_xgboost_trees_walked_as_arrays_predict_what_xgboost_does(depth: int) -> None:
    pytest.importorskip("xgboost")
    from accelml.models import MODELS
    from accelml.models._xgb_trees import FlatTrees

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    X[:, 1] = rng.integers(0, 20, 300)  # many codes: partition splits; few rows per code
    X[:, 3] = rng.integers(0, 4, 300)  # few codes: one-hot splits
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) + (np.nan_to_num(X[:, 1]) % 3) - np.nan_to_num(X[:, 3]) + rng.normal(size=300)
    model = MODELS["xgb"](task="regression", params={"n_estimators": 60, "max_depth": depth}, n_jobs=1, seed=0)
    model.fit(X, y, categorical=([1, 3], [20, 4]))
    assert model._flat_trees() is not None and model._flat_trees().category_row is not None
    new = rng.normal(size=(120, 5)).astype(np.float32)
    new[:, 1] = rng.integers(-1, 25, 120)  # codes unseen in training, and a negative one
    new[:, 3] = rng.integers(0, 4, 120)
    new[rng.random(new.shape) < 0.1] = np.nan
    expected = model.booster_.inplace_predict(new, iteration_range=(0, model.best_iteration_))
    assert np.array_equal(np.concatenate([model._predict_raw(new[i: i + 1]) for i in range(len(new))]), expected)
    assert np.array_equal(model._predict_raw(new[:16].astype(np.float64)), expected[:16])  # stacked: float64 in
    binary = MODELS["xgb"](task="binary", params={"n_estimators": 5}, n_jobs=1, seed=0).fit(X, (y > 0).astype(int))
    assert FlatTrees.from_booster(binary.booster_, binary.best_iteration_) is None  # a sigmoid: XGBoost's own


def test_catboost_fold_models_share_the_pool_of_the_same_rows() -> None:
    pytest.importorskip("catboost")
    from accelml.models import MODELS

    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    X[:, 2] = rng.integers(0, 5, 200)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = rng.integers(0, 3, 200)
    folds = [MODELS["catboost"](task="multiclass", params={"n_estimators": 20 + 10 * k}, n_jobs=1, seed=k)
             .fit(X, y, categorical=([2], [5])) for k in range(2)]
    row = X[:1].copy()
    first = [m._predict_raw(row) for m in folds]  # the second fold model reads the first one's pool
    assert folds[1]._pool(row) is folds[0]._pool(row)
    for m, out in zip(folds, first):
        assert np.array_equal(out, m.estimator_.predict_proba(m._frame(row)))
    row[0, 0] += 1.0  # the same array with other values: a new pool, the new numbers
    for m in folds:
        assert np.array_equal(m._predict_raw(row), m.estimator_.predict_proba(m._frame(row)))


def test_validate_frame_leaves_numbers_of_any_numeric_dtype_as_they_are() -> None:
    from accelml.schema.validate import _coerce

    frame = _frame().drop(columns=["city"])
    schema = _schema(frame)
    lean = validate_frame(frame, schema)
    assert lean is not frame
    pd.testing.assert_frame_equal(lean, _coerce(frame, schema, strict=True, source="data", keep_other_columns=True))
    with_city = _frame()
    pd.testing.assert_frame_equal(validate_frame(with_city, _schema(with_city)),
                                  _coerce(with_city, _schema(with_city), strict=True, source="data",
                                          keep_other_columns=True))
