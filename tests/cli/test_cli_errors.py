"""Every bad input ends the command with one ``error:`` line on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import typer
from cli_helpers import assert_one_line_error, isolated  # noqa: F401 (isolated: autouse)
from typer.testing import CliRunner, Result

from accelml.cli import app
from accelml.cli.errors import DEBUG_ENV, EXIT_BUG, EXIT_USER_ERROR, guarded
from accelml.datasets import demo_path
from accelml.exceptions import DataError


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def train_csv() -> Path:
    """The shipped penguins file: the errors below are all found before any search starts."""
    return demo_path()


def fit(runner: CliRunner, tmp_path: Path, data: Path, *args: str) -> Result:
    """``accelml fit`` with a quick search, saving (were it to succeed) under ``tmp_path``."""
    out = ["--out", str(tmp_path / "model")] if "--out" not in args else []
    fast = ["--time-limit", "5", "--max-trials", "2", "--jobs", "1", "--models", "linear"]
    return runner.invoke(app, ["fit", str(data), *out, *fast, *args])


# --- fit ---------------------------------------------------------------------------------------------------------


def test_fit_missing_data_file(runner: CliRunner, tmp_path: Path) -> None:
    result = fit(runner, tmp_path, tmp_path / "nope.csv", "--target", "label")
    assert_one_line_error(result, "nope.csv", "not found")


def test_fit_unreadable_file(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "broken.parquet"
    data.write_text("this is not parquet")
    assert_one_line_error(fit(runner, tmp_path, data, "--target", "label"), "broken.parquet")


def test_fit_unknown_target_suggests_close_match(runner: CliRunner, tmp_path: Path, train_csv: Path) -> None:
    assert_one_line_error(fit(runner, tmp_path, train_csv, "--target", "specie"), "'specie'", "did you mean 'species'")


def test_fit_unknown_metric(runner: CliRunner, tmp_path: Path, train_csv: Path) -> None:
    result = fit(runner, tmp_path, train_csv, "--target", "species", "--metric", "acuracy")
    assert_one_line_error(result, "acuracy", "'accuracy'")


def test_fit_unknown_model_family(runner: CliRunner, tmp_path: Path, train_csv: Path) -> None:
    result = fit(runner, tmp_path, train_csv, "--target", "species", "--models", "lgbm,forest")
    assert_one_line_error(result, "forest", "lgbm")


def test_fit_target_with_one_value(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "constant.csv"
    pd.DataFrame({"x": range(20), "label": "yes"}).to_csv(data, index=False)
    assert_one_line_error(fit(runner, tmp_path, data, "--target", "label"), "'label'", "single value")


def test_fit_refuses_existing_out_before_fitting(runner: CliRunner, train_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    started = time.monotonic()
    result = fit(runner, tmp_path, train_csv, "--target", "species", "--out", str(out))
    assert_one_line_error(result, str(out), "--force")
    assert time.monotonic() - started < 3  # refused before any search


def test_fit_bad_workers(runner: CliRunner, tmp_path: Path, train_csv: Path) -> None:
    result = fit(runner, tmp_path, train_csv, "--target", "species", "--workers", "0")
    assert_one_line_error(result, "workers", "0")


def test_fit_bad_time_limit(runner: CliRunner, tmp_path: Path, train_csv: Path) -> None:
    result = fit(runner, tmp_path, train_csv, "--target", "species", "--time-limit", "0")
    assert_one_line_error(result, "time_limit")


# --- model folders -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["predict", "leaderboard", "info"])
def test_model_dir_that_does_not_exist(runner: CliRunner, tmp_path: Path, train_csv: Path, command: str) -> None:
    args = [command, str(tmp_path / "no-such-model")]
    if command == "predict":
        args += [str(train_csv), "--out", str(tmp_path / "p.csv")]
    assert_one_line_error(runner.invoke(app, args), "no-such-model", "does not exist")


def test_folder_that_is_not_a_model(runner: CliRunner, tmp_path: Path) -> None:
    assert_one_line_error(runner.invoke(app, ["info", str(tmp_path)]), "manifest.json")


# --- the boundary itself -----------------------------------------------------------------------------------------


def _app_raising(exc: BaseException) -> typer.Typer:
    boundary = typer.Typer()

    @boundary.command()
    @guarded
    def boom(count: int = 1) -> None:
        """Raise ``exc``."""
        raise exc

    return boundary


def test_unexpected_error_is_one_line_with_a_hint(runner: CliRunner) -> None:
    result = runner.invoke(_app_raising(RuntimeError("kaboom\nsecond line")), [])
    line = assert_one_line_error(result, "RuntimeError", "kaboom second line", code=EXIT_BUG)
    assert f"{DEBUG_ENV}=1" in line


def test_debug_env_reraises(runner: CliRunner) -> None:
    result = runner.invoke(_app_raising(RuntimeError("kaboom")), [], env={DEBUG_ENV: "1"})
    assert isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize(
    "exc",
    [DataError("bad data"), FileNotFoundError(2, "No such file or directory", "x.csv"), typer.BadParameter("bad")],
)
def test_user_errors_exit_2(runner: CliRunner, exc: Exception) -> None:
    assert_one_line_error(runner.invoke(_app_raising(exc), []), code=EXIT_USER_ERROR)


def test_errors_do_not_read_as_markup(runner: CliRunner) -> None:
    assert_one_line_error(runner.invoke(_app_raising(DataError("column [bold] is odd")), []), "column [bold] is odd")

