"""The search loop: a fixed opening sequence (baseline, portfolio, defaults), then Optuna tuning of the most
promising families, each trial going to the family with the cheapest expected improvement
(:mod:`accelml.search.allocate`).

With one worker the opening depends only on the data, the seed and the settings, never on the clock: a time-limited
run's opening is a prefix of the unlimited one. Tuning weighs the families by seconds when there is a time limit (so
it depends on the machine's speed) and by trials when there is none, so a run bounded by ``max_trials`` alone is
reproducible. With several workers (see :mod:`accelml.search.executor`) trials run side by side and are recorded as
they finish, so the tuning proposals depend on that order too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.exceptions import ConfigError
from accelml.metrics import Metric
from accelml.models import MODELS
from accelml.search.allocate import Allocator
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.executor import (
    FoldPruner,
    InlineExecutor,
    ProcessExecutor,
    TrialExecutor,
    TrialOutcome,
    plan_workers,
)
from accelml.search.folds import FoldCache
from accelml.search.portfolio import load_portfolio
from accelml.search.space import distributions, suggest
from accelml.search.store import TrialStore
from accelml.search.trial import TrialResult, TrialSpec

__all__ = ["DEFAULT_ORDER", "SearchProgress", "available_models", "default_workers", "run_search"]

logger = logging.getLogger(__name__)

# Opening order of the families' default configurations: strong and cheap first, then diverse.
DEFAULT_ORDER = ("lgbm", "linear", "xgb", "catboost", "extra_trees", "knn", "mlp", "rf")
BASELINE = TrialSpec(0, "lgbm", {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 15}, "baseline")
N_TUNED_FAMILIES = 4  # the best families by their opening; the allocator shares the tuning trials among them
KEEP_MODELS = 20  # fitted fold models are kept for the best trials only (the ensemble's candidates)
# ... and at most this many of one family: after hundreds of tuning trials the top 20 were all one family's variants
# (credit_approval at 300 s: an ensemble of one tuned CatBoost, the winner of 2,317 trials on the same folds), and the
# ensemble lost the other families it needs.
KEEP_PER_FAMILY = 5


@dataclass(frozen=True)
class SearchProgress:
    """What the search reports after every trial (the CLI shows it live)."""

    elapsed: float
    remaining: float
    trials_done: int
    best_score: float | None
    best_model: str | None
    current_model: str | None
    last: TrialResult | None = None
    metric: str | None = None
    issues: tuple[Any, ...] = ()  # the data checks' findings, so that a display can show them before the search


def available_models(requested: list[str] | None) -> list[str]:
    """Families to search: the requested ones (validated) or all, less those whose library is missing."""
    import importlib.util

    keys = list(requested) if requested else list(DEFAULT_ORDER)
    out = []
    for key in keys:
        cls = MODELS[key]  # unknown keys raise a ConfigError listing the valid ones
        if cls.requires and importlib.util.find_spec(cls.requires) is None:
            logger.info("skipping %s: the %s package is not installed", key, cls.requires)
            continue
        out.append(key)
    return out


def _opening(models: list[str]) -> Iterator[TrialSpec]:
    """A cheap baseline (a model within seconds), the portfolio in its order, then each family's default configuration
    not already tried: first the families the portfolio has not tried at all (a new kind of model adds more to the
    ensemble than another setting of a known one), then the others."""
    if "lgbm" in models:
        yield BASELINE
    trial_id = 1
    tried: set[tuple[str, str]] = set()
    for key, params in load_portfolio():
        if key in models:
            yield TrialSpec(trial_id, key, params, "portfolio" if params else "default")
            tried.add((key, json.dumps(params, sort_keys=True)))
            trial_id += 1
    order = [m for m in DEFAULT_ORDER if m in models] + [m for m in models if m not in DEFAULT_ORDER]
    seen = {key for key, _ in tried}
    order.sort(key=lambda key: key in seen)  # stable: the families new to the opening first
    for key in order:
        if (key, "{}") not in tried:
            yield TrialSpec(trial_id, key, {}, "default")
            trial_id += 1


def default_workers(folds: FoldCache, n_jobs: int, time_limit: float | None) -> int:
    """How many trials to run at once on this data with ``n_jobs`` cores and the run's ``time_limit``: pass it as
    :func:`run_search`'s ``workers`` (with ``n_jobs`` the cores) and each model gets ``n_jobs // workers`` threads.
    See :func:`~accelml.search.executor.plan_workers`."""
    workers, _ = plan_workers(len(folds.y), len(folds.schema.features), n_jobs, time_limit)
    return workers


@dataclass
class _InFlight:
    """A trial submitted and not yet finished, with the Optuna trial to tell about it (tuning trials only)."""

    spec: TrialSpec
    must_finish: bool
    study: Any = None
    ot: Any = None


def run_search(
    folds: FoldCache,
    metric: Metric,
    task: str,
    deadline: Deadline,
    *,
    models: list[str],
    max_trials: int | None = None,
    n_jobs: int = 1,
    seed: int = 0,
    progress: Callable[[SearchProgress], None] | None = None,
    issues: Sequence[Any] = (),
    store: TrialStore | None = None,
    previous: Sequence[FittedTrial] = (),
    workers: int = 1,
) -> list[FittedTrial]:
    """Run trials until the deadline or ``max_trials``; return every trial, best ones with their fitted models.

    With a ``store`` every finished trial is recorded as it finishes; ``previous`` trials (read back from a store)
    are taken as done, and the sequence continues after them.

    With ``workers`` > 1 up to that many trials run at once in worker processes, each model with
    ``n_jobs // workers`` threads (:func:`default_workers` says how many pay on given data); trials are returned and
    recorded in the order they finish. With one worker, trials run in this process with ``n_jobs`` threads.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.monotonic()
    trials: list[FittedTrial] = list(previous)
    best = sorted((t for t in trials if t.result.ok and t.models), key=lambda t: (t.result.loss, t.result.spec.trial_id))
    in_flight: dict[int, _InFlight] = {}  # by trial id, in the order submitted

    def report(current: str | None) -> None:
        if progress is None:
            return
        top = best[0].result if best else None
        progress(
            SearchProgress(
                elapsed=time.monotonic() - started,
                remaining=deadline.remaining(),
                trials_done=len(trials),
                best_score=top.score if top else None,
                best_model=top.spec.name if top else None,
                current_model=current,
                last=trials[-1].result if trials else None,
                metric=metric.name,
                issues=tuple(issues),
            )
        )

    seconds: dict[str, float] = {}  # wall time of each family's last finished trial
    timed = deadline.remaining() != float("inf")  # tuning costs are seconds with a time limit, trials without
    allocator: Allocator  # set when tuning begins; only tuning trials are recorded in it

    def budget_left(spec: TrialSpec | None = None) -> bool:
        if deadline.expired() or (max_trials is not None and len(trials) + len(in_flight) >= max_trials):
            return False
        if spec is None or not best:
            return True
        # Work that cannot be interrupted (building a fold kind, fitting a family that ignores the deadline) is not
        # started when it clearly would not finish: the opening skips it, tuning retires its family.
        cls = MODELS[spec.model]
        need = executor.estimated_build_seconds(cls.preprocessing)
        if not cls.interruptible:
            need += seconds.get(spec.model, 0.0)
        return need <= deadline.remaining()

    def start(spec: TrialSpec, study: Any = None, ot: Any = None, prune: FoldPruner | None = None) -> None:
        report(spec.name)
        # The first trial of a run trains every fold even past the deadline, so that there is always a usable model;
        # with several workers, one such trial at a time is enough.
        must_finish = not best and not any(f.must_finish for f in in_flight.values())
        in_flight[spec.trial_id] = _InFlight(spec, must_finish, study, ot)
        executor.submit(spec, must_finish=must_finish, prune=prune)

    def finish(outcome: TrialOutcome) -> None:
        fitted = outcome.fitted
        spec = fitted.result.spec
        flight = in_flight.pop(spec.trial_id)
        trials.append(fitted)
        seconds[spec.model] = _cost(fitted.result, len(folds.y))
        if store is not None:
            store.record(fitted)
        if fitted.result.ok:
            best.append(fitted)
            best.sort(key=lambda t: (t.result.loss, t.result.spec.trial_id))
            kept, dropped = _keep(best)
            for t in dropped:
                t.models, t.oof = [], None  # free memory; the record stays
                if store is not None:
                    store.forget(t.result.spec.name)
            best[:] = kept
        report(next(reversed(in_flight.values())).spec.name if in_flight else None)
        if flight.ot is not None:  # a tuning trial
            _tell(flight.study, flight.ot, outcome)
            r = fitted.result
            allocator.record(spec.model, loss=r.loss if r.ok and not r.stopped_by_deadline else None,
                             cost=_cost(r, len(folds.y)) if timed else 1.0)

    def collect(*, every: bool = False) -> None:
        """Record finished trials until a worker is free (``every``: until none is in flight)."""
        while executor.pending and (every or executor.pending >= executor.workers):
            for outcome in executor.wait():
                finish(outcome)

    executor = _executor(folds, metric, task, deadline, workers=workers, n_jobs=n_jobs, seed=seed, started=started)
    try:
        # 1. baseline and 2. every family's default configuration
        done = {t.result.spec.trial_id for t in trials}
        for spec in _opening(models):
            if spec.trial_id in done:
                continue
            collect()
            if not budget_left():
                collect(every=True)
                return trials
            if not budget_left(spec):
                # This trial would not finish in the time left; skip it, not the rest (adult at 300 s: a k-nearest
                # neighbours default estimated too long ended the whole search at 226 s, tuning never began).
                continue
            start(spec)
        collect(every=True)  # the families are ranked by their finished opening trials

        # 3. Optuna TPE on the most promising families, each trial to the cheapest expected improvement
        ranked = _rank_families(trials)[:N_TUNED_FAMILIES]
        tunable = [key for key in ranked if MODELS[key].space]
        if not tunable:
            return trials
        studies = {key: _study(key, trials, seed + i) for i, key in enumerate(tunable)}
        allocator = _allocator(tunable, trials, len(folds.y), timed=timed, seed=seed)
        next_id = max(t.result.spec.trial_id for t in trials) + 1
        while True:
            collect()
            if not budget_left():
                break
            key = allocator.choose()
            if not budget_left(TrialSpec(next_id, key, {}, "tuning")):
                # This family's next trial would not finish in the time left (time only shrinks): the others may.
                allocator.retire(key)
                if allocator.active:
                    continue
                break
            study = studies[key]
            ot = study.ask()
            params = suggest(ot, MODELS[key].space)
            # Successive halving over folds, decided by the results of the family's finished trials only.
            prune = FoldPruner.from_history(_fold_losses(study)) if len(folds.splits) > 1 else None
            start(TrialSpec(next_id, key, params, "tuning"), study, ot, prune)
            next_id += 1
        collect(every=True)
        return trials
    finally:
        executor.shutdown()


