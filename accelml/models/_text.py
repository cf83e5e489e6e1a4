"""TF-IDF over word and character n-grams, with the vocabulary a family's trial chose, stored as JSON.

A family fed the ``text`` input (an object array of cleaned texts, one column per TEXT column) builds its own
features with the settings its search space tunes: word n-grams up to ``word_ngrams`` words, character n-grams inside
word boundaries (``char_ngrams``: ``"none"``, ``"2-4"``, ``"2-5"``, ``"3-5"``), at most ``max_features`` terms of each
kind per column (the most frequent), terms in at least ``min_df`` documents, sublinear tf (``1 + log tf``) or raw
counts, then idf and unit l2 norm per block. scikit-learn's ``CountVectorizer`` counts; restoring rebuilds only the
counting from the stored vocabulary, so nothing is refitted and nothing unpickled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["CHAR_RANGES", "VECTORIZER_KEYS", "TfidfFeatures"]

CHAR_RANGES = {"none": None, "2-4": (2, 4), "2-5": (2, 5), "3-5": (3, 5)}
VECTORIZER_KEYS = ("word_ngrams", "char_ngrams", "max_features", "min_df", "sublinear")
_TOKENS = r"(?u)\b\w+\b|[!?]"  # words of any length, and ! and ? (they carry sentiment)


def _counter(analyzer: str, ngrams: tuple[int, int], **kwargs: Any) -> Any:
    from sklearn.feature_extraction.text import CountVectorizer

    if analyzer == "word":
        return CountVectorizer(ngram_range=ngrams, lowercase=True, token_pattern=_TOKENS, dtype=np.float32, **kwargs)
    return CountVectorizer(analyzer="char_wb", ngram_range=ngrams, lowercase=True, dtype=np.float32, **kwargs)


class TfidfFeatures:
    """Sparse TF-IDF features of an object array of texts ``(n, columns)``.

    Example:
        >>> texts = np.array([["a good film"], ["a bad film"], ["good good"]], dtype=object)
        >>> tf = TfidfFeatures({"word_ngrams": 1, "char_ngrams": "none", "max_features": 10, "min_df": 1,
        ...                     "sublinear": True})
        >>> X = tf.fit_transform(texts)
        >>> X.shape, tf.terms()[:3]
        ((3, 4), ['a', 'bad', 'film'])
        >>> np.allclose(TfidfFeatures.from_dict(tf.to_dict()).transform(texts).toarray(), X.toarray())
        True
    """

    def __init__(self, params: dict[str, Any]):
        self.params = {k: params[k] for k in VECTORIZER_KEYS}

    def _plan(self) -> list[tuple[str, tuple[int, int]]]:
        plan = [("word", (1, int(self.params["word_ngrams"])))]
        chars = CHAR_RANGES[str(self.params["char_ngrams"])]
        if chars is not None:
            plan.append(("char", chars))
        return plan

    def fit_transform(self, texts: np.ndarray) -> sp.csr_matrix:
        texts = _columns(texts)
        self.blocks_: list[dict[str, Any]] = []
        mats = []
        for j, column in enumerate(texts):
            for analyzer, ngrams in self._plan():
                counter = _counter(analyzer, ngrams, min_df=min(int(self.params["min_df"]), max(1, len(column) // 2)),
                                   max_features=int(self.params["max_features"]))
                try:
                    counts = counter.fit_transform(column).tocsr()
                except ValueError:  # no term in enough documents (or no term at all)
                    continue
                df = np.bincount(counts.indices, minlength=counts.shape[1])
                idf = np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0
                vocabulary = sorted(counter.vocabulary_.items(), key=lambda kv: kv[1])
                block = {"column": j, "analyzer": analyzer, "ngrams": list(ngrams),
                         "terms": [str(t) for t, _ in vocabulary], "idf": idf.astype(np.float32)}
                self.blocks_.append(block)
                mats.append(self._weigh(counts, block["idf"]))
        self._counters = None
        return _stack(mats, len(texts[0]) if texts else 0)

    def transform(self, texts: np.ndarray) -> sp.csr_matrix:
        texts = _columns(texts)
        counters = self._restore_counters()
        mats = [self._weigh(counter.transform(texts[block["column"]]).tocsr(), block["idf"])
                for counter, block in zip(counters, self.blocks_, strict=True)]
        return _stack(mats, len(texts[0]) if texts else 0)

    def _restore_counters(self) -> list[Any]:
        if getattr(self, "_counters", None) is None:
            self._counters = [_counter(b["analyzer"], tuple(b["ngrams"]),
                                       vocabulary={t: i for i, t in enumerate(b["terms"])}) for b in self.blocks_]
        return self._counters

    def _weigh(self, counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
        x = counts.astype(np.float32)
        x.sum_duplicates()
        if self.params["sublinear"]:
            np.log(x.data, out=x.data)
            x.data += 1.0
        x.data *= idf[x.indices]
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        norms = np.sqrt(np.bincount(rows, weights=x.data.astype(np.float64) ** 2, minlength=x.shape[0]))
        x.data /= np.where(norms > 0, norms, 1.0)[rows].astype(np.float32)
        return x

    def terms(self) -> list[str]:
        """Every output column's term (``column:analyzer:term`` when several text columns are read)."""
        many = len({b["column"] for b in self.blocks_}) > 1
        out = []
        for b in self.blocks_:
            prefix = f"{b['column']}:" if many else ""
            out += [f"{prefix}{t}" if b["analyzer"] == "word" else f"{prefix}'{t}'" for t in b["terms"]]
        return out

    @property
    def n_features_(self) -> int:
        return sum(len(b["terms"]) for b in self.blocks_)

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params,
                "blocks": [{**b, "idf": [float(v) for v in b["idf"]]} for b in self.blocks_]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TfidfFeatures:
        features = cls(d["params"])
        features.blocks_ = [{**b, "idf": np.asarray(b["idf"], dtype=np.float32)} for b in d["blocks"]]
        features._counters = None
        return features


def _columns(texts: np.ndarray) -> list[list[str]]:
    arr = np.asarray(texts, dtype=object)
    if arr.ndim == 1:
        arr = arr[:, None]
    return [[str(v) for v in arr[:, j]] for j in range(arr.shape[1])]


def _stack(mats: list[sp.csr_matrix], n: int) -> sp.csr_matrix:
    if not mats:
        return sp.csr_matrix((n, 0), dtype=np.float32)
    return sp.hstack(mats, format="csr", dtype=np.float32)
