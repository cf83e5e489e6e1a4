"""The fitted predictor: a weighted average of members, each the average of its fold models."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from accelml.features import Preprocessor
from accelml.models import Model
from accelml.search.evaluate import predict_outputs

__all__ = ["Ensemble", "Member"]


@dataclass
class Member:
    """One trial's fold models with the preprocessor fitted on each one's training fold."""

    name: str
    model: str
    weight: float
    preprocessors: list[Preprocessor]
    models: list[Model]

    def predict(self, X: pd.DataFrame, transformed: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Average of the fold models; ``transformed`` caches each preprocessor's output (members of one family kind
        share their fold preprocessors, so the ensemble transforms each once)."""
        transformed = {} if transformed is None else transformed
        out = None
        for pre, model in zip(self.preprocessors, self.models):
            if id(pre) not in transformed:
                transformed[id(pre)] = pre.transform(X)
            p = predict_outputs(model, transformed[id(pre)])
            out = p if out is None else out + p
        return out / len(self.models)


@dataclass
class Ensemble:
    members: list[Member]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities (classification) or values (regression) for already validated rows."""
        transformed: dict[int, np.ndarray] = {}
        out = None
        for m in self.members:
            p = m.weight * m.predict(X, transformed)
            out = p if out is None else out + p
        return out

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def latency(self, X: pd.DataFrame, repeats: int = 3) -> tuple[float, float]:
        """(milliseconds per row in a batch of up to 1,000 rows, milliseconds for one row), best of ``repeats``."""
        batch = X.iloc[: min(len(X), 1000)]
        one = X.iloc[:1]
        t_batch = t_one = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            self.predict(batch)
            t_batch = min(t_batch, (time.perf_counter() - t) * 1000 / len(batch))
            t = time.perf_counter()
            self.predict(one)
            t_one = min(t_one, (time.perf_counter() - t) * 1000)
        return t_batch, t_one
