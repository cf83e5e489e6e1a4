"""The contract every model family follows.

A model sees only preprocessed float32 matrices (see :class:`accelml.features.Preprocessor`), class indices
``0..K-1`` for classification, and a :class:`~accelml.budget.Deadline` that it honours *inside* training.
Its state is written in the library's own non-executable format; ``load`` never unpickles anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from accelml.budget import Deadline
from accelml.exceptions import NotFittedError
from accelml.space import Dim
from accelml.tasks import get_task

__all__ = ["CategoricalInfo", "Model"]

_SMALL_MATRIX = 200_000  # cells
_MAX_MULTICLASS_TREES = 30_000

# (indices of categorical output columns, number of codes of each)
CategoricalInfo = tuple[list[int], list[int]]


class Model(BaseEstimator):
    """Base class of every model family.

    Subclasses declare, next to their code, everything the rest of the library knows about the family (no list or
    dict keyed by family name lives elsewhere):

    * ``key``: the registry key (``lgbm``, ``knn``, ...);
    * ``preprocessing``: ``"tree"`` (native categories and missing values) or ``"dense"`` (imputed, encoded, scaled);
    * ``space``: the search space; ``defaults``: a cheap, strong starting configuration;
    * ``requires``: the import names of the libraries it needs to train and to read its files back (``("lightgbm",)``,
      ``("sklearn", "skops")``): the search skips the family with one log line when one is absent, and the
      artifact's manifest records their versions, which loading checks;
    * ``opening_rank``: where its default configuration comes in the search's opening (lower first; ties by key):
      the built-in families are 10 apart, so that a new one can slot in between;
    * ``memory_factor``: rough peak memory of its training as a multiple of the input matrix (forests copy, boosters
      bin), to train on a sample when the whole matrix would not fit;
    * ``onnx_export``: the name of its converter in :data:`accelml.export.onnx.CONVERTERS`, or ``None`` when its models
      are not exported, with ``onnx_unsupported`` saying why;
    * ``tree_shap``: the name of its exact TreeSHAP in :data:`accelml.explain.tree_shap.TREE_SHAP`, or ``None`` when
      the explanations have none for it;
    * ``tasks``: the task keys it learns (:data:`accelml.tasks.TASKS`); the search offers it only those;
    * ``fidelity``: what successive halving counts for it, ``"folds"`` (the pruner is asked after each fold) or
      ``"epochs"`` (also after each epoch of training: ``fit`` takes a ``pruner``);
    * ``device``: ``"cpu"``, or ``"gpu"`` for a family that uses a CUDA GPU when there is one;
    * ``relative_cost``, ``interruptible``, ``import_seconds``, ``free_refit``, ``refit_many_folds``,
      ``one_fold_suffices``: see below.
    """

    key: ClassVar[str] = ""
    preprocessing: ClassVar[str] = "tree"
    space: ClassVar[dict[str, Dim]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    requires: ClassVar[tuple[str, ...]] = ()
    # A family that declares no rank opens after the built-in ones (by key among themselves).
    opening_rank: ClassVar[int] = 1000
    memory_factor: ClassVar[float] = 3.0
    onnx_export: ClassVar[str | None] = None
    onnx_unsupported: ClassVar[str] = ""
    tree_shap: ClassVar[str | None] = None
    tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "regression")
    fidelity: ClassVar[str] = "folds"
    device: ClassVar[str] = "cpu"
    # Rough cost relative to LightGBM defaults, used only to order the first trials (never the clock).
    relative_cost: ClassVar[float] = 1.0
    # Whether training stops at the deadline by itself; a family that cannot is not started when it would not finish.
    interruptible: ClassVar[bool] = True
    # Seconds to import its libraries the first time (they are imported lazily, inside the trial, where no deadline can
    # stop them): a trial that would start with less time left is not started.
    import_seconds: ClassVar[float] = 0.0
    # Whether training on all rows costs next to nothing (kNN stores the rows): the final model then refits such a
    # member on all rows by default, one model to predict with instead of one per fold.
    free_refit: ClassVar[bool] = False
    # Whether one model on all rows does as well as the bag of fold models, so that the final model refits such a
    # member by default whatever the number of folds (trees and linear models; a network's fold models, each started
    # from its own random weights, are worth more as a bag): see accelml.ensemble.refit.
    refit_many_folds: ClassVar[bool] = False
    # Whether one fold model predicts about as well as the bag of them (a forest already averages hundreds of trees):
    # where such a member's refit on all rows was wanted but would not finish in the time left, the final model keeps
    # its first fold model instead of all of them (see accelml.ensemble.refit).
    one_fold_suffices: ClassVar[bool] = False
    # Whether it learns from pretrained features (ImageNet): on photos such a family opens the search, on small grey
    # images (digits) it comes after the networks trained from scratch (see opening_specs).
    pretrained: ClassVar[bool] = False
    # Seconds to predict one row when that is not next to nothing (a pretrained network's forward pass): the search
    # does not start a trial whose validation rows could not be predicted in the time left.
    predict_seconds_per_row: ClassVar[float] = 0.0

    @classmethod
    def min_fit_seconds(cls, n_rows: int, gpu: bool = False, X: Any = None, schema: Any = None) -> float:
        """Seconds a trial needs at least to train something worth validating on ``n_rows`` training rows (a
        fine-tuned transformer's first useful steps; ``X`` and ``schema``, the training frame, tell how long its
        texts are): the search does not start one with less time left. 0 here."""
        return 0.0

    def __init__(self, task: str = "binary", params: dict[str, Any] | None = None, n_jobs: int = 1, seed: int = 0):
        self.task = task
        self.params = params
        self.n_jobs = n_jobs
        self.seed = seed

    # ----------------------------------------------------------------- helpers for subclasses
    @property
    def is_classifier(self) -> bool:
        return get_task(self.task).classification

    def _params(self) -> dict[str, Any]:
        """Defaults overridden by the given params."""
        return {**self.defaults, **(self.params or {})}

    def _threads(self, X: np.ndarray) -> int:
        """Threads worth using: one for small matrices, where OpenMP start-up and contention cost more than they give
        (measured: LightGBM on 2,400 x 5 took 0.2 s with one thread and 11 s with two on a busy 2-core machine)."""
        return 1 if X.shape[0] * X.shape[1] < _SMALL_MATRIX else self.n_jobs

    def _max_rounds(self, rounds: int) -> int:
        """Boosting rounds allowed: each round of a K-class model adds K trees, and a model of tens of thousands of
        trees is slow to predict (letter, 26 classes: 3.5 s per 1,000 rows), which no training deadline can bound.

        Example:
            >>> model = Model(task="multiclass")
            >>> model.n_classes_ = 26
            >>> model._max_rounds(3000), Model(task="binary")._max_rounds(3000)
            (1153, 3000)
        """
        if getattr(self, "n_classes_", 0) <= 2:  # one tree per round
            return rounds
        return min(rounds, max(300, _MAX_MULTICLASS_TREES // self.n_classes_))

    def _deadline(self, deadline: Deadline | None) -> Deadline:
        return deadline if deadline is not None else Deadline.never()

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def _start_fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.n_features_in_ = X.shape[1]
        self.n_classes_ = int(np.max(y)) + 1 if self.is_classifier else 0
        # Regression predictions stay within the targets seen in training, as trees' do: a linear model or network
        # fed a row unlike any in training extrapolates (house prices: a linear model priced a 5,642 sq ft house,
        # larger than any in training, at 1.3 million, above every training price; it sold for 160,000).
        self.y_range_ = None if self.is_classifier else (float(np.min(y)), float(np.max(y)))
        self.stopped_by_deadline_ = False

    def refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        """Parameters for one model on all rows, given this configuration's fold models (which early-stopped on
        their validation folds): boosting families fix the number of rounds to the folds' mean, a little more for the
        extra data; others keep their parameters."""
        rounds = [m.rounds_used_ for m in fitted if getattr(m, "rounds_used_", None)]
        params = dict(self.params or {})
        if rounds:
            params["n_estimators"] = max(1, round(float(np.mean(rounds)) * 1.1))
        return params

    def _epoch_refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        """For networks: the fold models' epochs on all rows, with no validation fold to stop on: the mean of their
        best epochs, a tenth more for the extra rows, every epoch run (credit_data: an MLP trained until its training
        loss stalled instead, and its refit test AUC fell from 0.852 to 0.793)."""
        params = dict(self.params or {})
        best = [m.best_epoch_ for m in fitted if getattr(m, "best_epoch_", None)]
        if best:
            params["max_epochs"] = max(1, round(float(np.mean(best)) * 1.1))
            params["patience"] = params["max_epochs"] + 1  # every epoch is run: the training loss says nothing
        return params

    # ----------------------------------------------------------------- the contract
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        deadline: Deadline | None = None,
        eval_set: tuple[np.ndarray, np.ndarray] | None = None,
        categorical: CategoricalInfo | None = None,
        pruner: Callable[[int, float], bool] | None = None,
    ) -> Model:
        """Train on ``X, y``; stop early on ``eval_set`` when the family supports it, and before ``deadline``.

        A family whose ``fidelity`` is ``"epochs"`` asks ``pruner(epoch, validation_loss)`` after each epoch and stops
        (keeping its best weights, ``pruned_ = True``) when it says so; other families ignore it."""
        raise NotImplementedError

    def _predict_raw(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, K)`` for classification, values ``(n,)`` for regression."""
        raise NotImplementedError

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        if not self.is_classifier:
            raise AttributeError("predict_proba is only available for classification")
        proba = np.asarray(self._predict_raw(X), dtype=np.float64)
        if proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        proba = np.maximum(proba, 0.0)  # what np.clip(proba, 0.0, None) computes, without its Python wrapper
        total = proba.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        return np.divide(proba, total, out=proba)  # proba is a new array: divided in place

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices for classification, values for regression."""
        self._check_fitted()
        if self.is_classifier:
            return np.argmax(self.predict_proba(X), axis=1)
        values = np.asarray(self._predict_raw(X), dtype=np.float64).ravel()
        return values if self.y_range_ is None else np.clip(values, *self.y_range_)

    def used_inputs(self) -> np.ndarray | None:
        """Indices of the input columns the fitted model reads (a tree ensemble reads only the columns it splits on),
        or None when it reads them all or cannot tell. Prediction encodes only these columns and may leave the rest
        empty (see :meth:`accelml.ensemble.predictor.Ensemble.prune_inputs`)."""
        return None

    def set_threads(self, n_jobs: int) -> Model:
        """Threads for prediction from now on (and in the saved artifact): a model trained in a worker process with
        one thread predicts with all the run's cores. Returns self."""
        self.n_jobs = max(1, int(n_jobs))
        self._apply_threads()
        return self

    def _apply_threads(self) -> None:
        """Pass ``self.n_jobs`` to the fitted estimator, for families whose estimator keeps its own thread count."""

    # ----------------------------------------------------------------- persistence
    def save(self, folder: Path) -> None:
        """Write the fitted state into ``folder`` (created by the caller) in non-executable formats."""
        self._check_fitted()
        meta = {
            "key": self.key,
            "task": self.task,
            "params": self.params or {},
            "n_jobs": self.n_jobs,
            "seed": self.seed,
            "n_features_in": int(self.n_features_in_),
            "n_classes": int(self.n_classes_),
            "y_range": self.y_range_,
            **self._save_state(Path(folder)),
        }
        (Path(folder) / "model.json").write_text(json.dumps(meta, indent=1, default=_json_default))

    @classmethod
    def load(cls, folder: Path) -> Model:
        meta = json.loads((Path(folder) / "model.json").read_text())
        model = cls(task=meta["task"], params=meta["params"], n_jobs=meta["n_jobs"], seed=meta["seed"])
        model.n_features_in_ = meta["n_features_in"]
        model.n_classes_ = meta["n_classes"]
        model.y_range_ = tuple(meta["y_range"]) if meta.get("y_range") else None
        model._load_state(Path(folder), meta)
        return model

    def _save_state(self, folder: Path) -> dict[str, Any]:
        """Write model files; return extra JSON-able metadata for ``model.json``."""
        raise NotImplementedError

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        raise NotImplementedError


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in model.json")
