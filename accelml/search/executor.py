"""Where trials run: in this process, or in worker processes that can be stopped at the deadline.

The search loop talks to a :class:`TrialExecutor` only: it submits :class:`~accelml.search.trial.TrialSpec` s and
collects finished trials, so that another backend (Ray, a cluster) plugs in without touching the search. Two are here:

* :class:`InlineExecutor` evaluates a trial in the calling process when it is submitted: one trial at a time, and a
  run is reproducible;
* :class:`ProcessExecutor` keeps several worker processes, each with its own copy of the data, and stops a worker
  that overruns the deadline.

:func:`plan_workers` splits the cores between parallel trials and the threads inside one model.

Results and fitted fold models cross the process boundary in memory by pickle, between the processes of one run only;
artifacts on disk never use pickle.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for
from typing import Any, Protocol

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.exceptions import ConfigError
from accelml.metrics import Metric
from accelml.models import MODELS
from accelml.models.base import _SMALL_MATRIX
from accelml.schema import Schema
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.folds import FoldCache, fold_build_seconds
from accelml.search.trial import TrialResult, TrialSpec

__all__ = [
    "MAX_WORKERS",
    "MIN_PARALLEL_SECONDS",
    "FoldPruner",
    "InlineExecutor",
    "ProcessExecutor",
    "TrialExecutor",
    "TrialOutcome",
    "plan_workers",
]

logger = logging.getLogger(__name__)

# A worker is a fresh interpreter that imports numpy, pandas, scikit-learn and the boosters before its first trial
# (2.4 s for one, measured on a busy 2-core machine): that start-up is paid out of the budget, so shorter runs stay
# in this process.
MIN_PARALLEL_SECONDS = 30.0
# Beyond this, Optuna proposes most configurations without the results of the trials still running, and every worker
# holds its own interpreter and fold matrices in memory.
MAX_WORKERS = 8
# The most of the search's time one trial may take; a configuration far slower on this data than the portfolio
# measured stops its folds at equal shares of it.
TRIAL_SHARE = 0.5

Evaluate = Callable[..., FittedTrial]


def plan_workers(n_rows: int, n_features: int, n_jobs: int, time_limit: float | None) -> tuple[int, int]:
    """Split ``n_jobs`` cores into parallel trials and threads per model: ``(workers, threads_per_model)``.

    A model trains a small matrix with one thread whatever it is given (see ``Model._threads``: OpenMP start-up and
    contention cost more than they give there), so small data is searched with one single-threaded trial per core.
    Large data gets one trial at a time with every core. The table's cells stand for a fold's training matrix (an
    upper bound for tree preprocessing). Processes are used only when they pay: with a time limit long enough to
    absorb their start-up, and never without a time limit, where a run bounded by ``max_trials`` must stay
    reproducible.

    Example:
        >>> plan_workers(2_000, 10, 4, 60)      # small data: one trial per core, one thread each
        (4, 1)
        >>> plan_workers(100_000, 50, 4, 60)    # large data: one trial with every thread
        (1, 4)
        >>> plan_workers(2_000, 10, 4, 10)      # too short to pay for starting processes
        (1, 4)
        >>> plan_workers(2_000, 10, 4, None)    # no time limit: a max_trials run stays reproducible
        (1, 4)
        >>> plan_workers(2_000, 10, 64, 600)    # many cores: at most MAX_WORKERS trials, the rest as threads
        (8, 8)
    """
    n_jobs = max(1, int(n_jobs))
    if n_jobs == 1 or time_limit is None or time_limit < MIN_PARALLEL_SECONDS or n_rows * n_features >= _SMALL_MATRIX:
        return 1, n_jobs
    workers = min(n_jobs, MAX_WORKERS)
    return workers, n_jobs // workers


class FoldPruner:
    """Stops a trial after a fold when its loss so far is worse than the median loss of earlier trials at that fold.

    This is Optuna's ``MedianPruner(n_startup_trials=3)`` rule (the trial's best loss over the folds seen so far
    against the median at this fold of finished trials; no pruning before ``n_startup`` trials have finished), made
    self-contained so that it can travel to a worker process: the medians come from a snapshot of the family's
    finished trials when the trial is submitted. Use one instance per trial: it records the losses it is asked
    about (:attr:`losses`), which the search then reports to Optuna.

    Example:
        >>> history = [{0: 1.0, 1: 0.9}, {0: 2.0, 1: 1.1}, {0: 3.0}]
        >>> pruner = FoldPruner.from_history(history)
        >>> pruner.thresholds
        {0: 2.0, 1: 1.0}
        >>> pruner(0, 1.5), pruner(1, 1.2), pruner.losses
        (False, True, {0: 1.5, 1: 1.2})
        >>> FoldPruner.from_history(history[:2]).thresholds  # fewer than three finished trials: never prune
        {}
    """

    def __init__(self, thresholds: dict[int, float]):
        self.thresholds = thresholds
        self.losses: dict[int, float] = {}

    @classmethod
    def from_history(cls, history: Sequence[dict[int, float]], *, n_startup: int = 3) -> FoldPruner:
        """A pruner from the per-fold losses of finished trials (an empty dict for a trial that reported none)."""
        if len(history) < n_startup:
            return cls({})
        folds = sorted({fold for losses in history for fold in losses})
        # np.nanpercentile as Optuna computes it, so that both give the same decisions
        return cls({k: float(np.nanpercentile(np.array([h[k] for h in history if k in h], dtype=float), 50.0))
                    for k in folds})

    def __call__(self, fold: int, loss: float) -> bool:
        self.losses[fold] = float(loss)
        best = float(np.nanmin(np.asarray(list(self.losses.values()), dtype=float)))
        if math.isnan(best):
            return True
        threshold = self.thresholds.get(fold)
        return threshold is not None and best > threshold


@dataclass
class TrialOutcome:
    """A trial an executor has finished: its result, and the partial losses its pruner was asked about by fold."""

    fitted: FittedTrial
    fold_losses: dict[int, float] = field(default_factory=dict)


class TrialExecutor(Protocol):
    """Runs trials for the search loop, which keeps at most :attr:`workers` of them in flight.

    Every backend keeps three rules: a trial that fails comes back as a ``failed`` record (only an interrupt of this
    process is raised); a trial the executor had to stop comes back as ``timeout``; :meth:`shutdown` leaves no
    process behind and may be called twice.

    A Ray backend would implement the same members: start ``workers`` actors that each receive the data once (one
    ``ray.put`` of the fold cache's X, y, splits, schema and seed; each builds its own ``FoldCache``); ``submit``
    calls ``actor.evaluate.remote(spec, must_finish, prune)`` on an idle actor (``prune`` is a picklable
    :class:`FoldPruner`); ``wait`` is ``ray.wait`` on the pending references, with ``ray.kill`` of an actor still busy
    a grace period after the deadline; ``shutdown`` kills every actor.
    """

    @property
    def workers(self) -> int:
        """How many trials may be in flight at once."""
        ...

    @property
    def pending(self) -> int:
        """Trials submitted and not yet returned by :meth:`wait`."""
        ...

    def submit(self, spec: TrialSpec, *, must_finish: bool = False, prune: FoldPruner | None = None) -> None:
        """Start evaluating ``spec`` (the caller keeps ``pending < workers``); see ``evaluate_trial`` for the
        arguments."""
        ...

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        """Trials finished since the last call, in the order they finished: at least one unless ``timeout`` seconds
        pass first or nothing is pending."""
        ...

    def estimated_build_seconds(self, kind: str) -> float:
        """Seconds the next trial of preprocessing ``kind`` would spend building its folds before training."""
        ...

    def shutdown(self) -> None:
        """Stop every trial still running (its result is lost) and release the workers."""
        ...


class InlineExecutor:
    """Evaluates each trial in this process as it is submitted: the behaviour of a serial search, bit for bit.

    Exceptions that ``evaluate`` lets through (an interrupt) propagate from :meth:`submit`.
    """

    workers = 1

    def __init__(
        self,
        folds: FoldCache,
        metric: Metric,
        task: str,
        deadline: Deadline,
        *,
        n_jobs: int,
        seed: int,
        started: float,
        evaluate: Evaluate = evaluate_trial,
    ):
        self.folds, self.metric, self.task, self.deadline = folds, metric, task, deadline
        self.n_jobs, self.seed, self.started, self.evaluate = n_jobs, seed, started, evaluate
        # No trial may take more than a share of the search (CatBoost at depth 10 on 7 classes took 390 s per fold
        # and held a worker for the whole of a 300 s run): past it, its folds stop at equal shares.
        span = deadline.end - started
        self.trial_seconds = TRIAL_SHARE * span if math.isfinite(span) else None
        self._done: list[TrialOutcome] = []

    @property
    def pending(self) -> int:
        return len(self._done)

    def submit(self, spec: TrialSpec, *, must_finish: bool = False, prune: FoldPruner | None = None) -> None:
        fitted = self.evaluate(
            spec,
            self.folds,
            self.metric,
            self.task,
            self.deadline,
            n_jobs=self.n_jobs,
            seed=self.seed,
            started=self.started,
            must_finish=must_finish,
            prune=prune,
            max_seconds=self.trial_seconds,
        )
        self._done.append(TrialOutcome(fitted, dict(prune.losses) if prune is not None else {}))

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        done, self._done = self._done, []
        return done

    def estimated_build_seconds(self, kind: str) -> float:
        return self.folds.estimated_build_seconds(kind)

    def shutdown(self) -> None:
        self._done = []


# ---------------------------------------------------------------------------------------------- worker processes
@dataclass(frozen=True)
class _Setup:
    """What a worker receives once, at start-up."""

    X: pd.DataFrame
    y: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    schema: Schema
    fold_seed: int
    metric: Metric
    task: str
    deadline: Deadline
    n_jobs: int
    seed: int
    started: float
    evaluate: Evaluate


@dataclass(frozen=True)
class _Reply:
    """What a worker sends back after each trial: the outcome, and what its fold cache now holds."""

    outcome: TrialOutcome
    built: frozenset[str]
    build_seconds: dict[str, float]


def _record(spec: TrialSpec, status: str, error: str, started: float, fit_time: float = 0.0) -> FittedTrial:
    return FittedTrial(
        TrialResult(spec=spec, status=status, error=error, fit_time=fit_time, finished_at=time.monotonic() - started)
    )


def _serve(conn: Connection) -> None:
    """A worker's life: receive the data once, then evaluate the specs it is sent until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when a worker stops
    logging.getLogger("accelml").addHandler(logging.NullHandler())  # the main process logs what the trials did
    try:
        setup: _Setup = pickle.loads(conn.recv_bytes())
    except (EOFError, OSError):
        return
    # Preprocessing is deterministic for a given seed: these matrices are the ones the main process would build.
    folds = FoldCache(setup.X, setup.y, setup.splits, setup.schema, seed=setup.fold_seed)
    inline = InlineExecutor(folds, setup.metric, setup.task, setup.deadline, n_jobs=setup.n_jobs, seed=setup.seed,
                            started=setup.started, evaluate=setup.evaluate)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the main process is gone
        if task is None:
            os._exit(0)  # nothing to flush or finalise: skip the interpreter's slow teardown
        spec, must_finish, prune = task
        try:
            inline.submit(spec, must_finish=must_finish, prune=prune)
            (outcome,) = inline.wait()
        except Exception as exc:  # a failed trial is recorded and the search goes on
            failed = _record(spec, "failed", f"{type(exc).__name__}: {exc}", setup.started)
            outcome = TrialOutcome(failed, dict(prune.losses) if prune is not None else {})
        built = frozenset(kind for kind in folds.build_seconds if folds.is_built(kind))
        reply = _Reply(outcome, built, dict(folds.build_seconds))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # fitted models that cannot be pickled: send the record without them
            failed = _record(spec, "failed", f"its models cannot be sent back: {type(exc).__name__}: {exc}",
                             setup.started, outcome.fitted.result.fit_time)
            conn.send(_Reply(TrialOutcome(failed, reply.outcome.fold_losses), built, reply.build_seconds))


@dataclass(eq=False)
class _Worker:
    """The main process's handle on one worker: its process, its pipe, and the trial it is running."""

    process: Any  # a multiprocessing process
    conn: Connection
    spec: TrialSpec | None = None
    must_finish: bool = False
    since: float = 0.0
    built: frozenset[str] = frozenset()  # preprocessing kinds whose folds the worker holds


class ProcessExecutor:
    """Evaluates trials in ``workers`` worker processes, each running one trial at a time.

    Workers are started with ``spawn`` (a fresh interpreter: a forked copy of a process whose OpenMP runtime is
    initialised, as LightGBM and XGBoost leave it, can hang). Each receives the data once and builds its own fold
    cache; a trial travels as its spec and comes back with its fitted fold models. Training stops itself at the
    deadline (a monotonic time, the same in every process); a worker still busy ``grace`` seconds later (by default
    2 s + 5 % of the time limit) is killed and its trial recorded as ``timeout``, except a ``must_finish`` trial,
    which is waited for as it would be in one process. A worker that dies records its trial as ``failed``; when no
    worker is left, the remaining trials run in this process.

    Call :meth:`shutdown` in a ``finally``: it ends every worker process.

    Raises:
        ConfigError: the metric or ``evaluate`` cannot be sent to another process (a lambda, a local function).
    """

    def __init__(
        self,
        folds: FoldCache,
        metric: Metric,
        task: str,
        deadline: Deadline,
        *,
        workers: int,
        n_jobs: int,
        seed: int,
        started: float,
        evaluate: Evaluate = evaluate_trial,
        grace: float | None = None,
    ):
        if workers < 1:
            raise ConfigError(f"workers must be at least 1; got {workers}")
        setup = _Setup(folds.X, folds.y, list(folds.splits), folds.schema, folds.seed, metric, task, deadline, n_jobs,
                       seed, started, evaluate)
        try:
            payload = pickle.dumps(setup, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ConfigError(
                f"trials cannot run in worker processes ({type(exc).__name__}: {exc}); define a custom metric as a "
                "module-level function, or use one worker"
            ) from exc
        self.deadline, self.started = deadline, started
        limit = deadline.end - deadline.start
        self.grace = grace if grace is not None else 2.0 + 0.05 * (limit if math.isfinite(limit) else 0.0)
        self._inline = InlineExecutor(folds, metric, task, deadline, n_jobs=n_jobs, seed=seed, started=started,
                                      evaluate=evaluate)
        self._n_folds = len(folds.splits)
        self._build_seconds: dict[str, float] = {}  # one fold of each kind, as the workers measured it
        self._pool: list[_Worker] = []
        context = multiprocessing.get_context("spawn")
        try:
            for i in range(workers):
                parent, child = context.Pipe()
                process = context.Process(target=_serve, args=(child,), name=f"accelml-trials-{i}")
                process.start()
                child.close()
                self._pool.append(_Worker(process, parent))
            # Sent once all are started, so that their interpreters start up side by side.
            for worker in list(self._pool):
                try:
                    worker.conn.send_bytes(payload)
                except OSError:
                    self._retire(worker, unexpected=True)
        except BaseException:
            self.shutdown()
            raise

    @property
    def workers(self) -> int:
        return len(self._pool) or self._inline.workers

    @property
    def pending(self) -> int:
        return sum(w.spec is not None for w in self._pool) + self._inline.pending

    def submit(self, spec: TrialSpec, *, must_finish: bool = False, prune: FoldPruner | None = None) -> None:
        kind = _kind(spec)
        while self._pool:
            idle = [w for w in self._pool if w.spec is None]
            if not idle:
                raise RuntimeError("every worker is busy: wait() for a finished trial before submitting another")
            worker = max(idle, key=lambda w: kind in w.built)  # the first one that holds the folds it needs
            try:
                worker.conn.send((spec, must_finish, prune))
            except OSError:
                self._retire(worker, unexpected=True)
                continue
            worker.spec, worker.must_finish, worker.since = spec, must_finish, time.monotonic()
            return
        self._inline.submit(spec, must_finish=must_finish, prune=prune)

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        outcomes = self._inline.wait()
        end = math.inf if timeout is None else time.monotonic() + timeout
        kill_at = self.deadline.end + self.grace
        while not outcomes:
            busy = [w for w in self._pool if w.spec is not None]
            if not busy:
                break
            until = min(end, kill_at) if any(not w.must_finish for w in busy) else end
            seconds = None if math.isinf(until) else max(0.0, until - time.monotonic())
            ready = wait_for([w.conn for w in busy] + [w.process.sentinel for w in busy], seconds)
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    outcomes.append(self._receive(worker))
            if time.monotonic() >= kill_at:
                outcomes += [self._stop(w) for w in busy if w.spec is not None and not w.must_finish]
            if time.monotonic() >= end:
                break
        return outcomes

    def estimated_build_seconds(self, kind: str) -> float:
        if not self._pool:
            return self._inline.estimated_build_seconds(kind)
        candidates = [w for w in self._pool if w.spec is None] or self._pool
        if any(kind in w.built for w in candidates):
            return 0.0
        return self._n_folds * fold_build_seconds(kind, self._build_seconds)

    def shutdown(self) -> None:
        for worker in self._pool:
            if worker.spec is None:
                try:
                    worker.conn.send(None)  # asks an idle worker to exit
                except OSError:
                    pass
        patience = time.monotonic() + 1.0
        for worker in self._pool:
            if worker.spec is None:
                worker.process.join(max(0.0, patience - time.monotonic()))
        for worker in list(self._pool):
            self._retire(worker)  # kills what is still running
        self._inline.shutdown()

    # ------------------------------------------------------------------------------------------------- internals
    def _receive(self, worker: _Worker) -> TrialOutcome:
        """The finished trial of a worker whose pipe or process became ready."""
        spec, since = worker.spec, worker.since
        assert spec is not None
        try:
            if worker.conn.poll():
                reply: _Reply = worker.conn.recv()
                worker.spec, worker.built = None, reply.built
                self._build_seconds.update(reply.build_seconds)
                result = reply.outcome.fitted.result
                if result.status == "failed":  # logged here, as it would be in one process (workers log nothing)
                    logger.warning("%s failed: %s", spec.name, result.error)
                return reply.outcome
        except (EOFError, OSError):
            pass
        worker.process.join(1.0)
        code = worker.process.exitcode
        self._retire(worker, unexpected=True)
        logger.warning("%s: its worker process exited (code %s)", spec.name, code)
        return TrialOutcome(_record(spec, "failed", f"the worker process running it exited (code {code})",
                                    self.started, time.monotonic() - since))

    def _stop(self, worker: _Worker) -> TrialOutcome:
        """Kill a worker that overran the deadline; its trial is recorded as a timeout."""
        spec, since = worker.spec, worker.since
        assert spec is not None
        self._retire(worker)
        logger.warning("%s was still training %.1f s after the deadline; its worker was stopped", spec.name, self.grace)
        return TrialOutcome(_record(spec, "timeout", f"stopped {self.grace:.1f} s after the deadline", self.started,
                                    time.monotonic() - since))

    def _retire(self, worker: _Worker, *, unexpected: bool = False) -> None:
        """End a worker's process (killing it when it still runs) and forget it."""
        worker.spec = None
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        worker.process.close()
        self._pool.remove(worker)
        if unexpected and not self._pool:
            logger.warning(
                "no worker process is left, the remaining trials run in this process (a script that starts a search "
                "with several workers must do so under `if __name__ == '__main__':`)"
            )


def _kind(spec: TrialSpec) -> str | None:
    """The preprocessing kind a spec's family needs (None for an unknown family, which its trial reports)."""
    try:
        return MODELS[spec.model].preprocessing
    except (ConfigError, ImportError):
        return None
