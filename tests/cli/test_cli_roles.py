"""``accelml fit --role COLUMN=ROLE``: the same words, checks and messages as Python's ``roles=``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, isolated, make_frame  # noqa: F401 (isolated: autouse)
from typer.testing import CliRunner, Result

import accelml
from accelml.cli import app
from accelml.exceptions import ConfigError
from accelml.schema import ColumnRole, infer_schema

QUICK = ["--time-limit", "20", "--max-trials", "2", "--jobs", "1", "--models", "linear", "--workers", "1"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The CLI table plus ``zip``, postcodes read as numbers: inferred numeric, though their order means nothing."""
    frame = make_frame()
    frame["zip"] = np.random.default_rng(1).choice([10115, 20095, 80331, 50667], size=len(frame))
    return frame


@pytest.fixture(scope="module")
def train_csv(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("roles") / "train.csv"
    frame.to_csv(path, index=False)
    return path


def fit(tmp_path: Path, data: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["fit", str(data), "--target", "label", "--out", str(tmp_path / "model"),
                                    *QUICK, *args])


def test_role_is_used_and_saved_in_the_schema(frame: pd.DataFrame, train_csv: Path, tmp_path: Path) -> None:
    assert infer_schema(frame, "label").column("zip").role is ColumnRole.NUMERIC  # what --role changes
    result = fit(tmp_path, train_csv, "--role", "zip=categorical", "--role", "x2=Numeric")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    columns = {c["name"]: c for c in manifest["schema"]["columns"]}
    assert (columns["zip"]["role"], columns["zip"]["user_role"]) == ("categorical", True)
    assert (columns["x2"]["role"], columns["x2"]["user_role"]) == ("numeric", True)
    assert columns["x1"]["user_role"] is False
    assert accelml.load(tmp_path / "model").roles == {"zip": "categorical", "x2": "numeric"}


VALID = ", ".join(sorted(role.value for role in ColumnRole))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("zip", "is not COLUMN=ROLE"),
        ("=categorical", "names no column"),
        ("zip=", "names no role"),
        ("zip=categoricl", "has unknown role 'categoricl' (did you mean 'categorical'?)"),
    ],
)
def test_malformed_role_is_one_line_naming_it_and_the_valid_roles(tmp_path: Path, value: str, problem: str) -> None:
    # The data file does not exist: a malformed --role is refused before the data is read.
    result = fit(tmp_path, tmp_path / "missing.csv", "--role", "x1=numeric", "--role", value)
    assert_one_line_error(result, f"--role {value!r} {problem}", f"valid roles are: {VALID}")


def test_two_roles_for_one_column(tmp_path: Path) -> None:
    result = fit(tmp_path, tmp_path / "missing.csv", "--role", "zip=categorical", "--role", "zip=numeric")
    assert_one_line_error(result, "'zip'", "two roles", "categorical", "numeric")


@pytest.mark.parametrize("roles", [{"zipp": "categorical"}, {"label": "categorical"}], ids=["unknown", "target"])
def test_column_errors_read_as_python_roles_does(
    frame: pd.DataFrame, train_csv: Path, tmp_path: Path, roles: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as python:
        infer_schema(frame, "label", roles=roles)
    args = [arg for column, role in roles.items() for arg in ("--role", f"{column}={role}")]
    line = assert_one_line_error(fit(tmp_path, train_csv, *args))
    assert line == f"error: {python.value}"
    assert not (tmp_path / "model").exists()
