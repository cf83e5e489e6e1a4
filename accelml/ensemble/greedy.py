"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold predictions, with replacement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

__all__ = ["greedy_weights"]


def greedy_weights(
    predictions: list[np.ndarray],
    loss: Callable[[np.ndarray], float],
    *,
    rounds: int = 25,
    feasible: Callable[[frozenset[int]], bool] | None = None,
) -> tuple[dict[int, float], float]:
    """Weights (candidate index → weight, summing to 1) of the average that minimises ``loss``, and that loss.

    Starts from the best single candidate and adds, each round, the candidate (repeats allowed) whose addition lowers
    the loss most; stops when no addition helps. With ``feasible``, only sets of distinct members it accepts are
    considered (deployment constraints); it must accept at least one single candidate.

    Example:
        >>> y = np.array([0.0, 1.0, 2.0, 3.0])
        >>> a, b = y + 1.0, y - 1.0  # each off by one, their average exact
        >>> w, l = greedy_weights([a, b], lambda p: float(np.mean((p - y) ** 2)))
        >>> w, l
        ({0: 0.5, 1: 0.5}, 0.0)
    """
    ok = feasible or (lambda members: True)
    losses = [loss(p) if ok(frozenset({i})) else np.inf for i, p in enumerate(predictions)]
    if not np.isfinite(min(losses)):
        raise ValueError("no single candidate is feasible")
    first = int(np.argmin(losses))
    chosen = Counter({first: 1})
    total = predictions[first].astype(np.float64).copy()
    best_loss = losses[first]
    for _ in range(rounds - 1):
        n = sum(chosen.values())
        trial_losses = [
            loss((total + p) / (n + 1)) if ok(frozenset(chosen) | {i}) else np.inf for i, p in enumerate(predictions)
        ]
        pick = int(np.argmin(trial_losses))
        if trial_losses[pick] >= best_loss - 1e-12:
            break
        best_loss = trial_losses[pick]
        total += predictions[pick]
        chosen[pick] += 1
    n = sum(chosen.values())
    return {i: c / n for i, c in sorted(chosen.items())}, float(best_loss)
