"""The prediction log: every predicted row with its output, in a SQLite file trimmed to the most recent rows."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accelml.exceptions import ConfigError

__all__ = ["PredictionLog"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    request_id TEXT,
    features TEXT NOT NULL,
    prediction TEXT NOT NULL
)
"""


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dumps(value: Any) -> str:
    if isinstance(value, dict):
        value = {k: _plain(v) for k, v in value.items()}
    return json.dumps(value, default=str, allow_nan=False)


class PredictionLog:
    """Append predictions to a SQLite table ``predictions(id, ts, request_id, features, prediction)``.

    The table never holds more than ``max_rows`` rows: each write deletes the oldest beyond that. Several processes
    (server workers) may write to one file; WAL mode lets readers look at it while they do.

    Args:
        path: The SQLite file, created with its folder when absent.
        max_rows: Rows to keep.

    Example:
        >>> import tempfile, os
        >>> log = PredictionLog(os.path.join(tempfile.mkdtemp(), "log.sqlite"), max_rows=2)
        >>> log.write("r1", [{"x": 1}, {"x": 2}, {"x": 3}], ["a", "b", "c"])
        >>> log.count(), [row["prediction"] for row in log.tail(5)]
        (2, ['b', 'c'])
        >>> log.close()
    """

    def __init__(self, path: str | Path, max_rows: int = 100_000):
        if not isinstance(max_rows, int) or max_rows < 1:
            raise ConfigError(f"the prediction log must keep at least 1 row; got max_rows={max_rows!r}")
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the server writes from its thread pool; the lock serialises the writes.
            self._db = sqlite3.connect(str(self.path), timeout=10.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, no fsync per request
            self._db.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(
                f"cannot open the prediction log '{self.path}' ({exc}); give a writable --log-path or use --no-log"
            ) from exc

    def write(self, request_id: str | None, records: Sequence[dict[str, Any]], predictions: Sequence[Any],
              probabilities: Sequence[Any] | None = None) -> None:
        """Log one request's rows; the oldest rows beyond ``max_rows`` are deleted in the same transaction."""
        now = time.time()
        keep = slice(max(0, len(records) - self.max_rows), len(records))
        rows = []
        for i in range(len(records))[keep]:
            output: Any = _plain(predictions[i])
            if probabilities is not None:
                output = {"label": output, "proba": probabilities[i]}
            rows.append((now, request_id, _dumps(records[i]), _dumps(output)))
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO predictions (ts, request_id, features, prediction) VALUES (?, ?, ?, ?)", rows
                )
                last = self._db.execute("SELECT max(id) FROM predictions").fetchone()[0] or 0
                self._db.execute("DELETE FROM predictions WHERE id <= ?", (last - self.max_rows,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def count(self) -> int:
        """Rows in the log."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM predictions").fetchone()[0])

    def tail(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` most recent rows, oldest first, with ``features`` and ``prediction`` decoded."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, ts, request_id, features, prediction FROM predictions ORDER BY id DESC LIMIT ?", (n,)
            ).fetchall()
        return [
            {"id": r[0], "ts": r[1], "request_id": r[2], "features": json.loads(r[3]), "prediction": json.loads(r[4])}
            for r in reversed(rows)
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
