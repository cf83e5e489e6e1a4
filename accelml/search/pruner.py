"""Successive halving whose rungs are folds or epochs: stop a trial whose loss so far is worse than the median of the
family's finished trials at the same rung."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["RungPruner"]


class RungPruner:
    """Stops a trial at a rung (after a fold, or after an epoch of its first fold) when its best loss so far is worse
    than the median loss of earlier trials at that rung.

    This is Optuna's ``MedianPruner(n_startup_trials=3)`` rule (no pruning before ``n_startup`` trials have
    finished), made self-contained so that it can travel to a worker process: the medians come from a snapshot of
    the family's finished trials when the trial is submitted. Folds are the rungs of every family; a family whose
    ``fidelity`` is ``"epochs"`` is also asked after each epoch of its first fold (:meth:`epoch`), in the units of its
    own validation loss. Use one instance per trial: it records the losses it is asked about (:attr:`losses`,
    :attr:`epoch_losses`), which the search keeps as that trial's history.

    Example:
        >>> history = [{0: 1.0, 1: 0.9}, {0: 2.0, 1: 1.1}, {0: 3.0}]
        >>> pruner = RungPruner.from_history(history)
        >>> pruner.thresholds
        {0: 2.0, 1: 1.0}
        >>> pruner(0, 1.5), pruner(1, 1.2), pruner.losses
        (False, True, {0: 1.5, 1: 1.2})
        >>> RungPruner.from_history(history[:2]).thresholds  # fewer than three finished trials: never prune
        {}
        >>> by_epoch = RungPruner.from_history([{}, {}, {}], epochs=[{1: 0.5, 2: 0.4}, {1: 0.7}, {1: 0.6, 2: 0.3}])
        >>> by_epoch.epoch(1, 0.65), by_epoch.epoch(2, 0.62), by_epoch.epoch_losses
        (True, True, {1: 0.65, 2: 0.62})
    """

    def __init__(self, thresholds: dict[int, float], epoch_thresholds: dict[int, float] | None = None):
        self.thresholds = thresholds
        self.epoch_thresholds = epoch_thresholds or {}
        self.losses: dict[int, float] = {}
        self.epoch_losses: dict[int, float] = {}

    @classmethod
    def from_history(cls, history: Sequence[dict[int, float]], *, epochs: Sequence[dict[int, float]] = (),
                     n_startup: int = 3) -> RungPruner:
        """A pruner from the per-fold losses of finished trials (an empty dict for a trial that reported none) and,
        for an epoch family, the per-epoch validation losses of their first folds."""
        return cls(_medians(history, n_startup), _medians(epochs, n_startup))

    def __call__(self, fold: int, loss: float) -> bool:
        """Whether to stop after fold ``fold``, whose loss on the rows validated so far is ``loss``."""
        return _ask(self.losses, self.thresholds, fold, loss)

    def epoch(self, epoch: int, loss: float) -> bool:
        """Whether to stop training the first fold after epoch ``epoch`` (counted from 1)."""
        return _ask(self.epoch_losses, self.epoch_thresholds, epoch, loss)


def _medians(history: Sequence[dict[int, float]], n_startup: int) -> dict[int, float]:
    if len(history) < n_startup:
        return {}
    rungs = sorted({rung for losses in history for rung in losses})
    # np.nanpercentile as Optuna computes it, so that both give the same decisions
    return {k: float(np.nanpercentile(np.array([h[k] for h in history if k in h], dtype=float), 50.0)) for k in rungs}


def _ask(seen: dict[int, float], thresholds: dict[int, float], rung: int, loss: float) -> bool:
    seen[rung] = float(loss)
    best = float(np.nanmin(np.asarray(list(seen.values()), dtype=float)))
    if math.isnan(best):
        return True
    threshold = thresholds.get(rung)
    return threshold is not None and best > threshold
