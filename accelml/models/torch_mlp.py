"""A PyTorch network for tables whose architecture is part of its search space (depth, width, block type,
normalisation, dropout, embedding sizes), trained with epochs as the fidelity a pruner can cut short.

It takes the ``tree`` input and prepares it itself, from the training rows only: numeric columns log-scaled when
skewed, standardized and clipped to the training range, missing values as 0 plus an indicator column; each categorical
column through its own embedding, whose last row stands for missing and unseen codes. The statistics and the
architecture are stored as JSON, the weights as safetensors. torch is imported only inside methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.features.numeric import CLIP, SKEW, _skew
from accelml.models.base import CategoricalInfo, Model
from accelml.space import Categorical, Dim, Float, Int

__all__ = ["TorchMLPModel"]

_EPOCH_ROWS = 200_000  # rows sampled per epoch at most: bounds an epoch on a huge table (the deadline bounds epochs)
_MAX_EMBED = 64
WEIGHTS = "torch_mlp.safetensors"


class TorchMLPModel(Model):
    key: ClassVar[str] = "torch_mlp"
    preprocessing: ClassVar[str] = "tree"
    requires: ClassVar[tuple[str, ...]] = ("torch", "safetensors")
    opening_rank: ClassVar[int] = 90
    memory_factor: ClassVar[float] = 3.0  # its own standardized copy of the rows, on the CPU or the GPU
    onnx_unsupported: ClassVar[str] = "no ONNX converter is written for the PyTorch MLP yet"
    relative_cost: ClassVar[float] = 3.0
    import_seconds: ClassVar[float] = 3.0  # import torch: 2.5 s measured on a busy 2-core machine
    interruptible: ClassVar[bool] = True
    fidelity: ClassVar[str] = "epochs"  # the pruner is asked after each epoch
    device: ClassVar[str] = "gpu"  # a CUDA GPU when there is one (mixed precision), else n_jobs threads
    space: ClassVar[dict[str, Dim]] = {
        "depth": Int(1, 4),
        "width": Int(32, 512, log=True),
        "block": Categorical(("plain", "residual")),
        "norm": Categorical(("batch", "layer", "none")),
        "dropout": Float(0.0, 0.5),
        "embed_factor": Float(0.5, 4.0, log=True),
        "learning_rate": Float(1e-4, 1e-2, log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "batch_size": Int(64, 1024, log=True),
        "schedule": Categorical(("constant", "cosine", "onecycle")),
    }
    defaults: ClassVar[dict[str, Any]] = {
        "depth": 2,
        "width": 256,
        "block": "plain",
        "norm": "batch",
        "dropout": 0.1,
        "embed_factor": 1.5,
        "learning_rate": 2e-3,
        "weight_decay": 1e-5,
        "batch_size": 256,
        "schedule": "constant",  # fold models and the refit (fewer epochs) then follow the same learning rates
        "max_epochs": 100,
        "patience": 8,
    }

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None, pruner=None,
            device=None):
        """Train; ``pruner(epoch, val_loss) -> bool`` is asked after each epoch and stops training when it says so
        (``pruned_``). The validation loss is cross-entropy, or the MSE of the standardized target for regression.
        ``device``: ``"cuda"`` or ``"cpu"`` as the search's executor hands out; None: a CUDA GPU when there is one."""
        import torch

        from accelml.models._torch import torch_device, torch_threads
        from accelml.models._torch.loop import LoopConfig, TensorBatches, forward_in_chunks, train_epochs

        self._start_fit(X, y)
        p = self._params()
        self.device_ = torch_device() if device != "cpu" else "cpu"
        self.inputs_ = _learn_inputs(np.asarray(X), categorical, float(p["embed_factor"]))
        self.y_mean_, self.y_scale_ = 0.0, 1.0
        if not self.is_classifier:  # a standardized target: the default step sizes fit any unit
            self.y_mean_, self.y_scale_ = float(np.mean(y)), float(np.std(y)) or 1.0
        self.arch_ = {  # everything needed to rebuild the module
            "n_numeric": len(self.inputs_["numeric"]) + len(self.inputs_["indicators"]),
            "cards": self.inputs_["cards"], "dims": self.inputs_["dims"],
            "n_out": max(self.n_classes_, 2) if self.is_classifier else 1,
            **{name: p[name] for name in ("depth", "width", "block", "norm", "dropout")},
        }
        config = LoopConfig(int(p["max_epochs"]), int(p["patience"]), float(p["learning_rate"]),
                            float(p["weight_decay"]), str(p["schedule"]))
        cuda = list(range(torch.cuda.device_count())) if self.device_ == "cuda" else []
        with torch_threads(self._threads(X)), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)  # initial weights and dropout, without touching the caller's generator
            self.module_ = _network(self.arch_)
            train = self._tensors(X, y)
            batches = TensorBatches(train, int(p["batch_size"]), torch.Generator().manual_seed(self.seed), _EPOCH_ROWS)
            evaluate = None
            if eval_set is not None and len(eval_set[1]):
                *val, y_val = self._tensors(*eval_set)
                evaluate = lambda module: float(self._loss(forward_in_chunks(module, val), y_val))
            result = train_epochs(self.module_, batches, self._loss, config, deadline=self._deadline(deadline),
                                  evaluate=evaluate, pruner=pruner, device=self.device_)
        self.module_.to("cpu")
        self.epochs_, self.best_epoch_, self.best_loss_ = result.epochs, result.best_epoch, result.best_loss
        self.stopped_by_deadline_, self.pruned_ = result.stopped_by_deadline, result.pruned
        return self

    def refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        """As :meth:`MLPModel.refit_params`: the fold models' mean best epoch and a tenth more, every epoch run.

        >>> folds = [TorchMLPModel(), TorchMLPModel()]
        >>> folds[0].best_epoch_, folds[1].best_epoch_ = 10, 20
        >>> p = TorchMLPModel().refit_params(folds)
        >>> p["max_epochs"], p["patience"] > p["max_epochs"]
        (16, True)
        """
        return self._epoch_refit_params(fitted)

    # ----------------------------------------------------------------- tensors and losses
    def _tensors(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, ...]:
        import torch

        numeric, codes = _encode(np.asarray(X), self.inputs_)
        y = np.asarray(y)
        target = y.astype(np.int64) if self.is_classifier else ((y - self.y_mean_) / self.y_scale_).astype(np.float32)
        return tuple(torch.from_numpy(a).to(self.device_) for a in (numeric, codes, target))

    def _loss(self, out: Any, target: Any) -> Any:
        import torch.nn.functional as F

        return F.cross_entropy(out, target) if self.is_classifier else F.mse_loss(out[:, 0].float(), target)

    def _predict_raw(self, X):
        import torch

        from accelml.models._torch import torch_threads
        from accelml.models._torch.loop import forward_in_chunks

        numeric, codes = _encode(np.asarray(X), self.inputs_)
        with torch_threads(self._threads(numeric)), torch.no_grad():
            out = forward_in_chunks(self.module_, (torch.from_numpy(numeric), torch.from_numpy(codes)))
        if self.is_classifier:
            return torch.softmax(out, dim=1).numpy().astype(np.float64)
        return out[:, 0].numpy().astype(np.float64) * self.y_scale_ + self.y_mean_

    # ----------------------------------------------------------------- persistence
    def _save_state(self, folder: Path) -> dict[str, Any]:
        from accelml.models._torch.io import save_weights

        save_weights(self.module_, folder / WEIGHTS)
        return {"files": [WEIGHTS], "arch": self.arch_, "inputs": self.inputs_, "y_mean": self.y_mean_,
                "y_scale": self.y_scale_, "epochs": self.epochs_, "best_epoch": self.best_epoch_,
                "device": self.device_}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        from accelml.models._torch.io import load_weights

        self.arch_, self.inputs_ = meta["arch"], meta["inputs"]
        self.y_mean_, self.y_scale_, self.device_ = meta["y_mean"], meta["y_scale"], meta["device"]
        self.epochs_, self.best_epoch_ = meta["epochs"], meta["best_epoch"]
        self.module_ = load_weights(_network(self.arch_), folder / WEIGHTS).eval()


