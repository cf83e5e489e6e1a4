"""What a model family is fed: the :data:`INPUTS` registry of featurizers, one line each.

A family declares its input kind (``Model.preprocessing``: ``"tree"``, ``"dense"``, and next pretrained encoders
and images). Every featurizer follows one contract:

* ``Featurizer(kind, schema, seed)``; ``kind`` is its registry key, ``stateless`` a class attribute;
* ``accepts(schema)`` (a classmethod): whether it has anything to encode in this data;
* ``fit(X, y)``, ``fit_transform(X, y)`` (the rows a model trains on) and ``transform(X)`` (every other row), giving
  a float32 matrix; ``categorical_indices_`` / ``categorical_cardinalities_`` name the columns that hold codes;
* ``to_dict()`` plain JSON (never pickle) holding ``"kind"``, and ``from_dict(d, schema)`` restoring it.

A *stateful* featurizer (scaling, encodings) learns from each training fold and is fitted per fold. A *stateless*
one (a pretrained encoder: the same text always gives the same vector) is computed once per run on every row and
sliced per fold (see :class:`accelml.search.folds.FoldCache`).

Example:
    >>> from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
    >>> schema = Schema([ColumnSpec("x", ColumnRole.NUMERIC, "float64")], target="y", task="regression")
    >>> featurizer = make_input("dense", schema)
    >>> type(featurizer).__name__, featurizer.stateless, INPUTS["dense"].accepts(schema)
    ('Preprocessor', False, True)
    >>> make_input("images", schema)
    Traceback (most recent call last):
    ...
    accelml.exceptions.ConfigError: unknown input 'images'; did you mean 'image'? Valid: dense, embed, image, sentence, text, tree
"""

from __future__ import annotations

from typing import Any

from accelml.exceptions import ArtifactError
from accelml.registry import Registry
from accelml.schema import Schema

__all__ = ["INPUTS", "load_input", "make_input"]

INPUTS = Registry(
    "input",
    {
        "dense": "accelml.features.preprocessor:Preprocessor",  # imputed, encoded, scaled: linear, kNN, networks
        "embed": "accelml.features.image_embedding:ImageEmbedding",  # pretrained image features (EfficientNet-Lite0)
        "image": "accelml.features.images:ImageInput",  # uint8 pixels (n, channels, size, size): image networks
        "sentence": "accelml.features.text_embedding:SentenceEmbedding",  # sentence-encoder vectors + other columns
        "text": "accelml.features.text_input:TextInput",  # the cleaned texts: TF-IDF families, the fine-tuned encoder
        "tree": "accelml.features.preprocessor:Preprocessor",  # native categories and missing values: tree ensembles
    },
)


def make_input(kind: str, schema: Schema, seed: int = 0) -> Any:
    """A new, unfitted featurizer of input ``kind`` for ``schema``'s feature columns."""
    return INPUTS[kind](kind, schema, seed)


def load_input(d: dict[str, Any], schema: Schema) -> Any:
    """Restore a featurizer saved with ``to_dict`` (plain JSON naming its kind).

    Raises:
        ArtifactError: the JSON names no known input kind.
    """
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind not in INPUTS:
        raise ArtifactError(f"the saved preprocessing names input kind {kind!r}, which this version does not know; "
                            f"known: {', '.join(INPUTS)}")
    return INPUTS[kind].from_dict(d, schema)
