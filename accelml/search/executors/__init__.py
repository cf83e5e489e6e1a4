"""Where trials run: the :data:`EXECUTORS` registry.

The search loop talks to a :class:`~accelml.search.executors.base.TrialExecutor` only: it submits
:class:`~accelml.search.trial.TrialSpec` s with their :class:`~accelml.search.context.TrialContext` and collects
finished trials, so that another backend (Ray, a cluster) is one file and one line here:

* ``inline`` (:class:`~accelml.search.executors.inline.InlineExecutor`) evaluates a trial in the calling process
  when it is submitted: one trial at a time, and a run is reproducible;
* ``process`` (:class:`~accelml.search.executors.process.ProcessExecutor`) keeps several worker processes, each with
  its own copy of the data, and stops a worker that overruns the deadline.

Executors know the devices: :func:`make_executor` counts the GPUs when a searched family uses one, and a trial of such
a family is handed a free GPU. :func:`plan_workers` splits the cores between parallel trials and the threads inside one
model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from accelml._device import gpu_count
from accelml.exceptions import ConfigError
from accelml.models import MODELS
from accelml.models.base import _SMALL_MATRIX
from accelml.registry import Registry
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.executors.base import TrialExecutor, TrialOutcome
from accelml.search.folds import FoldCache

__all__ = [
    "EXECUTORS",
    "MAX_WORKERS",
    "MIN_PARALLEL_SECONDS",
    "TrialExecutor",
    "TrialOutcome",
    "make_executor",
    "plan_workers",
]

logger = logging.getLogger(__name__)

EXECUTORS = Registry(
    "executor",
    {
        "inline": "accelml.search.executors.inline:InlineExecutor",
        "process": "accelml.search.executors.process:ProcessExecutor",
    },
)

# A worker is a fresh interpreter that imports numpy, pandas, scikit-learn and the boosters before its first trial
# (2.4 s for one, measured on a busy 2-core machine): that start-up is paid out of the budget, so shorter runs stay
# in this process.
MIN_PARALLEL_SECONDS = 30.0
# Beyond this, Optuna proposes most configurations without the results of the trials still running, and every worker
# holds its own interpreter and fold matrices in memory.
MAX_WORKERS = 8


def make_executor(folds: FoldCache, context: TrialContext, *, workers: int, models: Sequence[str] = (),
                  evaluate: Callable[..., FittedTrial] = evaluate_trial, grace: float | None = None) -> TrialExecutor:
    """Worker processes for ``workers`` > 1 (when the context can travel to them), else this process; with the GPUs
    counted when one of ``models`` uses one."""
    if workers < 1:
        raise ConfigError(f"workers must be at least 1; got {workers}")
    gpus = gpu_count() if any(key in MODELS and MODELS[key].device == "gpu" for key in models) else 0
    if workers > 1:
        try:
            return EXECUTORS["process"](folds, context, workers=workers, evaluate=evaluate, grace=grace, gpus=gpus)
        except ConfigError as exc:
            logger.info("running one trial at a time: %s", exc)
    return EXECUTORS["inline"](folds, evaluate=evaluate, gpus=gpus)


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
