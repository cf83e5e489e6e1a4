"""Families that read the texts themselves (the ``text`` input) through TF-IDF features they tune: a linear model
(``tfidf_linear``: logistic regression, ridge for regression) and LightGBM (``tfidf_lgbm``).

Each trial fits its own vocabulary (:class:`~accelml.models._text.TfidfFeatures`) on its training rows with the
n-gram ranges, vocabulary size, document frequency and tf weighting its configuration names, so the search tunes
the features with the model. They read only the text columns; the table's other columns are the other families'
(the ensemble puts them together). The artifact is the vocabulary and idf as JSON and the model in its own format
(coefficients in ``.npz``, LightGBM's text file).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.budget import Deadline
from accelml.models._text import VECTORIZER_KEYS, TfidfFeatures
from accelml.models.base import CategoricalInfo, Model
from accelml.models.lgbm import LightGBMModel
from accelml.models.linear import linear_outputs
from accelml.space import Categorical, Dim, Float, Int

__all__ = ["TfidfLightGBMModel", "TfidfLinearModel"]

logger = logging.getLogger(__name__)

_VOCABULARY = "tfidf.json"
_SECONDS_PER_CHAR = 2e-6  # character n-grams 2-5 and word n-grams: 1,600 reviews of 3,900 characters in 11.7 s
_NO_ONNX = "its TF-IDF features are computed from the texts in Python; no ONNX graph is written for them"


class _Vectorizing:
    """The TF-IDF part both families share."""

    def _vectorize_fit(self, X: np.ndarray, deadline: Deadline | None = None) -> Any:
        """Fit the vocabulary and return the training rows' features. Counting character n-grams cannot be stopped
        half-way; when it would take more than a third of the time left (about 2 s per million characters), only
        words are counted, with a log line."""
        params = {**self.defaults, **(self.params or {})}  # type: ignore[attr-defined]
        remaining = deadline.remaining() if deadline is not None else float("inf")
        if params["char_ngrams"] != "none" and math.isfinite(remaining):
            chars = sum(len(str(v)) for v in np.asarray(X, dtype=object).ravel())
            if chars * _SECONDS_PER_CHAR > remaining / 3:
                logger.info("%s: counting words only: character n-grams of %d characters would take about %.0f s "
                            "of the %.0f s left", type(self).key, chars, chars * _SECONDS_PER_CHAR, remaining)
                params = {**params, "char_ngrams": "none"}
        self.tfidf_ = TfidfFeatures(params)
        return self.tfidf_.fit_transform(X)

    def _vectorize(self, X: np.ndarray) -> Any:
        return self.tfidf_.transform(X)

    def _save_vocabulary(self, folder: Path) -> None:
        (folder / _VOCABULARY).write_text(json.dumps(self.tfidf_.to_dict()))

    def _load_vocabulary(self, folder: Path) -> None:
        self.tfidf_ = TfidfFeatures.from_dict(json.loads((folder / _VOCABULARY).read_text()))


class TfidfLinearModel(_Vectorizing, Model):
    """Logistic regression (ridge for regression) on TF-IDF of word and character n-grams: the classic strong text
    baseline, seconds on tens of thousands of texts."""

    key: ClassVar[str] = "tfidf_linear"
    refit_many_folds: ClassVar[bool] = True  # see Model.refit_many_folds
    preprocessing: ClassVar[str] = "text"
    requires: ClassVar[tuple[str, ...]] = ("sklearn",)
    opening_rank: ClassVar[int] = 3
    memory_factor: ClassVar[float] = 4.0
    onnx_unsupported: ClassVar[str] = _NO_ONNX
    interruptible: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 0.5
    space: ClassVar[dict[str, Dim]] = {
        "C": Float(0.05, 50.0, log=True),
        "word_ngrams": Int(1, 3),
        "char_ngrams": Categorical(("none", "2-4", "2-5", "3-5")),
        "max_features": Int(5_000, 300_000, log=True),
        "min_df": Int(1, 3),
        "sublinear": Categorical((True, False)),
    }
    defaults: ClassVar[dict[str, Any]] = {"C": 4.0, "word_ngrams": 2, "char_ngrams": "2-5", "max_features": 200_000,
                                          "min_df": 2, "sublinear": True, "max_iter": 300}

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None):
        from sklearn.linear_model import LogisticRegression, Ridge

        self._start_fit(X, y)
        p = self._params()
        Z = self._vectorize_fit(X, deadline)
        if self.is_classifier:
            solver = "liblinear" if self.n_classes_ <= 2 else "lbfgs"
            est = LogisticRegression(C=float(p["C"]), max_iter=int(p["max_iter"]), solver=solver,
                                     random_state=self.seed)
            est.fit(Z, y)
            k = self.n_classes_ if self.n_classes_ > 2 else 1
            coef, intercept = np.zeros((k, Z.shape[1]), dtype=np.float32), np.zeros(k)
            if self.n_classes_ > 2:
                seen = np.asarray(est.classes_, dtype=int)
                coef[seen], intercept[seen] = est.coef_, est.intercept_
                intercept[np.setdiff1d(np.arange(self.n_classes_), seen)] = -1e3  # unseen class: ~zero probability
            else:
                coef, intercept = est.coef_.astype(np.float32), est.intercept_
        else:
            est = Ridge(alpha=1.0 / float(p["C"]), solver="sparse_cg", random_state=self.seed)
            est.fit(Z, y)
            coef, intercept = np.atleast_2d(est.coef_).astype(np.float32), np.atleast_1d(est.intercept_)
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        return self

    def _predict_raw(self, X):
        z = np.asarray(self._vectorize(X) @ self.coef_.T, dtype=np.float64) + self.intercept_
        return linear_outputs(z, self.is_classifier)

    def informative_terms(self, k: int = 15) -> list[dict[str, Any]]:
        """The ``k`` terms that push most towards each class (or the highest and lowest values for regression), by
        coefficient: ``[{"class": index, "term": ..., "weight": ...}]``; for a binary task class 1's are the largest
        coefficients and class 0's the smallest."""
        self._check_fitted()
        terms = self.tfidf_.terms()
        rows: list[dict[str, Any]] = []
        if self.coef_.shape[0] == 1:
            w = self.coef_[0]
            order = np.argsort(w)
            for cls, picks in ((1, order[::-1][:k]), (0, order[:k])):
                rows += [{"class": cls, "term": terms[i], "weight": float(w[i])} for i in picks
                         if (w[i] > 0) == (cls == 1) and w[i] != 0]
        else:
            for cls, w in enumerate(self.coef_):
                rows += [{"class": cls, "term": terms[i], "weight": float(w[i])}
                         for i in np.argsort(w)[::-1][:k] if w[i] > 0]
        return rows

    def _save_state(self, folder: Path) -> dict[str, Any]:
        self._save_vocabulary(folder)
        np.savez(folder / "linear.npz", coef=self.coef_, intercept=self.intercept_)
        return {"files": [_VOCABULARY, "linear.npz"]}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        self._load_vocabulary(folder)
        with np.load(folder / "linear.npz", allow_pickle=False) as data:
            self.coef_, self.intercept_ = data["coef"], data["intercept"]


