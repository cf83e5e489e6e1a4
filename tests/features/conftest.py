"""Tiny seeded frames with every column role, shared by the feature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelml.schema.schema import ColumnRole, ColumnSpec, Schema

WORDS = ["red", "blue", "green", "car", "bus", "train", "fast", "slow", "big", "small", "cheap", "new", "old"]


def make_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A frame with one column per role (and an identifier, a constant, and the target ``y``)."""
    rng = np.random.default_rng(seed)
    num = rng.normal(10.0, 3.0, n)
    num[rng.random(n) < 0.15] = np.nan
    stamps = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 24, n), unit="h")
    dates = pd.Series(stamps.astype(str), dtype=object)
    dates[rng.random(n) < 0.1] = None
    text = pd.Series([" ".join(rng.choice(WORDS, rng.integers(1, 6))) for _ in range(n)], dtype=object)
    text[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "num": num,
            "num_str": pd.Series([f"{v:.2f}" for v in rng.normal(size=n)], dtype=object),
            "flag": rng.choice(["yes", "no"], n),
            "low": rng.choice(["a", "b", "c", None], n, p=[0.5, 0.3, 0.15, 0.05]),
            "high": [f"h{v}" for v in rng.integers(0, 60, n)],
            "when": dates,
            "text": text,
            "const": 1,
            "y": rng.integers(0, 3, n),
        }
    )


def make_schema(task: str = "binary") -> Schema:
    role = ColumnRole
    columns = [
        ColumnSpec("id", role.IDENTIFIER, "int64"),
        ColumnSpec("num", role.NUMERIC, "float64"),
        ColumnSpec("num_str", role.NUMERIC, "object"),
        ColumnSpec("flag", role.BOOLEAN, "object"),
        ColumnSpec("low", role.CATEGORICAL, "object"),
        ColumnSpec("high", role.CATEGORICAL, "object"),
        ColumnSpec("when", role.DATETIME, "object"),
        ColumnSpec("text", role.TEXT, "object"),
        ColumnSpec("const", role.CONSTANT, "int64"),
    ]
    classes = {"binary": [0, 1], "multiclass": [0, 1, 2], "regression": None}[task]
    return Schema(columns, target="y", task=task, classes=classes)


def make_target(frame: pd.DataFrame, task: str) -> np.ndarray:
    if task == "binary":
        return (frame["y"].to_numpy() == 1).astype(np.int64)
    if task == "multiclass":
        return frame["y"].to_numpy().astype(np.int64)
    return frame["y"].to_numpy() * 2.5 + 100.0


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def schema() -> Schema:
    return make_schema()
