"""``explain_text``: which words of one text moved its prediction, by occlusion.

Each word (or, in a long text, each span of consecutive words) is removed from the text in turn and the whole row is
predicted again, every variant in one batch; a word's effect is how much the output drops without it. Nothing is
asked of the model but ``predict_proba`` (classification) or ``predict`` on a DataFrame, so it explains any model
that reads the text: TF-IDF, sentence vectors, a fine-tuned transformer, or an ensemble of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ConfigError
from accelml.tasks import get_task

__all__ = ["MAX_WORDS", "TextExplanation", "explain_text", "word_spans"]

MAX_WORDS = 60  # occluded pieces at most: longer texts are cut into this many spans of consecutive words
_WORD = re.compile(r"\S+")


@dataclass
class TextExplanation:
    """What :func:`explain_text` found for one row.

    Attributes:
        column: The text column explained.
        text: Its text in the row.
        output: What the effects measure: ``"P(spam)"`` (the probability of a class) or the target's name.
        label: The class followed (classification), else ``None``.
        prediction: The output for the whole text.
        words: One row per occluded word or span, largest effect first: ``word`` (its text), ``position`` (index of
            its first word in the text), ``n_words`` and ``effect`` (the output with the whole text minus the output
            without the word: > 0 when the word pushed towards the class, or raised the value).
    """

    column: str
    text: str
    output: str
    label: Any
    prediction: float
    words: pd.DataFrame

    @property
    def words_per_span(self) -> int:
        """Words removed at a time: 1 unless the text had more words than ``max_words``."""
        return int(self.words["n_words"].max()) if len(self.words) else 1

    def __str__(self) -> str:
        head = f"{self.output} = {self.prediction:.4g} for '{self.column}' ({len(self.words)} pieces occluded)"
        if self.words.empty:
            return head + "; the text has no words."
        return head + "; the output falls by 'effect' without each piece:\n" + self.words.to_string(index=False)


def word_spans(text: str, max_words: int = MAX_WORDS) -> list[tuple[int, int, int, int]]:
    """``(first word, words, start, end)`` of each piece to occlude: every whitespace-separated word, or, when there
    are more than ``max_words``, runs of consecutive words of equal length (``start``/``end``: character offsets).

    >>> word_spans("win a free prize")
    [(0, 1, 0, 3), (1, 1, 4, 5), (2, 1, 6, 10), (3, 1, 11, 16)]
    >>> word_spans("win a free prize", max_words=2)
    [(0, 2, 0, 5), (2, 2, 6, 16)]
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    size = max(1, math.ceil(len(words) / max_words))
    return [(i, min(size, len(words) - i), words[i][0], words[min(i + size, len(words)) - 1][1])
            for i in range(0, len(words), size)]


def _one_row(row: Any) -> pd.DataFrame:
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise ConfigError(f"explain_text explains one row; got a DataFrame of {len(row)} rows (pass "
                              "frame.iloc[[i]])")
        return row.reset_index(drop=True)
    if isinstance(row, pd.Series):
        return pd.DataFrame([row.to_dict()])
    if isinstance(row, Mapping):
        return pd.DataFrame([dict(row)])
    raise ConfigError(f"row must be a one-row DataFrame, a Series or a dict of column values; got {type(row).__name__}")


def _schema(model: Any) -> Any:
    """The training schema of an ``AutoML`` or of an estimator that wraps one (``automl_``), else ``None``."""
    for holder in (model, getattr(model, "automl_", None)):
        if holder is None:
            continue
        try:
            return holder.schema_
        except AttributeError:  # not fitted, or not an accelml model
            continue
    return None


def _column(model: Any, frame: pd.DataFrame, column: str | None) -> str:
    """``column``, or the model's first text column, or, for a model without a schema, the row's longest text."""
    from accelml.features.text_input import text_columns

    if column is None:
        schema = _schema(model)
        if schema is not None:
            names = text_columns(schema)
            if not names:
                raise ConfigError("the model reads no text column; name the column to explain with column=")
            column = names[0]
        else:
            texts = {c: v for c, v in frame.iloc[0].items() if isinstance(v, str)}
            if not texts:
                raise ConfigError("the row has no text value; name the column to explain with column=")
            column = max(texts, key=lambda c: len(_WORD.findall(texts[c])))
    if column not in frame.columns:
        raise ConfigError(f"column {column!r} is not in the row; its columns are {list(frame.columns)}")
    return column


