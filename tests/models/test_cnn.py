"""The image network family: it learns drawn shapes and digits, stops at the deadline and when pruned, builds every
architecture of its space, augments batches reproducibly (no flips unless asked, soft targets with mixup), reproduces
itself, and stores its weights as safetensors only."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from accelml.budget import Deadline
from accelml.exceptions import DataError
from accelml.models._torch.loop import TensorBatches
from accelml.models._torch.vision import AugmentedBatches, Augmenter, AugmentPolicy, ConvNet
from accelml.models.cnn import CNNModel, _temperature_scaled

NO_AUGMENT = {"translate": 0.0, "rotate": 0.0, "scale": 0.0}
FAST = {"stages": 2, "width": 8, "batch_size": 16, "max_epochs": 6, "patience": 6, "learning_rate": 1e-2,
        "dropout": 0.0, **NO_AUGMENT}


def _shapes(n: int, size: int = 16, channels: int = 1, classes: int = 3, seed: int = 0):
    """Seeded images of one drawn shape each, at a random place, on noise: a filled square, a ring, a cross."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.integers(0, 40, size=(n, channels, size, size))
    for i, label in enumerate(y):
        top, left = rng.integers(1, size - 8, 2)
        patch = np.zeros((7, 7), dtype=bool)
        if label == 0:
            patch[:] = True
        elif label == 1:
            patch[[0, -1], :] = patch[:, [0, -1]] = True
        else:
            patch[3, :] = patch[:, 3] = True
        X[i, :, top : top + 7, left : left + 7][:, patch] = 220
    return X.astype(np.uint8), y.astype(np.int64)


def _accuracy(model: CNNModel, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(X) == y))


def test_learns_drawn_shapes_with_probabilities() -> None:
    X, y = _shapes(150)
    model = CNNModel(task="multiclass", params=FAST, seed=0).fit(X[:105], y[:105], eval_set=(X[105:], y[105:]))
    proba = model.predict_proba(X[105:])
    assert proba.shape == (45, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert _accuracy(model, X[105:], y[105:]) > 0.8
    assert 1 <= model.best_epoch_ <= model.epochs_ == len(model.curve_) <= FAST["max_epochs"]
    assert model.device_ == "cpu" and not model.stopped_by_deadline_ and not model.pruned_
    assert model.n_features_in_ == 16 * 16 and model.image_shape_ == (1, 16, 16)


def test_learns_colour_images_for_a_binary_task() -> None:
    X, y = _shapes(120, size=20, channels=3, classes=2, seed=1)
    X[:, 1] //= 2  # channels that differ, so the per-channel statistics do
    model = CNNModel(task="binary", params=FAST, seed=0).fit(X[:80], y[:80], eval_set=(X[80:], y[80:]))
    assert model.predict_proba(X[80:]).shape == (40, 2)
    assert _accuracy(model, X[80:], y[80:]) > 0.8
    assert model.arch_["std"][0] != model.arch_["std"][1]


def test_learns_sklearn_digits() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = np.rint(digits.images * 255 / 16).astype(np.uint8)[:, None]  # 8 x 8, shown to the network at 16 x 16
    y = digits.target
    params = {**FAST, "width": 16, "batch_size": 32, "max_epochs": 5, "translate": 0.1}
    model = CNNModel(task="multiclass", params=params, seed=0).fit(X[:1200], y[:1200], eval_set=(X[1200:], y[1200:]))
    assert model.arch_["resolution"] == 16
    assert _accuracy(model, X[1200:], y[1200:]) > 0.85


def test_a_nearly_expired_deadline_still_gives_a_model() -> None:
    X, y = _shapes(120)
    model = CNNModel(task="multiclass", params={**FAST, "max_epochs": 1000}, seed=0)
    start = time.monotonic()
    model.fit(X[:90], y[:90], eval_set=(X[90:], y[90:]), deadline=Deadline.after(0.001))
    assert time.monotonic() - start < 2.0
    assert model.stopped_by_deadline_ and model.epochs_ == 0 and model.max_epochs_ == 1
    proba = model.predict_proba(X[90:])  # the first batch is always taken: a model exists
    assert proba.shape == (30, 3) and np.isfinite(proba).all()


def test_deadline_stops_inside_an_epoch() -> None:
    X, y = _shapes(2000, size=28)
    heavy = {"stages": 3, "width": 32, "batch_size": 16, "max_epochs": 1000, "patience": 1000}
    model = CNNModel(task="multiclass", params=heavy, n_jobs=2, seed=0)
    start = time.monotonic()
    model.fit(X[:1800], y[:1800], eval_set=(X[1800:], y[1800:]), deadline=Deadline.after(1.0))
    assert time.monotonic() - start < 1.0 + 1.5
    assert model.stopped_by_deadline_ and model.epochs_ == 0  # an epoch takes longer than the deadline
    assert model.predict_proba(X[:5]).shape == (5, 3)


def test_epochs_are_fitted_to_the_time_left() -> None:
    X, y = _shapes(200)
    model = CNNModel(task="multiclass", params={**FAST, "max_epochs": 100_000}, seed=0)
    model.fit(X[:150], y[:150], eval_set=(X[150:], y[150:]), deadline=Deadline.after(3.0))
    assert 1 <= model.max_epochs_ < 100_000  # the schedule is planned to end before the deadline


def test_pruner_stops_after_the_epoch_it_names() -> None:
    X, y = _shapes(90)
    asked: list[tuple[int, float]] = []

    def pruner(epoch: int, loss: float) -> bool:
        asked.append((epoch, loss))
        return epoch == 2

    model = CNNModel(task="multiclass", params=FAST, seed=0)
    model.fit(X[:60], y[:60], eval_set=(X[60:], y[60:]), pruner=pruner)
    assert [e for e, _ in asked] == [1, 2] and model.epochs_ == 2 and model.pruned_
    assert model.curve_ == [loss for _, loss in asked]


def test_temperature_scaling_finds_the_softening() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = 3.0 * torch.randn(4000, 5, generator=gen)
    y = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=gen)[:, 0]  # calibrated at temperature 1
    loss, temperature = _temperature_scaled(0.3 * logits, y)  # a hedging network: logits too small
    assert temperature == pytest.approx(0.3, rel=0.1)
    assert loss < float(torch.nn.functional.cross_entropy(0.3 * logits, y))


