"""The ``sentence`` input kind: each TEXT column of prose as a pretrained sentence encoder's 384-d vector, next to the
table's other columns (imputed, encoded, scaled as the ``dense`` input makes them), for the tabular families
(``lgbm_sentence``, ``linear_sentence``).

The encoder of each column is chosen from its training texts: all-MiniLM-L6-v2 for English, multilingual e5-small for
other languages (:func:`~accelml.features.text_encoders.choose_encoder`). Vectors are remembered per text for the
whole run, so a fold after the first, a refit and every family read them instead of computing them again: the
encoding is done once per run. The other columns are fitted per training fold, as the ``dense`` input is.

What it keeps is plain JSON: each column's encoder record (packages, versions, the weight file's sha256, checked at
load) and the other columns' preprocessing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import ArtifactError, NotFittedError, SchemaError
from accelml.features.image_embedding import safe_feature_name
from accelml.schema.schema import Schema

__all__ = ["FORMAT", "SentenceEmbedding"]

FORMAT = "accelml.sentence_embedding/1"


class SentenceEmbedding:
    """``(n, 384 * text columns + other features)`` float32: the encoders' vectors, then the other columns.

    Example:
        >>> from accelml.schema.schema import ColumnRole, ColumnSpec
        >>> schema = Schema([ColumnSpec("x", ColumnRole.NUMERIC, "float64")], target="y", task="binary")
        >>> SentenceEmbedding.accepts(schema)
        False
    """

    stateless: ClassVar[bool] = False  # the other columns are fitted per fold; the vectors are remembered per text
    opens_first: ClassVar[bool] = True
    batch_size: ClassVar[int] = 64

    @classmethod
    def accepts(cls, schema: Schema) -> bool:
        """Whether the schema has a TEXT feature column and an encoder is installed."""
        from accelml.features.text_encoders import available_encoders
        from accelml.features.text_input import prose_columns

        return bool(prose_columns(schema)) and bool(available_encoders())

    @classmethod
    def estimated_seconds(cls, n_rows: int, X: pd.DataFrame | None = None, schema: Schema | None = None) -> float:
        """Seconds to embed the texts of ``X`` (those not embedded yet), import included: the search does not start
        this input when it would not finish (it cannot be stopped half-way)."""
        from accelml._device import gpu_count
        from accelml.features.text_encoders import choose_encoder, estimated_seconds
        from accelml.features.text_input import clean_texts, prose_columns

        if X is None or schema is None:
            return 0.004 * n_rows
        total = 0.0
        for column in prose_columns(schema):
            texts = clean_texts(X[column])
            name = choose_encoder(texts)
            if name is not None:
                total += estimated_seconds(name, texts, gpu=bool(gpu_count()))
        return total

    def __init__(self, kind: str, schema: Schema, seed: int = 0) -> None:
        self.kind, self.schema, self.seed = kind, schema, seed

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> SentenceEmbedding:
        self._fit(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
        others = self._fit(X, y)
        return self._assemble(X, others)

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None) -> np.ndarray | None:
        from accelml.features.text_encoders import choose_encoder, encoder_record
        from accelml.features.text_input import clean_texts, prose_columns

        columns = prose_columns(self.schema)
        if not columns:
            raise SchemaError("the data has no text column to embed")
        encoders = []
        for column in columns:
            name = choose_encoder(clean_texts(X[column].iloc[:2000]))
            if name is None:
                raise SchemaError("no text encoder is installed: install accelml[text]")
            encoders.append(encoder_record(name))
        self.encoders_ = encoders
        self.columns_ = columns
        rest = _rest(self.schema)
        others = None
        if rest is not None:
            from accelml.features.preprocessor import Preprocessor

            self.others_ = Preprocessor("dense", rest, self.seed)
            others = self.others_.fit_transform(X, y)
        else:
            self.others_ = None
        self._adopt()
        return others

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "encoders_"):
            raise NotFittedError("This SentenceEmbedding is not fitted yet; call fit or fit_transform first.")
        return self._assemble(X, None if self.others_ is None else self.others_.transform(X))

    def _assemble(self, X: pd.DataFrame, others: np.ndarray | None) -> np.ndarray:
        from accelml._device import torch_device
        from accelml.features.text_encoders import DIM, embed_texts
        from accelml.features.text_input import clean_texts

        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise SchemaError(f"text column(s) {', '.join(map(repr, missing))} missing from the data")
        width = DIM * len(self.columns_) + (0 if others is None else others.shape[1])
        out = np.empty((len(X), width), dtype=np.float32)
        device = torch_device()
        for i, (column, record) in enumerate(zip(self.columns_, self.encoders_, strict=True)):
            out[:, i * DIM : (i + 1) * DIM] = embed_texts(record["encoder"], clean_texts(X[column]),
                                                        batch_size=self.batch_size, device=device)
        if others is not None:
            out[:, DIM * len(self.columns_) :] = others
        return out

    def _adopt(self) -> None:
        from accelml.features.text_encoders import DIM

        names = [f"{safe_feature_name(c)}__{r['encoder']}{j}"
                 for c, r in zip(self.columns_, self.encoders_, strict=True) for j in range(DIM)]
        self.feature_names_ = names + (list(self.others_.feature_names_) if self.others_ is not None else [])
        self.categorical_indices_: list[int] = []
        self.categorical_cardinalities_: list[int] = []

    @property
    def n_features_out_(self) -> int:
        return len(self.feature_names_)

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "encoders_"):
            raise NotFittedError("This SentenceEmbedding is not fitted yet; fit it before saving.")
        return {"format": FORMAT, "kind": self.kind, "seed": self.seed,
                "columns": [{"column": c, "encoder": r} for c, r in zip(self.columns_, self.encoders_, strict=True)],
                "others": None if self.others_ is None else self.others_.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], schema: Schema) -> SentenceEmbedding:
        """Restore a featurizer saved by :meth:`to_dict`, after checking each encoder is the one it was fitted with.

        Raises:
            ArtifactError: not a saved sentence embedding, a column the schema lacks, or another encoder installed.
        """
        from accelml.features.preprocessor import Preprocessor
        from accelml.features.text_encoders import verify_encoder
        from accelml.features.text_input import prose_columns

        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ArtifactError(f"not a saved sentence embedding of format {FORMAT!r}; refit the model")
        featurizer = cls(d["kind"], schema, int(d.get("seed", 0)))
        for column in d["columns"]:
            if column["column"] not in prose_columns(schema):
                raise ArtifactError(f"the saved sentence embedding reads column {column['column']!r}, which is not a "
                                    "text column of the schema; refit the model")
            verify_encoder(column["encoder"])
        featurizer.columns_ = [c["column"] for c in d["columns"]]
        featurizer.encoders_ = [c["encoder"] for c in d["columns"]]
        rest = _rest(schema)
        featurizer.others_ = None if d.get("others") is None or rest is None else Preprocessor.from_dict(d["others"],
                                                                                                       rest)
        featurizer._adopt()
        return featurizer

    def __repr__(self) -> str:
        return f"SentenceEmbedding(kind={self.kind!r})"


def _rest(schema: Schema) -> Schema | None:
    """The schema without its columns of prose (short texts stay, TF-IDF-encoded), or None when no feature is left."""
    from accelml.features.preprocessor import Preprocessor
    from accelml.features.text_input import prose_columns

    prose = set(prose_columns(schema))
    specs = [c for c in schema.columns if c.name not in prose]
    rest = Schema(specs, target=schema.target, task=schema.task, classes=schema.classes, extra=schema.extra)
    return rest if Preprocessor.accepts(rest) else None

