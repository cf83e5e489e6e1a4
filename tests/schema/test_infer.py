from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.data import read_table
from accelml.exceptions import ConfigError, DataError
from accelml.schema import ColumnRole, Schema, infer_schema, infer_task
from accelml.schema.infer import infer_role

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _dataset(*parts: str) -> pd.DataFrame:
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset not found at {path}")
    return read_table(path)


# --- task --------------------------------------------------------------------------------------------------------

rng = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (pd.Series(["spam", "ham", "ham", None]), "binary"),
        (pd.Series(["a", "b", "c", "a"]), "multiclass"),
        (pd.Series([True, False, True]), "binary"),
        (pd.Series(["x", "y", "z"], dtype="category"), "multiclass"),
        (pd.Series([0.5, 1.25, 3.0]), "regression"),
        (pd.Series([0, 1, 1, 0]), "binary"),
        (pd.Series([1.0, 0.0, np.nan, 1.0]), "binary"),
        (pd.Series(rng.integers(0, 5, 100)), "multiclass"),
        (pd.Series(np.arange(1000) % 15), "multiclass"),  # 15 values, 1.5% of rows
        (pd.Series(np.arange(100) % 15), "regression"),  # 15 values, but 15% of rows
        (pd.Series(np.arange(1000) % 25), "regression"),  # more than 20 values
        (pd.Series(rng.normal(size=50)), "regression"),
    ],
)
def test_infer_task(y: pd.Series, task: str) -> None:
    assert infer_task(y) == task


@pytest.mark.parametrize("values", [[3, 3, 3], [np.nan, 3.0], [None, None]])
def test_infer_task_single_value(values: list) -> None:
    with pytest.raises(DataError, match="target column 'y' has .*nothing to learn"):
        infer_task(pd.Series(values, name="y"))


