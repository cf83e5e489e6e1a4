from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.data import read_table
from accelml.exceptions import DataError
from accelml.profiling import ISSUE_KINDS, DataIssue, check_data
from accelml.schema import ColumnRole, infer_schema

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _classification_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    x = r.normal(size=n)
    y = np.where(x + r.normal(scale=0.8, size=n) > 0, "yes", "no")
    return pd.DataFrame({"x": x, "color": r.choice(["red", "green", "blue"], n), "y": y})


def _check(df: pd.DataFrame, target: str = "y", **kwargs) -> tuple[pd.DataFrame, list[DataIssue]]:
    return check_data(df, infer_schema(df, target, **kwargs))


def _kinds(issues: list[DataIssue]) -> list[str]:
    return [i.kind for i in issues]


def _only(issues: list[DataIssue], kind: str) -> DataIssue:
    found = [i for i in issues if i.kind == kind]
    assert len(found) == 1, issues
    return found[0]


def test_clean_data_has_no_issues() -> None:
    df = _classification_frame()
    clean, issues = _check(df)
    assert issues == []
    pd.testing.assert_frame_equal(clean, df)


def test_issue_to_dict() -> None:
    issue = DataIssue("duplicates", "warning", "2 rows are copies", count=2)
    assert issue.to_dict() == {
        "kind": "duplicates",
        "severity": "warning",
        "message": "2 rows are copies",
        "column": None,
        "action": "none",
        "count": 2,
    }
    assert issue.kind in ISSUE_KINDS


def test_missing_target_rows_are_dropped() -> None:
    df = _classification_frame()
    df.loc[[3, 7, 9], "y"] = None
    clean, issues = _check(df)
    issue = _only(issues, "missing_target")
    assert issue.action == "dropped_rows" and issue.count == 3 and issue.column == "y"
    assert "3 row(s)" in issue.message and "'y'" in issue.message
    assert len(clean) == len(df) - 3 and clean["y"].notna().all()
    assert 3 not in clean.index and 4 in clean.index


def test_constant_target_after_dropping() -> None:
    df = pd.DataFrame({"x": range(6), "y": [1.0, np.nan, np.nan, 1.0, 1.0, 2.0]})
    schema = infer_schema(df, "y")
    df.loc[5, "y"] = np.nan  # e.g. the schema came from other data
    with pytest.raises(DataError, match="target column 'y' has a single value \\(1.0\\) after dropping rows"):
        check_data(df, schema)


def test_identifier_and_constant_are_reported_not_removed() -> None:
    df = _classification_frame().assign(row=lambda d: np.arange(len(d)), source="web")
    clean, issues = _check(df)
    identifier, constant = _only(issues, "identifier"), _only(issues, "constant")
    assert identifier.column == "row" and identifier.action == "dropped_column"
    assert "'row'" in identifier.message and identifier.severity == "info"
    assert constant.column == "source" and constant.action == "dropped_column"
    assert {"row", "source"} <= set(clean.columns)


def test_user_given_identifier_is_reported() -> None:
    _, issues = _check(_classification_frame(), roles={"color": "identifier"})
    assert "set by you" in _only(issues, "identifier").message


def test_duplicates_are_counted_not_dropped() -> None:
    df = _classification_frame()
    df = pd.concat([df, df.iloc[:5]], ignore_index=True)
    clean, issues = _check(df)
    issue = _only(issues, "duplicates")
    assert issue.count == 5 and issue.severity == "warning" and issue.action == "none"
    assert len(clean) == len(df)


def test_leaky_column_is_flagged_and_honest_ones_are_not() -> None:
    df = _classification_frame(n=2000)
    df["outcome_code"] = df["y"].map({"yes": 1, "no": 0}) * 10 + np.random.default_rng(1).normal(size=2000) * 0.1
    _, issues = _check(df)
    leak = _only(issues, "leak")
    assert leak.column == "outcome_code" and leak.severity == "warning"
    expected = r"column 'outcome_code' alone predicts the target almost perfectly \(accuracy (0\.99\d|1\.000)\)"
    assert re.search(expected, leak.message)


