from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import SchemaError
from accelml.schema import ColumnRole, ColumnSpec, Schema
from accelml.schema.validate import coerce_training_frame, validate_frame


def _schema() -> Schema:
    return Schema(
        columns=[
            ColumnSpec("row_id", ColumnRole.IDENTIFIER, "int64"),
            ColumnSpec("age", ColumnRole.NUMERIC, "float64"),
            ColumnSpec("sex", ColumnRole.CATEGORICAL, "str"),
            ColumnSpec("joined", ColumnRole.DATETIME, "datetime64[ns]"),
            ColumnSpec("member", ColumnRole.BOOLEAN, "str"),
            ColumnSpec("note", ColumnRole.TEXT, "str"),
            ColumnSpec("always", ColumnRole.CONSTANT, "int64"),
        ],
        target="y",
        task="binary",
        classes=[0, 1],
    )


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "note": ["hello there", None, "fine"],
            "extra": [1, 2, 3],
            "y": [0, 1, 0],
            "age": ["22", " 38 ", None],
            "sex": ["m", "f", None],
            "joined": ["2020-01-02", "03/04/2021", None],
            "member": ["yes", "no", "yes"],
        }
    )


def test_keeps_exactly_the_features_in_schema_order() -> None:
    out = validate_frame(_frame(), _schema())
    assert list(out.columns) == ["age", "sex", "joined", "member", "note"]


def test_converts_per_role() -> None:
    df = _frame()
    before = df.copy()
    out = validate_frame(df, _schema())
    assert out["age"].tolist()[:2] == [22, 38] and np.isnan(out["age"].iloc[2])
    assert pd.api.types.is_datetime64_any_dtype(out["joined"])
    assert out["joined"].iloc[1] == pd.Timestamp("2021-03-04")
    assert out["member"].tolist() == ["yes", "no", "yes"]
    assert out["sex"].tolist()[:2] == ["m", "f"] and pd.isna(out["sex"].iloc[2])
    pd.testing.assert_frame_equal(df, before)  # the input frame is left alone


def test_categorical_numbers_become_strings_consistently() -> None:
    schema = Schema([ColumnSpec("code", ColumnRole.CATEGORICAL, "float64")], target="y", task="binary")
    training = validate_frame(pd.DataFrame({"code": [3.0, np.nan, 7.5]}), schema)
    request = validate_frame(pd.DataFrame({"code": [3, 7.5, None]}, dtype=object), schema)
    assert training["code"].tolist()[0] == request["code"].tolist()[0] == "3"
    assert training["code"].iloc[2] == request["code"].iloc[1] == "7.5"
    assert pd.isna(training["code"].iloc[1]) and pd.isna(request["code"].iloc[2])


def test_missing_columns_are_named() -> None:
    with pytest.raises(SchemaError, match="data is missing column\\(s\\) 'age', 'sex' that the model was trained on"):
        validate_frame(_frame().drop(columns=["age", "sex"]), _schema())


def test_non_feature_columns_are_not_required() -> None:
    out = validate_frame(_frame(), _schema())  # no row_id, no always
    assert "row_id" not in out.columns


def test_bad_number_names_column_row_and_value() -> None:
    df = pd.DataFrame({"age": ["1", "2", "3", "abc"], "sex": "m", "joined": "2020-01-01", "member": "y", "note": "n"})
    df.index = [0, 1, 2, 3]
    with pytest.raises(SchemaError, match="column 'age' expects numbers but row 3 has 'abc'"):
        validate_frame(df, _schema())


def test_bad_date_names_column_row_and_value() -> None:
    df = _frame()
    df.loc[1, "joined"] = "not a date"
    with pytest.raises(SchemaError, match="column 'joined' expects dates or times but row 1 has 'not a date'"):
        validate_frame(df, _schema(), source="request")


def test_source_appears_in_message() -> None:
    with pytest.raises(SchemaError, match="^batch.csv is missing column"):
        validate_frame(_frame().drop(columns="note"), _schema(), source="batch.csv")


def test_rejects_non_frames() -> None:
    with pytest.raises(SchemaError, match="must be a pandas DataFrame"):
        validate_frame([{"age": 1}], _schema())  # type: ignore[arg-type]


def test_coerce_training_frame_keeps_columns_and_never_raises() -> None:
    df = _frame().assign(row_id=[1, 2, 3])
    df.loc[0, "age"] = "abc"
    df.loc[1, "joined"] = "soon"
    out = coerce_training_frame(df, _schema())
    assert list(out.columns) == list(df.columns)
    assert out["age"].isna().tolist() == [True, False, True]
    assert out["joined"].isna().tolist() == [False, True, True]
    assert out["y"].tolist() == [0, 1, 0] and out["extra"].tolist() == [1, 2, 3]
