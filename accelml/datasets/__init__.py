"""Small real datasets shipped inside the package (their licenses allow it; see README.md beside this file)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["DEMO_TARGET", "demo_path", "load_demo"]

DEMO_TARGET = "species"


def demo_path() -> Path:
    """Path of the demo CSV: Palmer penguins (344 rows, 3 species; CC0)."""
    return Path(__file__).with_name("penguins.csv")


def load_demo() -> pd.DataFrame:
    """The demo data as a DataFrame; the target column is ``species``.

    >>> load_demo().shape
    (344, 8)
    """
    return pd.read_csv(demo_path())
