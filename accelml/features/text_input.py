"""The ``text`` input kind: each TEXT feature column of prose (see :func:`prose_columns`) as the texts themselves,
cleaned, for the families that read text (TF-IDF models with their own tuned vocabulary, the fine-tuned encoder).

Stateless (see :mod:`accelml.features.inputs`): cleaning a text needs nothing learned. The policy, the same in
training and prediction:

* a missing value is the empty text;
* control characters (binary junk: NUL bytes, escape codes) become spaces and runs of whitespace one space;
* a text longer than :data:`MAX_CHARS` characters is cut there (a 20-page document; the encoders read samples of
  long texts anyway, see :func:`accelml.features.text_encoders.chunks`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import ArtifactError, NotFittedError, SchemaError
from accelml.schema.schema import ColumnRole, Schema

__all__ = ["FORMAT", "MAX_CHARS", "PROSE_WORDS", "TextInput", "clean_texts", "mark_prose", "prose_columns",
           "text_columns"]

FORMAT = "accelml.text_input/1"
MAX_CHARS = 100_000
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]+")
_SPACE = re.compile(r"\s+")
# Words per text, on average, from which a TEXT column is prose (reviews, messages, phrases: SST-2's training phrases
# average 9.4) rather than names or titles (Titanic's names 4.1, MovieLens titles 3): prose is what the text
# families and encoders read; short texts stay with the table's TF-IDF encoder.
PROSE_WORDS = 6.0


def text_columns(schema: Schema) -> list[str]:
    """The schema's TEXT feature columns, in order."""
    return [c.name for c in schema.features if c.role is ColumnRole.TEXT]


def prose_columns(schema: Schema) -> list[str]:
    """The TEXT feature columns the text families read: those :func:`mark_prose` found to be prose (every TEXT column
    when the schema was not marked)."""
    marked = schema.extra.get("prose")
    return [c for c in text_columns(schema) if marked is None or c in marked]


def mark_prose(frame: pd.DataFrame, schema: Schema, given: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Record in ``schema.extra["prose"]`` which TEXT columns hold prose (at least :data:`PROSE_WORDS` words per
    non-empty text on average, over up to 2,000 of them, or ``given`` the text role by the user); returns them.

    >>> from accelml.schema.schema import ColumnSpec
    >>> schema = Schema([ColumnSpec("name", ColumnRole.TEXT, "object"), ColumnSpec("review", ColumnRole.TEXT,
    ...                  "object")], target="y", task="binary")
    >>> frame = pd.DataFrame({"name": ["Braund, Mr. Owen"] * 3, "review": ["a film I will not soon forget"] * 3})
    >>> mark_prose(frame, schema), prose_columns(schema)
    (['review'], ['review'])
    """
    prose = []
    for column in text_columns(schema):
        texts = [t for t in clean_texts(frame[column].iloc[:2000]) if t]
        if column in given or (texts and float(np.mean([len(t.split()) for t in texts])) >= PROSE_WORDS):
            prose.append(column)
    schema.extra["prose"] = prose
    return prose


def clean_texts(values: pd.Series | list[Any]) -> list[str]:
    """Texts as the families read them (see the module's policy).

    >>> clean_texts(pd.Series(["a\\x00\\x01b  c", None, 3.5, float("nan")]))
    ['a b c', '', '3.5', '']
    """
    out = []
    for v in list(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append("")
            continue
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        text = _SPACE.sub(" ", _JUNK.sub(" ", str(v)[:MAX_CHARS])).strip()
        out.append(text)
    return out


class TextInput:
    """Every TEXT feature column's cleaned texts: an object array ``(n, columns)`` of ``str``.

    Example:
        >>> from accelml.schema.schema import ColumnSpec
        >>> schema = Schema([ColumnSpec("review", ColumnRole.TEXT, "object")], target="y", task="binary")
        >>> TextInput("text", schema).fit_transform(pd.DataFrame({"review": ["Good  film", None]})).tolist()
        [['Good film'], ['']]
    """

    stateless: ClassVar[bool] = True
    opens_first: ClassVar[bool] = True  # text families open the search (see opening_specs)

    @classmethod
    def accepts(cls, schema: Schema) -> bool:
        """Whether the schema has a TEXT feature column of prose."""
        return bool(prose_columns(schema))

    def __init__(self, kind: str, schema: Schema, seed: int = 0) -> None:
        self.kind, self.schema, self.seed = kind, schema, seed

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> TextInput:
        columns = prose_columns(self.schema)
        if not columns:
            raise SchemaError("the data has no text column of prose")
        self._adopt(columns)
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "columns_"):
            raise NotFittedError("This TextInput is not fitted yet; call fit or fit_transform first.")
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise SchemaError(f"text column(s) {', '.join(map(repr, missing))} missing from the data to predict")
        out = np.empty((len(X), len(self.columns_)), dtype=object)
        for j, column in enumerate(self.columns_):
            out[:, j] = clean_texts(X[column])
        return out

    def _adopt(self, columns: list[str]) -> None:
        self.columns_ = list(columns)
        self.feature_names_ = list(columns)
        self.categorical_indices_: list[int] = []
        self.categorical_cardinalities_: list[int] = []

    @property
    def n_features_out_(self) -> int:
        return len(self.columns_)

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "columns_"):
            raise NotFittedError("This TextInput is not fitted yet; fit it before saving.")
        return {"format": FORMAT, "kind": self.kind, "columns": self.columns_}

    @classmethod
    def from_dict(cls, d: dict[str, Any], schema: Schema) -> TextInput:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ArtifactError(f"not a saved text input of format {FORMAT!r}; refit the model")
        unknown = [c for c in d["columns"] if c not in text_columns(schema)]
        if unknown:
            raise ArtifactError(f"the saved text input reads column(s) {unknown}, which are not text columns of the "
                                "schema; refit the model")
        featurizer = cls(d["kind"], schema)
        featurizer._adopt(d["columns"])
        return featurizer

    def __repr__(self) -> str:
        return f"TextInput(kind={self.kind!r})"
