"""A multi-layer perceptron (scikit-learn's, trained epoch by epoch), stored as plain weight arrays.

Each epoch is a pass over the rows in slices of at most ``_SLICE_ROWS`` (one ``partial_fit`` each); the deadline is
checked between slices, so that no single step outlasts it by much, and the weights of the best epoch on the
validation fold are kept (early stopping, as the boosting families do). Prediction is a NumPy
forward pass over the saved arrays, so loading never needs more than ``numpy.load``.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.models.base import CategoricalInfo, Model
from accelml.space import Dim, Float, Int

__all__ = ["MLPModel"]

_MAX_ROWS = 200_000  # an epoch is a pass over every row; bounding rows bounds an epoch (the deadline bounds epochs)
_SLICE_ROWS = 4096  # rows per partial_fit call at most, between two looks at the deadline
_SLICE_WORK = 5e7  # rows x weights per partial_fit call at most (a few tens of milliseconds on one core)


class MLPModel(Model):
    key: ClassVar[str] = "mlp"
    preprocessing: ClassVar[str] = "dense"
    requires: ClassVar[tuple[str, ...]] = ("sklearn",)
    opening_rank: ClassVar[int] = 70
    relative_cost: ClassVar[float] = 2.0
    space: ClassVar[dict[str, Dim]] = {
        "width": Int(32, 512, log=True),
        "layers": Int(1, 3),
        "alpha": Float(1e-6, 1e-1, log=True),
        "learning_rate": Float(1e-4, 1e-2, log=True),
        "batch_size": Int(32, 512, log=True),
    }
    defaults: ClassVar[dict[str, Any]] = {
        "width": 128,
        "layers": 2,
        "alpha": 1e-4,
        "learning_rate": 2e-3,
        "batch_size": 256,
        "max_epochs": 100,
        "patience": 5,
    }

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        self._start_fit(X, y)
        p = self._params()
        deadline = self._deadline(deadline)
        if X.shape[0] > _MAX_ROWS:
            rows = np.random.default_rng(self.seed).choice(X.shape[0], _MAX_ROWS, replace=False)
            X, y = X[rows], y[rows]
        X = np.asarray(X, dtype=np.float64)
        common = dict(
            hidden_layer_sizes=(int(p["width"]),) * int(p["layers"]),
            alpha=float(p["alpha"]),
            learning_rate_init=float(p["learning_rate"]),
            batch_size=min(int(p["batch_size"]), X.shape[0]),
            random_state=self.seed,
        )
        self.y_mean_, self.y_scale_ = 0.0, 1.0
        if self.is_classifier:
            est = MLPClassifier(**common)
            target = y
        else:
            est = MLPRegressor(**common)  # a standardized target: the default step sizes fit any unit
            self.y_mean_ = float(np.mean(y))
            self.y_scale_ = float(np.std(y)) or 1.0
            target = (np.asarray(y, dtype=np.float64) - self.y_mean_) / self.y_scale_
        classes = np.arange(max(self.n_classes_, 2)) if self.is_classifier else None
        X_val = y_val = None
        if eval_set is not None and len(eval_set[1]):
            X_val, y_val = np.asarray(eval_set[0], dtype=np.float64), np.asarray(eval_set[1])

        best_loss, best_weights, waited, epochs, best_epoch = np.inf, None, 0, 0, 0
        rng = np.random.default_rng(self.seed)
        sizes = [X.shape[1], *common["hidden_layer_sizes"], max(self.n_classes_, 1) if self.is_classifier else 1]
        weights = sum(a * b for a, b in pairwise(sizes))
        slice_rows = max(common["batch_size"], min(_SLICE_ROWS, int(_SLICE_WORK / weights)))
        n_slices = -(-X.shape[0] // slice_rows)
        est.set_params(batch_size=min(common["batch_size"], X.shape[0] // n_slices))  # no slice below a batch
        for _ in range(int(p["max_epochs"])):
            parts = np.array_split(rng.permutation(X.shape[0]), n_slices) if n_slices > 1 else [slice(None)]
            for part in parts:
                if hasattr(est, "coefs_") and deadline.expired():  # the first step is always taken
                    self.stopped_by_deadline_ = True
                    break
                if self.is_classifier:
                    est.partial_fit(X[part], target[part], classes=classes)
                else:
                    est.partial_fit(X[part], target[part])
            if self.stopped_by_deadline_:
                break
            epochs += 1
            loss = self._validation_loss(est, X_val, y_val) if X_val is not None else float(est.loss_)
            if not np.isfinite(loss):
                break
            if loss < best_loss - 1e-6:
                best_loss, waited, best_epoch = loss, 0, epochs
                best_weights = ([w.copy() for w in est.coefs_], [b.copy() for b in est.intercepts_])
            else:
                waited += 1
                if waited >= int(p["patience"]):
                    break
        if best_weights is None:
            best_weights, best_epoch = (list(est.coefs_), list(est.intercepts_)), epochs
        self.coefs_, self.intercepts_ = best_weights
        self.epochs_, self.best_loss_ = epochs, best_loss  # best_loss_: on the validation fold, else training
        self.best_epoch_ = best_epoch  # the epoch whose weights were kept
        return self

    def refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        """The fold models' epochs on all rows, with no validation fold to stop on: the mean of their best epochs, a
        tenth more for the extra rows (credit_data: trained until the training loss stalled instead, a refit MLP's
        test AUC fell from 0.852 to 0.793).

        >>> folds = [MLPModel(), MLPModel()]
        >>> folds[0].best_epoch_, folds[1].best_epoch_ = 10, 20
        >>> p = MLPModel().refit_params(folds)
        >>> p["max_epochs"], p["patience"] > p["max_epochs"]
        (16, True)
        """
        return self._epoch_refit_params(fitted)

    def _validation_loss(self, est: Any, X_val: np.ndarray, y_val: np.ndarray) -> float:
        self.coefs_, self.intercepts_ = est.coefs_, est.intercepts_
        out = self._predict_raw(X_val)
        if not self.is_classifier:
            return float(np.mean((out - y_val) ** 2))
        proba = np.column_stack([1.0 - out, out]) if out.ndim == 1 else out
        picked = proba[np.arange(len(y_val)), np.asarray(y_val, dtype=int)]
        return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))

    def _predict_raw(self, X):
        h = np.asarray(X, dtype=np.float64)
        last = len(self.coefs_) - 1
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            h = h @ w + b
            if i < last:
                np.maximum(h, 0.0, out=h)  # relu
        if not self.is_classifier:
            return h[:, 0] * self.y_scale_ + self.y_mean_
        if h.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-np.clip(h[:, 0], -50, 50)))
        h -= h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        arrays = {f"coef_{i}": w for i, w in enumerate(self.coefs_)}
        arrays.update({f"intercept_{i}": b for i, b in enumerate(self.intercepts_)})
        np.savez(folder / "mlp.npz", **arrays)
        return {"files": ["mlp.npz"], "layers": len(self.coefs_), "y_mean": self.y_mean_, "y_scale": self.y_scale_,
                "epochs": self.epochs_}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        with np.load(folder / "mlp.npz", allow_pickle=False) as data:
            self.coefs_ = [data[f"coef_{i}"] for i in range(meta["layers"])]
            self.intercepts_ = [data[f"intercept_{i}"] for i in range(meta["layers"])]
        self.y_mean_, self.y_scale_, self.epochs_ = meta["y_mean"], meta["y_scale"], meta["epochs"]
