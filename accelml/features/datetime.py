"""Datetime columns: calendar parts for trees; cyclical and standardized parts for dense models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.features.base import ColumnEncoder
from accelml.features.coerce import to_datetime
from accelml.features.numeric import CLIP

__all__ = ["DatetimeEncoder"]

_EPOCH = pd.Timestamp("1970-01-01").as_unit("s")  # coarse unit, so far dates never overflow nanoseconds
_ARRAY_NAMES = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}  # the parts' names on a DatetimeArray
# (part, period, offset): the cyclical parts for dense models, each as sin and cos of 2π (value - offset) / period
_CYCLES = (("month", 12.0, 1.0), ("dayofweek", 7.0, 0.0), ("hour", 24.0, 0.0), ("dayofyear", 365.25, 1.0))


def _parts(dt: pd.Series, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Calendar parts (and ``epoch`` seconds) as float arrays, NaN where ``NaT``.

    Read from the column's array, as the ``.dt`` accessor reads them, without a Series around each part (one row's
    seven parts: 0.44 -> 0.04 ms).
    """
    values = dt.array
    out = {}
    for name in names:
        part = (values - _EPOCH).total_seconds() if name == "epoch" else getattr(values, _ARRAY_NAMES.get(name, name))
        out[name] = np.asarray(part, dtype=np.float64)
    return out


def _standardize(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.clip((x - mean) / std, -CLIP, CLIP)


class DatetimeEncoder(ColumnEncoder):
    """One datetime column (strings are parsed; time zones are converted to UTC).

    ``tree``: year, month, day, dayofweek, dayofyear, hour (only when training had times other than midnight) and
    epoch seconds; NaT → NaN. ``dense``: standardized year, sin/cos of month, dayofweek, hour (as above) and
    dayofyear, standardized epoch seconds, and a ``__missing`` indicator when training had NaT; NaT rows take the
    training median timestamp.

    Example:
        >>> from accelml.features.base import EncoderContext
        >>> enc = DatetimeEncoder("d", EncoderContext("tree", "binary", 2)).fit(pd.Series(["2021-03-04", None]))
        >>> enc.feature_names_
        ['d__year', 'd__month', 'd__day', 'd__dayofweek', 'd__dayofyear', 'd__epoch']
        >>> enc.transform(pd.Series(["2022-12-31"]))[0, :5].tolist()
        [2022.0, 12.0, 31.0, 5.0, 365.0]
    """

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        dt = to_datetime(values)
        observed = dt[dt.notna()]
        state: dict[str, Any] = {"hour": bool((observed != observed.dt.normalize()).any())}
        if self.kind == "tree":
            return state
        parts = _parts(observed, ("year", "epoch"))
        if observed.empty:
            return {**state, "median": 0.0, "year": [1970.0, 1.0], "epoch": [0.0, 1.0], "indicator": True}
        for name in ("year", "epoch"):
            std = float(parts[name].std())
            state[name] = [float(parts[name].mean()), std if std > 0 else 1.0]
        state["median"] = float(np.median(parts["epoch"]))
        state["indicator"] = bool(len(observed) < len(dt))
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        self.categorical_ = []
        cycles = [c for c in _CYCLES if c[0] != "hour" or state["hour"]]
        if self.kind == "tree":
            names = ["year", "month", "day", "dayofweek", "dayofyear", *(["hour"] if state["hour"] else []), "epoch"]
        else:
            names = ["year", *[f"{c}_{f}" for c, _, _ in cycles for f in ("sin", "cos")], "epoch"]
            names += ["missing"] if state["indicator"] else []
            self._cycles = cycles
            self._median = pd.Timestamp(state["median"], unit="s")
        self._names = names
        self.feature_names_ = [f"{self.column}__{n}" for n in names]

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        dt = to_datetime(values)
        if self.kind == "tree":
            parts = _parts(dt, tuple(self._names))
            return np.column_stack([parts[n] for n in self._names])
        missing = dt.isna().to_numpy(dtype=bool)
        if missing.any():
            dt = dt.fillna(self._median)
        parts = _parts(dt, ("year", "epoch", *(c for c, _, _ in self._cycles)))
        columns = [_standardize(parts["year"], *self.state_["year"])]
        for name, period, offset in self._cycles:
            angle = 2.0 * np.pi * (parts[name] - offset) / period
            columns += [np.sin(angle), np.cos(angle)]
        columns.append(_standardize(parts["epoch"], *self.state_["epoch"]))
        if self.state_["indicator"]:
            columns.append(missing.astype(np.float64))
        return np.column_stack(columns)
