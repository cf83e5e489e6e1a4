"""A convolutional network for image classification, trained from scratch, whose architecture (stages, widths, block
type, kernel, normalisation, pooling, resolution, dropout) and augmentation policy (shift, rotation, scale, flips,
colour jitter, cutout, mixup) are both part of its search space; epochs are the fidelity a pruner can cut short.

It takes the ``image`` input: uint8 pixels ``(n, channels, size, size)``, kept on the CPU and turned into floats
batch by batch on the training device, so memory stays that of the uint8 images. Inputs are normalised by the training
images' per-channel mean and standard deviation. Its probabilities are temperature-scaled on the validation set
(see :class:`_Validation`), as label smoothing and mixup leave them too soft. With a deadline, the number of epochs
is fitted to the time left (timed on a few batches first), so that the learning-rate schedule runs to its end instead
of being cut off at a high rate. The architecture, normalisation, temperature and validation curve are stored as JSON,
the weights as safetensors. torch is imported only inside methods.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.budget import Deadline
from accelml.exceptions import DataError, SchemaError
from accelml.models.base import CategoricalInfo, Model
from accelml.space import Categorical, Dim, Float, Int

__all__ = ["CNNModel"]

WEIGHTS = "cnn.safetensors"
_MIN_RESOLUTION, _MAX_RESOLUTION = 16, 224
_STATS_IMAGES = 2048  # images the normalisation statistics are computed on at most
_CHUNK_VALUES = 2**24  # first-stage activations per prediction chunk (64 MB as float32)
_TIME_SHARE = 0.75  # of the time left that the planned epochs may fill: the clock of a shared machine wobbles


class CNNModel(Model):
    key: ClassVar[str] = "cnn"
    preprocessing: ClassVar[str] = "image"
    requires: ClassVar[tuple[str, ...]] = ("torch", "safetensors")
    tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass")
    opening_rank: ClassVar[int] = 5
    memory_factor: ClassVar[float] = 4.0
    onnx_unsupported: ClassVar[str] = "no ONNX converter is written for the image networks yet"
    relative_cost: ClassVar[float] = 5.0
    import_seconds: ClassVar[float] = 3.0
    interruptible: ClassVar[bool] = True
    fidelity: ClassVar[str] = "epochs"
    device: ClassVar[str] = "gpu"
    space: ClassVar[dict[str, Dim]] = {
        # architecture
        "stages": Int(1, 4),
        "width": Int(8, 64, log=True),
        "growth": Float(1.0, 2.0),  # channels multiplied per stage
        "blocks": Int(1, 2),  # per stage
        "block": Categorical(("plain", "residual", "separable")),
        "kernel": Categorical((3, 5)),
        "norm": Categorical(("batch", "none")),
        "pool": Categorical(("max", "avg", "stride")),  # between stages
        "head_pool": Categorical(("avg", "max", "avgmax", "flatten")),
        "dropout": Float(0.0, 0.5),
        "resize": Categorical((1.0, 0.75, 0.5, 1.5)),  # the network's resolution, times the stored size
        # training
        "learning_rate": Float(3e-4, 1e-2, log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "batch_size": Int(32, 256, log=True),
        "schedule": Categorical(("onecycle", "cosine", "constant")),
        "label_smoothing": Float(0.0, 0.2),
        # augmentation policy (see AugmentPolicy)
        "translate": Float(0.0, 0.2),
        "flip": Categorical((False, True)),  # off by default: a flipped digit or letter is another symbol
        "rotate": Float(0.0, 20.0),
        "scale": Float(0.0, 0.2),
        "jitter": Float(0.0, 0.4),
        "cutout": Float(0.0, 0.5),
        "mixup": Float(0.0, 0.4),
    }
    # Chosen on MNIST (3,200 training images, 2 busy CPU threads; bench/cnn_probe.py, bench/results/cnn_probe.md):
    # narrow stages and a flatten head beat a network four times the cost with a global average head, which forgets
    # where each stroke is (97.0 % test accuracy); mild shifts, rotations and zooms added about 0.5 points, label
    # smoothing (usable with the temperature scaling) about 0.2; 12 epochs of onecycle: 26-35 s, 98.7 % (3 seeds).
    defaults: ClassVar[dict[str, Any]] = {
        "stages": 3,
        "width": 16,
        "growth": 2.0,
        "blocks": 1,
        "block": "plain",
        "kernel": 3,
        "norm": "batch",
        "pool": "max",
        "head_pool": "flatten",
        "dropout": 0.2,
        "resize": 1.0,
        "learning_rate": 3e-3,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "schedule": "onecycle",
        "label_smoothing": 0.1,
        "translate": 0.1,
        "flip": False,
        "rotate": 10.0,
        "scale": 0.1,
        "jitter": 0.0,
        "cutout": 0.0,
        "mixup": 0.0,
        "max_epochs": 12,
        "patience": 5,
    }

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None, pruner=None,
            device=None):
        """Train; ``pruner(epoch, val_loss) -> bool`` is asked after each epoch and stops training when it says so
        (``pruned_``). The validation loss is the cross-entropy on ``eval_set``. ``device``: ``"cuda"`` or ``"cpu"``
        as the search's executor hands out; None: a CUDA GPU when there is one."""
        import torch

        from accelml.models._torch import torch_device, torch_threads
        from accelml.models._torch.loop import LoopConfig, TensorBatches, train_epochs
        from accelml.models._torch.vision import AugmentedBatches, Augmenter, AugmentPolicy, ConvNet

        X = _images(X)
        y = np.asarray(y).astype(np.int64)
        self._start_fit(X, y)
        self.image_shape_ = tuple(int(d) for d in X.shape[1:])
        self.n_features_in_ = int(np.prod(self.image_shape_))
        p = self._params()
        self.device_ = torch_device() if device != "cpu" else "cpu"
        mean, std = _channel_stats(X)
        size = X.shape[-1]
        self.arch_ = {  # everything needed to rebuild the module
            "channels": int(X.shape[1]), "n_out": max(self.n_classes_, 2), "mean": mean, "std": std,
            "resolution": int(np.clip(round(size * float(p["resize"])), _MIN_RESOLUTION, _MAX_RESOLUTION)),
            **{name: p[name] for name in ("stages", "width", "growth", "blocks", "block", "kernel", "norm", "pool",
                                          "head_pool", "dropout")},
        }
        self.augment_ = AugmentPolicy.of(p)
        config = LoopConfig(int(p["max_epochs"]), int(p["patience"]), float(p["learning_rate"]),
                            float(p["weight_decay"]), str(p["schedule"]))
        self.label_smoothing_ = float(p["label_smoothing"])
        deadline = self._deadline(deadline)
        cuda = list(range(torch.cuda.device_count())) if self.device_ == "cuda" else []
        # "seed_offset" (not searched): the same configuration from other initial weights and batches, which the
        # search's opening adds on small grey images, where a second network pays more than pretrained features
        seed = self.seed + int(p.get("seed_offset", 0))
        with torch_threads(self.n_jobs), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)  # initial weights and dropout, without touching the caller's generator
            self.module_ = ConvNet(self.arch_)
            batches = TensorBatches((torch.from_numpy(X), torch.from_numpy(y)), int(p["batch_size"]),
                                    torch.Generator().manual_seed(seed))
            augment = None
            if not self.augment_.is_identity():
                augment = Augmenter(self.augment_, self.arch_["n_out"], fill=mean, seed=seed)
            train = AugmentedBatches(batches, augment, self.device_)
            evaluate = None
            if eval_set is not None and len(eval_set[1]):
                evaluate = _Validation(self, _images(eval_set[0]), np.asarray(eval_set[1]))
            timing = None if augment is None else Augmenter(self.augment_, self.arch_["n_out"], mean, self.seed + 1)
            config = self._epochs_within(deadline, config, X, len(batches), int(p["batch_size"]),
                                         0 if evaluate is None else len(evaluate.y), timing)
            result = train_epochs(self.module_, train, self._loss, config, deadline=deadline, evaluate=evaluate,
                                  pruner=pruner, device=self.device_)
        self.module_.to("cpu")
        # the best epoch's temperature; without a validation set, the one the fold models found (refit_params)
        self.temperature_ = float(p.get("temperature", 1.0))
        if evaluate is not None and result.best_epoch:
            self.temperature_ = evaluate.temperatures[result.best_epoch - 1]
        self.max_epochs_ = config.max_epochs
        self.epochs_, self.best_epoch_, self.best_loss_ = result.epochs, result.best_epoch, result.best_loss
        self.curve_ = list(result.losses)
        self.stopped_by_deadline_, self.pruned_ = result.stopped_by_deadline, result.pruned
        return self

    def refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        """As :meth:`TorchMLPModel.refit_params`: the fold models' mean best epoch and a tenth more, every epoch run;
        and their mean temperature, which the refit (with no validation set to find its own) divides its logits by.

        >>> folds = [CNNModel(), CNNModel()]
        >>> folds[0].best_epoch_, folds[1].best_epoch_ = 10, 12
        >>> folds[0].temperature_, folds[1].temperature_ = 0.5, 0.7
        >>> p = CNNModel().refit_params(folds)
        >>> p["max_epochs"], p["patience"] > p["max_epochs"], p["temperature"]
        (12, True, 0.6)
        """
        params = self._epoch_refit_params(fitted)
        temperatures = [m.temperature_ for m in fitted if getattr(m, "temperature_", None)]
        if temperatures:
            params["temperature"] = round(float(np.mean(temperatures)), 6)
        return params

    def describe(self) -> str:
        """The fitted network and its augmentation in one line, e.g. ``3 stages 32-64-128, plain blocks, 3x3, batch
        norm, max pool, 28 px, dropout 0.2; augmentation: shift 10 %, rotate 10°, no flips``."""
        from accelml.models._torch.vision import stage_widths

        self._check_fitted()
        a = self.arch_
        stages = int(a["stages"])
        blocks = f"{a['block']} blocks" if int(a["blocks"]) == 1 else f"{a['blocks']} {a['block']} blocks per stage"
        norm = "batch norm" if a["norm"] == "batch" else "no norm"
        pool = "strided" if a["pool"] == "stride" else f"{a['pool']} pool"
        head = {"avg": "average", "max": "max", "avgmax": "average+max", "flatten": "flatten"}[a["head_pool"]]
        return (f"{stages} stage{'s' if stages > 1 else ''} {'-'.join(map(str, stage_widths(a)))}, {blocks}, "
                f"{a['kernel']}x{a['kernel']}, {norm}, {pool}, {head} head, {a['resolution']} px, "
                f"dropout {float(a['dropout']):.2g}; augmentation: {self.augment_.describe()}")

    # ----------------------------------------------------------------- training helpers
    def _loss(self, out: Any, target: Any) -> Any:
        import torch.nn.functional as F

        # class indices, or the soft targets of mixup (cross_entropy takes both)
        return F.cross_entropy(out, target, label_smoothing=self.label_smoothing_)

    def _epochs_within(self, deadline: Deadline, config: Any, X: np.ndarray, n_batches: int, batch_size: int,
                       n_val: int, augment: Any) -> Any:
        """``config`` with no more epochs than fit in the time left, timed on a few training steps of a copy of the
        network, augmentation included (a schedule cut short by the deadline ends at a high learning rate, far from
        its best weights). ``augment``: an augmenter of its own, so that the training batches stay as seeded."""
        remaining = deadline.remaining()
        if not math.isfinite(remaining):
            return config
        if remaining <= 0:
            return replace(config, max_epochs=1)
        step = _step_seconds(self.module_, X, min(batch_size, X.shape[0]), self.arch_["n_out"], self.device_, augment)
        epoch = step * n_batches + step / 3 * math.ceil(n_val / batch_size)  # a forward pass: about a third of a step
        fits = int(_TIME_SHARE * max(0.0, remaining - 3 * step) / max(epoch, 1e-9))
        return replace(config, max_epochs=max(1, min(config.max_epochs, fits)))

    def _logits(self, module: Any, X: np.ndarray, device: str) -> Any:
        """Logits of uint8 images ``X`` (numpy, on the CPU), chunk by chunk on ``device``, as float32 on ``device``.
        Called in eval mode without gradients."""
        import torch

        first = self.arch_["resolution"] // (2 if self.arch_["resolution"] > 64 else 1)
        rows = max(8, _CHUNK_VALUES // (int(self.arch_["width"]) * first * first))
        images = torch.from_numpy(X)
        outs = [module(images[s : s + rows].to(device, non_blocking=True)).float() for s in range(0, len(X), rows)]
        return torch.cat(outs) if outs else torch.zeros((0, self.arch_["n_out"]), device=device)

    def _predict_raw(self, X):
        import torch

        from accelml.models._torch import torch_threads

        X = _images(X)
        if X.shape[1] != self.image_shape_[0]:
            raise SchemaError(f"the model was trained on images of {self.image_shape_[0]} channel(s), not {X.shape[1]}")
        with torch_threads(self.n_jobs), torch.no_grad():
            out = self._logits(self.module_, X, "cpu")
        return torch.softmax(out / self.temperature_, dim=1).numpy().astype(np.float64)

    # ----------------------------------------------------------------- persistence
    def _save_state(self, folder: Path) -> dict[str, Any]:
        from accelml.models._torch.io import save_weights

        save_weights(self.module_, folder / WEIGHTS)
        return {"files": [WEIGHTS], "arch": self.arch_, "augment": asdict(self.augment_),
                "image_shape": list(self.image_shape_), "label_smoothing": self.label_smoothing_,
                "curve": self.curve_, "epochs": self.epochs_, "best_epoch": self.best_epoch_,
                "max_epochs": self.max_epochs_, "temperature": self.temperature_, "device": self.device_}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        from accelml.models._torch.io import load_weights
        from accelml.models._torch.vision import AugmentPolicy, ConvNet

        self.arch_, self.augment_ = meta["arch"], AugmentPolicy(**meta["augment"])
        self.image_shape_, self.label_smoothing_ = tuple(meta["image_shape"]), meta["label_smoothing"]
        self.curve_, self.epochs_, self.best_epoch_ = meta["curve"], meta["epochs"], meta["best_epoch"]
        self.max_epochs_, self.temperature_, self.device_ = meta["max_epochs"], meta["temperature"], meta["device"]
        self.module_ = load_weights(ConvNet(self.arch_), folder / WEIGHTS).eval()


class _Validation:
    """The validation loss the epoch loop asks for: the cross-entropy of the held-out images after temperature
    scaling (the one temperature that minimises it, recorded per epoch in ``temperatures``). Label smoothing and
    mixup train a network to hedge: its raw probabilities cost it log loss, the metric the search and the ensemble
    weigh it by, and would make early stopping and the pruner judge it by its hedging rather than by what it knows
    (MNIST, the defaults: test log loss 0.137 raw, 0.041 at the validation's temperature 0.40, 98.6 % accuracy; in a
    120 s run the greedy ensemble had mixed a 94 %-accurate model into the raw one to sharpen it, and fell to 97 %)."""

    def __init__(self, model: CNNModel, X: np.ndarray, y: np.ndarray) -> None:
        import torch

        self.model, self.X = model, X
        self.y = torch.from_numpy(y.astype(np.int64))
        self.temperatures: list[float] = []

    def __call__(self, module: Any) -> float:
        device = self.model.device_
        logits = self.model._logits(module, self.X, device)
        loss, temperature = _temperature_scaled(logits, self.y.to(device))
        self.temperatures.append(temperature)
        return loss


def _temperature_scaled(logits: Any, y: Any) -> tuple[float, float]:
    """``(loss, temperature)``: the least cross-entropy of ``softmax(logits / t)`` over t in [0.2, 5], searched on a
    log grid and refined between the best point's neighbours (a hundredth of the loss at most from the optimum)."""
    import torch
    import torch.nn.functional as F

    def loss_at(t: float) -> float:
        return float(F.cross_entropy(logits.float() / t, y))

    grid = torch.logspace(math.log10(0.2), math.log10(5.0), 29).tolist()
    losses = [loss_at(t) for t in grid]
    best = int(np.argmin(losses))
    low, high = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    fine = [float(t) for t in np.geomspace(low, high, 9)]
    candidates = [(loss_at(t), t) for t in fine] + [(losses[best], grid[best])]
    loss, temperature = min(candidates)
    return loss, round(float(temperature), 6)


def _images(X: Any) -> np.ndarray:
    """``X`` as a uint8 array ``(n, channels, size, size)``, or an error that says what was given."""
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[1] not in (1, 3) or X.shape[2] != X.shape[3]:
        raise DataError(f"an image network takes uint8 pixels of shape (n, 1 or 3, size, size), not {X.shape}; "
                        "it is fed by the 'image' input of an IMAGE column")
    return X if X.dtype == np.uint8 else np.clip(np.rint(X), 0, 255).astype(np.uint8)


def _channel_stats(X: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of ``[0, 1]`` pixels, over at most ``_STATS_IMAGES`` images spread
    over the training set (deterministic, no copy of the whole set as floats)."""
    rows = np.unique(np.linspace(0, len(X) - 1, min(len(X), _STATS_IMAGES)).astype(int))
    sample = X[rows].astype(np.float64) / 255.0
    mean = sample.mean(axis=(0, 2, 3))
    std = sample.std(axis=(0, 2, 3))
    return [float(m) for m in mean], [float(s) if s > 1e-3 else 1.0 for s in std]


def _step_seconds(module: Any, X: np.ndarray, batch_size: int, n_out: int, device: str, augment: Any) -> float:
    """Seconds of one training step of ``module`` on ``batch_size`` images like ``X``, augmented by ``augment`` (the
    mean of two timed steps after one warm-up, on a copy, with the random state restored after)."""
    import torch

    from accelml.models._torch import autocast_dtype

    cuda = [torch.device(device).index or 0] if device == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        probe = copy.deepcopy(module).to(device).train()
        optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-4)
        images = torch.from_numpy(X[:batch_size])
        labels = torch.arange(batch_size, device=device) % n_out
        amp = autocast_dtype(device)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            x, y = images.to(device).float().div_(255.0), labels
            if augment is not None:
                x, y = augment(x, y)
            with torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
                loss = torch.nn.functional.cross_entropy(probe(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return float(np.mean(times[1:]))
