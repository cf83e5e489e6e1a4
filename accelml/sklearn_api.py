"""scikit-learn estimators: ``AutoClassifier`` and ``AutoRegressor`` work in pipelines, ``clone`` and CV helpers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from accelml.automl import AutoML
from accelml.exceptions import NotFittedError

__all__ = ["AutoClassifier", "AutoRegressor"]

_TARGET = "__accelml_target__"


class _AutoEstimator(BaseEstimator):
    _task: str = ""

    def __init__(
        self,
        metric: Any = None,
        time_limit: float | None = 60.0,
        n_jobs: int = -1,
        seed: int = 0,
        max_trials: int | None = None,
        models: Any = None,
    ):
        self.metric = metric
        self.time_limit = time_limit
        self.n_jobs = n_jobs
        self.seed = seed
        self.max_trials = max_trials
        self.models = models

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X.reset_index(drop=True)
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional; got shape {X.shape}")
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])

    def fit(self, X: Any, y: Any) -> _AutoEstimator:
        frame = self._frame(X)
        frame[_TARGET] = np.asarray(y)
        self.automl_ = AutoML(
            task=self._task_for(frame[_TARGET]),
            metric=self.metric,
            time_limit=self.time_limit,
            n_jobs=self.n_jobs,
            seed=self.seed,
            max_trials=self.max_trials,
            models=self.models,
        ).fit(frame, target=_TARGET)
        self.n_features_in_ = frame.shape[1] - 1
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _task_for(self, y: pd.Series) -> str:
        return self._task

    def _automl(self) -> AutoML:
        if not hasattr(self, "automl_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() first")
        return self.automl_

    def predict(self, X: Any) -> np.ndarray:
        return self._automl().predict(self._frame(X))

    def leaderboard(self) -> pd.DataFrame:
        return self._automl().leaderboard()


class AutoClassifier(ClassifierMixin, _AutoEstimator):
    """Binary or multiclass classification (chosen from ``y``), scored by ``accuracy`` in ``score`` like sklearn.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = AutoClassifier(time_limit=10, max_trials=2, n_jobs=1).fit(X, y)
        >>> clf.predict_proba(X[:2]).shape
        (2, 3)
    """

    def _task_for(self, y: pd.Series) -> str:
        return "binary" if y.nunique(dropna=True) == 2 else "multiclass"

    @property
    def classes_(self) -> np.ndarray:
        return self._automl().classes_

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._automl().predict_proba(self._frame(X)).to_numpy()


class AutoRegressor(RegressorMixin, _AutoEstimator):
    """Regression; ``score`` is R² like every scikit-learn regressor."""

    _task = "regression"