class TfidfLightGBMModel(_Vectorizing, LightGBMModel):
    """LightGBM on sparse TF-IDF of word (and optionally character) n-grams: interactions between words that a linear
    model cannot see, at a few thousand terms."""

    key: ClassVar[str] = "tfidf_lgbm"
    preprocessing: ClassVar[str] = "text"
    requires: ClassVar[tuple[str, ...]] = ("lightgbm", "sklearn")
    opening_rank: ClassVar[int] = 32
    onnx_export: ClassVar[str | None] = None
    onnx_unsupported: ClassVar[str] = _NO_ONNX
    tree_shap: ClassVar[str | None] = None  # SHAP per n-gram of a vocabulary the report does not show
    relative_cost: ClassVar[float] = 3.0
    space: ClassVar[dict[str, Dim]] = {
        **LightGBMModel.space,
        "word_ngrams": Int(1, 2),
        "char_ngrams": Categorical(("none", "3-5")),
        "max_features": Int(1_000, 50_000, log=True),
        "min_df": Int(2, 5),
        "sublinear": Categorical((True, False)),
    }
    defaults: ClassVar[dict[str, Any]] = {**LightGBMModel.defaults, "learning_rate": 0.1, "num_leaves": 63,
                                          "feature_fraction": 0.5, "min_child_samples": 10, "word_ngrams": 2,
                                          "char_ngrams": "none", "max_features": 20_000, "min_df": 2,
                                          "sublinear": True}

    def _params(self) -> dict[str, Any]:
        return {k: v for k, v in super()._params().items() if k not in VECTORIZER_KEYS}

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None):
        Z = self._vectorize_fit(X, deadline)
        val = None if eval_set is None else (self._vectorize(eval_set[0]), eval_set[1])
        super().fit(Z, y, deadline=deadline, eval_set=val)
        self.n_features_in_ = np.asarray(X).shape[1] if np.asarray(X).ndim == 2 else 1
        return self

    def _predict_raw(self, X):
        return super()._predict_raw(self._vectorize(X))

    def _save_state(self, folder: Path) -> dict[str, Any]:
        self._save_vocabulary(folder)
        meta = super()._save_state(folder)
        return {**meta, "files": [*meta["files"], _VOCABULARY]}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        self._load_vocabulary(folder)
        super()._load_state(folder, meta)
