"""The contract every executor keeps, and what a finished trial comes back as."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol

from accelml.models import MODELS
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialResult, TrialSpec

__all__ = ["TrialExecutor", "TrialOutcome", "failed_outcome", "on_device"]


@dataclass
class TrialOutcome:
    """A trial an executor has finished: its result, and the partial losses its pruner was asked about by fold and
    by epoch (the family's history for later pruning decisions)."""

    fitted: FittedTrial
    fold_losses: dict[int, float] = field(default_factory=dict)
    epoch_losses: dict[int, float] = field(default_factory=dict)

    @classmethod
    def of(cls, fitted: FittedTrial, prune: RungPruner | None) -> TrialOutcome:
        """``fitted`` with the losses its pruner (if any) was asked about."""
        if prune is None:
            return cls(fitted)
        return cls(fitted, dict(prune.losses), dict(prune.epoch_losses))


class TrialExecutor(Protocol):
    """Runs trials for the search loop, which keeps at most :attr:`workers` of them in flight.

    Every backend keeps three rules: a trial that fails comes back as a ``failed`` record (only an interrupt of this
    process is raised); a trial the executor had to stop comes back as ``timeout``; :meth:`shutdown` leaves no
    process behind and may be called twice. A trial is sent with its :class:`TrialContext` (the deadline as seconds
    left, re-anchored where it runs) and, where the executor holds a free GPU and the family uses one, the context
    says ``device="cuda"``.

    A Ray backend would implement the same members: start ``workers`` actors that each receive the data once (one
    ``ray.put`` of the fold cache's X, validation, schema and seed; each builds its own ``FoldCache``); ``submit``
    calls ``actor.evaluate.remote(spec, ctx, must_finish, prune)`` on an idle actor (``prune`` is a picklable
    :class:`RungPruner`), with ``num_gpus=1`` for a GPU family; ``wait`` is ``ray.wait`` on the pending references,
    with ``ray.kill`` of an actor still busy a grace period after its deadline; ``shutdown`` kills every actor.
    """

    @property
    def workers(self) -> int:
        """How many trials may be in flight at once."""
        ...

    @property
    def pending(self) -> int:
        """Trials submitted and not yet returned by :meth:`wait`."""
        ...

    def submit(self, spec: TrialSpec, ctx: TrialContext, *, must_finish: bool = False,
               prune: RungPruner | None = None) -> None:
        """Start evaluating ``spec`` (the caller keeps ``pending < workers``); see ``evaluate_trial``."""
        ...

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        """Trials finished since the last call, in the order they finished: at least one unless ``timeout`` seconds
        pass first or nothing is pending."""
        ...

    def estimated_build_seconds(self, kind: str) -> float:
        """Seconds the next trial of input ``kind`` would spend building its folds before training."""
        ...

    def shutdown(self) -> None:
        """Stop every trial still running (its result is lost) and release the workers."""
        ...


def on_device(spec: TrialSpec, ctx: TrialContext, free_gpus: int) -> TrialContext:
    """``ctx`` for ``spec``: on a GPU when its family uses one and one is free, else on the CPU."""
    uses_gpu = spec.model in MODELS and MODELS[spec.model].device == "gpu"
    return replace(ctx, device="cuda" if uses_gpu and free_gpus > 0 else "cpu")


def failed_outcome(spec: TrialSpec, status: str, error: str, ctx: TrialContext, since: float,
                   prune: RungPruner | None = None) -> TrialOutcome:
    """The record of a trial that did not come back (failed, or stopped as a timeout)."""
    seconds = time.monotonic() - since
    result = TrialResult(spec=spec, status=status, error=error, fit_time=seconds, finished_at=ctx.elapsed + seconds)
    return TrialOutcome.of(FittedTrial(result), prune)
