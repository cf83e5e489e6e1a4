"""Which family the next tuning trial goes to: the one expected to improve the search soonest per second spent.

Each family's *estimated cost for improvement* (ECI, after FLAML's cost-frugal search) is the cost it will likely
take to improve again:

* its own pace: the cost spent since its last improvement, or between its last two improvements, whichever is larger
  (a family that keeps improving stays cheap; one that has stalled grows dearer with every trial that does not help);
* for a family behind the best one, also the cost of closing the gap at the rate of its last improvement (a family
  that never improved pays a penalty that grows with how far behind it is).

The next family is drawn with probability proportional to ``1 / ECI**2`` (seeded), so that the cheapest expected
gain gets most of the trials while the others keep a chance (with ``1 / ECI``, as FLAML draws, a family whose trials
cost ten times as much still got 30 % of the trials and most of the time). With a time limit, cost is measured in
seconds; without one every trial costs 1, so a run bounded by ``max_trials`` stays reproducible.

Example:
    >>> alloc = Allocator({"lgbm": (0.30, 2.0), "linear": (0.35, 0.5)}, seed=0)
    >>> alloc.eci("lgbm") > 0 and alloc.eci("linear") > 0
    True
    >>> key = alloc.choose()
    >>> alloc.record(key, loss=0.29, cost=1.0)
    >>> alloc.best
    0.29
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Allocator"]

# A family that has not improved by tuning pays ECI x (1 + _GAP_PENALTY x its relative gap to the best family).
_GAP_PENALTY = 10.0


@dataclass
class _Family:
    best: float  # lowest loss so far
    cost: float  # cost of its last trial
    spent: float  # cost of its trials so far (the opening's included)
    improved_at: float  # ``spent`` when the best last improved
    interval: float  # cost between its last two improvements
    gain: float = 0.0  # loss gained by the last improvement (0: tuning has not improved it yet)
    pending: int = 0  # trials submitted and not yet recorded


class Allocator:
    """Chooses the family of each tuning trial by estimated cost for improvement (see the module docstring).

    ``families`` maps each candidate to ``(best loss so far, cost of its opening trials)``.
    """

    def __init__(self, families: dict[str, tuple[float, float]], *, seed: int = 0):
        if not families:
            raise ValueError("the allocator needs at least one family")
        self._families = {
            key: _Family(best=loss, cost=max(cost, 1e-9), spent=max(cost, 1e-9), improved_at=max(cost, 1e-9),
                         interval=max(cost, 1e-9))
            for key, (loss, cost) in families.items()
        }
        self._rng = np.random.default_rng(seed)
        self._retired: set[str] = set()

    @property
    def best(self) -> float:
        """The lowest loss of any family."""
        return min(f.best for f in self._families.values())

    def eci(self, key: str) -> float:
        """Estimated cost for ``key`` to improve: its own pace, and for a family behind the best, the cost of
        catching up."""
        f = self._families[key]
        spent = f.spent + f.pending * f.cost  # trials in flight count as spent
        own = max(spent - f.improved_at, f.interval, f.cost)
        behind = f.best - self.best
        if behind <= 0:
            return own
        if f.gain > 0:
            return max(own, behind / (f.gain / f.interval))
        return own * (1.0 + _GAP_PENALTY * behind / max(abs(self.best), 1e-12))

    def choose(self) -> str:
        """Draw the next family (probability proportional to 1 / ECI**2) and count a trial of it as in flight."""
        keys = [k for k in self._families if k not in self._retired]
        if not keys:
            raise LookupError("every family is retired")
        inverse = np.nan_to_num(np.array([self.eci(k) ** -2.0 for k in keys]), nan=0.0, posinf=0.0)
        if not inverse.sum() > 0:  # every family failed so far (infinite losses): draw evenly
            inverse = np.ones(len(keys))
        key = keys[int(self._rng.choice(len(keys), p=inverse / inverse.sum()))]
        self._families[key].pending += 1
        return key

    @property
    def active(self) -> bool:
        """Whether any family can still be chosen."""
        return len(self._retired) < len(self._families)

    def retire(self, key: str) -> None:
        """Take ``key`` out of the draw for good (its next trial would not finish in the time left), undoing the
        trial :meth:`choose` counted as in flight."""
        f = self._families[key]
        f.pending = max(0, f.pending - 1)
        self._retired.add(key)

    def record(self, key: str, *, loss: float | None, cost: float) -> None:
        """A trial of ``key`` finished with ``loss`` (``None`` when it failed, was pruned or cut short) at ``cost``."""
        f = self._families[key]
        f.pending = max(0, f.pending - 1)
        f.cost = max(cost, 1e-9)
        f.spent += f.cost
        if loss is not None and loss < f.best:
            f.interval = f.spent - f.improved_at
            f.improved_at = f.spent
            f.gain = f.best - loss
            f.best = loss
