"""Helpers shared by the server tests: tiny seeded models and the check that an error response is clean.

Plain functions, not fixtures: a second ``conftest.py`` outside a package would clash with ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

import accelml
from tests.conftest import make_table

__all__ = ["assert_clean_error", "fit_tiny", "metric_value", "tiny_frame"]


def tiny_frame(task: str, n: int = 240, seed: int = 0) -> pd.DataFrame:
    """``make_table`` plus a yes/no column, so that every per-row warning kind can be provoked."""
    frame = make_table(task, n=n, seed=seed)
    frame.insert(3, "member", np.where(np.random.default_rng(seed).random(n) < 0.5, "yes", "no"))
    return frame


@functools.cache
def fit_tiny(task: str, seed: int = 0) -> accelml.AutoML:
    """A two-trial LightGBM model on a small seeded table (a few seconds; fitted once per test session, so never
    change the model it returns)."""
    return accelml.AutoML(max_trials=2, time_limit=None, n_jobs=1, n_splits=2, models=["lgbm"], seed=seed).fit(
        tiny_frame(task, seed=seed), target="y"
    )


def assert_clean_error(response: Any, status: int, *fragments: str) -> str:
    """The response has ``status``, a JSON ``error`` holding every fragment, a request id, and no traceback."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}, body
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    for fragment in fragments:
        assert fragment in body["error"], body["error"]
    return body["error"]


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric, _, rest = key.partition("{")
        if metric != name:
            continue
        found = ",".join(sorted(part for part in rest.rstrip("}").split(",") if part))
        if found == wanted:
            return float(value)
    return 0.0
