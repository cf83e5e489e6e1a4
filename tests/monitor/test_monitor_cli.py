"""``accelml monitor``: a table and an overall status, JSON and HTML reports, exit 0 unless the input is bad."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from accelml.cli.errors import guarded
from accelml.cli.monitor import monitor
from accelml.monitor import check_model_drift
from tests.cli.cli_helpers import assert_one_line_error
from tests.serve.serve_helpers import fit_tiny, tiny_frame


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("monitor")(guarded(monitor))

    @app.command("other")  # a second command, so that Typer keeps "monitor" as a sub-command name
    def other() -> None:
        pass

    return app


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return fit_tiny("binary").save(tmp_path_factory.mktemp("monitor") / "model")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    same = tiny_frame("binary", n=300, seed=5)
    shifted = same.assign(x1=same["x1"] + 3.0)
    paths = {"same": folder / "same.csv", "shifted": folder / "shifted.csv", "broken": folder / "broken.csv"}
    same.to_csv(paths["same"], index=False)
    shifted.to_csv(paths["shifted"], index=False)
    same.drop(columns=["colour"]).to_csv(paths["broken"], index=False)
    return paths


def test_drifted_data_prints_the_table_and_writes_reports(model_dir, data, tmp_path):
    out, html = tmp_path / "r" / "report.json", tmp_path / "report.html"
    result = CliRunner().invoke(_app(), ["monitor", str(model_dir), str(data["shifted"]), "--labels", "y",
                                         "--out", str(out), "--html", str(html)])
    assert result.exit_code == 0, result.output
    assert "Overall: DRIFT" in result.stdout and "x1" in result.stdout and "roc_auc on 300 labelled" in result.stdout
    report = json.loads(out.read_text())
    assert report["status"] == "drift" and report["columns"][0]["column"] == "x1"
    assert report["performance"]["metric"] == "roc_auc" and report["prediction"]["kind"] == "classification"
    page = html.read_text()
    assert page.startswith("<!doctype html>") and '<section class="accelml-drift">' in page

    again = CliRunner().invoke(_app(), ["monitor", str(model_dir), str(data["shifted"]), "--out", str(out)])
    assert_one_line_error(again, "already exists", "--force")
    forced = CliRunner().invoke(_app(), ["monitor", str(model_dir), str(data["same"]), "--out", str(out), "--force"])
    assert forced.exit_code == 0 and json.loads(out.read_text())["status"] != "drift"


def test_missing_feature_column_is_reported_not_fatal(model_dir, data):
    result = CliRunner().invoke(_app(), ["monitor", str(model_dir), str(data["broken"])])
    assert result.exit_code == 0, result.output
    assert "Missing column(s): colour" in result.stdout and "Overall: DRIFT" in result.stdout


def test_bad_input_is_a_one_line_error(model_dir, data, tmp_path):
    assert_one_line_error(CliRunner().invoke(_app(), ["monitor", str(model_dir), str(data["same"]), "--labels",
                                                      "truth"]), "no label column 'truth'")
    assert_one_line_error(CliRunner().invoke(_app(), ["monitor", str(model_dir), str(tmp_path / "none.csv")]),
                          "none.csv")
    assert_one_line_error(CliRunner().invoke(_app(), ["monitor", str(tmp_path), str(data["same"])]), "manifest")


def test_library_check_uses_the_models_metric_and_validation_score(data):
    import pandas as pd

    model = fit_tiny("binary")
    report = check_model_drift(model, pd.read_csv(data["same"]), labels="y")
    assert report.performance["metric"] == model.metric_.name
    assert report.performance["reference"] == pytest.approx(model.val_score_)