def test_label_smoothing_is_undone_by_the_temperature() -> None:
    X, y = _shapes(150)
    params = {**FAST, "label_smoothing": 0.2}
    model = CNNModel(task="multiclass", params=params, seed=0).fit(X[:105], y[:105], eval_set=(X[105:], y[105:]))
    assert model.temperature_ < 1.0  # sharpened
    with torch.no_grad():
        raw = model._logits(model.module_, X[105:], "cpu")
    np.testing.assert_allclose(model.predict_proba(X[105:]), torch.softmax(raw / model.temperature_, 1).numpy(),
                               rtol=1e-5, atol=1e-6)
    refit = model.refit_params([model])
    assert refit["temperature"] == pytest.approx(model.temperature_)
    again = CNNModel(task="multiclass", params={**params, **refit}, seed=0).fit(X, y)  # no validation set
    assert again.temperature_ == refit["temperature"]


@pytest.mark.parametrize("block", ["plain", "residual", "separable"])
@pytest.mark.parametrize("pool", ["max", "avg", "stride"])
@pytest.mark.parametrize("norm", ["batch", "none"])
def test_every_architecture_builds_and_runs(block: str, pool: str, norm: str) -> None:
    for channels, resolution, head_pool, kernel, stages in ((1, 16, "avg", 3, 4), (3, 28, "max", 5, 3),
                                                          (1, 28, "flatten", 3, 3), (3, 70, "avgmax", 3, 2),
                                                          (3, 70, "flatten", 3, 1)):
        arch = {"channels": channels, "n_out": 4, "mean": [0.5] * channels, "std": [0.25] * channels,
                "resolution": resolution, "stages": stages, "width": 8, "growth": 1.5, "blocks": 2, "block": block,
                "kernel": kernel, "norm": norm, "pool": pool, "head_pool": head_pool, "dropout": 0.1}
        net = ConvNet(arch)
        x = torch.randint(0, 256, (3, channels, 24, 24), dtype=torch.uint8)  # resized to the resolution inside
        out = net(x)
        assert out.shape == (3, 4)
        out.sum().backward()  # and trains
        net.eval()
        with torch.no_grad():
            assert torch.isfinite(net(x.float() / 255)).all()


