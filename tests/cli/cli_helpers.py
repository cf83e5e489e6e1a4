"""Helpers shared by the CLI tests: a tiny seeded table and the check that a command failed cleanly.

Plain functions, and one fixture a test module takes by importing it: a second ``conftest.py`` outside a package would
clash with ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from typer.testing import Result

from accelml.cli.errors import DEBUG_ENV, EXIT_USER_ERROR
from tests.conftest import restored_logging  # re-exported for the CLI tests

__all__ = ["FAST", "assert_one_line_error", "isolated", "make_frame", "restored_logging"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test of a module that imports this runs without the debug variable and leaves the loggers as it found
    them."""
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with restored_logging():
        yield

# A small, quick search that is the same on every run.
FAST = ["--time-limit", "10", "--max-trials", "3", "--jobs", "1", "--models", "lgbm,linear"]


def make_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Two informative numbers, a category, an identifier column and a yes/no target ``label``."""
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


def assert_one_line_error(result: Result, *fragments: str, code: int = EXIT_USER_ERROR) -> str:
    """The command failed with ``code`` and one ``error:`` line on stderr holding every fragment; return the line."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # handled, not a crash
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in line, line
    return line
