"""The search loop: ask a searcher for a trial, submit it, collect what finished, tell the searcher.

Two searchers run in turn (:mod:`accelml.search.searchers`): the opening (a baseline, the portfolio, every family's
default), then Optuna TPE on the most promising families, each trial going to the family with the cheapest expected
improvement. With one worker the opening depends only on the data, the seed and the settings, never on the clock: a
time-limited run's opening is a prefix of the unlimited one. Tuning weighs the families by seconds when there is a
time limit (so it depends on the machine's speed) and by trials when there is none, so a run bounded by
``max_trials`` alone is reproducible. With several workers (see :mod:`accelml.search.executors`) trials run side by
side and are recorded as they finish, so the tuning proposals depend on that order too.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from accelml._device import gpu_count
from accelml.budget import Deadline
from accelml.features import INPUTS
from accelml.features.images import looks_like_photos
from accelml.models import MODELS
from accelml.schema import Schema
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial
from accelml.search.executors import EXECUTORS, TrialExecutor, TrialOutcome, make_executor, plan_workers
from accelml.search.folds import FoldCache
from accelml.search.searchers import OpeningSearcher, Searcher, TPESearcher, opening_order, trial_cost
from accelml.search.store import TrialStore
from accelml.search.trial import TrialResult

__all__ = ["TRIAL_SHARE", "SearchProgress", "available_models", "default_workers", "opening_order", "run_search"]

logger = logging.getLogger(__name__)

KEEP_MODELS = 20  # fitted fold models are kept for the best trials only (the ensemble's candidates)
# ... and at most this many of one family: after hundreds of tuning trials the top 20 were all one family's variants
# (credit_approval at 300 s: an ensemble of one tuned CatBoost, the winner of 2,317 trials on the same folds), and the
# ensemble lost the other families it needs.
KEEP_PER_FAMILY = 5
# The most of the search's time one trial may take; a configuration far slower on this data than the portfolio
# measured stops its folds at equal shares of it (CatBoost at depth 10 on 7 classes took 390 s per fold and held a
# worker for the whole of a 300 s run).
TRIAL_SHARE = 0.5


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


def available_models(requested: list[str] | None, task: str | None = None, schema: Schema | None = None) -> list[str]:
    """Families to search: the requested ones (validated, in their order) or every registered family in its opening
    order (see :func:`opening_order`), less those with a required library missing (one log line each) and, given the
    ``task`` and ``schema``, those that do not learn the task or whose input has nothing to encode in the data."""
    keys = list(requested) if requested else opening_order(MODELS)
    out = []
    for key in keys:
        cls = MODELS[key]  # unknown keys raise a ConfigError listing the valid ones
        missing = [name for name in cls.requires if importlib.util.find_spec(name) is None]
        if missing:
            logger.info("skipping %s: the %s package is not installed", key, ", ".join(missing))
        elif task is not None and task not in cls.tasks:
            logger.info("skipping %s: it does not learn the %s task", key, task)
        elif schema is not None and not INPUTS[cls.preprocessing].accepts(schema):
            logger.info("skipping %s: its %s input has no column to encode in this data", key, cls.preprocessing)
        else:
            out.append(key)
    return out


def default_workers(folds: FoldCache, n_jobs: int, time_limit: float | None) -> int:
    """How many trials to run at once on this data with ``n_jobs`` cores and the run's ``time_limit``: pass it as
    :func:`run_search`'s ``workers`` (with ``n_jobs`` the cores) and each model gets ``n_jobs // workers`` threads.
    See :func:`~accelml.search.executors.plan_workers`."""
    workers, _ = plan_workers(len(folds.y), len(folds.schema.features), n_jobs, time_limit)
    return workers


def run_search(folds: FoldCache, context: TrialContext, deadline: Deadline, *, models: list[str],
               max_trials: int | None = None, progress: Callable[[SearchProgress], None] | None = None,
               issues: Sequence[Any] = (), store: TrialStore | None = None, previous: Sequence[FittedTrial] = (),
               workers: int = 1) -> list[FittedTrial]:
    """Run trials until the deadline or ``max_trials``; return every trial, best ones with their fitted models.

    ``context`` holds the task, metric, seed and the cores (``n_jobs``). With a ``store`` every finished trial is
    recorded as it finishes; ``previous`` trials (read back from a store) are taken as done, and the sequence
    continues after them. With ``workers`` > 1 up to that many trials run at once in worker processes, each model with
    ``n_jobs // workers`` threads (:func:`default_workers` says how many pay on given data); trials are returned and
    recorded in the order they finish. With one worker, trials run in this process with ``n_jobs`` threads.
    """
    book = _Book(folds, context, deadline, max_trials, progress, issues, store, previous)
    executor = make_executor(folds, context, workers=workers, models=models, grace=book.grace)
    threads = context.n_jobs if isinstance(executor, EXECUTORS["inline"]) else max(1, context.n_jobs // workers)
    book.context = replace(book.context, n_jobs=threads)
    try:
        for searcher in book.searchers(models):
            while not book.exhausted():
                spec = searcher.ask(lambda key: book.affordable(key, executor))
                if spec is None:
                    break
                book.start(executor, spec, searcher.pruner(spec))
                book.collect(executor, searcher)
            book.collect(executor, searcher, every=True)  # the next searcher starts from every finished trial
        return book.trials
    finally:
        executor.shutdown()


class _Book:
    """What the loop keeps: every trial, the best ones with their models, the trials in flight, and the clock."""

    def __init__(self, folds: FoldCache, context: TrialContext, deadline: Deadline, max_trials: int | None,
                 progress: Callable[[SearchProgress], None] | None, issues: Sequence[Any], store: TrialStore | None,
                 previous: Sequence[FittedTrial]):
        self.folds, self.deadline, self.max_trials = folds, deadline, max_trials
        self.progress, self.issues, self.store = progress, tuple(issues), store
        self.started = time.monotonic()
        span = deadline.end - self.started
        self.context = replace(context, trial_seconds=TRIAL_SHARE * span if math.isfinite(span) else None)
        self.grace = 2.0 + 0.05 * (deadline.end - deadline.start if math.isfinite(span) else 0.0)
        self.trials: list[FittedTrial] = list(previous)
        self.best = sorted((t for t in self.trials if t.result.ok and t.models), key=_rank)
        self.in_flight: dict[int, bool] = {}  # trial id -> must finish, in the order submitted
        self.names: dict[int, str] = {}
        self.seconds: dict[str, float] = {}  # wall time of each family's last finished trial
        self.write_seconds: dict[str, float] = {}  # time to record each family's last trial with its models

    def searchers(self, models: list[str]) -> Iterator[Searcher]:
        yield OpeningSearcher(models, done={t.result.spec.trial_id for t in self.trials},
                              photos=looks_like_photos(self.folds.X, self.folds.schema))
        timed = self.deadline.remaining() != float("inf")  # tuning costs are seconds with a time limit, else trials
        if not self.exhausted():
            yield TPESearcher(self.trials, rows=len(self.folds.y), n_folds=len(self.folds.splits), timed=timed,
                              seed=self.context.seed)

    def exhausted(self) -> bool:
        return self.deadline.expired() or (
            self.max_trials is not None and len(self.trials) + len(self.in_flight) >= self.max_trials)

    def affordable(self, key: str, executor: TrialExecutor) -> bool:
        """Whether a trial of family ``key`` would finish: work that cannot be interrupted (building an input kind's
        folds, fitting a family that ignores the deadline) is not started when it clearly would not."""
        if not self.best:
            return True
        cls = MODELS[key]
        need = executor.estimated_build_seconds(cls.preprocessing)
        if not cls.interruptible:  # its last trial's time, or before it has one, the quickest trial's so far (a
            # logistic regression of 50 classes, started with no time left, ran 4.7 s past the deadline)
            need += self.seconds.get(key, min(self.seconds.values(), default=0.0))
        if key not in self.seconds:  # its first trial in this run: its libraries may not be imported where it runs
            need += cls.import_seconds
        if cls.predict_seconds_per_row and gpu_count() == 0:  # the first fold's validation rows, predicted after it
            need += cls.predict_seconds_per_row * len(self.folds.splits[0][1])
        need += cls.min_fit_seconds(len(self.folds.splits[0][0]), gpu=gpu_count() > 0, X=self.folds.X,
                                    schema=self.folds.schema)
        return need <= self.deadline.remaining()

    def start(self, executor: TrialExecutor, spec: Any, prune: Any) -> None:
        self.report(spec.name)
        # The first trial of a run trains every fold even past the deadline, so that there is always a usable model;
        # with several workers, one such trial at a time is enough.
        must_finish = not self.best and not any(self.in_flight.values())
        self.in_flight[spec.trial_id], self.names[spec.trial_id] = must_finish, spec.name
        executor.submit(spec, self.context.at(self.deadline, self.started), must_finish=must_finish, prune=prune)

    def collect(self, executor: TrialExecutor, searcher: Searcher, *, every: bool = False) -> None:
        """Record finished trials until a worker is free (``every``: until none is in flight)."""
        while executor.pending and (every or executor.pending >= executor.workers):
            for outcome in executor.wait():
                self.finish(outcome)
                searcher.tell(outcome)

    def finish(self, outcome: TrialOutcome) -> None:
        fitted = outcome.fitted
        spec = fitted.result.spec
        del self.in_flight[spec.trial_id]
        self.trials.append(fitted)
        self.seconds[spec.model] = trial_cost(fitted.result, len(self.folds.y))
        if self.store is not None:
            self.record(fitted)
        if fitted.result.ok:
            self.best.append(fitted)
            self.best.sort(key=_rank)
            kept, dropped = _keep(self.best)
            for t in dropped:
                t.models, t.oof = [], None  # free memory; the record stays
                if self.store is not None:
                    self.store.forget(t.result.spec.name)
            self.best[:] = kept
        self.report(self.names[next(reversed(self.in_flight))] if self.in_flight else None)

    def record(self, fitted: FittedTrial) -> None:
        """Record a finished trial in the store, with its models only when writing them would end before the deadline
        (going by what the family's last write took): they are only needed to resume, and a forest's fold models took
        skops 0.6 s each to write (24 folds of extra trees: 15 s), in this process, after the deadline."""
        assert self.store is not None
        family = fitted.result.spec.model
        models = bool(fitted.models) and self.write_seconds.get(family, 0.0) < self.deadline.remaining()
        started = time.monotonic()
        self.store.record(fitted, models=models)
        if models:
            self.write_seconds[family] = time.monotonic() - started
        elif fitted.models:
            logger.info("%s: its models are not kept for resuming (writing them would end past the deadline)",
                        fitted.result.spec.name)

    def report(self, current: str | None) -> None:
        if self.progress is None:
            return
        top = self.best[0].result if self.best else None
        self.progress(SearchProgress(
            elapsed=time.monotonic() - self.started, remaining=self.deadline.remaining(), trials_done=len(self.trials),
            best_score=top.score if top else None, best_model=top.spec.name if top else None, current_model=current,
            last=self.trials[-1].result if self.trials else None, metric=self.context.metric.name,
            issues=self.issues,
        ))


def _rank(t: FittedTrial) -> tuple[float, int]:
    return t.result.loss, t.result.spec.trial_id


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
