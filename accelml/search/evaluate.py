"""Evaluate one trial: fit a model per fold under the deadline and score its out-of-fold predictions."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.models import MODELS, Model
from accelml.search.context import TrialContext
from accelml.search.folds import FoldCache
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialResult, TrialSpec
from accelml.tasks import get_task

__all__ = ["FittedTrial", "evaluate_trial", "predict_outputs"]

logger = logging.getLogger(__name__)

_MIN_FOLD_SECONDS = 0.1


@dataclass
class FittedTrial:
    """A finished trial: its record, its out-of-fold predictions and the fold models that made them."""

    result: TrialResult
    oof: np.ndarray | None = None
    models: list[Model] = field(default_factory=list)


def predict_outputs(model: Model, X: np.ndarray) -> np.ndarray:
    """Probabilities for classification, values for regression: what ensembles average."""
    return model.predict_proba(X) if model.is_classifier else model.predict(X)


def available_memory() -> float:
    """Bytes of memory available now (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _memory_rows(model_key: str, X: np.ndarray) -> int | None:
    """Rows to train on when the full matrix would not fit in half the available memory (None: all rows), by the
    family's ``memory_factor`` (its training's rough peak memory as a multiple of the matrix)."""
    need = X.nbytes * MODELS[model_key].memory_factor
    budget = 0.5 * available_memory()
    if need <= budget:
        return None
    return max(1000, int(X.shape[0] * budget / need))


def evaluate_trial(spec: TrialSpec, folds: FoldCache, ctx: TrialContext, *, must_finish: bool = False,
                   prune: RungPruner | None = None) -> FittedTrial:
    """Fit ``spec`` on every fold of ``folds`` and score its out-of-fold output; a failure is recorded, never raised.

    With ``must_finish`` (the first trial of a run, so that there is always a usable model) every fold is trained
    even past the deadline, each with an equal share of the time left but at least ``_MIN_FOLD_SECONDS``; the boosting
    callbacks keep each share short. ``ctx.trial_seconds`` bounds the trial itself: each fold gets an equal share of
    what is left of it, and a family that stops at a deadline keeps the rounds it has built (a usable, shorter
    model, marked ``stopped_by_deadline``).

    ``prune`` (successive halving) is asked after every fold but the last, with the loss on the rows validated so far,
    and, for a family whose fidelity is epochs, after every epoch of the first fold; when it says so the trial stops
    as ``pruned``.

    With repeated k-fold, a trial stops at the end of a repeat when the time left would not pay for another repeat
    as long as those before it (see :meth:`_Trial.repeats_suffice`): its out-of-fold output, averaged over fewer
    repeats, still covers every row, and the first trial of a run no longer trains every repeat past the deadline.
    """
    trial = _Trial(spec, folds, ctx, must_finish, prune)
    try:
        for k in range(len(folds.splits)):
            if trial.repeats_suffice(k):
                break
            stopped = trial.fold(k)
            if stopped is not None:
                return stopped
    except MemoryError:
        logger.warning("%s ran out of memory and was skipped", spec.name)
        return trial.record("failed", error="out of memory")
    except Exception as exc:  # a failed trial is recorded and the search goes on
        logger.warning("%s failed: %s: %s", spec.name, type(exc).__name__, exc)
        return trial.record("failed", error=f"{type(exc).__name__}: {exc}")
    return trial.finish()


class _Trial:
    """One trial in progress: its fold models, their summed out-of-fold outputs and what it has spent."""

    def __init__(self, spec: TrialSpec, folds: FoldCache, ctx: TrialContext, must_finish: bool,
                 prune: RungPruner | None):
        self.spec, self.folds, self.ctx, self.must_finish, self.prune = spec, folds, ctx, must_finish, prune
        self.cls = MODELS[spec.model]
        n = len(folds.y)
        n_out = get_task(ctx.task).n_outputs(folds.schema.classes)
        self.oof = np.zeros((n, n_out)) if n_out else np.zeros(n)
        self.counts = np.zeros(n)  # predictions summed into each row (repeated k-fold predicts a row once per repeat)
        self.models: list[Model] = []
        self.fit_time = self.predict_time = 0.0
        self.truncated = False
        self.sampled: int | None = None
        self.t0 = time.monotonic()
        self.deadline = ctx.deadline()
        self.trial_end = None if ctx.trial_seconds is None else self.t0 + ctx.trial_seconds

    def record(self, status: str, **kw: Any) -> FittedTrial:
        return FittedTrial(TrialResult(
            spec=self.spec, status=status, fit_time=self.fit_time, n_folds=len(self.models),
            stopped_by_deadline=self.truncated, sampled_rows=self.sampled,
            finished_at=self.ctx.elapsed + time.monotonic() - self.t0, extra=self._extra(), **kw,
        ))

    def _extra(self) -> dict[str, Any]:
        """What a network's first fold model says about itself: its architecture in words (``describe()``) and its
        learning curve (validation loss per epoch), for the report."""
        if not self.models:
            return {}
        model, out = self.models[0], {}
        if callable(getattr(model, "describe", None)):
            out["architecture"] = str(model.describe())
        curve = getattr(model, "curve_", None)
        if curve:
            out["curve"] = [float(v) for v in curve]
        return out

    def repeats_suffice(self, k: int) -> bool:
        """Whether to stop before fold ``k``, the first of a repeat, with the whole repeats trained so far: when the
        search's deadline has passed or the time left is shorter than one repeat has taken (the folds' building,
        training and prediction, which a boosting callback only partly bounds)."""
        per_repeat = self.folds.validation.n_folds
        if k == 0 or per_repeat < 2 or k % per_repeat or len(self.models) != k:
            return False
        seconds = (time.monotonic() - self.t0) / (k // per_repeat)
        if self.deadline.remaining() >= seconds:
            return False
        self.truncated = True
        logger.info("%s: stopped after %d of %d repeats (%.1f s each, %.1f s left)", self.spec.name, k // per_repeat,
                    len(self.folds.splits) // per_repeat, seconds, self.deadline.remaining())
        return True

    def fold(self, k: int) -> FittedTrial | None:
        """Train and predict fold ``k``; a record to stop with (deadline reached, pruned), or None to go on."""
        deadline = self._fold_deadline(k)
        if deadline is None:
            return self.record("timeout", error="deadline reached before all folds were trained")
        train, val = self.folds.splits[k]
        data = self.folds.get(k, self.cls.preprocessing)
        X_train, y_train = self._within_memory(k, data.X_train, self.folds.y[train])
        model = self.cls(task=self.ctx.task, params=dict(self.spec.params), n_jobs=self.ctx.n_jobs, seed=self.ctx.seed)
        t = time.monotonic()
        model.fit(X_train, y_train, deadline=deadline, eval_set=(data.X_val, self.folds.y[val]),
                  categorical=data.categorical, **self._fit_options(k))
        self.fit_time += time.monotonic() - t
        self.truncated = self.truncated or model.stopped_by_deadline_
        t = time.monotonic()
        self.oof[val] += predict_outputs(model, data.X_val)
        self.counts[val] += 1
        self.predict_time += (time.monotonic() - t) / max(len(val), 1) * 1000
        self.models.append(model)
        last = k == len(self.folds.splits) - 1
        if self.prune is None or (last and not getattr(model, "pruned_", False)):
            return None
        seen = np.flatnonzero(self.counts)
        loss = self.folds.validation.loss(self.ctx.metric, _average(self.oof[seen], self.counts[seen]), seen,
                                          aligned=True)
        score = -loss if self.ctx.metric.greater_is_better else loss
        if np.isfinite(loss) and (getattr(model, "pruned_", False) or self.prune(k, float(loss))):
            return self.record("pruned", score=float(score), loss=float(loss))
        return None

    def finish(self) -> FittedTrial:
        rows = self.folds.oof_rows
        self.oof[rows] = _average(self.oof[rows], self.counts[rows])
        score = self.folds.validation.score(self.ctx.metric, self.oof)
        loss = -score if self.ctx.metric.greater_is_better else score
        if not np.isfinite(loss):
            return self.record("failed", error=f"{self.ctx.metric.name} is not finite on the validation predictions")
        logger.debug("%s: %s=%.5f in %.2fs", self.spec.name, self.ctx.metric.name, score, time.monotonic() - self.t0)
        fitted = self.record("ok", score=float(score), loss=float(loss), predict_time=self.predict_time)
        fitted.oof, fitted.models = self.oof, self.models
        return fitted

    def _fold_deadline(self, k: int) -> Deadline | None:
        """Fold ``k``'s deadline: an equal share of the time left for a trial that must finish, of the trial's own
        time when it is bounded, else the search's; None when the search's deadline has passed."""
        left = len(self.folds.splits) - k
        if self.must_finish:
            return Deadline.after(max(self.deadline.remaining() / left, _MIN_FOLD_SECONDS))
        if self.deadline.expired():
            return None
        if self.trial_end is not None:
            return self.deadline.child(max((self.trial_end - time.monotonic()) / left, _MIN_FOLD_SECONDS))
        return self.deadline

    def _within_memory(self, k: int, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = _memory_rows(self.spec.model, X)
        if rows is None or rows >= len(y):
            return X, y
        keep = np.sort(np.random.default_rng(self.ctx.seed + k).choice(len(y), rows, replace=False))
        self.sampled = rows
        logger.info("%s: training on %d sampled rows to stay within memory", self.spec.name, rows)
        return X[keep], y[keep]

    def _fit_options(self, k: int) -> dict[str, Any]:
        """What only some families take: the epoch pruner (first fold only) and the device they were handed."""
        options: dict[str, Any] = {}
        if self.cls.fidelity == "epochs" and self.prune is not None and k == 0:
            options["pruner"] = self.prune.epoch
        if self.cls.device == "gpu":
            options["device"] = self.ctx.device
        return options


def _average(total: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Summed predictions divided by how many were summed per row."""
    return total / (counts[:, None] if total.ndim == 2 else counts)
