"""The PyTorch MLP family: it learns each task, embeds categories, handles missing values, stops at the deadline,
obeys a pruner, keeps the best epoch, reproduces itself, and stores its weights as safetensors only."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from accelml.budget import Deadline
from accelml.exceptions import ConfigError
from accelml.models._torch.loop import LoopConfig, TensorBatches, train_epochs
from accelml.models.torch_mlp import TorchMLPModel

FAST = {"max_epochs": 30, "patience": 5}


def _data(task: str, n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    signal = X[:, 0] + 0.5 * X[:, 1] - 0.5 * X[:, 2] ** 2
    if task == "binary":
        return X, (signal > 0).astype(np.int64)
    if task == "multiclass":
        return X, np.digitize(signal, [-0.8, 0.4]).astype(np.int64)
    return X, 1000.0 + 300.0 * signal + rng.normal(scale=10.0, size=n)


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0))))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_learns_each_task_better_than_a_constant(task: str) -> None:
    X, y = _data(task)
    model = TorchMLPModel(task=task, params=FAST, seed=0).fit(X[:450], y[:450], eval_set=(X[450:], y[450:]))
    assert 1 <= model.best_epoch_ <= model.epochs_ <= FAST["max_epochs"]
    assert model.device_ == "cpu" and not model.stopped_by_deadline_ and not model.pruned_
    if task == "regression":
        pred = model.predict(X[450:])
        assert pred.shape == (150,)
        assert 1 - np.mean((pred - y[450:]) ** 2) / np.var(y[450:]) > 0.8  # in the target's own units
    else:
        proba = model.predict_proba(X[450:])
        assert proba.shape == (150, int(y.max()) + 1)
        prior = np.bincount(y[:450]) / 450
        assert _log_loss(proba, y[450:]) < 0.6 * _log_loss(np.tile(prior, (150, 1)), y[450:])


def test_categories_are_embedded() -> None:
    rng = np.random.default_rng(1)
    n = 800
    codes = rng.integers(0, 8, n).astype(np.float32)
    X = np.column_stack([rng.normal(size=n), codes]).astype(np.float32)
    y = np.isin(codes, [1, 4, 6]).astype(np.int64)  # not monotone in the code: only an embedding separates it
    model = TorchMLPModel(task="binary", params=FAST, seed=0)
    model.fit(X[:600], y[:600], eval_set=(X[600:], y[600:]), categorical=([1], [8]))
    assert model.arch_["cards"] == [8] and model.arch_["dims"][0] >= 2
    assert np.mean(model.predict(X[600:]) == y[600:]) > 0.97
    odd = np.repeat(X[:1], 3, axis=0)
    odd[:, 1] = [np.nan, 99.0, -1.0]  # missing, unseen and invalid codes share the embedding's last row
    proba = model.predict_proba(odd)
    np.testing.assert_allclose(proba[0], proba[1], rtol=1e-6)
    np.testing.assert_allclose(proba[1], proba[2], rtol=1e-6)


def test_missing_numeric_values_get_an_indicator() -> None:
    rng = np.random.default_rng(2)
    n = 800
    X = rng.normal(size=(n, 3)).astype(np.float32)
    X[rng.random(n) < 0.3, 0] = np.nan
    y = np.where(np.isnan(X[:, 0]), 1, (X[:, 1] > 0.5).astype(np.int64))  # missingness itself predicts
    model = TorchMLPModel(task="binary", params=FAST, seed=0).fit(X[:600], y[:600], eval_set=(X[600:], y[600:]))
    assert model.inputs_["indicators"] == [0] and model.arch_["n_numeric"] == 4
    proba = model.predict_proba(X[600:])
    assert np.isfinite(proba).all()
    assert np.mean(model.predict(X[600:]) == y[600:]) > 0.9


def test_save_load_and_pickle_round_trips(tmp_path) -> None:
    X, y = _data("multiclass")
    X[::7, 1] = np.nan
    X[:, 3] = np.random.default_rng(3).integers(0, 5, len(y))
    params = {**FAST, "block": "residual", "norm": "layer"}
    model = TorchMLPModel(task="multiclass", params=params, seed=0)
    model.fit(X[:450], y[:450], eval_set=(X[450:], y[450:]), categorical=([3], [5]))
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "torch_mlp.safetensors"]
    assert all(not p.read_bytes().startswith(b"\x80") for p in tmp_path.iterdir())  # no pickle stream
    restored = TorchMLPModel.load(tmp_path)
    np.testing.assert_array_equal(restored.predict_proba(X[450:]), model.predict_proba(X[450:]))
    copy = pickle.loads(pickle.dumps(model))  # fold models cross process boundaries by pickle
    np.testing.assert_array_equal(copy.predict_proba(X[450:]), model.predict_proba(X[450:]))


def test_deadline_stops_inside_an_epoch() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60_000, 20)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
    heavy = {"max_epochs": 10_000, "patience": 10_000}  # about 200 batches an epoch, some milliseconds each
    model = TorchMLPModel(task="binary", params=heavy, n_jobs=2, seed=0)
    start = time.monotonic()
    model.fit(X[:50_000], y[:50_000], deadline=Deadline.after(0.5), eval_set=(X[50_000:], y[50_000:]))
    assert time.monotonic() - start < 0.5 + 1.5
    assert model.stopped_by_deadline_ and model.epochs_ <= 1
    assert model.predict_proba(X[:5]).shape == (5, 2)  # the first batch is always taken: a model exists


def test_pruner_stops_after_the_epoch_it_names() -> None:
    X, y = _data("binary")
    asked: list[tuple[int, float]] = []

    def pruner(epoch: int, loss: float) -> bool:
        asked.append((epoch, loss))
        return epoch == 3

    model = TorchMLPModel(task="binary", params=FAST, seed=0)
    model.fit(X[:450], y[:450], eval_set=(X[450:], y[450:]), pruner=pruner)
    assert [e for e, _ in asked] == [1, 2, 3] and model.epochs_ == 3 and model.pruned_
    assert model.best_loss_ == min(loss for _, loss in asked)


def test_early_stopping_keeps_the_best_epoch() -> None:
    X, y = _data("regression", n=300, seed=5)
    params = {"max_epochs": 200, "patience": 3, "learning_rate": 1e-2, "dropout": 0.0, "width": 512}
    model = TorchMLPModel(task="regression", params=params, seed=0).fit(X[:100], y[:100], eval_set=(X[100:], y[100:]))
    assert model.epochs_ < 200 and model.best_epoch_ == model.epochs_ - 3  # stopped once the loss stalled
    kept = np.mean(((model._predict_raw(X[100:]) - y[100:]) / model.y_scale_) ** 2)
    assert kept == pytest.approx(model.best_loss_, rel=1e-4)  # the best epoch's weights are the ones kept


def test_reproducible_with_a_seed_and_threads_restored() -> None:
    X, y = _data("binary", n=300)
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    a, b, c = (TorchMLPModel(task="binary", params=FAST, n_jobs=1, seed=s).fit(X, y) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)


def test_refit_runs_the_folds_mean_best_epoch() -> None:
    X, y = _data("binary")
    folds = [TorchMLPModel(task="binary", params=FAST, seed=s).fit(X[:450], y[:450], eval_set=(X[450:], y[450:]))
             for s in (0, 1)]
    params = TorchMLPModel(task="binary", params=FAST).refit_params(folds)
    assert params["max_epochs"] == max(1, round(np.mean([m.best_epoch_ for m in folds]) * 1.1))
    refit = TorchMLPModel(task="binary", params=params, seed=0).fit(X, y)  # no eval_set: every epoch is run
    assert refit.epochs_ == refit.best_epoch_ == params["max_epochs"]


@pytest.mark.parametrize("block", ["plain", "residual"])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_every_architecture_trains(block: str, norm: str) -> None:
    X, y = _data("multiclass", n=200)
    params = {"block": block, "norm": norm, "depth": 3, "width": 32, "max_epochs": 2, "schedule": "onecycle"}
    model = TorchMLPModel(task="multiclass", params=params, seed=0).fit(X, y)
    assert model.epochs_ == 2 and model.predict_proba(X).shape == (200, 3)


def test_loop_is_generic_and_checks_the_schedule() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=gen)
    batches = TensorBatches((x, x @ torch.tensor([1.0, -2.0, 0.5])), batch_size=16, generator=gen)
    assert len(batches) == 4 and sum(len(b[0]) for b in batches) == 64
    module = torch.nn.Linear(3, 1)
    loss = lambda out, target: torch.nn.functional.mse_loss(out[:, 0], target)
    result = train_epochs(module, batches, loss, LoopConfig(max_epochs=50, patience=5, learning_rate=0.05))
    assert result.epochs == 50 and result.losses[-1] < 0.1 * result.losses[0]
    with pytest.raises(ConfigError, match="cosine"):
        train_epochs(module, batches, loss, LoopConfig(1, 1, 0.1, schedule="warm"))


def test_importing_the_family_does_not_import_torch() -> None:
    code = "import sys, accelml.models.torch_mlp; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.gpu
def test_trains_on_the_gpu_and_predicts_on_the_cpu(tmp_path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    X, y = _data("binary", n=4000)
    model = TorchMLPModel(task="binary", params=FAST, seed=0).fit(X[:3000], y[:3000], eval_set=(X[3000:], y[3000:]))
    assert model.device_ == "cuda"
    assert all(p.device.type == "cpu" for p in model.module_.parameters())
    assert np.mean(model.predict(X[3000:]) == y[3000:]) > 0.85
    model.save(tmp_path)
    np.testing.assert_array_equal(TorchMLPModel.load(tmp_path).predict_proba(X[:50]), model.predict_proba(X[:50]))
