"""Generated features: new numeric columns made from the schema's columns, learned only from the rows they are fit on.

A generated column is a plain-JSON spec ``{"kind": ..., "columns": [...]}``:

* ``ratio``, ``difference``, ``product`` of two numeric columns ``[a, b]``: ``a / b`` (NaN where ``b`` is 0),
  ``a - b``, ``a * b``; NaN where either value is missing.
* ``group_mean`` of a numeric column by a categorical one ``[x, c]``: the mean of ``x`` over the training rows of
  ``c``'s level, leaning towards the overall mean for a level seen in few rows (``PRIOR`` rows' worth of it); a level
  never seen in training gets the overall mean, a missing ``c`` NaN. ``group_deviation``: ``x`` minus that mean.
* ``frequency`` of a categorical column ``[c]``: the share of training rows with ``c``'s level (unseen: 0; missing:
  the share of training rows where ``c`` was missing).

:class:`GeneratedFeatures` computes a list of them as a frame (the raw values); :class:`GeneratedEncoder` is one of
them as a column encoder of :class:`~accelml.features.preprocessor.Preprocessor`, which appends the columns that
``schema.extra["generated_features"]`` names (chosen by :mod:`accelml.search.generation`) to every model family's
input: raw for trees, through :class:`~accelml.features.numeric.NumericEncoder`'s scaling for dense models. Both are
fitted per training fold, so the group means and frequencies never see the validation rows, and their state
round-trips through JSON with bit-identical output.

Example:
    >>> X = pd.DataFrame({"a": [1.0, 4.0, 3.0], "b": [2.0, 0.0, 3.0], "c": ["x", "y", "x"]})
    >>> gen = GeneratedFeatures([{"kind": "ratio", "columns": ["a", "b"]},
    ...                          {"kind": "frequency", "columns": ["c"]}]).fit(X)
    >>> gen.names_
    ['gen__ratio__a__b', 'gen__frequency__c']
    >>> gen.transform(pd.DataFrame({"a": [1.0, 2.0], "b": [4.0, 0.0], "c": ["x", "z"]})).round(3).values.tolist()
    [[0.25, 0.667], [nan, 0.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ArtifactError, ConfigError, DataError, NotFittedError
from accelml.features.base import ColumnEncoder, EncoderContext, key_positions, to_plain
from accelml.features.coerce import category_keys, to_float
from accelml.features.numeric import NumericEncoder
from accelml.schema.schema import GENERATED_FEATURES, ColumnRole, Schema

__all__ = [
    "FORMAT", "KINDS", "PRIOR", "GeneratedEncoder", "GeneratedFeature", "GeneratedFeatures", "check_spec",
    "feature_name", "generated_encoders", "generated_specs", "restore_encoders",
]

FORMAT = "accelml.generated/1"
# each kind: the roles of the columns it combines, in order
KINDS: dict[str, tuple[ColumnRole, ...]] = {
    "ratio": (ColumnRole.NUMERIC, ColumnRole.NUMERIC),
    "difference": (ColumnRole.NUMERIC, ColumnRole.NUMERIC),
    "product": (ColumnRole.NUMERIC, ColumnRole.NUMERIC),
    "group_mean": (ColumnRole.NUMERIC, ColumnRole.CATEGORICAL),
    "group_deviation": (ColumnRole.NUMERIC, ColumnRole.CATEGORICAL),
    "frequency": (ColumnRole.CATEGORICAL,),
}
_ARITHMETIC = ("ratio", "difference", "product")
_GROUPED = ("group_mean", "group_deviation")
PRIOR = 5.0  # rows' worth of the overall mean that a level's mean is shrunk towards (a level of 2 rows is noise)


def check_spec(spec: Any) -> dict[str, Any]:
    """The spec in its one plain form ``{"kind", "columns"}``, or a :class:`ConfigError` saying what is wrong.

    >>> check_spec({"kind": "product", "columns": ("a", "b")})
    {'kind': 'product', 'columns': ['a', 'b']}
    >>> check_spec({"kind": "sum", "columns": ["a", "b"]})
    Traceback (most recent call last):
    ...
    accelml.exceptions.ConfigError: unknown generated feature kind 'sum'; valid: difference, frequency, group_deviation, group_mean, product, ratio
    """
    if not isinstance(spec, dict) or "kind" not in spec or "columns" not in spec:
        raise ConfigError(f"a generated feature is a dict with 'kind' and 'columns'; got {spec!r}")
    kind, columns = spec["kind"], spec["columns"]
    if kind not in KINDS:
        raise ConfigError(f"unknown generated feature kind {kind!r}; valid: {', '.join(sorted(KINDS))}")
    if isinstance(columns, str) or len(columns) != len(KINDS[kind]) or not all(isinstance(c, str) for c in columns):
        raise ConfigError(f"a {kind} feature combines {len(KINDS[kind])} column name(s) "
                          f"({', '.join(r.value for r in KINDS[kind])}); got {columns!r}")
    if len(set(columns)) != len(columns):
        raise ConfigError(f"a {kind} feature combines two different columns; got {columns!r}")
    return {"kind": str(kind), "columns": [str(c) for c in columns]}


def feature_name(spec: dict[str, Any]) -> str:
    """The generated column's name (the preprocessor makes it safe for every model library).

    >>> feature_name({"kind": "group_mean", "columns": ["age", "city"]})
    'gen__group_mean__age__city'
    """
    return "__".join(["gen", spec["kind"], *spec["columns"]])


class GeneratedFeature:
    """One generated column's raw values: ``fit`` learns its lookup table (group means, level shares) from the given
    rows only, ``values`` computes it as float64 with NaN where it is undefined."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = check_spec(spec)

    @property
    def kind(self) -> str:
        return self.spec["kind"]

    @property
    def columns(self) -> list[str]:
        return self.spec["columns"]

    @property
    def name(self) -> str:
        return feature_name(self.spec)

    def fit(self, X: pd.DataFrame) -> GeneratedFeature:
        """Learn the lookup table of a grouped or frequency feature from ``X``'s rows (arithmetic ones learn none)."""
        _check_frame(X, self.columns)
        table: dict[str, Any] = {}
        if self.kind in _GROUPED:
            x, keys = to_float(X[self.columns[0]]), category_keys(X[self.columns[1]])
            seen = ~np.isnan(x) & pd.notna(keys)
            overall = float(np.mean(x[seen])) if seen.any() else 0.0
            sums = pd.Series(x[seen]).groupby(keys[seen], sort=True).agg(["sum", "count"])
            means = (sums["sum"].to_numpy() + PRIOR * overall) / (sums["count"].to_numpy() + PRIOR)
            table = {"levels": [str(k) for k in sums.index], "values": means, "default": overall}
        elif self.kind == "frequency":
            keys = category_keys(X[self.columns[0]])
            present = pd.notna(keys)
            counts = pd.Series(keys[present], dtype=object).value_counts(sort=False).sort_index()
            n = max(len(keys), 1)
            table = {"levels": [str(k) for k in counts.index], "values": counts.to_numpy() / n,
                     "missing": float((~present).sum() / n)}
        self.set_state({"kind": self.kind, "columns": self.columns, "table": to_plain(table)})
        return self

    def get_state(self) -> dict[str, Any]:
        if not hasattr(self, "state_"):
            raise NotFittedError(f"the generated feature {self.name!r} is not fitted; call fit first")
        return self.state_

    def set_state(self, state: dict[str, Any]) -> None:
        """Adopt a state from :meth:`fit` or from JSON (the one place that builds the lookup arrays)."""
        self.spec = check_spec(state)
        self.state_ = {"kind": self.kind, "columns": self.columns, "table": state.get("table") or {}}
        table = self.state_["table"]
        if self.kind in _GROUPED or self.kind == "frequency":
            levels = table["levels"]
            self._positions = {k: i for i, k in enumerate(levels)}
            # the looked-up value of each level, then the value of an unseen level
            unseen = table["default"] if self.kind in _GROUPED else 0.0
            self._lookup = np.array([*table["values"], unseen], dtype=np.float64)

    @property
    def stateless(self) -> bool:
        """Whether its values depend on the rows alone, not on a learned table (the arithmetic kinds): the same in
        every fold, so a prediction computes them once for all the fold preprocessors."""
        return self.kind in _ARITHMETIC

    def values(self, X: pd.DataFrame) -> np.ndarray:
        """The generated column on ``X``'s rows, float64, NaN where undefined."""
        self.get_state()
        _check_frame(X, self.columns)
        return self.combine([to_float(X[c]) if role is ColumnRole.NUMERIC else category_keys(X[c])
                             for c, role in zip(self.columns, KINDS[self.kind], strict=True)])

    def combine(self, inputs: list[np.ndarray]) -> np.ndarray:
        """:meth:`values` from its columns already read, one array each in the order of ``columns``: a numeric
        column's :func:`~accelml.features.coerce.to_float`, a categorical one's
        :func:`~accelml.features.coerce.category_keys`. The inputs are left as they are (they may be shared).

        >>> feature = GeneratedFeature({"kind": "frequency", "columns": ["c"]}).fit(pd.DataFrame({"c": ["x", "y", "x"]}))
        >>> feature.combine([np.array(["x", None, "z"], dtype=object)]).round(3).tolist()
        [0.667, 0.0, 0.0]
        """
        self.get_state()
        if self.kind in _ARITHMETIC:
            return _arithmetic(self.kind, inputs[0], inputs[1])
        keys = inputs[-1]
        missing = pd.isna(keys)
        found = _lookup(self._positions, self._lookup, keys)
        if self.kind == "frequency":
            return np.where(missing, self.state_["table"]["missing"], found)
        found[missing] = np.nan
        if self.kind == "group_mean":
            return found
        return _finite(inputs[0] - found)


