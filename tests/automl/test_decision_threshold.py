"""A binary model's decision threshold end to end, on a small real table: tuned for costs or a label metric at fit
time, followed by ``predict``, ``score``, the artifact, ``accelml predict``, the service and the report."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import accelml
from accelml.cli import app
from accelml.exceptions import ConfigError
from accelml.metrics import get_metric
from tests.conftest import restored_logging, shared_dataset

TARGET = "Class"  # blood_transfusion: 748 donors, 24 % gave blood (class 1)


def _quick(**options: object) -> accelml.AutoML:
    """Three seeded LightGBM trials on 3 folds: a few seconds, the same model on every run."""
    settings = {"max_trials": 3, "time_limit": 60, "n_jobs": 1, "workers": 1, "n_splits": 3, "models": ["lgbm"],
                "seed": 0}
    return accelml.AutoML(**{**settings, **options})


@pytest.fixture(scope="module")
def blood() -> pd.DataFrame:
    return pd.read_csv(shared_dataset("blood_transfusion/blood_transfusion.csv"))


@pytest.fixture(scope="module")
def costly(blood: pd.DataFrame) -> accelml.AutoML:
    """Missing a donor costs five times a wasted call: the threshold should fall well below 0.5."""
    return _quick(costs={"false_positive": 1, "false_negative": 5}).fit(blood, target=TARGET)


@pytest.fixture(scope="module")
def model_dir(costly: accelml.AutoML, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return costly.save(tmp_path_factory.mktemp("threshold") / "model")


def _positive_probability(automl: accelml.AutoML, frame: pd.DataFrame) -> np.ndarray:
    return automl.predict_proba(frame)[1].to_numpy()


# ----------------------------------------------------------------------------------------------- fit and predict
def test_costs_put_the_threshold_below_half_and_predict_follows_it(costly: accelml.AutoML,
                                                                   blood: pd.DataFrame) -> None:
    threshold = costly.decision_threshold_
    decision = costly.result_.extra["decision"]
    assert threshold is not None and threshold < 0.4
    assert decision["tuned"] and decision["objective"] == "expected cost"
    assert decision["value"] < decision["default_value"]  # the tuned threshold costs less out of fold than 0.5
    p = _positive_probability(costly, blood)
    labels = costly.predict(blood)
    assert (labels == np.where(p >= threshold, 1, 0)).all()
    assert (labels == 1).sum() > (p >= 0.5).sum()  # more donors are called than the most probable class would
    assert ((p >= threshold) & (p < 0.5)).any()  # rows whose label the threshold changed


def test_a_label_metric_tunes_the_threshold_for_itself_and_score_follows_predict(blood: pd.DataFrame) -> None:
    automl = _quick(metric="f1").fit(blood, target=TARGET)
    decision = automl.result_.extra["decision"]
    assert decision["tuned"] and decision["objective"] == "f1" and decision["costs"] is None
    assert decision["value"] >= decision["default_value"]
    assert decision["value"] > automl.val_score_  # the search's own score is at 0.5
    f1 = get_metric("f1", "binary").score(blood[TARGET].to_numpy(), automl.predict(blood))
    assert automl.score(blood) == pytest.approx(f1)


def test_a_probability_metric_keeps_the_most_probable_class(blood: pd.DataFrame) -> None:
    automl = _quick(max_trials=1).fit(blood, target=TARGET)  # roc_auc: no threshold unless asked for
    assert automl.decision_threshold_ is None and "decision" not in automl.result_.extra
    proba = automl.predict_proba(blood).to_numpy()
    assert (automl.predict(blood) == proba.argmax(axis=1)).all()


# ----------------------------------------------------------------------------------------------- the artifact
def test_the_artifact_keeps_the_threshold(costly: accelml.AutoML, model_dir: Path, blood: pd.DataFrame) -> None:
    loaded = accelml.load(model_dir)
    assert loaded.decision_threshold_ == costly.decision_threshold_
    assert loaded.costs == {"false_positive": 1.0, "false_negative": 5.0}
    assert (loaded.predict(blood) == costly.predict(blood)).all()
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["extra"]["decision"]["threshold"] == costly.decision_threshold_


def test_an_artifact_saved_without_a_threshold_predicts_the_most_probable_class(
        model_dir: Path, blood: pd.DataFrame, tmp_path: Path) -> None:
    import shutil

    old = shutil.copytree(model_dir, tmp_path / "old")
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["extra"]["decision"]  # as every artifact written before thresholds were stored
    del manifest["config"]["threshold"], manifest["config"]["costs"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    loaded = accelml.load(old)
    assert loaded.decision_threshold_ is None
    assert (loaded.predict(blood) == loaded.predict_proba(blood).to_numpy().argmax(axis=1)).all()


# ----------------------------------------------------------------------------------------------- CLI and service
def test_accelml_predict_follows_the_threshold(costly: accelml.AutoML, model_dir: Path, blood: pd.DataFrame,
                                               tmp_path: Path) -> None:
    data, out = tmp_path / "new.csv", tmp_path / "predictions.csv"
    blood.drop(columns=TARGET).to_csv(data, index=False)
    with restored_logging():
        result = CliRunner().invoke(app, ["predict", str(model_dir), str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (pd.read_csv(out)["prediction"].to_numpy() == costly.predict(blood)).all()


def test_the_service_returns_label_probability_and_threshold(costly: accelml.AutoML, model_dir: Path,
                                                             blood: pd.DataFrame) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from accelml.serve import create_app

    p = _positive_probability(costly, blood)
    between = np.flatnonzero((p >= costly.decision_threshold_) & (p < 0.5))[:3]
    rows = blood.iloc[np.r_[between, np.flatnonzero(p >= 0.5)[:2], np.flatnonzero(p < 0.1)[:2]]]
    records = json.loads(rows.drop(columns=TARGET).to_json(orient="records"))
    response = TestClient(create_app(model_dir)).post("/predict", json={"records": records})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == costly.predict(rows).tolist()
    assert body["predictions"][: len(between)] == [1] * len(between)  # probability under 0.5, yet the positive class
    assert body["probability"] == pytest.approx(_positive_probability(costly, rows).tolist())
    assert body["threshold"] == costly.decision_threshold_
    assert body["n_rows"] == len(rows) and len(body["warnings"]) == len(rows) and "probabilities" not in body
    metadata = TestClient(create_app(model_dir)).get("/metadata").json()
    assert metadata["model"]["decision"]["threshold"] == costly.decision_threshold_


# ----------------------------------------------------------------------------------------------- the report
def test_the_report_draws_the_cost_against_the_threshold(costly: accelml.AutoML, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from tests.report.report_helpers import parse_report

    page = parse_report(costly.report(tmp_path / "report.html").read_text())
    assert "threshold" in page.sections and "Decision threshold" in page.headings
    assert "metric against the decision threshold" in page.alts
    text = " ".join(" ".join(page.text).split())
    assert f"at least {costly.decision_threshold_:g}" in text and "false_negative 5" in text


# ----------------------------------------------------------------------------------------------- wrong options
def test_bad_costs_are_refused_before_any_work(blood: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="costs: unknown cell 'false_negatives'"):
        _quick(costs={"false_negatives": 5}).fit(blood, target=TARGET)
    with restored_logging():
        result = CliRunner().invoke(app, ["fit", "x.csv", "--target", "y", "--costs", "fp=1,fn=-5"])
    assert result.exit_code == 2
    assert "costs: the cost of false_negative must be a finite number of at least 0" in result.output


def test_a_threshold_for_a_task_that_is_not_binary_is_refused_before_the_search() -> None:
    from accelml.datasets import DEMO_TARGET, load_demo

    started = time.monotonic()
    with pytest.raises(ConfigError, match="binary task; this task is multiclass"):
        _quick(threshold="f1").fit(load_demo(), target=DEMO_TARGET)
    assert time.monotonic() - started < 10