def test_the_leak_check_is_bounded_in_time_on_wide_tables(monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from accelml.profiling import checks

    df = _classification_frame(n=500)
    df["outcome_code"] = df["y"].map({"yes": 1, "no": 0})
    monkeypatch.setattr(checks, "LEAK_SECONDS", -1.0)  # no time at all: the check stops before its first column
    with caplog.at_level("INFO", logger="accelml.profiling.checks"):
        _, issues = _check(df)
    assert "leak" not in _kinds(issues)
    assert re.search(r"leak check stopped after .* 0 of \d+ columns checked", caplog.text)


def test_leaky_category_copy_of_the_target() -> None:
    df = _classification_frame().assign(status=lambda d: d["y"].map({"yes": "approved", "no": "rejected"}))
    _, issues = _check(df)
    assert _only(issues, "leak").column == "status"


def test_regression_leak() -> None:
    r = np.random.default_rng(2)
    n = 3000
    honest = r.normal(size=n)
    y = 3 * honest + r.normal(size=n)  # R² about 0.9: strong, but not a leak
    df = pd.DataFrame({"honest": honest, "noise": r.normal(size=n), "y": y, "y_in_cents": (y * 100).round()})
    _, issues = _check(df)
    assert [i.column for i in issues if i.kind == "leak"] == ["y_in_cents"]
    assert "R²" in _only(issues, "leak").message


def test_no_leak_when_the_majority_class_is_overwhelming() -> None:
    r = np.random.default_rng(3)
    n = 1000
    y = np.where(r.random(n) < 0.97, "ok", "fraud")
    df = pd.DataFrame({"x": r.normal(size=n), "same": y, "y": y})
    assert "leak" not in _kinds(_check(df)[1])


def test_imbalance() -> None:
    df = _classification_frame(n=500)
    df["y"] = np.where(np.arange(500) < 20, "rare", "common")
    issue = _only(_check(df)[1], "imbalance")
    assert issue.count == 20 and "'rare' 0.040" in issue.message and "'common' 0.960" in issue.message


def test_rare_classes_are_dropped() -> None:
    df = _classification_frame(n=60)
    df.loc[5, "y"] = "maybe"
    clean, issues = _check(df)
    issue = _only(issues, "rare_class")
    assert issue.action == "dropped_rows" and issue.count == 1 and "'maybe'" in issue.message
    assert issue.severity == "warning"
    assert 5 not in clean.index and set(clean["y"]) == {"yes", "no"}


def test_dropping_rare_classes_can_leave_a_constant_target() -> None:
    df = pd.DataFrame({"x": range(5), "y": ["a", "a", "a", "a", "b"]})
    with pytest.raises(DataError, match="target column 'y' has a single value \\('a'\\) after dropping classes"):
        _check(df)


def test_heavy_missing_and_high_cardinality() -> None:
    df = _classification_frame(n=400)
    df["sparse"] = np.where(np.arange(400) % 3 == 0, 1.0, np.nan)
    df["sparse"] = df["sparse"] * np.arange(400)
    df["zip"] = [f"z{i % 150}" for i in range(400)]
    _, issues = _check(df)
    missing = _only(issues, "heavy_missing")
    assert missing.column == "sparse" and missing.severity == "info" and "66.5% missing" in missing.message
    cardinality = _only(issues, "high_cardinality")
    assert cardinality.column == "zip" and cardinality.count == 150


def test_leak_check_is_fast() -> None:
    r = np.random.default_rng(4)
    n = 50_000
    data = {f"num{i}": r.normal(size=n) for i in range(15)}
    data.update({f"cat{i}": r.choice(list("abcdefgh"), n) for i in range(5)})
    data["y"] = r.choice(["a", "b", "c"], n)
    df = pd.DataFrame(data)
    schema = infer_schema(df, "y")
    start = time.perf_counter()
    _, issues = check_data(df, schema)
    assert time.perf_counter() - start < 2.0  # about 0.1 s here; generous for slow CI machines
    assert issues == []


def test_titanic_has_no_leak() -> None:
    path = DATASETS / "titanic" / "titanic_train.csv"
    if not path.exists():
        pytest.skip(f"shared dataset not found at {path}")
    df = read_table(path)
    clean, issues = check_data(df, infer_schema(df, "Survived"))
    assert "leak" not in _kinds(issues)
    assert _only(issues, "identifier").column == "PassengerId"
    assert len(clean) == 891
    assert {i.column for i in issues if i.kind == "heavy_missing"} == {"Cabin"}
    assert infer_schema(df, "Survived").column("Cabin").role is ColumnRole.CATEGORICAL