def _lookup(positions: dict[str, int], lookup: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each key's value in ``lookup`` (its last entry for an unseen key)."""
    at = key_positions(positions, keys)
    return lookup[np.where(at < 0, len(lookup) - 1, at)].copy()


def _arithmetic(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` combined with ``b``; NaN where an input is NaN, a divisor is 0 or the result overflows.

    >>> _arithmetic("ratio", np.array([1.0, 1.0, np.nan]), np.array([4.0, 0.0, 2.0])).tolist()
    [0.25, nan, nan]
    """
    with np.errstate(all="ignore"):
        if kind == "ratio":
            out = np.full(len(a), np.nan)
            np.divide(a, b, out=out, where=b != 0)
        elif kind == "difference":
            out = a - b
        else:
            out = a * b
    return _finite(out)


def _finite(x: np.ndarray) -> np.ndarray:
    x[~np.isfinite(x)] = np.nan
    return x


def _check_frame(X: Any, columns: list[str]) -> None:
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"generated features are computed from a pandas DataFrame, got {type(X).__name__}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}, which a generated feature is made of")


class GeneratedFeatures:
    """A list of generated columns as one transformer: ``fit(X)`` on the training rows, ``transform(X)`` a frame of
    float64 columns named by :func:`feature_name`, ``to_dict``/``from_dict`` plain JSON.

    Args:
        specs: the generated columns (see the module's docstring).
    """

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.specs = specs

    def fit(self, X: pd.DataFrame) -> GeneratedFeatures:
        """Learn every lookup table from ``X``'s rows only; returns ``self``."""
        self.features_ = [GeneratedFeature(s).fit(X) for s in self.specs]
        self.names_ = [f.name for f in self.features_]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "features_"):
            raise NotFittedError("GeneratedFeatures is not fitted yet; call fit first")
        return pd.DataFrame({f.name: f.values(X) for f in self.features_}, index=X.index, columns=self.names_)

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "features_"):
            raise NotFittedError("GeneratedFeatures is not fitted yet; fit it before saving")
        return {"format": FORMAT, "features": [f.get_state() for f in self.features_]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GeneratedFeatures:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ArtifactError(f"not saved generated features of format {FORMAT!r}; refit the model")
        features = []
        for state in d["features"]:
            feature = GeneratedFeature(state)
            feature.set_state(state)
            features.append(feature)
        out = cls([f.spec for f in features])
        out.features_, out.names_ = features, [f.name for f in features]
        return out


class GeneratedEncoder(ColumnEncoder):
    """One generated column as an encoder of a preprocessor: it reads its ``sources`` (a frame of them), and gives
    the raw value for trees, :class:`NumericEncoder`'s scaled value (and missing indicator) for dense models.

    Attributes:
        feature: the fitted :class:`GeneratedFeature` (the raw values).
        numeric: the fitted :class:`NumericEncoder` of the raw values (their encoding).
    """

    def __init__(self, spec: dict[str, Any], context: EncoderContext) -> None:
        spec = check_spec(spec)
        super().__init__(feature_name(spec), context)
        self.sources: tuple[str, ...] = tuple(spec["columns"])
        self.feature = GeneratedFeature(spec)

    @property
    def roles(self) -> tuple[ColumnRole, ...]:
        """The role of each source: numeric ones are read as floats, categorical ones as category keys."""
        return KINDS[self.feature.kind]

    def _learn(self, values: pd.DataFrame, y: np.ndarray | None) -> dict[str, Any]:
        feature = GeneratedFeature(self.feature.spec).fit(values)
        numeric = NumericEncoder(self.column, self.context)
        return {**feature.get_state(), "numeric": numeric._learn(pd.Series(feature.values(values)), None)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.feature = GeneratedFeature(state)
        self.feature.set_state(state)
        self.sources = tuple(self.feature.columns)
        self.numeric = NumericEncoder(self.column, self.context)
        self.numeric.set_state(state["numeric"])
        self.state_ = state
        self.feature_names_ = self.numeric.feature_names_
        self.categorical_ = []

    def transform(self, values: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        return self.numeric.transform(pd.Series(self.feature.values(values)))


def generated_specs(schema: Schema) -> list[dict[str, Any]]:
    """The generated columns ``schema.extra`` names, checked against the schema's feature columns."""
    specs = [check_spec(s) for s in schema.extra.get(GENERATED_FEATURES) or ()]
    if specs:
        features = {c.name for c in schema.features}
        for spec in specs:
            absent = [c for c in spec["columns"] if c not in features]
            if absent:
                raise ConfigError(f"generated feature {feature_name(spec)!r} is made of {absent}, which are not "
                                  "feature columns of the schema")
    return specs


def generated_encoders(schema: Schema, context: EncoderContext) -> list[GeneratedEncoder]:
    """New encoders of the generated columns ``schema.extra`` names (none when it names none)."""
    return [GeneratedEncoder(spec, context) for spec in generated_specs(schema)]


def restore_encoders(states: list[dict[str, Any]], context: EncoderContext, schema: Schema) -> list[GeneratedEncoder]:
    """Generated encoders saved with their ``get_state()``; their source columns must be in ``schema``."""
    out = []
    for state in states:
        encoder = GeneratedEncoder(state, context)
        for column in encoder.sources:
            try:
                schema.column(column)
            except KeyError:
                raise ArtifactError(f"the saved generated feature {encoder.column!r} reads column {column!r}, which "
                                    "the schema lacks; refit the model") from None
        encoder.set_state(state)
        out.append(encoder)
    return out
