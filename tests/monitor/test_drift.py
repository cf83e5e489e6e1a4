"""Profiles, drift checks and their reports on small seeded data, plus the rolling window and the prediction log."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import ConfigError, DataError
from accelml.monitor import (
    DriftReport,
    DriftThresholds,
    PredictionLog,
    RollingWindow,
    build_profile,
    check_drift,
)
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema


@pytest.fixture(scope="module")
def schema():
    return Schema(
        [
            ColumnSpec("x", ColumnRole.NUMERIC, "float64"),
            ColumnSpec("when", ColumnRole.DATETIME, "datetime64[ns]"),
            ColumnSpec("city", ColumnRole.CATEGORICAL, "str"),
            ColumnSpec("flag", ColumnRole.BOOLEAN, "bool"),
            ColumnSpec("note", ColumnRole.TEXT, "str"),
            ColumnSpec("id", ColumnRole.IDENTIFIER, "str"),
        ],
        target="y",
        task="binary",
        classes=["no", "yes"],
    )


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "city": rng.choice(["oslo", "rome", "lima"], n, p=[0.5, 0.3, 0.2]),
            "flag": rng.random(n) < 0.3,
            "note": ["word " * int(k) for k in rng.integers(1, 6, n)],
            "id": [f"r{i}" for i in range(n)],
        }
    )


def _proba(n: int, seed: int, p: float = 0.3) -> np.ndarray:
    yes = np.random.default_rng(seed).random(n) < p
    return np.column_stack([np.where(yes, 0.2, 0.8), np.where(yes, 0.8, 0.2)])


@pytest.fixture(scope="module")
def profile(schema):
    return build_profile(_frame(2000, 0), schema, _proba(2000, 0))


def test_profile_is_json_and_describes_every_feature(profile):
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile
    columns = profile["columns"]
    assert set(columns) == {"x", "when", "city", "flag", "note"}  # the identifier is not a feature
    x = columns["x"]
    assert x["kind"] == "numeric" and len(x["edges"]) == 9 and len(x["fractions"]) == 11
    assert sum(x["fractions"]) == pytest.approx(1.0) and x["missing_rate"] == 0.0
    assert abs(x["mean"]) < 0.1 and x["std"] == pytest.approx(1.0, abs=0.1)
    assert columns["when"]["kind"] == "numeric" and columns["when"]["min"] > 1.7e9  # seconds since 1970
    assert columns["city"]["categories"] == ["oslo", "rome", "lima"] and columns["city"]["n_categories"] == 3
    assert columns["flag"]["categories"] == ["false", "true"]
    assert columns["note"]["kind"] == "text" and columns["note"]["min"] == 5  # length of "word "
    assert profile["prediction"]["kind"] == "classification"
    assert profile["prediction"]["shares"][1] == pytest.approx(0.3, abs=0.03)


def test_profile_keeps_top_50_categories_and_an_other_share(schema):
    frame = pd.DataFrame({"city": [f"c{i % 80}" for i in range(800)]})
    summary = build_profile(frame, schema)["columns"]["city"]
    assert len(summary["categories"]) == 50 and summary["n_categories"] == 80
    assert summary["fractions"][-2] == pytest.approx(30 / 80)  # 'other'


def test_same_distribution_is_ok(profile, schema):
    report = check_drift(profile, _frame(2000, 1), schema, predictions=_proba(2000, 1))
    assert report.status == "ok", report.columns
    assert (report.columns["psi"] < 0.1).all()
    assert report.prediction["status"] == "ok"


def test_shifted_column_is_drift(profile, schema):
    report = check_drift(profile, _frame(1000, 2, shift=1.5), schema)
    assert report.status == "drift"
    assert report.columns_with("drift") == ["x"]
    row = report.columns.iloc[0]
    assert row["column"] == "x" and row["psi"] > 0.25 and row["p_value"] < 0.01


def test_prediction_drift(profile, schema):
    report = check_drift(profile, _frame(1000, 3), schema, predictions=_proba(1000, 3, p=0.7))
    assert report.prediction["status"] == "drift" and report.status == "drift"
    assert report.prediction["shares_new"][1] == pytest.approx(0.7, abs=0.05)


def test_missing_values_unseen_categories_and_type_errors(profile, schema):
    frame = _frame(1000, 4).astype({"x": object})
    frame.loc[:299, "x"] = None
    frame.loc[:99, "city"] = "paris"
    frame.loc[500:509, "x"] = "not a number"
    report = check_drift(profile, frame, schema)
    rows = report.columns.set_index("column")
    assert rows.loc["x", "missing_new"] == pytest.approx(0.31)  # the bad values count as missing too
    assert rows.loc["x", "missing_change"] == pytest.approx(0.31)
    assert rows.loc["x", "type_errors"] == 10
    assert rows.loc["city", "unseen_share"] == pytest.approx(0.1)
    assert report.schema_breaks["type_errors"] == {"x": 10}
    assert rows.loc["city", "status"] in ("warning", "drift")


def test_missing_column_is_a_schema_break(profile, schema):
    report = check_drift(profile, _frame(500, 5).drop(columns=["city"]), schema)
    assert report.schema_breaks["missing_columns"] == ["city"]
    assert report.status == "drift"
    assert report.columns.set_index("column").loc["city", "status"] == "missing"
    assert "missing column(s): city" in report.summary()


def test_few_rows_are_at_most_a_warning(profile, schema):
    report = check_drift(profile, _frame(20, 6, shift=3.0), schema)
    assert report.status == "warning" and report.columns_with("drift") == []
    assert any("fewer than 100" in note for note in report.notes)


def test_thresholds_can_be_changed(profile, schema):
    frame = _frame(1000, 7, shift=0.35)
    default = check_drift(profile, frame, schema)
    strict = check_drift(profile, frame, schema, thresholds={"psi_warning": 0.01, "psi_drift": 0.02})
    assert strict.status == "drift" and strict.thresholds.psi_drift == 0.02
    assert default.columns.set_index("column").loc["x", "psi"] < 0.25
    with pytest.raises(ConfigError, match="unknown drift threshold 'psi'"):
        check_drift(profile, frame, schema, thresholds={"psi": 0.1})
    assert check_drift(profile, frame, schema, thresholds=DriftThresholds(min_rows=5000)).status != "drift"


def test_labels_give_the_metric_against_the_validation_score(profile, schema):
    n = 1000
    proba = _proba(n, 8)
    truth = np.where(proba[:, 1] > 0.5, "yes", "no")
    good = check_drift(profile, _frame(n, 8), schema, predictions=proba, labels=truth, metric="accuracy",
                       reference_score=0.95)
    assert good.performance["value"] == 1.0 and good.performance["status"] == "ok"
    flipped = np.where(np.random.default_rng(0).random(n) < 0.3, np.where(truth == "yes", "no", "yes"), truth)
    bad = check_drift(profile, _frame(n, 8), schema, predictions=proba, labels=pd.Series(flipped),
                      metric="accuracy", reference_score=0.95)
    assert bad.performance["status"] == "drift" and bad.status == "drift"
    assert bad.performance["relative_loss"] == pytest.approx((0.95 - bad.performance["value"]) / 0.95)
    with pytest.raises(ConfigError, match="predictions"):
        check_drift(profile, _frame(n, 8), schema, labels=truth)
    with pytest.raises(DataError, match="not trained on"):
        check_drift(profile, _frame(3, 8), schema, predictions=proba[:3], labels=["maybe", "yes", "no"])


def test_bad_input_is_refused(profile, schema):
    with pytest.raises(DataError, match="no rows"):
        check_drift(profile, _frame(0, 0), schema)
    with pytest.raises(DataError, match="predictions for"):
        check_drift(profile, _frame(10, 0), schema, predictions=_proba(9, 0))


def test_report_as_json_and_html(profile, schema):
    frame = _frame(500, 9, shift=2.0)
    frame.loc[0, "city"] = "<script>alert(1)</script>"
    report = check_drift(profile, frame, schema, predictions=_proba(500, 9))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["status"] == "drift" and data["columns"][0]["column"] == "x"
    assert data["columns"][0]["unseen_share"] is None  # numeric: no categories
    assert data["thresholds"]["psi_drift"] == 0.25
    html = report.to_html()
    assert html.startswith('<section class="accelml-drift">') and html.endswith("</section>")
    assert "<table>" in html and ">x</td>" in html and "drift" in html
    assert "<script>" not in html and "http" not in html  # escaped, and no external assets
    assert isinstance(report, DriftReport)


def test_rolling_window_keeps_the_latest_rows():
    window = RollingWindow(3)
    window.add([{"a": 1}, {"a": 2}], np.array([[0.1, 0.9], [0.2, 0.8]]))
    window.add([{"a": 3}, {"a": 4}], np.array([[0.3, 0.7], [0.4, 0.6]]))
    rows, outputs = window.snapshot()
    assert rows["a"].tolist() == [2, 3, 4] and outputs[:, 0].tolist() == [0.2, 0.3, 0.4]
    assert len(window) == 3 and window.total == 4
    with pytest.raises(ConfigError):
        RollingWindow(0)


def test_prediction_log_is_bounded_and_readable(tmp_path):
    log = PredictionLog(tmp_path / "sub" / "log.sqlite", max_rows=4)
    log.write("a", [{"x": 1.0}, {"x": float("nan")}], ["yes", "no"], [{"no": 0.1, "yes": 0.9}, {"no": 0.6, "yes": 0.4}])
    log.write("b", [{"x": float(i)} for i in range(3)], [1.5, 2.5, 3.5])
    assert log.count() == 4
    rows = log.tail(10)
    assert [r["request_id"] for r in rows] == ["a", "b", "b", "b"]
    assert rows[0]["features"] == {"x": None} and rows[0]["prediction"] == {"label": "no", "proba": {"no": 0.6,
                                                                                                     "yes": 0.4}}
    assert rows[-1]["prediction"] == 3.5
    log.write("c", [{"x": float(i)} for i in range(10)], list(range(10)))
    assert log.count() == 4 and log.tail(1)[0]["prediction"] == 9
    log.close()
    with pytest.raises(ConfigError, match="max_rows"):
        PredictionLog(tmp_path / "x.sqlite", max_rows=0)
