"""Logistic regression (classification) and ridge regression, stored as plain coefficient arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.models.base import CategoricalInfo, Model
from accelml.space import Dim, Float

__all__ = ["LinearModel", "linear_outputs"]

_MAX_ROWS = 200_000  # lbfgs cannot be interrupted; bounding rows and iterations bounds its time


def linear_outputs(z: np.ndarray, classifier: bool) -> np.ndarray:
    """What a model's raw scores ``z`` ``(n, k)`` predict: the values (regression, ``k == 1``), the positive class's
    probability (a sigmoid, ``k == 1``) or the classes' probabilities (a softmax).

    >>> linear_outputs(np.array([[0.0], [50.0]]), True).round(3).tolist(), linear_outputs(np.zeros((1, 2)), True)
    ([0.5, 1.0], array([[0.5, 0.5]]))
    """
    z = np.array(z, dtype=np.float64)
    if not classifier:
        return z[:, 0]
    if z.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -50, 50)))
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class LinearModel(Model):
    key: ClassVar[str] = "linear"
    refit_many_folds: ClassVar[bool] = True  # see Model.refit_many_folds
    preprocessing: ClassVar[str] = "dense"
    requires: ClassVar[tuple[str, ...]] = ("sklearn",)
    opening_rank: ClassVar[int] = 20
    memory_factor: ClassVar[float] = 3.0
    onnx_export: ClassVar[str | None] = "linear"
    interruptible: ClassVar[bool] = False
    relative_cost: ClassVar[float] = 0.2
    space: ClassVar[dict[str, Dim]] = {"C": Float(1e-3, 100.0, log=True)}
    defaults: ClassVar[dict[str, Any]] = {"C": 1.0, "max_iter": 300}

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None):
        from sklearn.linear_model import LogisticRegression, Ridge

        self._start_fit(X, y)
        p = self._params()
        if X.shape[0] > _MAX_ROWS:
            rows = np.random.default_rng(self.seed).choice(X.shape[0], _MAX_ROWS, replace=False)
            X, y = X[rows], y[rows]
        if self.is_classifier:
            est = LogisticRegression(C=p["C"], max_iter=int(p["max_iter"]), random_state=self.seed)
            est.fit(X, y)
            coef = np.zeros((self.n_classes_ if self.n_classes_ > 2 else 1, X.shape[1]))
            intercept = np.zeros(coef.shape[0])
            if self.n_classes_ > 2:
                seen = np.asarray(est.classes_, dtype=int)
                coef[seen], intercept[seen] = est.coef_, est.intercept_
                intercept[np.setdiff1d(np.arange(self.n_classes_), seen)] = -1e3  # unseen class: ~zero probability
            else:
                coef, intercept = est.coef_, est.intercept_
        else:
            est = Ridge(alpha=1.0 / p["C"], random_state=self.seed)
            est.fit(X, y)
            coef, intercept = np.atleast_2d(est.coef_), np.atleast_1d(est.intercept_)
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        return self

    def _predict_raw(self, X):
        return linear_outputs(np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_, self.is_classifier)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        np.savez(folder / "linear.npz", coef=self.coef_, intercept=self.intercept_)
        return {"files": ["linear.npz"]}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        with np.load(folder / "linear.npz", allow_pickle=False) as data:
            self.coef_, self.intercept_ = data["coef"], data["intercept"]
