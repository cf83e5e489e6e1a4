"""Shared fixtures: tiny seeded tables for each task, and the path to the shared real datasets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def shared_dataset(relative: str) -> Path:
    """A file under ../shared/datasets, or skip the test with the reason when the folder is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/datasets is absent)")
    return path


def make_table(task: str, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A small mixed-type table whose target depends on two numeric columns and a category."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    signal = x1 + 0.5 * x2 + np.where(colour == "red", 1.0, 0.0) + 0.3 * rng.normal(size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "noise": rng.normal(size=n)})
    frame.loc[rng.random(n) < 0.05, "x2"] = np.nan
    if task == "binary":
        frame["y"] = np.where(signal > 0.3, "yes", "no")
    elif task == "multiclass":
        frame["y"] = np.digitize(signal, [-0.5, 0.8]).astype(str)
        frame["y"] = frame["y"].map({"0": "low", "1": "mid", "2": "high"})
    else:
        frame["y"] = 3.0 * signal + 10.0
    return frame


@pytest.fixture(params=["binary", "multiclass", "regression"])
def task(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def table(task: str) -> pd.DataFrame:
    return make_table(task)


@contextmanager
def restored_logging() -> Iterator[None]:
    """Undo what the CLI's logging setup changes, so that later tests in the same process see the usual loggers."""
    names = ("accelml", "py.warnings")
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers),
                    logging.getLogger(name).propagate) for name in names}
    try:
        yield
    finally:
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
        logging.captureWarnings(False)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Every test leaves logging as it found it, whatever CLI command it ran (run after the export, serve, ensemble and
    report tests, the CLI test that checks its handler is removed found one an earlier test's command had left)."""
    with restored_logging():
        yield
