"""Trials in worker processes that can be stopped at the deadline.

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
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for
from typing import Any

import pandas as pd

from accelml.exceptions import ConfigError
from accelml.models import MODELS
from accelml.schema import Schema
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.executors.base import TrialOutcome, failed_outcome, on_device
from accelml.search.executors.inline import InlineExecutor
from accelml.search.folds import FoldCache, fold_build_seconds
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialSpec
from accelml.validation import Validation

__all__ = ["ProcessExecutor"]

logger = logging.getLogger(__name__)

Evaluate = Callable[..., FittedTrial]


@dataclass
class _Setup:
    """What a worker receives once, at start-up."""

    X: pd.DataFrame
    validation: Validation
    schema: Schema
    fold_seed: int
    evaluate: Evaluate
    gpus: int


@dataclass(frozen=True)
class _Reply:
    """What a worker sends back after each trial: the outcome, and what its fold cache now holds."""

    outcome: TrialOutcome
    built: frozenset[str]
    build_seconds: dict[str, float]


def _serve(conn: Connection) -> None:
    """A worker's life: receive the data once, then evaluate the specs it is sent until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when a worker stops
    logging.getLogger("accelml").addHandler(logging.NullHandler())  # the main process logs what the trials did
    try:
        setup: _Setup = pickle.loads(conn.recv_bytes())
    except (EOFError, OSError):
        return
    # Preprocessing is deterministic for a given seed: these matrices are the ones the main process would build.
    folds = FoldCache(setup.X, setup.validation, setup.schema, seed=setup.fold_seed)
    inline = InlineExecutor(folds, evaluate=setup.evaluate, gpus=setup.gpus)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the main process is gone
        if task is None:
            os._exit(0)  # nothing to flush or finalise: skip the interpreter's slow teardown
        spec, ctx, must_finish, prune = task
        since = time.monotonic()
        try:
            inline.submit(spec, ctx, must_finish=must_finish, prune=prune)
            (outcome,) = inline.wait()
        except Exception as exc:  # a failed trial is recorded and the search goes on
            outcome = failed_outcome(spec, "failed", f"{type(exc).__name__}: {exc}", ctx, since, prune)
        built = frozenset(kind for kind in folds.build_seconds if folds.is_built(kind))
        reply = _Reply(outcome, built, dict(folds.build_seconds))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # fitted models that cannot be pickled: send the record without them
            failed = failed_outcome(spec, "failed", f"its models cannot be sent back: {type(exc).__name__}: {exc}",
                                    ctx, since, prune)
            conn.send(_Reply(failed, built, reply.build_seconds))


@dataclass(eq=False)
class _Worker:
    """The main process's handle on one worker: its process, its pipe, and the trial it is running."""

    process: Any  # a multiprocessing process
    conn: Connection
    spec: TrialSpec | None = None
    ctx: TrialContext | None = None
    must_finish: bool = False
    since: float = 0.0
    kill_at: float = math.inf  # when a trial still running is stopped: its deadline plus the grace
    built: frozenset[str] = frozenset()  # input kinds whose folds the worker holds


