"""Text columns as TF-IDF (word unigrams and bigrams), stored as a vocabulary and idf weights.

scikit-learn's vectorizers fit the vocabulary; transforming rebuilds only the counting (``CountVectorizer`` with the
stored vocabulary) and applies sublinear tf, idf and the l2 norm here, so restoring from JSON never refits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

from accelml.features.base import ColumnEncoder
from accelml.features.coerce import to_text

__all__ = ["MAX_TERMS", "TextEncoder"]

MAX_TERMS = {"tree": 100, "dense": 300}  # TF-IDF columns per text column
_COUNTING = {"ngram_range": (1, 2), "lowercase": True}


class TextEncoder(ColumnEncoder):
    """One text column (missing → ``''``) as l2-normalised TF-IDF with sublinear tf over terms in ≥ 2 documents.

    ``tree``: the 100 most frequent terms plus ``__n_chars`` and ``__n_words``. ``dense``: the 300 most frequent.
    A column whose documents share no term yields no TF-IDF columns.

    Example:
        >>> from accelml.features.base import EncoderContext
        >>> enc = TextEncoder("t", EncoderContext("dense", "binary", 2)).fit(pd.Series(["red car", "red bus", None]))
        >>> enc.feature_names_, enc.transform(pd.Series(["a red thing"])).tolist()
        (['t__tfidf_red'], [[1.0]])
    """

    def _count(self, texts: list[str]) -> tuple[dict[str, Any], sp.csr_matrix | None]:
        """Fit the vocabulary; returns the state and the training counts restricted to it."""
        vectorizer = CountVectorizer(**_COUNTING, min_df=2, max_features=MAX_TERMS[self.kind])
        try:
            counts = vectorizer.fit_transform(texts)
        except ValueError:  # no term in two documents (or no term at all)
            return {"vocabulary": {}, "idf": []}, None
        idf = TfidfTransformer(sublinear_tf=True).fit(counts).idf_
        vocabulary = {str(term): int(i) for term, i in sorted(vectorizer.vocabulary_.items(), key=lambda kv: kv[1])}
        return {"vocabulary": vocabulary, "idf": [float(v) for v in idf]}, counts.tocsr()

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        return self._count(to_text(values))[0]

    def fit_transform(self, values: pd.Series, y: np.ndarray | None = None) -> np.ndarray:
        """Fit and encode, reusing the training counts instead of tokenizing twice (the result is the same)."""
        texts = to_text(values)
        state, counts = self._count(texts)
        self.set_state(state)
        return self._encode(texts, counts)

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        self.categorical_ = []
        vocabulary = state["vocabulary"]
        self._idf = np.asarray(state["idf"], dtype=np.float64)
        self._vectorizer = CountVectorizer(**_COUNTING, vocabulary=vocabulary) if vocabulary else None
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        self.feature_names_ = [f"{self.column}__tfidf_{t}" for t in terms]
        if self.kind == "tree":
            self.feature_names_ += [f"{self.column}__n_chars", f"{self.column}__n_words"]

    def _tfidf(self, counts: sp.csr_matrix) -> np.ndarray:
        """Sublinear tf times idf, each row scaled to unit l2 norm (rows without terms stay zero)."""
        x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        x.sum_duplicates()
        x.sort_indices()
        np.log(x.data, out=x.data)
        x.data += 1.0
        x.data *= self._idf[x.indices]
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        norms = np.sqrt(np.bincount(rows, weights=x.data * x.data, minlength=x.shape[0]))
        x.data /= norms[rows]
        return x.toarray()

    def _encode(self, texts: list[str], counts: sp.csr_matrix | None) -> np.ndarray:
        n = len(texts)
        if self._vectorizer is None:
            blocks = [np.zeros((n, 0), dtype=np.float64)]
        else:
            blocks = [self._tfidf(self._vectorizer.transform(texts) if counts is None else counts)]
        if self.kind == "tree":
            blocks.append(np.array([len(t) for t in texts], dtype=np.float64)[:, None])
            blocks.append(np.array([len(t.split()) for t in texts], dtype=np.float64)[:, None])
        return np.hstack(blocks)

    def transform(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        return self._encode(to_text(values), None)