def _executor(
    folds: FoldCache, metric: Metric, task: str, deadline: Deadline, *, workers: int, n_jobs: int, seed: int,
    started: float,
) -> TrialExecutor:
    """Worker processes for ``workers`` > 1 (when the metric can travel to them), else this process."""
    if workers < 1:
        raise ConfigError(f"workers must be at least 1; got {workers}")
    if workers > 1:
        try:
            return ProcessExecutor(folds, metric, task, deadline, workers=workers, n_jobs=max(1, n_jobs // workers),
                                   seed=seed, started=started, evaluate=evaluate_trial)
        except ConfigError as exc:
            logger.info("running one trial at a time: %s", exc)
    return InlineExecutor(folds, metric, task, deadline, n_jobs=n_jobs, seed=seed, started=started,
                          evaluate=evaluate_trial)


def _fold_losses(study: Any) -> list[dict[int, float]]:
    """The per-fold losses of a study's finished trials (empty for the configurations it was told without folds)."""
    import optuna

    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [dict(t.intermediate_values) for t in finished]


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


def _keep(ranked: list[FittedTrial]) -> tuple[list[FittedTrial], list[FittedTrial]]:
    """Split trials (best first) into those whose fitted models are kept as ensemble candidates (the best
    ``KEEP_MODELS``, at most ``KEEP_PER_FAMILY`` of one family) and those that are dropped."""
    kept: list[FittedTrial] = []
    dropped: list[FittedTrial] = []
    per_family: dict[str, int] = {}
    for t in ranked:
        family = t.result.spec.model
        if len(kept) < KEEP_MODELS and per_family.get(family, 0) < KEEP_PER_FAMILY:
            kept.append(t)
            per_family[family] = per_family.get(family, 0) + 1
        else:
            dropped.append(t)
    return kept, dropped


def _cost(result: TrialResult, rows: int) -> float:
    """Seconds a trial took: training, and predicting its ``rows`` validation rows."""
    return result.fit_time + result.predict_time * rows / 1000


def _allocator(families: list[str], trials: list[FittedTrial], rows: int, *, timed: bool, seed: int) -> Allocator:
    """An allocator over ``families``, told each one's best loss so far and the mean cost of its trials (seconds when
    ``timed``, else 1)."""
    losses: dict[str, float] = {}
    costs: dict[str, list[float]] = {key: [] for key in families}
    for t in trials:
        r = t.result
        if r.spec.model not in costs or r.spec.stage == "stack":
            continue
        costs[r.spec.model].append(_cost(r, rows) if timed else 1.0)
        if r.ok and not r.stopped_by_deadline:
            losses[r.spec.model] = min(losses.get(r.spec.model, np.inf), r.loss)
    return Allocator({key: (losses.get(key, np.inf), float(np.mean(costs[key]))) for key in families},
                     seed=seed + 7919)


def _rank_families(trials: list[FittedTrial]) -> list[str]:
    best_loss: dict[str, float] = {}
    for t in trials:
        r = t.result
        if r.ok and r.spec.stage in ("default", "portfolio"):
            best_loss[r.spec.model] = min(best_loss.get(r.spec.model, np.inf), r.loss)
    return sorted(best_loss, key=lambda k: (best_loss[k], k))


def _study(key: str, trials: list[FittedTrial], seed: int) -> Any:
    """A TPE study for one family, told about the configurations of it already evaluated (its default, and earlier
    tuning trials when a run is resumed)."""
    import optuna

    cls = MODELS[key]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4, multivariate=True)
    # Successive halving over folds is decided by a FoldPruner (Optuna's median rule, made portable to worker
    # processes), never by the study: only the results decide, never the clock.
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
