"""Generated features (accelml/features/generated.py) and the preprocessor's hook for them, on small real tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import ConfigError, DataError, SchemaError
from accelml.features.generated import PRIOR, GeneratedFeature, GeneratedFeatures, check_spec, feature_name
from accelml.features.preprocessor import Preprocessor
from accelml.schema import infer_schema
from accelml.schema.schema import GENERATED_FEATURES, ColumnRole, ColumnSpec, Schema

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
PENGUINS = DATA / "penguins" / "penguins.csv"
CREDIT = DATA / "credit_approval" / "credit_approval.csv"
ADULT = DATA / "adult" / "adult_train.csv"

needs_data = pytest.mark.skipif(not PENGUINS.exists(), reason=f"the shared datasets are absent ({DATA})")

PENGUIN_SPECS = [
    {"kind": "ratio", "columns": ["bill_length_mm", "bill_depth_mm"]},
    {"kind": "difference", "columns": ["flipper_length_mm", "bill_length_mm"]},
    {"kind": "product", "columns": ["bill_depth_mm", "body_mass_g"]},
    {"kind": "group_mean", "columns": ["body_mass_g", "island"]},
    {"kind": "group_deviation", "columns": ["flipper_length_mm", "sex"]},
    {"kind": "frequency", "columns": ["island"]},
]


def penguins() -> pd.DataFrame:
    return pd.read_csv(PENGUINS)


def _schema(frame: pd.DataFrame, target: str, specs: list[dict]) -> Schema:
    schema = infer_schema(frame, target)
    schema.extra[GENERATED_FEATURES] = specs
    return schema


@needs_data
def test_each_kind_on_penguins_matches_a_direct_computation() -> None:
    frame = penguins()
    train, test = frame.iloc[::2], frame.iloc[1::2]
    out = GeneratedFeatures(PENGUIN_SPECS).fit(train).transform(test)
    assert list(out.columns) == [feature_name(s) for s in PENGUIN_SPECS]
    assert (out.dtypes == np.float64).all()
    np.testing.assert_allclose(out["gen__ratio__bill_length_mm__bill_depth_mm"],
                               test["bill_length_mm"] / test["bill_depth_mm"])
    np.testing.assert_allclose(out["gen__difference__flipper_length_mm__bill_length_mm"],
                               test["flipper_length_mm"] - test["bill_length_mm"])
    np.testing.assert_allclose(out["gen__product__bill_depth_mm__body_mass_g"],
                               test["bill_depth_mm"] * test["body_mass_g"])
    # the group means and shares are the training rows' (shrunk towards the overall mean by PRIOR rows' worth)
    overall = train["body_mass_g"].mean()
    stats = train.dropna(subset=["body_mass_g"]).groupby("island")["body_mass_g"].agg(["sum", "count"])
    expected = test["island"].map((stats["sum"] + PRIOR * overall) / (stats["count"] + PRIOR))
    np.testing.assert_allclose(out["gen__group_mean__body_mass_g__island"], expected)
    np.testing.assert_allclose(out["gen__frequency__island"], test["island"].map(train["island"].value_counts() / len(train)))
    deviation = out["gen__group_deviation__flipper_length_mm__sex"]
    assert deviation[test["sex"].isna().to_numpy()].isna().all()  # a missing level: NaN
    assert deviation[test["sex"].notna().to_numpy() & test["flipper_length_mm"].notna().to_numpy()].notna().all()


@needs_data
def test_kinds_on_credit_approval_and_adult() -> None:
    credit = pd.read_csv(CREDIT)
    specs = [{"kind": "frequency", "columns": ["A6"]}, {"kind": "group_deviation", "columns": ["A2", "A6"]},
             {"kind": "ratio", "columns": ["A14", "A15"]}]
    out = GeneratedFeatures(specs).fit(credit.iloc[:400]).transform(credit.iloc[400:])
    assert out["gen__frequency__A6"].between(0, 1).all()
    ratio = out["gen__ratio__A14__A15"]
    assert ratio[(credit["A15"].iloc[400:] == 0).to_numpy()].isna().all()  # division by zero: NaN, never inf
    assert np.isfinite(ratio.dropna()).all()
    adult = pd.read_csv(ADULT, nrows=2000)
    specs = [{"kind": "group_mean", "columns": ["age", "education"]},
             {"kind": "product", "columns": ["age", "hours-per-week"]},
             {"kind": "frequency", "columns": ["native-country"]}]
    out = GeneratedFeatures(specs).fit(adult.iloc[:1500]).transform(adult.iloc[1500:])
    assert out.notna().all().all() or out["gen__frequency__native-country"].notna().all()
    assert out["gen__group_mean__age__education"].between(adult["age"].min(), adult["age"].max()).all()


@needs_data
@pytest.mark.parametrize("kind", ["tree", "dense"])
def test_preprocessor_round_trips_through_json_bit_identically(kind: str) -> None:
    frame = penguins()
    schema = _schema(frame, "species", PENGUIN_SPECS)
    y = pd.factorize(frame["species"])[0]
    pre = Preprocessor(kind, schema, seed=0).fit(frame.iloc[:250], y[:250])
    names = [n for n in pre.feature_names_ if n.startswith("gen__")]
    assert {feature_name(s) for s in PENGUIN_SPECS} <= set(names)
    matrix = pre.transform(frame.iloc[250:])
    restored = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())), Schema.from_dict(
        json.loads(json.dumps(schema.to_dict()))))
    assert restored.feature_names_ == pre.feature_names_
    np.testing.assert_array_equal(restored.transform(frame.iloc[250:]), matrix)
    if kind == "dense":
        assert np.isfinite(matrix).all()  # generated columns are imputed and scaled like any numeric column


def test_generated_features_round_trip_through_json() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "c": ["x", "y", "x", None]})
    specs = [{"kind": "group_deviation", "columns": ["a", "c"]}, {"kind": "frequency", "columns": ["c"]}]
    fitted = GeneratedFeatures(specs).fit(frame)
    restored = GeneratedFeatures.from_dict(json.loads(json.dumps(fitted.to_dict())))
    new = pd.DataFrame({"a": [1.5, 3.0, 2.0], "c": ["x", "zzz", None]})
    pd.testing.assert_frame_equal(restored.transform(new), fitted.transform(new))


def test_lookup_tables_are_learned_only_from_the_given_rows() -> None:
    # level x is about 0 in the training rows and 100 in the validation rows: the table never sees the 100s
    train = pd.DataFrame({"v": [0.0, 1.0, -1.0, 10.0, 12.0], "c": ["x", "x", "x", "y", "y"]})
    val = pd.DataFrame({"v": [100.0, 100.0, 11.0], "c": ["x", "x", "y"]})
    feature = GeneratedFeature({"kind": "group_mean", "columns": ["v", "c"]}).fit(train)
    overall = train["v"].mean()
    expected_x = (0.0 + PRIOR * overall) / (3 + PRIOR)
    np.testing.assert_allclose(feature.values(val)[:2], [expected_x, expected_x])
    frequency = GeneratedFeature({"kind": "frequency", "columns": ["c"]}).fit(train)
    np.testing.assert_allclose(frequency.values(val), [0.6, 0.6, 0.4])
    # inside the preprocessor too: refitting on other rows changes the table
    schema = Schema([ColumnSpec("v", ColumnRole.NUMERIC, "float64"), ColumnSpec("c", ColumnRole.CATEGORICAL, "object")],
                    target="y", task="regression", extra={GENERATED_FEATURES: [{"kind": "group_mean",
                                                                                "columns": ["v", "c"]}]})
    on_train = Preprocessor("tree", schema).fit(train).transform(val)[:, -1]
    on_both = Preprocessor("tree", schema).fit(pd.concat([train, val])).transform(val)[:, -1]
    np.testing.assert_allclose(on_train[:2], [expected_x, expected_x], rtol=1e-6)
    assert on_both[0] > 30


def test_unknown_levels_missing_values_and_zero_divisors() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, 2.0, 0.0, 2.0], "c": ["x", "y", None, "x"]})
    new = pd.DataFrame({"a": [np.nan, 1.0, 1.0, 2.0], "b": [1.0, 0.0, np.nan, 1e-320], "c": ["new", None, "x", "y"]})
    out = GeneratedFeatures([{"kind": "ratio", "columns": ["a", "b"]}, {"kind": "product", "columns": ["a", "b"]},
                             {"kind": "group_mean", "columns": ["a", "c"]},
                             {"kind": "group_deviation", "columns": ["a", "c"]},
                             {"kind": "frequency", "columns": ["c"]}]).fit(train).transform(new)
    ratio = out["gen__ratio__a__b"].tolist()
    assert np.isnan(ratio[0]) and np.isnan(ratio[1]) and np.isnan(ratio[2]) and np.isnan(ratio[3])  # 2/1e-320 = inf
    assert np.isnan(out["gen__product__a__b"][0])
    means = out["gen__group_mean__a__c"].tolist()
    assert means[0] == pytest.approx(train["a"][train["c"].notna()].mean())  # an unseen level: the overall mean
    assert np.isnan(means[1])  # a missing level: NaN
    assert np.isnan(out["gen__group_deviation__a__c"][0]) and np.isnan(out["gen__group_deviation__a__c"][1])
    assert out["gen__frequency__c"].tolist() == [0.0, 0.25, 0.5, 0.25]  # unseen: 0; missing: its training share


def test_lean_prediction_reads_only_the_sources_of_the_outputs_it_needs() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.uniform(1, 2, 40), "c": rng.choice(["x", "y"], 40),
                      "d": rng.normal(size=40)})
    schema = Schema([ColumnSpec(n, ColumnRole.NUMERIC, "float64") for n in "abd"]
                    + [ColumnSpec("c", ColumnRole.CATEGORICAL, "object")], target="y", task="regression",
                    extra={GENERATED_FEATURES: [{"kind": "ratio", "columns": ["a", "b"]},
                                                {"kind": "frequency", "columns": ["c"]}]})
    for kind in ("tree", "dense"):
        pre = Preprocessor(kind, schema).fit(X)
        ratio = pre.feature_names_.index("gen__ratio__a__b")
        assert pre.columns_behind(np.array([ratio])) == ["a", "b"]
        full = pre.transform(X)
        lean = pre.transform(X[["a", "b"]], outputs=np.array([ratio]))
        np.testing.assert_array_equal(lean[:, ratio], full[:, ratio])
        with pytest.raises(SchemaError, match="'b'"):
            pre.transform(X[["a", "c", "d"]], outputs=np.array([ratio]))


def test_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown generated feature kind 'sum'"):
        check_spec({"kind": "sum", "columns": ["a", "b"]})
    with pytest.raises(ConfigError, match="combines 1 column"):
        check_spec({"kind": "frequency", "columns": ["a", "b"]})
    with pytest.raises(ConfigError, match="different columns"):
        check_spec({"kind": "ratio", "columns": ["a", "a"]})
    schema = Schema([ColumnSpec("a", ColumnRole.NUMERIC, "float64")], target="y", task="regression",
                    extra={GENERATED_FEATURES: [{"kind": "ratio", "columns": ["a", "gone"]}]})
    with pytest.raises(ConfigError, match="gone"):
        Preprocessor("tree", schema).fit(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(DataError, match="'b'"):
        GeneratedFeatures([{"kind": "ratio", "columns": ["a", "b"]}]).fit(pd.DataFrame({"a": [1.0]}))


ALL_KINDS = [
    {"kind": "ratio", "columns": ["a", "b"]},
    {"kind": "ratio", "columns": ["b", "a"]},
    {"kind": "product", "columns": ["a", "b"]},
    {"kind": "difference", "columns": ["b", "n"]},
    {"kind": "product", "columns": ["a", "s"]},
    {"kind": "group_mean", "columns": ["a", "c"]},
    {"kind": "group_deviation", "columns": ["n", "k"]},
    {"kind": "frequency", "columns": ["c"]},
    {"kind": "frequency", "columns": ["k"]},
]


def _mixed_frame(n: int, seed: int) -> pd.DataFrame:
    """Missing values everywhere, a zero divisor, a nullable integer, numbers as strings, category and float keys."""
    rng = np.random.default_rng(seed)
    b = rng.choice([0.0, 1.5, 2.0, 3.0, np.nan], n)
    return pd.DataFrame({
        "a": np.where(rng.random(n) < 0.15, np.nan, rng.normal(10, 3, n)),
        "b": b,
        "n": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 50, n)), dtype="Int64"),
        "s": pd.Series(np.where(rng.random(n) < 0.2, None, rng.uniform(0, 9, n).round(2).astype(str)), dtype=object),
        "c": pd.Series(rng.choice(["x", "y", "z", None], n), dtype="category"),
        "k": rng.choice([1.0, 2.0, 3.0, np.nan], n),
    })


@pytest.mark.parametrize("kind", ["tree", "dense"])
def test_shared_cache_gives_the_numbers_of_each_encoders_own_transform(kind: str) -> None:
    """Fold preprocessors reading one frame through one cache (how an ensemble predicts) give, bit for bit, what each
    generated encoder gives from its own frame of sources, for one row and for many, with unseen levels."""
    schema = Schema([ColumnSpec(c, ColumnRole.NUMERIC, "float64") for c in "abns"]
                    + [ColumnSpec(c, ColumnRole.CATEGORICAL, "object") for c in "ck"], target="y",
                    task="regression", extra={GENERATED_FEATURES: ALL_KINDS})
    train = _mixed_frame(300, seed=0)
    train.loc[train["c"] == "z", "c"] = None  # level z and key 3 are unseen in training
    train["k"] = train["k"].replace(3.0, 1.0)
    y = np.random.default_rng(1).normal(size=300)
    folds = [Preprocessor(kind, schema).fit(train.iloc[:200], y[:200]),
             Preprocessor(kind, schema).fit(train.iloc[100:], y[100:])]
    new = _mixed_frame(120, seed=2)
    for X in [new, *(new.iloc[[i]] for i in range(12))]:
        cache: dict = {}
        outputs = [pre.transform(X, cache=cache) for pre in folds]
        assert any(isinstance(key, tuple) and key[0] == "generated" for key in cache)  # arithmetic values shared
        for pre, out in zip(folds, outputs, strict=True):
            alone = pre.transform(X)
            np.testing.assert_array_equal(out.view(np.uint32), alone.view(np.uint32))
            for i, encoder in enumerate(pre.encoders_):
                if encoder.sources is None:
                    continue
                block = encoder.transform(X[list(encoder.sources)]).astype(np.float32)
                start = pre._starts[i]
                np.testing.assert_array_equal(out[:, start: start + block.shape[1]].view(np.uint32),
                                              block.view(np.uint32), err_msg=encoder.column)
            lean = pre.feature_names_.index("gen__group_deviation__n__k")
            np.testing.assert_array_equal(pre.transform(X, outputs=np.array([lean]), cache=cache)[:, lean], out[:, lean])
