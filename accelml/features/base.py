"""The contract every column encoder follows, and the context they share.

A column encoder turns one raw input column into a block of float columns. Its learned state is plain JSON data
(``state_``), and :meth:`ColumnEncoder.set_state` is the only place that turns that state into working arrays, so a
freshly fitted encoder and one restored from JSON run exactly the same code on exactly the same numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import NotFittedError

__all__ = ["KINDS", "ColumnEncoder", "EncoderContext", "key_positions", "to_plain"]

KINDS = ("tree", "dense")


@dataclass(frozen=True)
class EncoderContext:
    """What every encoder of one preprocessor needs to know besides its column.

    Attributes:
        kind: ``'tree'`` (codes, NaN kept) or ``'dense'`` (all numeric, no NaN, standardized).
        task: the task's key (recorded; the shape of target encodings follows ``n_classes``).
        n_classes: number of classes for classification, 0 for a value per row (regression).
        seed: seed for the out-of-fold splits of target encoding.
    """

    kind: str
    task: str
    n_classes: int
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncoderContext:
        return cls(kind=str(d["kind"]), task=str(d["task"]), n_classes=int(d["n_classes"]), seed=int(d["seed"]))


def to_plain(obj: Any) -> Any:
    """Recursively turn numpy scalars and arrays into Python numbers and lists, so ``json.dumps`` works.

    Example:
        >>> to_plain({"a": np.float32(1.5), "b": [np.int64(2)], "c": np.array([1.0, 2.0])})
        {'a': 1.5, 'b': [2], 'c': [1.0, 2.0]}
    """
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_plain(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


class ColumnEncoder(ABC):
    """Encodes one column into ``len(feature_names_)`` float64 columns.

    Subclasses implement :meth:`_learn` (raw column → plain-JSON state), :meth:`set_state` (state → arrays and
    ``feature_names_``/``categorical_``) and :meth:`transform`. Fitting is always ``set_state(_learn(...))``.

    Attributes:
        feature_names_: output column names, prefixed with the input column's name.
        categorical_: ``(local output index, cardinality)`` for each output holding category codes.
    """

    feature_names_: list[str]
    categorical_: list[tuple[int, int]]
    # An encoder that reads its column as category keys (see accelml.features.coerce.category_keys) names the
    # ``lower`` it reads them with, and encodes keys in transform_keys: a preprocessor then computes one column's keys
    # once for all the encoders that read it. None: the encoder reads the raw values.
    keys_lower: ClassVar[bool | None] = None
    # The input columns an encoder of several columns reads (a generated feature's, see accelml.features.generated):
    # it encodes a frame of them, and ``column`` is its output's name. None: it reads its one column, ``column``.
    sources: tuple[str, ...] | None = None

    def __init__(self, column: str, context: EncoderContext) -> None:
        self.column = column
        self.context = context

    @property
    def kind(self) -> str:
        return self.context.kind

    def fit(self, values: pd.Series, y: np.ndarray | None = None) -> ColumnEncoder:
        """Learn the state from the given rows only; returns ``self``."""
        self.set_state(to_plain(self._learn(values, y)))
        return self

    def fit_transform(self, values: pd.Series, y: np.ndarray | None = None) -> np.ndarray:
        """Fit, then encode the training rows (encoders that use the target override this)."""
        return self.fit(values, y).transform(values)

    def get_state(self) -> dict[str, Any]:
        """The learned state as plain JSON data."""
        self._check_fitted()
        return self.state_

    def _check_fitted(self) -> None:
        if not hasattr(self, "state_"):
            raise NotFittedError(f"The encoder of column {self.column!r} is not fitted; call fit first.")

    @abstractmethod
    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        """Return the state learned from ``values`` (and ``y`` where needed)."""

    @abstractmethod
    def set_state(self, state: dict[str, Any]) -> None:
        """Adopt a state from :meth:`_learn` or from JSON; sets ``state_``, ``feature_names_`` and ``categorical_``."""

    @abstractmethod
    def transform(self, values: pd.Series) -> np.ndarray:
        """Encode ``values`` into a float64 array of shape ``(len(values), len(feature_names_))``."""

    def transform_keys(self, keys: np.ndarray) -> np.ndarray:
        """:meth:`transform` of the column's category keys, for encoders whose ``keys_lower`` is not None."""
        raise NotImplementedError(f"{type(self).__name__} encodes raw values, not category keys")


def key_positions(positions: dict[str, int], keys: np.ndarray) -> np.ndarray:
    """Each key's position (its value in ``positions``), -1 where missing or unseen. A dict lookup, each distinct key
    once beyond a few rows: faster than ``pd.Index.get_indexer`` at every size, whose Index of the keys infers their
    dtype first.

    >>> key_positions({"a": 0, "b": 1}, np.array(["b", None, "z"], dtype=object)).tolist()
    [1, -1, -1]
    >>> key_positions({"a": 0, "b": 1}, np.array(["b", None, "z", "a"] * 20, dtype=object))[:4].tolist()
    [1, -1, -1, 0]
    """
    if len(keys) <= _FEW_ROWS:
        return np.fromiter((positions.get(k, -1) for k in keys), dtype=np.intp, count=len(keys))
    codes, uniques = pd.factorize(keys)  # code -1: missing, which reads the -1 appended
    return np.append(np.fromiter((positions.get(k, -1) for k in uniques), dtype=np.intp, count=len(uniques)),
                     np.intp(-1))[codes]


_FEW_ROWS = 64
