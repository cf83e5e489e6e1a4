"""Searchers decide *what* to try: each proposes trials (:meth:`Searcher.ask`) and learns from how they ended
(:meth:`Searcher.tell`); the loop (:func:`accelml.search.loop.run_search`) decides when and where they run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from accelml.search.executors.base import TrialOutcome
from accelml.search.pruner import RungPruner
from accelml.search.searchers.opening import BASELINE, OpeningSearcher, opening_order, opening_specs
from accelml.search.searchers.tpe import N_TUNED_FAMILIES, TPESearcher, trial_cost
from accelml.search.trial import TrialSpec

__all__ = [
    "BASELINE",
    "N_TUNED_FAMILIES",
    "OpeningSearcher",
    "Searcher",
    "TPESearcher",
    "opening_order",
    "opening_specs",
    "trial_cost",
]


class Searcher(Protocol):
    """Proposes trials and learns from their outcomes; three small methods."""

    def ask(self, affordable: Callable[[str], bool]) -> TrialSpec | None:
        """The next trial, of a family for which ``affordable(family)`` holds (the loop's judgement that its trial
        would finish in the time left); None when this searcher has nothing more to propose."""
        ...

    def pruner(self, spec: TrialSpec) -> RungPruner | None:
        """The pruner of a trial just asked, or None to train it on every fold."""
        ...

    def tell(self, outcome: TrialOutcome) -> None:
        """How a trial ended (every finished trial is told, its own or another searcher's)."""
        ...
