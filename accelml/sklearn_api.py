"""scikit-learn estimators: ``AutoClassifier`` and ``AutoRegressor`` work in pipelines, ``clone`` and CV helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from accelml.automl import AutoML
from accelml.exceptions import NotFittedError

__all__ = ["AutoClassifier", "AutoRegressor"]

_TARGET = "__accelml_target__"


class _AutoEstimator(BaseEstimator):
    """``AutoML``'s parameters (see :class:`~accelml.AutoML`) but ``task``, which the estimator's class decides."""

    _task: str = ""

    def __init__(
        self,
        metric: Any = None,
        time_limit: float | None = 60.0,
        n_jobs: int = -1,
        seed: int = 0,
        max_trials: int | None = None,
        models: Sequence[str] | None = None,
        roles: Mapping[str, str] | None = None,
        n_splits: int | None = None,
        refit_full: bool | None = None,
        max_latency_ms: float | None = None,
        max_size_mb: float | None = None,
        stacking: bool = True,
        prune: bool = True,
        workers: int | None = None,
        groups: str | None = None,
        image_shape: Any = None,
        threshold: str | float = "auto",
        costs: Mapping[str, float] | None = None,
        feature_selection: bool | None = None,
        feature_generation: bool | None = None,
    ):
        self.metric = metric
        self.time_limit = time_limit
        self.n_jobs = n_jobs
        self.seed = seed
        self.max_trials = max_trials
        self.models = models
        self.roles = roles
        self.n_splits = n_splits
        self.refit_full = refit_full
        self.max_latency_ms = max_latency_ms
        self.max_size_mb = max_size_mb
        self.stacking = stacking
        self.prune = prune
        self.workers = workers
        self.groups = groups
        self.image_shape = image_shape
        self.threshold = threshold
        self.costs = costs
        self.feature_selection = feature_selection
        self.feature_generation = feature_generation

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
        params = self.get_params(deep=False)  # every parameter is AutoML's, under the same name
        self.automl_ = AutoML(**params, task=self._task_for(frame[_TARGET])).fit(frame, target=_TARGET)
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
