"""Shared fixtures of the CLI tests: a runner, a tiny seeded training file, and one model fitted from it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from accelml.cli import app

N_ROWS = 120
# A small, quick search that is the same on every run.
FAST = ["--time-limit", "10", "--max-trials", "3", "--jobs", "1", "--models", "lgbm,linear"]


def make_frame(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """Two informative numbers, a category, an identifier column and a yes/no target."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    signal = x1 + 0.5 * x2 + np.where(colour == "red", 1.0, 0.0) + 0.3 * rng.normal(size=n)
    return pd.DataFrame(
        {
            "row_id": [f"r{i:04d}" for i in range(n)],
            "x1": x1.round(4),
            "x2": x2.round(4),
            "colour": colour,
            "label": np.where(signal > 0.3, "yes", "no"),
        }
    )


@pytest.fixture(scope="session", name="make_frame")
def make_frame_fixture() -> Callable[..., pd.DataFrame]:
    """:func:`make_frame` for the tests (a fixture, because test files cannot import one another's conftest)."""
    return make_frame


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="session")
def train_csv(workdir: Path) -> Path:
    path = workdir / "train.csv"
    make_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def model_dir(workdir: Path) -> Path:
    return workdir / "model"


@pytest.fixture(scope="session")
def fit_run(runner: CliRunner, train_csv: Path, model_dir: Path) -> Result:
    """One ``accelml fit`` run whose model the other tests read; its output is checked in test_cli_commands.py."""
    result = runner.invoke(app, ["fit", str(train_csv), "--target", "label", "--out", str(model_dir), *FAST])
    assert result.exit_code == 0, result.output
    return result
