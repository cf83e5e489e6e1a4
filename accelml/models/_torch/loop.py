"""The epoch loop every PyTorch family trains with: AdamW, a learning-rate schedule, mixed precision on CUDA, the
deadline looked at before every batch, a pruner asked after every epoch, and the best epoch's weights kept.

The loop knows nothing about tables or images: it takes a module, re-iterable batches (tuples whose last tensor is
the target; the module is called on the others), a loss, and an ``evaluate(module) -> float`` validation loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from accelml.budget import Deadline
from accelml.exceptions import ConfigError
from accelml.models._torch import autocast_dtype

__all__ = ["SCHEDULES", "LoopConfig", "LoopResult", "TensorBatches", "forward_in_chunks", "train_epochs"]

Pruner = Callable[[int, float], bool]  # (epochs completed, loss) -> stop now?


def _cosine(t: float) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def _onecycle(t: float, warmup: float = 0.3) -> float:
    return 0.04 + 0.96 * t / warmup if t < warmup else _cosine((t - warmup) / (1.0 - warmup))


# Learning-rate factor as a function of training progress (0 at the first step, 1 after ``max_epochs`` epochs).
SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": lambda t: 1.0,
    "cosine": _cosine,
    "onecycle": _onecycle,
}


@dataclass(frozen=True)
class LoopConfig:
    """How long and how fast to train: at most ``max_epochs`` epochs, stopping after ``patience`` epochs without a
    better validation loss; AdamW with ``learning_rate`` shaped by ``schedule`` (a key of :data:`SCHEDULES`)."""

    max_epochs: int
    patience: int
    learning_rate: float
    weight_decay: float = 0.0
    schedule: str = "constant"


@dataclass(frozen=True)
class LoopResult:
    """What happened: ``epochs`` completed, the ``best_epoch`` whose weights the module now holds (the last one without
    an ``evaluate``), its loss, why training stopped, and each completed epoch's loss."""

    epochs: int
    best_epoch: int
    best_loss: float
    stopped_by_deadline: bool
    pruned: bool
    losses: tuple[float, ...]


class TensorBatches:
    """Shuffled mini-batches over equally long tensors, a new order at every pass; ``len()`` is batches per pass.

    Batches hold between ``batch_size`` and ``2 * batch_size - 1`` rows (never a lone row, which batch normalisation
    rejects). With ``max_rows``, each pass takes a fresh random sample of that many rows, which bounds an epoch on a
    huge table while every row still gets seen over the epochs.
    """

    def __init__(self, tensors: Sequence[Any], batch_size: int, generator: Any, max_rows: int | None = None):
        self.tensors = tuple(tensors)
        self.n = int(self.tensors[0].shape[0])
        self.rows = self.n if max_rows is None else min(self.n, int(max_rows))
        self.n_batches = max(1, self.rows // max(1, int(batch_size)))
        self.generator = generator

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        import torch

        order = torch.randperm(self.n, generator=self.generator)[: self.rows].to(self.tensors[0].device)
        for part in torch.tensor_split(order, self.n_batches):
            yield tuple(t[part] for t in self.tensors)


def train_epochs(
    module: Any,
    batches: Iterable[Sequence[Any]],
    loss_fn: Callable[[Any, Any], Any],
    config: LoopConfig,
    *,
    deadline: Deadline | None = None,
    evaluate: Callable[[Any], float] | None = None,
    pruner: Pruner | None = None,
    device: str = "cpu",
) -> LoopResult:
    """Train ``module`` in place on ``device`` and leave it holding the best epoch's weights, in eval mode.

    Args:
        module: the network; called as ``module(*batch[:-1])``.
        batches: re-iterable batches (a :class:`TensorBatches`, a ``DataLoader``) with ``len()``; moved to ``device``.
        loss_fn: ``loss_fn(output, target)``, a scalar tensor.
        config: epochs, patience, optimizer and schedule.
        deadline: looked at before every batch but the very first, so a model always exists.
        evaluate: the validation loss of the module (called in eval mode, without gradients). Without it every epoch
            of ``max_epochs`` is run, the epoch's mean training loss is reported and the last weights are kept.
        pruner: asked ``pruner(epoch, loss)`` after each completed epoch (1-based); ``True`` stops training.
        device: ``"cpu"`` or ``"cuda"`` (then autocast to bfloat16, or float16 with a gradient scaler).
    """
    import torch

    if config.schedule not in SCHEDULES:
        raise ConfigError(f"unknown schedule {config.schedule!r}; choose one of {sorted(SCHEDULES)}")
    deadline = deadline if deadline is not None else Deadline.never()
    module.to(device)
    optimizer = torch.optim.AdamW(module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    factor, total = SCHEDULES[config.schedule], max(1, config.max_epochs * len(batches))  # type: ignore[arg-type]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: factor(step / total))
    amp = autocast_dtype(device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)

    best_loss, best_state, best_epoch, waited, step = math.inf, None, 0, 0, 0
    stopped = pruned = False
    losses: list[float] = []
    for epoch in range(1, config.max_epochs + 1):
        module.train()
        running, seen = torch.zeros((), device=device), 0
        for batch in batches:
            if step and deadline.expired():
                stopped = True
                break
            *inputs, target = (t.to(device, non_blocking=True) for t in batch)
            with torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
                loss = loss_fn(module(*inputs), target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            running += loss.detach().float()  # summed on the device: no synchronisation per batch
            step, seen = step + 1, seen + 1
        if stopped:  # a partial epoch is not scored: its weights would be judged on a different footing
            break
        if evaluate is not None:
            module.eval()
            with torch.no_grad(), torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
                loss_value = float(evaluate(module))
        else:
            loss_value = float(running) / max(seen, 1)
        losses.append(loss_value)
        if not math.isfinite(loss_value):
            break
        if evaluate is None or best_state is None or best_loss - loss_value > 1e-6 * max(1.0, abs(best_loss)):
            best_loss, best_epoch, waited = loss_value, epoch, 0
            if evaluate is not None:
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            waited += 1
        if pruner is not None and pruner(epoch, loss_value):
            pruned = True
            break
        if evaluate is not None and waited >= config.patience:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return LoopResult(len(losses), best_epoch, best_loss, stopped, pruned, tuple(losses))


def forward_in_chunks(module: Any, tensors: Sequence[Any], chunk_rows: int = 8192) -> Any:
    """``module(*tensors)`` over slices of at most ``chunk_rows`` rows (bounded memory), concatenated, as float32.
    Call it under ``torch.no_grad()`` with the module in eval mode, as ``evaluate`` and prediction are."""
    import torch

    n = int(tensors[0].shape[0])
    outs = [module(*(t[s : s + chunk_rows] for t in tensors)).float() for s in range(0, n, chunk_rows)]
    return torch.cat(outs) if outs else module(*(t[:0] for t in tensors)).float()
