"""The INPUTS registry: every family's input kind is registered, and a stateless featurizer is computed once per run
and sliced per fold."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from accelml.features import INPUTS, load_input, make_input
from accelml.models import MODELS
from accelml.schema import infer_schema
from accelml.search.folds import FoldCache
from accelml.tasks import encode_target
from accelml.validation import make_validation


@pytest.mark.parametrize("key", list(MODELS))
def test_every_family_is_fed_a_registered_input(key: str) -> None:
    assert MODELS[key].preprocessing in INPUTS


class _CountingInput:
    """A stateless featurizer (like a pretrained encoder): the same row always gives the same vector."""

    stateless: ClassVar[bool] = True
    calls: ClassVar[int] = 0

    def __init__(self, kind: str, schema: Any, seed: int = 0) -> None:
        self.kind, self.schema = kind, schema

    @classmethod
    def accepts(cls, schema: Any) -> bool:
        return True

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> np.ndarray:
        type(self).calls += 1
        return self.transform(X)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack([X["x"].to_numpy(np.float32), 2 * X["x"].to_numpy(np.float32)])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict[str, Any], schema: Any) -> _CountingInput:
        return cls(d["kind"], schema)


def test_a_stateless_input_is_computed_once_and_sliced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(INPUTS._paths, "counting", f"{__name__}:_CountingInput")
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=40), "y": [0, 1] * 20})
    schema = infer_schema(frame, "y")
    y = encode_target(frame["y"], schema)
    folds = FoldCache(frame, make_validation(y, schema.task, seed=0, n_splits=4), schema)
    for k, (train, val) in enumerate(folds.splits):
        fold = folds.get(k, "counting")
        assert np.array_equal(fold.X_train[:, 0], frame["x"].to_numpy(np.float32)[train])
        assert np.array_equal(fold.X_val[:, 1], 2 * frame["x"].to_numpy(np.float32)[val])
    assert _CountingInput.calls == 1
    restored = load_input(folds.get(0, "counting").preprocessor.to_dict(), schema)
    assert isinstance(restored, _CountingInput)


def test_stateful_inputs_are_fitted_per_fold() -> None:
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=40), "y": [0, 1] * 20})
    schema = infer_schema(frame, "y")
    y = encode_target(frame["y"], schema)
    folds = FoldCache(frame, make_validation(y, schema.task, seed=0, n_splits=4), schema)
    fitted = {id(folds.get(k, "dense").preprocessor) for k in range(4)}
    assert len(fitted) == 4 and not INPUTS["dense"].stateless
    again = load_input(folds.get(0, "dense").preprocessor.to_dict(), schema)
    assert np.array_equal(again.transform(frame), folds.get(0, "dense").preprocessor.transform(frame))
    assert type(make_input("tree", schema)).accepts(schema)
