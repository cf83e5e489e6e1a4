"""Trials in this process, one at a time: the behaviour of a serial search, bit for bit."""

from __future__ import annotations

from collections.abc import Callable

from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.executors.base import TrialOutcome, on_device
from accelml.search.folds import FoldCache
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialSpec

__all__ = ["InlineExecutor"]

Evaluate = Callable[..., FittedTrial]


class InlineExecutor:
    """Evaluates each trial in this process as it is submitted, on the GPU where its family uses one and there is.

    Exceptions that ``evaluate`` lets through (an interrupt) propagate from :meth:`submit`.
    """

    workers = 1

    def __init__(self, folds: FoldCache, *, evaluate: Evaluate = evaluate_trial, gpus: int = 0):
        self.folds, self.evaluate, self.gpus = folds, evaluate, gpus
        self._done: list[TrialOutcome] = []

    @property
    def pending(self) -> int:
        return len(self._done)

    def submit(self, spec: TrialSpec, ctx: TrialContext, *, must_finish: bool = False,
               prune: RungPruner | None = None) -> None:
        fitted = self.evaluate(spec, self.folds, on_device(spec, ctx, self.gpus), must_finish=must_finish, prune=prune)
        self._done.append(TrialOutcome.of(fitted, prune))

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        done, self._done = self._done, []
        return done

    def estimated_build_seconds(self, kind: str) -> float:
        return self.folds.estimated_build_seconds(kind)

    def shutdown(self) -> None:
        self._done = []
