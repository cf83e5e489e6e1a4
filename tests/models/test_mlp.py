"""The MLP family: target scaling, early stopping on the validation fold, the deadline between epochs."""

from __future__ import annotations

import numpy as np

from accelml.budget import Deadline
from accelml.models.mlp import MLPModel


def _regression(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, 50_000 + 20_000 * X[:, 0] - 10_000 * X[:, 1] ** 2 + rng.normal(scale=1_000, size=n)


def test_regression_on_a_large_scale_target() -> None:
    X, y = _regression()
    model = MLPModel(task="regression", seed=0).fit(X[:500], y[:500], eval_set=(X[500:], y[500:]))
    pred = model.predict(X[500:])
    r2 = 1 - np.mean((pred - y[500:]) ** 2) / np.var(y[500:])
    assert r2 > 0.9, r2  # learned in standardized units, predicted back in the target's
    assert 1 <= model.epochs_ <= model._params()["max_epochs"]


def test_early_stopping_keeps_the_best_epoch() -> None:
    X, y = _regression(seed=1)
    params = {"max_epochs": 60, "patience": 3, "learning_rate": 0.01}
    model = MLPModel(task="regression", params=params, seed=0).fit(X[:500], y[:500], eval_set=(X[500:], y[500:]))
    assert model.epochs_ < 60  # stopped once the validation loss stopped improving
    kept = np.mean((model.predict(X[500:]) - y[500:]) ** 2)
    assert abs(kept - model.best_loss_) <= 1e-6 * model.best_loss_  # the weights of the best epoch are kept


def test_classification_and_the_deadline() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)  # three classes
    model = MLPModel(task="multiclass", seed=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (400, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.mean(model.predict(X) == y) > 0.85
    stopped = MLPModel(task="multiclass", seed=0).fit(X, y, deadline=Deadline.after(0.0))
    assert stopped.stopped_by_deadline_ and stopped.epochs_ == 1  # one epoch always, then the deadline
