"""The fitted predictor: a weighted average of members, each the average of its fold models."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from accelml.ensemble.calibrate import apply_temperature
from accelml.models import Model
from accelml.search.evaluate import predict_outputs

__all__ = ["Ensemble", "Member", "stack_features"]


@dataclass
class Member:
    """One trial's fold models with the preprocessor fitted on each one's training fold.

    A stacked member (second layer) names its ``inputs``: members whose outputs it reads as extra features after its
    preprocessor's columns (see :func:`stack_features`).
    """

    name: str
    model: str
    weight: float
    preprocessors: list[Any]  # each fold model's fitted featurizer (see accelml.features.INPUTS)
    models: list[Model]
    inputs: tuple[str, ...] = ()

    def predict(
        self,
        X: pd.DataFrame,
        transformed: dict[int, np.ndarray] | None = None,
        outputs: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Average of the fold models; ``transformed`` caches each preprocessor's output (members of one family kind
        share their fold preprocessors, so the ensemble transforms each once); ``outputs`` holds the outputs of the
        members a stacked member reads."""
        transformed = {} if transformed is None else transformed
        extra = None
        if self.inputs:
            if outputs is None or any(name not in outputs for name in self.inputs):
                raise ValueError(f"{self.name} is stacked on {list(self.inputs)}: predict it through its Ensemble")
            extra = stack_features([outputs[name] for name in self.inputs])
        out = None
        for pre, model in zip(self.preprocessors, self.models):
            if id(pre) not in transformed:
                transformed[id(pre)] = pre.transform(X)
            matrix = transformed[id(pre)] if extra is None else np.hstack([transformed[id(pre)], extra])
            p = predict_outputs(model, matrix)
            out = p if out is None else out + p
        return out / len(self.models)


def stack_features(outputs: list[np.ndarray]) -> np.ndarray:
    """First-layer outputs as second-layer features: values for regression, the log-odds of the positive class for
    binary, log-probabilities for multiclass (clipped, so certain predictions stay finite).

    >>> stack_features([np.array([[0.5, 0.5], [0.1, 0.9]])]).round(3).tolist()
    [[0.0], [2.197]]
    """
    columns = []
    for out in outputs:
        if out.ndim == 1:
            columns.append(out[:, None])
            continue
        p = np.clip(out, 1e-6, 1 - 1e-6)
        columns.append(np.log(p[:, 1:] / p[:, :1]) if p.shape[1] == 2 else np.log(p))
    return np.hstack(columns)


@dataclass
class Ensemble:
    """Members in an order where every stacked member comes after its inputs; members of weight 0 are there only as
    inputs of a stacked one. A classifier's weighted probabilities are then scaled by ``temperature`` (see
    :mod:`accelml.ensemble.calibrate`; 1.0 leaves them as they are)."""

    members: list[Member]
    temperature: float = 1.0
    # what prediction reads, worked out once for the members as they are (see used_outputs): their identity, the
    # output columns each table preprocessor's models read, and the input columns behind them
    _reads: tuple[tuple[int, ...], dict[int, np.ndarray | None], list[str] | None] | None = field(
        default=None, init=False, repr=False, compare=False)

    @property
    def stack_inputs(self) -> set[str]:
        """Names of the members a stacked member reads."""
        return {name for m in self.members for name in m.inputs}

    def used_outputs(self) -> dict[int, np.ndarray | None]:
        """For each table preprocessor (by ``id``), the output columns that its fold models read: the union of their
        :meth:`~accelml.models.Model.used_inputs`, None where one of them reads every column. Computed once for the
        members as they are now."""
        return self._read_plan()[1]

    def required_columns(self) -> list[str] | None:
        """The input columns prediction reads (those the models use), or None when it reads every feature column (a
        member whose input is not a table preprocessor, or whose model cannot tell which columns it uses)."""
        return self._read_plan()[2]

    def _read_plan(self) -> tuple[tuple[int, ...], dict[int, np.ndarray | None], list[str] | None]:
        key = tuple(id(pre) for m in self.members for pre in m.preprocessors)
        key += tuple(id(model) for m in self.members for model in m.models)
        if self._reads is not None and self._reads[0] == key:
            return self._reads
        used: dict[int, set[int] | None] = {}
        for m in self.members:
            for pre, model in zip(m.preprocessors, m.models):
                if not hasattr(pre, "columns_behind") or (id(pre) in used and used[id(pre)] is None):
                    continue
                columns = model.used_inputs()
                if columns is None:
                    used[id(pre)] = None
                    continue
                width = pre.n_features_out_  # a stacked member's extra columns come after the preprocessor's
                used.setdefault(id(pre), set()).update(int(c) for c in columns if c < width)
        outputs = {k: None if v is None else np.array(sorted(v), dtype=np.int64) for k, v in used.items()}
        pres = [pre for m in self.members for pre in m.preprocessors]
        names = None if any(outputs.get(id(pre)) is None for pre in pres) \
            else list(dict.fromkeys(c for pre in pres for c in pre.columns_behind(outputs[id(pre)])))
        self._reads = (key, outputs, names)
        return self._reads

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities (classification) or values (regression) for already validated rows (only the
        :meth:`required_columns` are read)."""
        needed = {name for m in self.members if m.weight > 0 for name in m.inputs}
        transformed: dict[int, np.ndarray] = {}
        used = self.used_outputs()
        read: dict[Any, Any] = {}  # what the table preprocessors read from X, shared between them
        for m in self.members:
            if m.weight > 0 or m.name in needed:
                for pre in m.preprocessors:
                    if id(pre) in used and id(pre) not in transformed:
                        transformed[id(pre)] = pre.transform(X, used[id(pre)], cache=read)
        outputs: dict[str, np.ndarray] = {}
        out = None
        for m in self.members:
            if m.weight <= 0 and m.name not in needed:
                continue
            outputs[m.name] = m.predict(X, transformed, outputs)
            if m.weight > 0:
                p = m.weight * outputs[m.name]
                out = p if out is None else out + p
        if out is not None and out.ndim == 2 and self.temperature != 1.0:
            out = apply_temperature(out, self.temperature)
        return out

    def share_preprocessors(self) -> Ensemble:
        """Make identical fitted preprocessors one object, so that prediction applies each once (the tree kind's
        category codes usually agree across folds when every fold saw every category). Returns self."""
        import json

        shared: dict[str, Any] = {}
        for m in self.members:
            m.preprocessors = [shared.setdefault(json.dumps(pre.to_dict(), sort_keys=True, default=str), pre)
                               for pre in m.preprocessors]
        return self

    def set_threads(self, n_jobs: int) -> Ensemble:
        """Predict with ``n_jobs`` threads in every model (those trained in worker processes had fewer). Returns
        self."""
        for m in self.members:
            for model in m.models:
                model.set_threads(n_jobs)
        return self

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
