"""Tuning: Optuna TPE on the most promising families, each trial going to the family with the cheapest expected
improvement (:mod:`accelml.search.allocate`), pruned by successive halving over folds (and epochs)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from accelml.models import MODELS
from accelml.search.allocate import Allocator
from accelml.search.evaluate import FittedTrial
from accelml.search.executors.base import TrialOutcome
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialResult, TrialSpec
from accelml.space import distributions, suggest

__all__ = ["N_TUNED_FAMILIES", "TPESearcher", "trial_cost"]

logger = logging.getLogger(__name__)

N_TUNED_FAMILIES = 4  # the best families by their opening; the allocator shares the tuning trials among them


def trial_cost(result: TrialResult, rows: int) -> float:
    """Seconds a trial took: training, and predicting its ``rows`` validation rows."""
    return result.fit_time + result.predict_time * rows / 1000


class TPESearcher:
    """One TPE study per tuned family (warm-started with every configuration of it already evaluated), and an
    allocator that chooses the family of each trial by its cheapest expected improvement: in seconds with a time
    limit (``timed``), in trials without, so that a run bounded by ``max_trials`` is reproducible."""

    def __init__(self, trials: Sequence[FittedTrial], *, rows: int, n_folds: int, timed: bool, seed: int):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        ranked = _rank_families(trials)[:N_TUNED_FAMILIES]
        tunable = [key for key in ranked if MODELS[key].space]
        self.rows, self.n_folds, self.timed = rows, n_folds, timed
        self.studies = {key: _study(key, trials, seed + i) for i, key in enumerate(tunable)}
        self.allocator = _allocator(tunable, trials, rows, timed=timed, seed=seed) if tunable else None
        self.next_id = max((t.result.spec.trial_id for t in trials), default=-1) + 1
        self._asked: dict[int, tuple[Any, Any]] = {}  # trial id -> (study, Optuna trial)
        self._epochs: dict[tuple[str, int], dict[int, float]] = {}  # (family, Optuna number) -> first-fold epochs

    def ask(self, affordable: Callable[[str], bool]) -> TrialSpec | None:
        """The next tuning trial, from a family whose next trial would finish in the time left (a family that would
        not is retired: time only shrinks); None when no family is left."""
        if self.allocator is None:
            return None
        key = self.allocator.choose()
        while not affordable(key):
            self.allocator.retire(key)
            if not self.allocator.active:
                return None
            key = self.allocator.choose()
        study = self.studies[key]
        ot = study.ask()
        spec = TrialSpec(self.next_id, key, suggest(ot, MODELS[key].space), "tuning")
        self.next_id += 1
        self._asked[spec.trial_id] = (study, ot)
        return spec

    def pruner(self, spec: TrialSpec) -> RungPruner | None:
        """Successive halving, decided by the results of the family's finished trials only (never the clock)."""
        if self.n_folds < 2 and MODELS[spec.model].fidelity != "epochs":
            return None
        study, _ = self._asked[spec.trial_id]
        folds, epochs = _rung_history(study, {n: e for (k, n), e in self._epochs.items() if k == spec.model})
        return RungPruner.from_history(folds if self.n_folds > 1 else [{}] * len(folds), epochs=epochs)

    def tell(self, outcome: TrialOutcome) -> None:
        spec = outcome.fitted.result.spec
        if spec.trial_id not in self._asked:
            return
        study, ot = self._asked.pop(spec.trial_id)
        self._epochs[(spec.model, ot.number)] = dict(outcome.epoch_losses)
        _tell(study, ot, outcome)
        r = outcome.fitted.result
        assert self.allocator is not None
        self.allocator.record(spec.model, loss=r.loss if r.ok and not r.stopped_by_deadline else None,
                              cost=trial_cost(r, self.rows) if self.timed else 1.0)


def _rung_history(study: Any, epochs: dict[int, dict[int, float]]) -> tuple[list[dict[int, float]],
                                                                             list[dict[int, float]]]:
    """The per-fold losses of a study's finished trials (empty for the configurations it was told without folds),
    and the per-epoch losses of their first folds."""
    import optuna

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [dict(t.intermediate_values) for t in finished], [epochs.get(t.number, {}) for t in finished]


def _tell(study: Any, ot: Any, outcome: TrialOutcome) -> None:
    """Tell Optuna how a tuning trial ended: its loss, pruned, or failed (a run cut by the deadline counts as one)."""
    import optuna

    for fold, loss in sorted(outcome.fold_losses.items()):
        ot.report(loss, fold)
    result = outcome.fitted.result
    if result.ok and not result.stopped_by_deadline:
        study.tell(ot, result.loss)
    elif result.status == "pruned":
        study.tell(ot, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(ot, state=optuna.trial.TrialState.FAIL)


def _allocator(families: list[str], trials: Sequence[FittedTrial], rows: int, *, timed: bool, seed: int) -> Allocator:
    """An allocator over ``families``, told each one's best loss so far and the mean cost of its trials (seconds when
    ``timed``, else 1)."""
    losses: dict[str, float] = {}
    costs: dict[str, list[float]] = {key: [] for key in families}
    for t in trials:
        r = t.result
        if r.spec.model not in costs or r.spec.stage == "stack":
            continue
        costs[r.spec.model].append(trial_cost(r, rows) if timed else 1.0)
        if r.ok and not r.stopped_by_deadline:
            losses[r.spec.model] = min(losses.get(r.spec.model, np.inf), r.loss)
    return Allocator({key: (losses.get(key, np.inf), float(np.mean(costs[key]))) for key in families},
                     seed=seed + 7919)


def _rank_families(trials: Sequence[FittedTrial]) -> list[str]:
    best_loss: dict[str, float] = {}
    for t in trials:
        r = t.result
        if r.ok and r.spec.stage in ("default", "portfolio"):
            best_loss[r.spec.model] = min(best_loss.get(r.spec.model, np.inf), r.loss)
    return sorted(best_loss, key=lambda k: (best_loss[k], k))


def _study(key: str, trials: Sequence[FittedTrial], seed: int) -> Any:
    """A TPE study for one family, told about the configurations of it already evaluated (its default, and earlier
    tuning trials when a run is resumed)."""
    import optuna

    cls = MODELS[key]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4, multivariate=True)
    # Successive halving is decided by a RungPruner (Optuna's median rule, made portable to worker processes), never
    # by the study: only the results decide, never the clock.
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=optuna.pruners.NopPruner())
    dists = distributions(cls.space)
    for t in trials:
        r = t.result
        if r.ok and r.spec.model == key and r.spec.stage != "baseline" and not r.stopped_by_deadline:
            params = {name: {**cls.defaults, **r.spec.params}[name] for name in cls.space}
            try:
                study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=r.loss))
            except ValueError:  # a default outside its own space: just don't warm-start
                logger.debug("default of %s is outside its search space", key)
    return study