def _outputs(model: Any, frame: pd.DataFrame) -> tuple[np.ndarray, list[Any] | None]:
    """``((n, K) probabilities, class labels)`` of a classifier, or ``((n,) values, None)``."""
    task = getattr(model, "task_", None)  # an AutoML says; another model is a classifier if it has predict_proba
    if (task is None or get_task(task).classification) and hasattr(model, "predict_proba"):
        proba = model.predict_proba(frame)
        if isinstance(proba, pd.DataFrame):
            return proba.to_numpy(dtype=np.float64), list(proba.columns)
        proba = np.asarray(proba, dtype=np.float64)
        classes = getattr(model, "classes_", None)
        return proba, list(classes) if classes is not None else list(range(proba.shape[1]))
    return np.ravel(np.asarray(model.predict(frame), dtype=np.float64)), None


def _class_index(label: Any, classes: list[Any], prediction: np.ndarray) -> int:
    if label is None:
        return int(np.argmax(prediction))
    for k, c in enumerate(classes):
        if c == label or str(c) == str(label):
            return k
    raise ConfigError(f"label {label!r} is not a class of the model; its classes are {classes}")


def explain_text(
    model: Any, row: Any, column: str | None = None, *, max_words: int = MAX_WORDS, label: Any = None
) -> TextExplanation:
    """Each word's effect on one prediction: remove it from the text, predict the row again, see the output fall.

    Args:
        model: A fitted :class:`accelml.AutoML` (or ``AutoClassifier``/``AutoRegressor``, or any model whose
            ``predict_proba``, or ``predict`` for regression, takes a DataFrame).
        row: The row to explain: a one-row DataFrame, a Series or a dict, with every column the model reads.
        column: The text column to occlude; ``None`` for the model's first text column.
        max_words: Pieces to occlude at most; a text with more words is cut into this many spans of consecutive words,
            each removed as a whole (one prediction per piece, all in one batch).
        label: The class whose probability to follow (classification); ``None`` for the predicted class.

    Returns:
        A :class:`TextExplanation`; its ``words`` are sorted by effect, largest first.

    Raises:
        ConfigError: ``row`` is not one row, ``column`` is not in it (or the model reads no text), ``label`` is not a
            class, or ``max_words`` is not a positive integer.

    Example:
        >>> import pandas as pd
        >>> class Spotter:  # any model: P(spam) rises with the word "free"
        ...     classes_ = ["ham", "spam"]
        ...     def predict_proba(self, frame):
        ...         p = [0.9 if "free" in t.split() else 0.2 for t in frame["message"]]
        ...         return [[1 - q, q] for q in p]
        >>> explanation = explain_text(Spotter(), {"message": "claim your free prize"})
        >>> top = explanation.words.iloc[0]
        >>> explanation.output, top["word"], round(float(top["effect"]), 2)
        ('P(spam)', 'free', 0.7)
    """
    if not isinstance(max_words, int) or isinstance(max_words, bool) or max_words < 1:
        raise ConfigError(f"max_words must be a positive integer; got {max_words!r}")
    frame = _one_row(row)
    column = _column(model, frame, column)
    value = frame[column].iloc[0]
    text = value if isinstance(value, str) else ("" if pd.isna(value) else str(value))
    spans = word_spans(text, max_words)
    batch = frame.iloc[np.zeros(1 + len(spans), dtype=int)].reset_index(drop=True)
    batch[column] = pd.Series([value] + [(text[:start].rstrip() + " " + text[end:].lstrip()).strip()
                                         for _, _, start, end in spans], dtype=object)
    outputs, classes = _outputs(model, batch)
    if classes is None:
        followed, output, index = outputs, str(getattr(_schema(model), "target", "prediction")), None
    else:
        index = _class_index(label, classes, outputs[0])
        followed, output = outputs[:, index], f"P({classes[index]})"
    words = pd.DataFrame({
        "word": [text[start:end] for _, _, start, end in spans],
        "position": [first for first, _, _, _ in spans],
        "n_words": [n for _, n, _, _ in spans],
        "effect": followed[0] - followed[1:],
    }, columns=["word", "position", "n_words", "effect"])
    words = words.sort_values(["effect", "position"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return TextExplanation(column=column, text=text, output=output, label=None if index is None else classes[index],
                           prediction=float(followed[0]), words=words)