class ProcessExecutor:
    """Evaluates trials in ``workers`` worker processes, each running one trial at a time.

    Workers are started with ``spawn`` (a fresh interpreter: a forked copy of a process whose OpenMP runtime is
    initialised, as LightGBM and XGBoost leave it, can hang). Each receives the data once and builds its own fold
    cache; a trial travels as its spec and context and comes back with its fitted fold models. Training stops
    itself at the deadline (sent as seconds left and re-anchored in the worker); a worker still busy ``grace``
    seconds later (by default 2 s + 5 % of the time the trial was given) is killed and its trial recorded as
    ``timeout``, except a ``must_finish`` trial, which is waited for as it would be in one process. A worker that
    dies records its trial as ``failed``; when no worker is left, the remaining trials run in this process. With
    ``gpus``, that many trials of a family that uses a GPU run on one at a time; the others on the CPU.

    Call :meth:`shutdown` in a ``finally``: it ends every worker process.

    Raises:
        ConfigError: the context (its metric) or ``evaluate`` cannot be sent to another process (a lambda, a local
            function).
    """

    def __init__(self, folds: FoldCache, context: TrialContext, *, workers: int, evaluate: Evaluate = evaluate_trial,
                 grace: float | None = None, gpus: int = 0):
        if workers < 1:
            raise ConfigError(f"workers must be at least 1; got {workers}")
        setup = _Setup(folds.X, folds.validation, folds.schema, folds.seed, evaluate, gpus)
        try:
            payload = pickle.dumps(setup, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dumps(context, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ConfigError(
                f"trials cannot run in worker processes ({type(exc).__name__}: {exc}); define a custom metric as a "
                "module-level function, or use one worker"
            ) from exc
        self.grace, self.gpus = grace, gpus
        self._inline = InlineExecutor(folds, evaluate=evaluate, gpus=gpus)
        self._n_folds = len(folds.splits)
        self._build_seconds: dict[str, float] = {}  # one fold of each kind, as the workers measured it
        self._pool: list[_Worker] = []
        context_ = multiprocessing.get_context("spawn")
        try:
            for i in range(workers):
                parent, child = context_.Pipe()
                process = context_.Process(target=_serve, args=(child,), name=f"accelml-trials-{i}")
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

    def submit(self, spec: TrialSpec, ctx: TrialContext, *, must_finish: bool = False,
               prune: RungPruner | None = None) -> None:
        kind = _kind(spec)
        busy_gpus = sum(w.ctx is not None and w.ctx.device == "cuda" for w in self._pool if w.spec is not None)
        ctx = on_device(spec, ctx, self.gpus - busy_gpus)
        while self._pool:
            idle = [w for w in self._pool if w.spec is None]
            if not idle:
                raise RuntimeError("every worker is busy: wait() for a finished trial before submitting another")
            worker = max(idle, key=lambda w: kind in w.built)  # the first one that holds the folds it needs
            try:
                worker.conn.send((spec, ctx, must_finish, prune))
            except OSError:
                self._retire(worker, unexpected=True)
                continue
            worker.spec, worker.ctx, worker.must_finish, worker.since = spec, ctx, must_finish, time.monotonic()
            worker.kill_at = self._kill_at(ctx, worker.since)
            return
        self._inline.submit(spec, ctx, must_finish=must_finish, prune=prune)

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        outcomes = self._inline.wait()
        end = math.inf if timeout is None else time.monotonic() + timeout
        while not outcomes:
            busy = [w for w in self._pool if w.spec is not None]
            if not busy:
                break
            kill_at = min((w.kill_at for w in busy if not w.must_finish), default=math.inf)
            until = min(end, kill_at)
            seconds = None if math.isinf(until) else max(0.0, until - time.monotonic())
            ready = wait_for([w.conn for w in busy] + [w.process.sentinel for w in busy], seconds)
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    outcomes.append(self._receive(worker))
            now = time.monotonic()
            outcomes += [self._stop(w) for w in busy if w.spec is not None and not w.must_finish and now >= w.kill_at]
            if now >= end:
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
    def _kill_at(self, ctx: TrialContext, since: float) -> float:
        if ctx.seconds_left is None:
            return math.inf
        grace = self.grace if self.grace is not None else 2.0 + 0.05 * ctx.seconds_left
        return since + ctx.seconds_left + grace

    def _receive(self, worker: _Worker) -> TrialOutcome:
        """The finished trial of a worker whose pipe or process became ready."""
        spec, ctx, since = worker.spec, worker.ctx, worker.since
        assert spec is not None and ctx is not None
        try:
            if worker.conn.poll():
                reply: _Reply = worker.conn.recv()
                worker.spec, worker.ctx, worker.built = None, None, reply.built
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
        return failed_outcome(spec, "failed", f"the worker process running it exited (code {code})", ctx, since)

    def _stop(self, worker: _Worker) -> TrialOutcome:
        """Kill a worker that overran its deadline; its trial is recorded as a timeout."""
        spec, ctx, since = worker.spec, worker.ctx, worker.since
        assert spec is not None and ctx is not None
        late = time.monotonic() - (since + (ctx.seconds_left or 0.0))
        self._retire(worker)
        logger.warning("%s was still training %.1f s after the deadline; its worker was stopped", spec.name, late)
        return failed_outcome(spec, "timeout", f"stopped {late:.1f} s after the deadline", ctx, since)

    def _retire(self, worker: _Worker, *, unexpected: bool = False) -> None:
        """End a worker's process (killing it when it still runs) and forget it."""
        worker.spec = worker.ctx = None
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
    """The input kind a spec's family needs (None for an unknown family, which its trial reports)."""
    try:
        return MODELS[spec.model].preprocessing
    except (ConfigError, ImportError):
        return None