@pytest.mark.parametrize("block", ["plain", "residual", "separable"])
def test_each_block_type_fits_through_the_family(block: str, tmp_path) -> None:
    X, y = _shapes(60, size=12, channels=3)
    params = {**FAST, "block": block, "blocks": 2, "resize": 1.5, "head_pool": "avgmax", "max_epochs": 2,
              "schedule": "cosine", "mixup": 0.2, "cutout": 0.3, "jitter": 0.2, "flip": True, "rotate": 10.0}
    model = CNNModel(task="multiclass", params=params, seed=0).fit(X, y)
    assert model.arch_["resolution"] == 18 and model.epochs_ == 2
    assert model.predict_proba(X).shape == (60, 3)


def test_resolution_is_clipped() -> None:
    X, y = _shapes(40, size=12)
    model = CNNModel(task="multiclass", params={**FAST, "resize": 0.5, "max_epochs": 1}, seed=0).fit(X, y)
    assert model.arch_["resolution"] == 16


def _batch(n: int = 32, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, size, size, generator=gen), torch.arange(n) % 4


def test_augmentation_keeps_shapes_and_is_seeded() -> None:
    x, y = _batch()
    policy = AugmentPolicy(translate=0.1, rotate=15, scale=0.1, jitter=0.3, cutout=0.25)
    a, ya = Augmenter(policy, 4, fill=[0.5], seed=3)(x.clone(), y)
    b, _ = Augmenter(policy, 4, fill=[0.5], seed=3)(x.clone(), y)
    c, _ = Augmenter(policy, 4, fill=[0.5], seed=4)(x.clone(), y)
    assert a.shape == x.shape and a.dtype == x.dtype and torch.equal(ya, y)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_flips_only_when_asked() -> None:
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 4:12, 1:6] = 1.0  # everything on the left
    shifted, _ = Augmenter(AugmentPolicy(translate=0.1), 2, seed=0)(x, torch.zeros(64, dtype=torch.long))
    assert float(shifted[..., 9:].sum()) == 0.0  # shifts of at most 2 px never reach the right half
    flipped, _ = Augmenter(AugmentPolicy(flip=True), 2, seed=0)(x, torch.zeros(64, dtype=torch.long))
    mirrored = [bool(torch.allclose(f, x[0].flip(-1), atol=1e-5)) for f in flipped]
    kept = [bool(torch.allclose(f, x[0], atol=1e-5)) for f in flipped]
    assert all(m or k for m, k in zip(mirrored, kept)) and 10 < sum(mirrored) < 54


def test_shifts_are_whole_pixels() -> None:
    x, _ = _batch(8)
    out, _ = Augmenter(AugmentPolicy(translate=0.2), 4, seed=1)(x, torch.zeros(8, dtype=torch.long))
    for before, after in zip(x, out):  # every pixel is one of its image's pixels moved (or padding), none blended
        values = torch.cat([before.ravel(), torch.zeros(1)])
        assert (after.ravel()[:, None] - values[None, :]).abs().min(dim=1).values.max() < 1e-5


def test_cutout_fills_a_square_with_the_mean() -> None:
    x = torch.ones(16, 1, 16, 16)
    out, _ = Augmenter(AugmentPolicy(cutout=0.25), 2, fill=[0.3], seed=0)(x, torch.zeros(16, dtype=torch.long))
    blanked = (out == 0.3).sum(dim=(1, 2, 3))
    assert (blanked <= 16).all() and (blanked > 0).all() and ((out == 1.0) | (out == 0.3)).all()


def test_mixup_gives_soft_targets() -> None:
    x, y = _batch()
    mixed, target = Augmenter(AugmentPolicy(mixup=0.4), 4, seed=0)(x, y)
    assert mixed.shape == x.shape and target.shape == (32, 4) and target.dtype == torch.float32
    torch.testing.assert_close(target.sum(dim=1), torch.ones(32))
    assert (target.max(dim=1).values < 1.0).any()  # some are mixtures
    loss = torch.nn.functional.cross_entropy(torch.zeros(32, 4), target)  # soft targets are a valid loss target
    assert torch.isfinite(loss)


def test_augmented_batches_convert_on_the_fly() -> None:
    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
    batches = TensorBatches((images, torch.arange(40) % 2), 16, torch.Generator().manual_seed(0))
    plain = AugmentedBatches(batches, None)
    assert len(plain) == len(batches) == 2
    x, target = next(iter(plain))
    assert x.dtype == torch.float32 and float(x.max()) <= 1.0 and target.dtype == torch.int64
    augmented = AugmentedBatches(batches, Augmenter(AugmentPolicy(mixup=0.2), 2, seed=0))
    assert all(t.shape == (len(x), 2) for x, t in augmented)


