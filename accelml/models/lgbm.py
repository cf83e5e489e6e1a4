"""LightGBM: native categorical splits and missing values, early stopping, and a deadline checked every round."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.budget import Deadline
from accelml.models.base import CategoricalInfo, Model
from accelml.space import Dim, Float, Int

__all__ = ["LightGBMModel"]

# LightGBM's objective for each task the family declares (num_class is filled in with the classes seen)
_OBJECTIVES: dict[str, dict[str, Any]] = {
    "binary": {"objective": "binary", "metric": "binary_logloss"},
    "multiclass": {"objective": "multiclass", "metric": "multi_logloss", "num_class": None},
    "regression": {"objective": "regression", "metric": "l2"},
}


# Rows x trees from which a prediction uses every thread: about 3 ms of work on one thread (a tree visit takes 25-100
# ns), against thread start-up in microseconds; below it a prediction stays on one thread (see Model._threads). On
# magic_telescope's 407-tree booster two threads took 1,000 rows from 14.4 to 9.3 ms and 100 rows from 1.49 to
# 0.93 ms; one row stayed at 0.03 ms.
_PARALLEL_TREE_VISITS = 100_000


class _StopAtDeadline:
    """LightGBM callback: ends boosting (keeping the best iteration so far) once the deadline has passed."""

    order = 30

    def __init__(self, deadline: Deadline):
        self.deadline = deadline
        self.fired = False

    def __call__(self, env: Any) -> None:
        if self.deadline.expired():
            import lightgbm as lgb

            self.fired = True
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])


class LightGBMModel(Model):
    key: ClassVar[str] = "lgbm"
    refit_many_folds: ClassVar[bool] = True  # see Model.refit_many_folds
    preprocessing: ClassVar[str] = "tree"
    requires: ClassVar[tuple[str, ...]] = ("lightgbm",)
    opening_rank: ClassVar[int] = 10
    onnx_export: ClassVar[str | None] = "lightgbm"
    tree_shap: ClassVar[str | None] = "lightgbm"
    relative_cost: ClassVar[float] = 1.0
    space: ClassVar[dict[str, Dim]] = {
        "learning_rate": Float(0.01, 0.3, log=True),
        "num_leaves": Int(4, 256, log=True),
        "min_child_samples": Int(2, 100, log=True),
        "feature_fraction": Float(0.3, 1.0),
        "bagging_fraction": Float(0.5, 1.0),
        "lambda_l2": Float(1e-3, 10.0, log=True),
        "lambda_l1": Float(1e-3, 10.0, log=True),
        "cat_smooth": Float(1.0, 50.0, log=True),
    }
    defaults: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 1.0,
        "lambda_l2": 1e-3,
        "lambda_l1": 1e-3,
        "cat_smooth": 10.0,
        "n_estimators": 3000,
        "early_stopping_rounds": 50,
    }

    def _objective(self) -> dict[str, Any]:
        objective = dict(_OBJECTIVES[self.task])
        if "num_class" in objective:
            objective["num_class"] = self.n_classes_
        return objective

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None):
        import lightgbm as lgb

        self._start_fit(X, y)
        p = self._params()
        n_rounds = self._max_rounds(int(p.pop("n_estimators")))
        patience = int(p.pop("early_stopping_rounds"))
        if p.get("bagging_fraction", 1.0) < 1.0:
            p["bagging_freq"] = 1
        params = {
            **p,
            **self._objective(),
            "num_threads": self._threads(X),
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
            "max_cat_to_onehot": 8,
        }
        cat_idx = list(categorical[0]) if categorical else []
        train = lgb.Dataset(X, label=y, categorical_feature=cat_idx or "auto", free_raw_data=True)
        stop = _StopAtDeadline(self._deadline(deadline))
        callbacks: list[Any] = [stop]
        valid_sets = None
        if eval_set is not None:
            valid_sets = [lgb.Dataset(eval_set[0], label=eval_set[1], reference=train)]
            callbacks.append(lgb.early_stopping(patience, first_metric_only=True, verbose=False))
        # keep_training_booster: no round trip through the model's text form at the end (seconds for large models)
        self.booster_ = lgb.train(
            params, train, num_boost_round=n_rounds, valid_sets=valid_sets, callbacks=callbacks,
            keep_training_booster=True,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.rounds_used_ = self.best_iteration_
        self.stopped_by_deadline_ = stop.fired
        return self

    def _predict_raw(self, X):
        return self.booster_.predict(X, num_iteration=self.best_iteration_ or None,
                                     num_threads=self._predict_threads(X))

    def _predict_threads(self, X: np.ndarray) -> int:
        """Threads for scoring ``X``: all of them once the trees are many enough to pay for starting the others
        (rows x trees at least ``_PARALLEL_TREE_VISITS``), else one, as for any small matrix. Rows are split between
        threads, so the numbers are the same either way; the tree count matters as much as the matrix (letter, 26
        classes, 31,000 trees: 1,000 rows of 16 columns took 3.8 s on one thread)."""
        if X.shape[0] * self.trees_used() >= _PARALLEL_TREE_VISITS:
            return self.n_jobs
        return self._threads(X)

    def trees_used(self) -> int:
        """Trees scored per row: the rounds used times the trees per round (one per class for multiclass)."""
        self._check_fitted()
        per_round = self.booster_.num_model_per_iteration()
        rounds = self.best_iteration_ or self.booster_.current_iteration()
        return int(rounds * per_round)

    def used_inputs(self) -> np.ndarray | None:
        self._check_fitted()
        return np.flatnonzero(self.booster_.feature_importance("split", iteration=self.best_iteration_ or None) > 0)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        self.booster_.save_model(str(folder / "model.txt"), num_iteration=self.best_iteration_ or None)
        return {"best_iteration": self.best_iteration_, "files": ["model.txt"]}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.booster_ = lgb.Booster(model_file=str(folder / "model.txt"))
        self.best_iteration_ = 0  # the saved file holds exactly the iterations to use