def _learn_inputs(X: np.ndarray, categorical: CategoricalInfo | None, embed_factor: float) -> dict[str, Any]:
    """Per-column statistics of the training rows, as plain JSON."""
    cat_idx, cards = (list(categorical[0]), [int(c) for c in categorical[1]]) if categorical else ([], [])
    numeric = [j for j in range(X.shape[1]) if j not in set(cat_idx)]
    columns = [_column_stats(X[:, j].astype(np.float64)) for j in numeric]
    stats = {name: [c[k] for c in columns] for k, name in enumerate(("log", "mean", "std", "low", "high"))}
    indicators = [i for i, j in enumerate(numeric) if np.isnan(X[:, j]).any()]
    dims = [int(min(_MAX_EMBED, max(2, round(embed_factor * c**0.5)))) for c in cards]
    return {"numeric": numeric, **stats, "indicators": indicators, "categorical": cat_idx, "cards": cards, "dims": dims}


def _column_stats(x: np.ndarray) -> tuple[bool, float, float, float, float]:
    """``(log, mean, std, low, high)`` of a numeric column's finite values, learned as the dense NumericEncoder does."""
    observed = x[np.isfinite(x)]
    if observed.size == 0:
        return False, 0.0, 1.0, 0.0, 0.0
    log = bool(observed.min() >= 0 and _skew(observed) > SKEW)
    observed = np.log1p(observed) if log else observed
    mean, std = float(observed.mean()), float(observed.std())
    std = std if np.isfinite(std) and std > 0 else 1.0
    low, high = (float(observed.min()) - mean) / std, (float(observed.max()) - mean) / std
    return log, mean, std, max(-CLIP, low), min(CLIP, high)


def _encode(X: np.ndarray, s: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(numeric float32 (n, d), codes int64 (n, c))``; missing and unseen codes map to each column's last index."""
    x = X[:, s["numeric"]].astype(np.float64)
    missing = np.isnan(x)  # infinities are clipped to the training range below
    logs = np.asarray(s["log"], dtype=bool)
    x[:, logs] = np.log1p(np.maximum(x[:, logs], 0.0))
    z = np.clip((x - np.asarray(s["mean"])) / np.asarray(s["std"]), s["low"], s["high"])
    z[missing] = 0.0
    numeric = np.hstack([z, missing[:, s["indicators"]]]).astype(np.float32)
    codes = X[:, s["categorical"]].astype(np.float64)
    cards = np.asarray(s["cards"], dtype=np.float64)
    valid = np.isfinite(codes) & (codes >= 0) & (codes < cards)
    return numeric, np.where(valid, codes, cards).astype(np.int64)


def _network(arch: dict[str, Any]) -> Any:
    """The module described by ``arch`` (see :class:`accelml.models._torch.tabular.TabularMLP`)."""
    from accelml.models._torch.tabular import TabularMLP

    return TabularMLP(arch)