def test_infer_task_rejects_dates() -> None:
    with pytest.raises(DataError, match="dates"):
        infer_task(pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"]), name="when"))


# --- roles on small frames ---------------------------------------------------------------------------------------

N = 40


@pytest.mark.parametrize(
    ("values", "role"),
    [
        ([7] * N, ColumnRole.CONSTANT),
        ([np.nan] * (N - 1) + ["only"], ColumnRole.CONSTANT),
        ([True, False] * (N // 2), ColumnRole.BOOLEAN),
        ([0, 1] * (N // 2), ColumnRole.BOOLEAN),
        (["Yes", "no"] * (N // 2), ColumnRole.BOOLEAN),
        (["male", "female", None, "male"] * (N // 4), ColumnRole.BOOLEAN),
        ([1, 2] * (N // 2), ColumnRole.NUMERIC),
        (list(range(5)) * (N // 5), ColumnRole.NUMERIC),
        (list(rng.normal(size=N)), ColumnRole.NUMERIC),
        (list(pd.date_range("2020-01-01", periods=N)), ColumnRole.DATETIME),
        ([f"2020-01-{d:02d}" for d in range(1, 21)] * 2, ColumnRole.DATETIME),
        ([f"{d}/3/2021 10:{d:02d}" for d in range(1, 21)] * 2, ColumnRole.DATETIME),
        ([f"19{y} Jan" for y in range(40, 80)], ColumnRole.DATETIME),
        ([f"{a}-{a + 9}" for a in range(0, 50, 10)] * (N // 5), ColumnRole.CATEGORICAL),  # age bands, not dates
        ([str(20200101 + i) for i in range(N)], ColumnRole.IDENTIFIER),  # numeric strings are never dates
        ([f"user-{i:04x}" for i in range(N)], ColumnRole.IDENTIFIER),
        (list(range(1000, 1000 + N)), ColumnRole.IDENTIFIER),  # a dense range such as 1..n
        (list(rng.permutation(N)), ColumnRole.IDENTIFIER),  # shuffled
        (list(range(0, 1000 * N, 1000)), ColumnRole.NUMERIC),  # all unique but sparse: a measurement
        (["red", "green", "blue", "red"] * (N // 4), ColumnRole.CATEGORICAL),
        ([f"the quick brown fox number {i} jumps" for i in range(N)], ColumnRole.TEXT),
    ],
)
def test_infer_role(values: list, role: ColumnRole) -> None:
    assert infer_role(pd.Series(values, name="col")) is role


def test_id_like_names() -> None:
    sparse = pd.Series(np.arange(N) * 997 + 13)
    assert infer_role(sparse.rename("amount")) is ColumnRole.NUMERIC
    for name in ["id", "user_id", "CustomerID", "PassengerId", "uuid", "key", "index"]:
        assert infer_role(sparse.rename(name)) is ColumnRole.IDENTIFIER, name
    phrases = pd.Series([f"a b {i}" for i in range(N)])
    assert infer_role(phrases.rename("note")) is not ColumnRole.IDENTIFIER
    assert infer_role(phrases.rename("order_id")) is ColumnRole.IDENTIFIER


def test_few_rows_are_never_identifiers() -> None:
    assert infer_role(pd.Series(range(10), name="id")) is ColumnRole.NUMERIC


# --- schema ------------------------------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    r = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "age": r.integers(18, 80, N).astype(float),
            "city": r.choice(["paris", "lyon", "nice"], N),
            "y": r.choice(["no", "yes"], N),
        }
    ).assign(age=lambda d: d["age"].mask(d.index % 4 == 0))


def test_schema_fields() -> None:
    schema = infer_schema(_frame(), "y")
    assert isinstance(schema, Schema)
    assert schema.target == "y" and schema.task == "binary" and schema.classes == ["no", "yes"]
    assert [c.name for c in schema.columns] == ["age", "city"]
    age = schema.column("age")
    assert age.role is ColumnRole.NUMERIC and age.dtype == "float64"
    assert age.missing_fraction == pytest.approx(0.25)
    assert age.n_unique == _frame()["age"].nunique()
    assert not age.user_role
    assert json.loads(json.dumps(schema.to_dict()))["classes"] == ["no", "yes"]


def test_classes_are_plain_python_values() -> None:
    df = pd.DataFrame({"x": range(6), "y": [1.0, 0.0, np.nan, 1.0, 0.0, 2.0]})
    schema = infer_schema(df, "y")
    assert schema.task == "multiclass"
    assert schema.classes == [0, 1, 2]
    assert all(type(c) is int for c in schema.classes)
    assert infer_schema(pd.DataFrame({"x": [1, 2], "y": [True, False]}), "y").classes == [False, True]
    assert infer_schema(pd.DataFrame({"x": range(3), "y": [0.5, 1.5, 2.5]}), "y").classes is None


def test_given_task_wins() -> None:
    df = pd.DataFrame({"x": range(6), "y": [0, 1, 2, 0, 1, 2]})
    schema = infer_schema(df, "y", task="regression")
    assert schema.task == "regression" and schema.classes is None


def test_unknown_task() -> None:
    with pytest.raises(ConfigError, match="unknown task 'clustering'; choose one of binary, multiclass, regression"):
        infer_schema(_frame(), "y", task="clustering")


def test_binary_task_with_three_classes() -> None:
    df = pd.DataFrame({"x": range(6), "y": list("abcabc")})
    with pytest.raises(DataError, match="task 'binary' needs exactly 2 classes but target column 'y' has 3"):
        infer_schema(df, "y", task="binary")


def test_regression_needs_numbers() -> None:
    with pytest.raises(DataError, match="needs a numeric target but column 'y'"):
        infer_schema(_frame(), "y", task="regression")


def test_target_not_found_suggests() -> None:
    expected = r"target column 'Y' not found; did you mean 'y'\? \(columns: 'age', 'city', 'y'\)"
    with pytest.raises(DataError, match=expected):
        infer_schema(_frame(), "Y")
    with pytest.raises(DataError, match="target column 'agee' not found; did you mean 'age'"):
        infer_schema(_frame(), "agee")


def test_constant_target() -> None:
    with pytest.raises(DataError, match="target column 'y' has a single value"):
        infer_schema(_frame().assign(y="same"), "y")


def test_user_roles_win() -> None:
    schema = infer_schema(_frame(), "y", roles={"age": "categorical", "city": ColumnRole.TEXT})
    assert schema.column("age").role is ColumnRole.CATEGORICAL and schema.column("age").user_role
    assert schema.column("city").role is ColumnRole.TEXT and schema.column("city").user_role


def test_unknown_role_lists_valid_roles() -> None:
    with pytest.raises(ConfigError, match="unknown role 'number' for column 'age'; valid roles are: .*numeric"):
        infer_schema(_frame(), "y", roles={"age": "number"})


def test_role_for_unknown_column_lists_columns() -> None:
    with pytest.raises(ConfigError, match="'agee' that are not in the data; columns are: 'age', 'city', 'y'"):
        infer_schema(_frame(), "y", roles={"agee": "numeric"})


def test_role_for_target() -> None:
    with pytest.raises(ConfigError, match="target column 'y'"):
        infer_schema(_frame(), "y", roles={"y": "categorical"})


# --- real data ---------------------------------------------------------------------------------------------------


def test_titanic_roles() -> None:
    schema = infer_schema(_dataset("titanic", "titanic_train.csv"), "Survived")
    roles = {c.name: c.role for c in schema.columns}
    assert schema.task == "binary" and schema.classes == [0, 1]
    assert roles["PassengerId"] is ColumnRole.IDENTIFIER
    assert roles["Name"] is ColumnRole.TEXT
    assert roles["Sex"] in (ColumnRole.BOOLEAN, ColumnRole.CATEGORICAL)
    assert roles["Age"] is ColumnRole.NUMERIC
    assert roles["Pclass"] is ColumnRole.NUMERIC
    assert roles["Ticket"] is ColumnRole.CATEGORICAL
    assert roles["Embarked"] is ColumnRole.CATEGORICAL


def test_adult_has_no_text() -> None:
    schema = infer_schema(_dataset("adult", "adult_train.csv"), "class")
    assert schema.task == "binary"
    assert schema.names(ColumnRole.TEXT, ColumnRole.IDENTIFIER, ColumnRole.DATETIME) == []


def test_sms_message_is_text() -> None:
    schema = infer_schema(_dataset("sms_spam", "sms_spam.csv"), "label")
    assert schema.column("message").role is ColumnRole.TEXT
    assert schema.classes == ["ham", "spam"]
