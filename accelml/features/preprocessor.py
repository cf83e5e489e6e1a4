"""The preprocessing a model family needs: one encoder per feature column, wired by role, saved as plain JSON."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ArtifactError, ConfigError, DataError, NotFittedError, SchemaError
from accelml.features.base import KINDS, ColumnEncoder, EncoderContext
from accelml.features.boolean import BooleanEncoder
from accelml.features.categorical import CategoricalEncoder
from accelml.features.coerce import category_keys, keys_of_objects, to_float
from accelml.features.datetime import DatetimeEncoder
from accelml.features.generated import generated_encoders, restore_encoders
from accelml.features.images import ImagePixelEncoder
from accelml.features.numeric import NumericEncoder
from accelml.features.text import TextEncoder
from accelml.schema.schema import ColumnRole, Schema
from accelml.schema.validate import plain_number
from accelml.tasks import get_task

__all__ = ["FORMAT", "Preprocessor"]

FORMAT = "accelml.preprocessor/1"

ENCODERS: dict[ColumnRole, type[ColumnEncoder]] = {
    ColumnRole.NUMERIC: NumericEncoder,
    ColumnRole.BOOLEAN: BooleanEncoder,
    ColumnRole.CATEGORICAL: CategoricalEncoder,
    ColumnRole.DATETIME: DatetimeEncoder,
    ColumnRole.TIME: DatetimeEncoder,
    ColumnRole.TEXT: TextEncoder,
    ColumnRole.IMAGE: ImagePixelEncoder,
}


def _float_matrix(X: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """These plain numeric columns as one float64 matrix, missing and infinite values as NaN (what
    :func:`~accelml.features.coerce.to_float` gives column by column)."""
    positions = X.columns.get_indexer(columns)  # X.iloc, not X[columns]: far faster on wide unconsolidated frames
    whole = len(positions) == X.shape[1] and bool(np.all(positions == np.arange(X.shape[1])))
    x = np.array((X if whole else X.iloc[:, positions]).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    x[~np.isfinite(x)] = np.nan
    return x


def _read(X: pd.DataFrame, encoder: ColumnEncoder) -> Any:
    """What an encoder reads: its column, or the frame of its sources (a generated column's)."""
    return X[encoder.column] if encoder.sources is None else X[list(encoder.sources)]


_FEW_ROWS = 64  # rows up to which category keys are read value by value (see keys_of_objects)


def _keys(X: pd.DataFrame, column: str, lower: bool, cache: dict[Any, Any]) -> np.ndarray:
    """A column's category keys (:func:`~accelml.features.coerce.category_keys`), read once per frame."""
    key = ("keys", column, lower)
    if key not in cache and len(X) <= _FEW_ROWS:
        if "objects" not in cache:  # every column as Python objects, in one call
            cache["objects"] = dict(zip(X.columns, X.to_numpy(dtype=object).T))
        cache[key] = keys_of_objects(cache["objects"][column], lower=lower)
    elif key not in cache:
        cache[key] = category_keys(X[column], lower=lower)
    return cache[key]


def _floats(X: pd.DataFrame, columns: list[str], cache: dict[Any, Any]) -> dict[str, np.ndarray]:
    """Columns by name as float64 (:func:`~accelml.features.coerce.to_float` of each), read once per frame: the plain
    numeric ones in one array operation, and those the numeric encoders read already taken from their matrix."""
    floats = cache.setdefault("floats", {})
    absent = [c for c in dict.fromkeys(columns) if c not in floats]
    plain = [c for c in absent if plain_number(cache["dtypes"][c])]
    if plain:
        floats.update(zip(plain, _float_matrix(X, plain).T))
    for column in absent:
        if column not in floats:
            floats[column] = to_float(X[column])
    return floats


_NAME_SAFE = frozenset("_-.=+/")  # LightGBM and XGBoost reject ",:[]{}<" and quotes in feature names


def _safe_names(names: list[str]) -> list[str]:
    """Feature names that every model library accepts: odd characters become ``_``, duplicates get a suffix."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        safe = "".join(c if c.isalnum() or c in _NAME_SAFE else "_" for c in name) or "_"
        candidate, i = safe, 2
        while candidate in seen:
            candidate, i = f"{safe}__{i}", i + 1
        seen.add(candidate)
        out.append(candidate)
    return out


class Preprocessor:
    """Turns the schema's feature columns into one float32 matrix for a model family.

    ``kind='tree'`` keeps NaN and gives categoricals as frequency-ranked codes (listed in ``categorical_indices_``);
    ``kind='dense'`` gives standardized numbers without NaN, one-hot or target-encoded categoricals. Everything is
    learned only from the rows given to :meth:`fit`, and the learned state round-trips through JSON
    (:meth:`to_dict` / :meth:`from_dict`) with bit-identical :meth:`transform` output.

    Args:
        kind: ``'tree'`` or ``'dense'``.
        schema: the data's schema; only ``schema.features`` are used, in that order.
        seed: seed for the out-of-fold split of target encoding.

    Attributes:
        feature_names_: output column names (safe for LightGBM/XGBoost).
        categorical_indices_: output columns holding category codes ``0..card-1`` (NaN = missing/unseen).
        categorical_cardinalities_: the number of codes of each of those columns.

    Example:
        >>> from accelml.schema.schema import ColumnSpec
        >>> schema = Schema(
        ...     [ColumnSpec("age", ColumnRole.NUMERIC, "float64"), ColumnSpec("city", ColumnRole.CATEGORICAL, "str")],
        ...     target="y", task="binary", classes=[0, 1])
        >>> X = pd.DataFrame({"age": [30.0, None, 50.0], "city": ["Oslo", "Rome", "Oslo"]})
        >>> pre = Preprocessor("tree", schema).fit(X, np.array([0, 1, 1]))
        >>> pre.feature_names_, pre.categorical_indices_, pre.categorical_cardinalities_
        (['age', 'city'], [1], [2])
        >>> pre.transform(X).tolist()
        [[30.0, 0.0], [nan, 1.0], [50.0, 0.0]]
    """

    stateless = False  # learned per training fold (see accelml.features.inputs)

    @classmethod
    def accepts(cls, schema: Schema) -> bool:
        """Whether the schema has a feature column this preprocessing encodes."""
        return any(spec.role in ENCODERS for spec in schema.features)

    def __init__(self, kind: str, schema: Schema, seed: int = 0) -> None:
        if kind not in KINDS:
            raise ConfigError(f"Unknown preprocessing kind {kind!r}; use one of {', '.join(map(repr, KINDS))}.")
        self.kind = kind
        self.schema = schema
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> Preprocessor:
        """Learn every column's encoding from these rows.

        Args:
            X: a frame holding at least the schema's feature columns (other columns are ignored).
            y: class indices (classification) or floats (regression); needed when a column is target-encoded.

        Returns:
            ``self``.
        """
        self._fit(X, y, encode=False)
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
        """Fit, and encode the training rows.

        Target-encoded columns are encoded out of fold here, so this differs from ``fit(X, y).transform(X)`` exactly
        there: use it for the rows a model trains on, and :meth:`transform` for every other row.
        """
        return self._fit(X, y, encode=True)

    def transform(self, X: pd.DataFrame, outputs: np.ndarray | None = None,
                  cache: dict[Any, Any] | None = None) -> np.ndarray:
        """Encode rows with the fitted state.

        Args:
            X: the rows, holding the schema's feature columns (only those behind ``outputs`` when given).
            outputs: indices of the output columns a model reads (see :meth:`accelml.models.Model.used_inputs`):
                only the input columns behind them are read and encoded; the other outputs are left empty (NaN for
                trees, 0 for dense models). None: every column.
            cache: what was read from ``X`` for another preprocessor (its dtypes, numeric columns as one array,
                categories as keys, the generated columns that no fold learns: ratios, differences, products), to
                read again from here: an ensemble of fold models encodes one frame with several preprocessors. A new
                dict for each new ``X``.

        Returns:
            A C-contiguous float32 array of shape ``(len(X), len(feature_names_))``.
        """
        if not hasattr(self, "encoders_"):
            raise NotFittedError("This Preprocessor is not fitted yet; call fit or fit_transform first.")
        active = range(len(self.encoders_)) if outputs is None else self._encoders_behind(outputs)
        self._check_columns(X, SchemaError, self._inputs_of(active))
        shape = (len(X), len(self.feature_names_))
        matrix = np.empty(shape, dtype=np.float32) if outputs is None \
            else np.full(shape, np.nan if self.kind == "tree" else 0.0, dtype=np.float32)
        cache = {} if cache is None else cache
        if "dtypes" not in cache:  # once: X[name] per column is slow on a wide frame
            cache["dtypes"] = dict(zip(X.columns, X.dtypes.tolist()))
        numeric = [i for i in active if isinstance(self.encoders_[i], NumericEncoder)
                   and plain_number(cache["dtypes"][self.encoders_[i].column])]
        if numeric:  # one array operation for all plain numeric columns
            columns = tuple(self.encoders_[i].column for i in numeric)
            if columns not in cache:
                cache[columns] = _float_matrix(X, list(columns))
                if self._generated:  # generated columns read their numeric sources from here
                    cache.setdefault("floats", {}).update(zip(columns, cache[columns].T))
            self._place_numeric(matrix, numeric, NumericEncoder.transform_many(
                [self.encoders_[i] for i in numeric], cache[columns]))
        generated = [i for i in active if self.encoders_[i].sources is not None] if self._generated else []
        if generated:
            self._place_numeric(matrix, generated, self._encode_generated(X, generated, cache))
        done = set(numeric) | set(generated)
        for i in active:
            if i in done:
                continue
            encoder = self.encoders_[i]
            if encoder.keys_lower is None:
                self._place(matrix, i, encoder.transform(_read(X, encoder)))
            else:
                self._place(matrix, i, encoder.transform_keys(_keys(X, encoder.column, encoder.keys_lower, cache)))
        return matrix

    def _encode_generated(self, X: pd.DataFrame, indices: list[int],
                          cache: dict[Any, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`NumericEncoder.transform_many` of these generated columns, the numbers of their ``transform``:
        their sources are read once per frame (``cache``), as are the values of the arithmetic kinds, which are the
        same in every fold; group means and frequencies are looked up in this preprocessor's tables."""
        encoders: list[Any] = [self.encoders_[i] for i in indices]
        floats = _floats(X, [c for e in encoders for c, role in zip(e.sources, e.roles, strict=True)
                             if role is ColumnRole.NUMERIC], cache)
        raw = np.empty((len(X), len(encoders)), dtype=np.float64)
        for j, encoder in enumerate(encoders):
            feature = encoder.feature
            memo = ("generated", feature.kind, encoder.sources)  # holds a tuple: no numeric matrix's key
            if feature.stateless and memo in cache:
                raw[:, j] = cache[memo]
                continue
            values = feature.combine([floats[c] if role is ColumnRole.NUMERIC else _keys(X, c, False, cache)
                                      for c, role in zip(encoder.sources, encoder.roles, strict=True)])
            if feature.stateless:
                cache[memo] = values
            raw[:, j] = values
        return NumericEncoder.transform_many([e.numeric for e in encoders], raw)

    def columns_behind(self, outputs: np.ndarray) -> list[str]:
        """The input columns whose encodings include any of these output columns (a generated column's sources)."""
        return list(dict.fromkeys(self._inputs_of(self._encoders_behind(outputs))))

    def _inputs_of(self, encoders: Any) -> list[str]:
        """The input columns these encoders read."""
        return [self.encoders_[i].column for i in encoders] if not self._generated \
            else [c for i in encoders for c in (self.encoders_[i].sources or (self.encoders_[i].column,))]

    def _encoders_behind(self, outputs: np.ndarray) -> list[int]:
        return np.unique(self._owner[np.asarray(outputs, dtype=np.int64)]).tolist()

    def _place_numeric(self, matrix: np.ndarray, indices: list[int],
                       encoded: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Place what :meth:`NumericEncoder.transform_many` gave for these encoders."""
        values, indicators, with_indicator = encoded
        starts = self._starts[indices]
        matrix[:, starts] = values
        if with_indicator.size:
            matrix[:, starts[with_indicator] + 1] = indicators

    def _place(self, matrix: np.ndarray, i: int, block: np.ndarray) -> None:
        width = len(self.encoders_[i].feature_names_)
        if block.shape != (matrix.shape[0], width):  # a bug in an encoder, not in the data
            raise RuntimeError(f"Encoder of {self.encoders_[i].column!r} returned {block.shape}, expected "
                               f"{(matrix.shape[0], width)}.")
        matrix[:, self._starts[i]: self._starts[i] + width] = block

    @property
    def n_features_out_(self) -> int:
        return len(self.feature_names_)

    def _context(self, y: np.ndarray | None) -> EncoderContext:
        """The target as target encoding sees it: its number of classes (at least 2), or 0 for a value per row."""
        task = self.schema.task
        if not get_task(task).classification:
            return EncoderContext(self.kind, task, 0, self.seed)
        if self.schema.classes:
            n_classes = len(self.schema.classes)
        elif y is not None and len(y):
            n_classes = int(np.max(y)) + 1
        else:
            n_classes = 2
        return EncoderContext(self.kind, task, max(n_classes, 2), self.seed)

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, encode: bool) -> np.ndarray:
        self._check_columns(X, DataError)
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(X):
                raise DataError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
        context = self._context(y)
        encoders = [ENCODERS[spec.role](spec.name, context) for spec in self.schema.features]
        encoders += generated_encoders(self.schema, context)  # schema.extra's generated columns, after the others
        blocks = []
        for encoder in encoders:
            if encode:
                blocks.append(encoder.fit_transform(_read(X, encoder), y))
            else:
                encoder.fit(_read(X, encoder), y)
        self._adopt(context, encoders)
        return self._assemble(blocks, len(X)) if encode else np.empty((0, 0), dtype=np.float32)

    def _check_columns(self, X: pd.DataFrame, error: type[DataError], names: list[str] | None = None) -> None:
        if not isinstance(X, pd.DataFrame):
            raise error(f"Expected a pandas DataFrame, got {type(X).__name__}.")
        names = [c.name for c in self.schema.features] if names is None else names
        missing = [name for name in names if name not in X.columns]
        if missing:
            raise error(f"Missing feature column(s) {missing}; the data must hold every column of the schema.")

    def _adopt(self, context: EncoderContext, encoders: list[ColumnEncoder]) -> None:
        """Take fitted (or restored) encoders and derive the output layout from them."""
        self.context_ = context
        self.encoders_ = encoders
        self._generated = any(e.sources is not None for e in encoders)
        names: list[str] = []
        self.categorical_indices_: list[int] = []
        self.categorical_cardinalities_: list[int] = []
        for encoder in encoders:
            for local, cardinality in encoder.categorical_:
                self.categorical_indices_.append(len(names) + local)
                self.categorical_cardinalities_.append(int(cardinality))
            names += encoder.feature_names_
        self.feature_names_ = _safe_names(names)
        widths = [len(e.feature_names_) for e in encoders]
        self._starts = np.cumsum([0, *widths])[:-1].astype(np.int64)  # each encoder's first output column
        self._owner = np.repeat(np.arange(len(encoders)), widths)  # each output column's encoder

    def _assemble(self, blocks: list[np.ndarray], n_rows: int) -> np.ndarray:
        out = np.empty((n_rows, len(self.feature_names_)), dtype=np.float32, order="C")
        for i, block in enumerate(blocks):
            self._place(out, i, block)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as plain JSON data (no code, no pickle)."""
        if not hasattr(self, "encoders_"):
            raise NotFittedError("This Preprocessor is not fitted yet; fit it before saving.")
        return {
            "format": FORMAT,
            "kind": self.kind,
            "seed": self.seed,
            "context": self.context_.to_dict(),
            "columns": [
                {"name": e.column, "role": self.schema.column(e.column).role.value, "state": e.get_state()}
                for e in self.encoders_ if e.sources is None
            ],
            **({"generated": [e.get_state() for e in self.encoders_ if e.sources is not None]}
               if self._generated else {}),
            "feature_names": list(self.feature_names_),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], schema: Schema) -> Preprocessor:
        """Restore a preprocessor saved by :meth:`to_dict`; its ``transform`` gives the very same numbers.

        Raises:
            ArtifactError: the data was not written by this version or does not match ``schema``.
        """
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            found = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ArtifactError(f"Not a saved preprocessor of format {FORMAT!r} (found {found!r}); refit the model.")
        pre = cls(d["kind"], schema, int(d["seed"]))
        context = EncoderContext.from_dict(d["context"])
        encoders = []
        for column in d["columns"]:
            name, role = column["name"], ColumnRole(column["role"])
            try:
                spec = schema.column(name)
            except KeyError:
                raise ArtifactError(f"The saved preprocessor uses column {name!r}, which the schema lacks.") from None
            if spec.role != role:
                raise ArtifactError(
                    f"Column {name!r} was saved as {role.value}, but the schema says {spec.role.value}; "
                    "refit the model."
                )
            encoder = ENCODERS[role](name, context)
            encoder.set_state(column["state"])
            encoders.append(encoder)
        encoders += restore_encoders(d.get("generated", []), context, schema)
        pre._adopt(context, encoders)
        return pre

    def __repr__(self) -> str:
        fitted = f", n_features_out={self.n_features_out_}" if hasattr(self, "encoders_") else ""
        return f"Preprocessor(kind={self.kind!r}, seed={self.seed}{fitted})"