def test_save_load_round_trip_without_pickle(tmp_path) -> None:
    X, y = _shapes(90, channels=3)
    params = {**FAST, "block": "residual", "translate": 0.1, "cutout": 0.2, "max_epochs": 3}
    model = CNNModel(task="multiclass", params=params, seed=0).fit(X[:60], y[:60], eval_set=(X[60:], y[60:]))
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.safetensors", "model.json"]
    assert all(not p.read_bytes().startswith(b"\x80") for p in tmp_path.iterdir())  # no pickle stream
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["curve"] == model.curve_ and meta["arch"]["mean"] == model.arch_["mean"]
    restored = CNNModel.load(tmp_path)
    np.testing.assert_array_equal(restored.predict_proba(X[60:]), model.predict_proba(X[60:]))
    assert restored.describe() == model.describe()
    copy = pickle.loads(pickle.dumps(model))  # fold models cross process boundaries by pickle
    np.testing.assert_array_equal(copy.predict_proba(X[60:]), model.predict_proba(X[60:]))


def test_describe_names_architecture_and_augmentation() -> None:
    X, y = _shapes(30)
    params = {**FAST, "stages": 3, "width": 32, "max_epochs": 1, "translate": 0.1, "rotate": 10.0, "cutout": 0.25}
    text = CNNModel(task="multiclass", params=params, seed=0).fit(X, y).describe()
    assert text == ("3 stages 32-64-128, plain blocks, 3x3, batch norm, max pool, flatten head, 16 px, dropout 0; "
                    "augmentation: shift 10 %, rotate 10°, cutout 25 %, no flips")


def test_reproducible_with_a_seed_and_threads_restored() -> None:
    X, y = _shapes(60)
    params = {**FAST, "max_epochs": 2, "translate": 0.1, "rotate": 10.0, "mixup": 0.2, "dropout": 0.2}
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    a, b, c = (CNNModel(task="multiclass", params=params, n_jobs=1, seed=s).fit(X, y) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert torch.get_num_threads() == threads and torch.equal(torch.random.get_rng_state(), state)


def test_refit_runs_the_folds_mean_best_epoch() -> None:
    X, y = _shapes(90)
    fold = CNNModel(task="multiclass", params=FAST, seed=0).fit(X[:60], y[:60], eval_set=(X[60:], y[60:]))
    params = CNNModel(task="multiclass", params=FAST).refit_params([fold])
    assert params["max_epochs"] == max(1, round(fold.best_epoch_ * 1.1))
    refit = CNNModel(task="multiclass", params=params, seed=0).fit(X, y)  # no eval_set: every epoch is run
    assert refit.epochs_ == refit.best_epoch_ == params["max_epochs"]


def test_rejects_what_is_not_an_image_batch() -> None:
    with pytest.raises(DataError, match="uint8 pixels"):
        CNNModel(task="binary").fit(np.zeros((10, 5), dtype=np.float32), np.arange(10) % 2)
    X, y = _shapes(30)
    model = CNNModel(task="multiclass", params={**FAST, "max_epochs": 1}, seed=0).fit(X, y)
    with pytest.raises(Exception, match="channel"):
        model.predict(np.repeat(X, 3, axis=1))


def test_importing_the_family_does_not_import_torch() -> None:
    code = "import sys, accelml.models.cnn; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.gpu
def test_trains_on_the_gpu_and_predicts_on_the_cpu(tmp_path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    X, y = _shapes(600, size=28, channels=3)
    params = {**FAST, "translate": 0.1, "mixup": 0.2, "max_epochs": 8}
    model = CNNModel(task="multiclass", params=params, seed=0).fit(X[:450], y[:450], eval_set=(X[450:], y[450:]))
    assert model.device_ == "cuda"
    assert all(p.device.type == "cpu" for p in model.module_.parameters())
    assert _accuracy(model, X[450:], y[450:]) > 0.8
    model.save(tmp_path)
    np.testing.assert_array_equal(CNNModel.load(tmp_path).predict_proba(X[:50]), model.predict_proba(X[:50]))
