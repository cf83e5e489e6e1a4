"""The commands end to end: fit → leaderboard → info → predict on a tiny file, the demo, and --version.

One model is fitted per module and read by the other tests, so the whole file stays fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import FAST, assert_one_line_error, isolated, make_frame, restored_logging  # noqa: F401 (isolated: autouse)
from typer.testing import CliRunner, Result

from accelml import __version__
from accelml.cli import app

LABELS = {"yes", "no"}


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def train_csv(workdir: Path) -> Path:
    path = workdir / "train.csv"
    make_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_dir(workdir: Path) -> Path:
    return workdir / "model"


@pytest.fixture(scope="module")
def fit_run(runner: CliRunner, train_csv: Path, model_dir: Path) -> Result:
    """One ``accelml fit`` run; the tests below read its output and its model."""
    with restored_logging():
        result = runner.invoke(app, ["fit", str(train_csv), "--target", "label", "--out", str(model_dir), *FAST])
    assert result.exit_code == 0, result.output
    return result


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"accelml {__version__}"


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(app, [])
    for command in ("fit", "predict", "leaderboard", "info", "demo"):
        assert command in result.output


def test_fit_shows_trials_issues_leaderboard_score_and_saves(fit_run: Result, model_dir: Path) -> None:
    out = fit_run.stdout
    assert (model_dir / "manifest.json").is_file()
    assert "trial   1" in out  # one plain line per trial: the runner is not a terminal
    assert "\x1b[" not in out  # ... and no colour or cursor codes
    assert "'row_id'" in out and "identifier" in out  # the data check found the id column
    assert "Leaderboard" in out and "ensemble" in out
    assert "Validation roc_auc" in out
    assert "Saved the model to" in out and f"accelml predict {model_dir}" in out
    assert fit_run.stderr.strip() == ""


def test_leaderboard(runner: CliRunner, fit_run: Result, model_dir: Path) -> None:
    result = runner.invoke(app, ["leaderboard", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "roc_auc" in result.stdout
    assert "ensemble" in result.stdout and "lgbm_0" in result.stdout


def test_info(runner: CliRunner, fit_run: Result, model_dir: Path) -> None:
    result = runner.invoke(app, ["info", str(model_dir)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in ("binary", "label", "roc_auc", "chosen automatically", "versions", "lightgbm", "Ensemble"):
        assert expected in out
    assert "colour" in out and "categorical" in out
    assert "row_id" in out and "identifier" in out


def test_predict_labels(runner: CliRunner, fit_run: Result, model_dir: Path, workdir: Path) -> None:
    data = workdir / "new.csv"
    make_frame(n=25, seed=1).drop(columns="label").to_csv(data, index=False)
    out = workdir / "predictions" / "labels.csv"
    result = runner.invoke(app, ["predict", str(model_dir), str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "25 rows" in result.stdout
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["prediction"]
    assert len(predictions) == 25
    assert set(predictions["prediction"]) <= LABELS


def test_predict_proba_and_force(runner: CliRunner, fit_run: Result, model_dir: Path, train_csv: Path,
                                 workdir: Path) -> None:
    out = workdir / "proba.csv"
    args = ["predict", str(model_dir), str(train_csv), "--out", str(out), "--proba"]
    assert runner.invoke(app, args).exit_code == 0
    proba = pd.read_csv(out)
    assert sorted(proba.columns) == sorted(LABELS)
    assert len(proba) == len(pd.read_csv(train_csv))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)

    assert_one_line_error(runner.invoke(app, args), str(out), "--force")  # the file exists now
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_predict_missing_column(runner: CliRunner, fit_run: Result, model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "no_x1.csv"
    make_frame(n=10).drop(columns="x1").to_csv(data, index=False)
    result = runner.invoke(app, ["predict", str(model_dir), str(data), "--out", str(tmp_path / "p.csv")])
    assert_one_line_error(result, "'x1'", "missing")
    assert not (tmp_path / "p.csv").exists()


def test_predict_mistyped_column(runner: CliRunner, fit_run: Result, model_dir: Path, tmp_path: Path) -> None:
    frame = make_frame(n=10)
    frame["x2"] = frame["x2"].astype(object)
    frame.loc[3, "x2"] = "tall"
    data = tmp_path / "typo.csv"
    frame.to_csv(data, index=False)
    result = runner.invoke(app, ["predict", str(model_dir), str(data), "--out", str(tmp_path / "p.csv")])
    assert_one_line_error(result, "'x2'", "numbers", "'tall'")


def test_predict_missing_data_file(runner: CliRunner, fit_run: Result, model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    assert_one_line_error(runner.invoke(app, ["predict", str(model_dir), str(tmp_path / "no.csv"), "--out", str(out)]),
                          "no.csv", "not found")


def test_predict_out_is_a_folder(runner: CliRunner, fit_run: Result, model_dir: Path, train_csv: Path,
                                 tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(model_dir), str(train_csv), "--out", str(tmp_path)])
    assert_one_line_error(result, "is a folder")


def test_demo(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "penguins"
    result = runner.invoke(app, ["demo", "--time-limit", "10", "--max-trials", "3", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Palmer penguins" in text and "Leaderboard" in text
    assert "Test log_loss" in text and "accuracy" in text
    assert (out / "manifest.json").is_file()
    assert f"accelml predict {out}" in text
    report = tmp_path / "accelml-demo-report.html"
    assert report.is_file() and "Performance on test data" in report.read_text()
    before = report.read_bytes()
    again = runner.invoke(app, ["demo", "--time-limit", "5", "--max-trials", "1", "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "accelml-demo-report-2.html").is_file()  # never overwritten
    assert report.read_bytes() == before


def test_regression_predicts_values_and_refuses_proba(runner: CliRunner, tmp_path: Path) -> None:
    frame = make_frame(n=60).drop(columns="label")
    frame["amount"] = 2.0 * frame["x1"] - frame["x2"]
    data = tmp_path / "amounts.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "regressor"
    fast = ["--time-limit", "5", "--max-trials", "1", "--jobs", "1", "--models", "linear"]
    result = runner.invoke(app, ["fit", str(data), "--target", "amount", "--out", str(model), *fast])
    assert result.exit_code == 0, result.output
    assert "Validation rmse" in result.stdout

    out = tmp_path / "amounts_pred.csv"
    assert runner.invoke(app, ["predict", str(model), str(data), "--out", str(out)]).exit_code == 0
    assert pd.read_csv(out)["prediction"].dtype.kind == "f"
    result = runner.invoke(app, ["predict", str(model), str(data), "--out", str(tmp_path / "p.csv"), "--proba"])
    assert_one_line_error(result, "--proba", "regression")


def test_fit_records_the_run_and_resume_continues_it(runner: CliRunner, train_csv: Path, workdir: Path) -> None:
    model = workdir / "resumable"
    first = runner.invoke(app, ["fit", str(train_csv), "--target", "label", "--out", str(model),
                                "--max-trials", "2", "--jobs", "1", "--time-limit", "30"])
    assert first.exit_code == 0, first.output
    run = workdir / "resumable.run"
    assert len((run / "trials.jsonl").read_text().splitlines()) == 2
    again = runner.invoke(app, ["fit", str(train_csv), "--target", "label", "--out", str(model), "--force",
                                "--max-trials", "2", "--jobs", "1"])
    assert again.exit_code == 0, again.output  # --force starts over
    assert len((run / "trials.jsonl").read_text().splitlines()) == 2
    more = runner.invoke(app, ["fit", "--resume", str(model), "--max-trials", "4", "--jobs", "1", "--time-limit", "30"])
    assert more.exit_code == 0, more.output
    assert len((run / "trials.jsonl").read_text().splitlines()) == 4
    assert "trial   3" in more.output and "trial   1 " not in more.output


def test_fit_no_stacking_and_one_worker(runner: CliRunner, train_csv: Path, workdir: Path) -> None:
    import accelml

    model = workdir / "plain"
    result = runner.invoke(app, ["fit", str(train_csv), "--target", "label", "--out", str(model), "--max-trials", "3",
                                 "--jobs", "1", "--time-limit", "30", "--no-stacking", "--workers", "1"])
    assert result.exit_code == 0, result.output
    loaded = accelml.load(model)
    assert loaded.result_.config.stacking is False and loaded.result_.config.workers == 1
    assert not [t for t in loaded.result_.trials if t.spec.stage == "stack"]


def test_resume_without_a_run_is_one_line(runner: CliRunner, workdir: Path) -> None:
    result = runner.invoke(app, ["fit", "--resume", str(workdir / "nothing-here"), "--time-limit", "5"])
    assert_one_line_error(result, "no run to resume")
