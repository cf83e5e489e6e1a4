"""The rows a service predicted most recently, with the model's output on each, kept in a bounded window."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ConfigError

__all__ = ["RollingWindow"]


class RollingWindow:
    """The last ``size`` rows and outputs; older ones fall out. Safe to use from several threads.

    Args:
        size: Rows to keep.

    Example:
        >>> window = RollingWindow(2)
        >>> window.add([{"x": 1}, {"x": 2}, {"x": 3}], np.array([0.1, 0.2, 0.3]))
        >>> len(window), window.frame()["x"].tolist(), window.outputs().tolist()
        (2, [2, 3], [0.2, 0.3])
    """

    def __init__(self, size: int = 1000):
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"the monitoring window must hold at least 1 row; got {size!r}")
        self.size = size
        self._rows: deque[tuple[dict[str, Any], np.ndarray]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.total = 0  # rows ever added

    def add(self, records: Sequence[dict[str, Any]], outputs: np.ndarray) -> None:
        """Add rows (raw records) with the model's output for each (a probability row or a value)."""
        keep = slice(max(0, len(records) - self.size), len(records))
        with self._lock:
            self._rows.extend(zip(records[keep], outputs[keep], strict=True))
            self.total += len(records)

    def __len__(self) -> int:
        return len(self._rows)

    def _snapshot(self) -> list[tuple[dict[str, Any], np.ndarray]]:
        with self._lock:
            return list(self._rows)

    def frame(self) -> pd.DataFrame:
        """The rows in the window, oldest first."""
        return pd.DataFrame([record for record, _ in self._snapshot()])

    def outputs(self) -> np.ndarray:
        """The outputs in the window, oldest first: ``(n, K)`` probabilities or ``(n,)`` values."""
        rows = self._snapshot()
        return np.array([out for _, out in rows]) if rows else np.empty(0)

    def snapshot(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows and outputs taken together, so that they match even while requests keep arriving."""
        rows = self._snapshot()
        return pd.DataFrame([r for r, _ in rows]), (np.array([o for _, o in rows]) if rows else np.empty(0))
