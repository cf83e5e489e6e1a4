"""The commands end to end: fit → leaderboard → info → predict on a tiny file, the demo, and --version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner, Result

from accelml import __version__
from accelml.cli import app

LABELS = {"yes", "no"}


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


def test_predict_labels(runner: CliRunner, fit_run: Result, model_dir: Path, workdir: Path, make_frame) -> None:
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

    again = runner.invoke(app, args)  # the file exists now
    assert again.exit_code != 0 and "--force" in again.stderr
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0


def test_demo(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "penguins"
    result = runner.invoke(app, ["demo", "--time-limit", "10", "--max-trials", "3", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Palmer penguins" in text and "Leaderboard" in text
    assert "Test log_loss" in text and "accuracy" in text
    assert (out / "manifest.json").is_file()
    assert f"accelml predict {out}" in text
