"""Evaluate one trial: fit a model per fold under the deadline and score its out-of-fold predictions."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.metrics import Metric
from accelml.models import MODELS, Model
from accelml.search.folds import FoldCache
from accelml.search.trial import TrialResult, TrialSpec

__all__ = ["FittedTrial", "evaluate_trial", "predict_outputs"]

logger = logging.getLogger(__name__)

# Rough peak memory of a family's training as a multiple of its input matrix (forests copy, boosters bin).
_MIN_FOLD_SECONDS = 0.1
_MEMORY_FACTOR = {"rf": 6.0, "extra_trees": 6.0, "knn": 2.0, "linear": 3.0}


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
    """Rows to train on when the full matrix would not fit in half the available memory (None: all rows)."""
    need = X.nbytes * _MEMORY_FACTOR.get(model_key, 3.0)
    budget = 0.5 * available_memory()
    if need <= budget:
        return None
    return max(1000, int(X.shape[0] * budget / need))


def evaluate_trial(
    spec: TrialSpec,
    folds: FoldCache,
    metric: Metric,
    task: str,
    deadline: Deadline,
    *,
    n_jobs: int,
    seed: int,
    started: float,
    must_finish: bool = False,
    prune: Callable[[int, float], bool] | None = None,
    max_seconds: float | None = None,
) -> FittedTrial:
    """Fit ``spec`` on every fold; a failure is recorded, never raised.

    With ``must_finish`` (the first trial of a run, so that there is always a usable model) every fold is trained
    even past the deadline, each with an equal share of the time left but at least ``_MIN_FOLD_SECONDS``; the boosting
    callbacks keep each share short.

    ``max_seconds`` bounds the trial itself: each fold gets an equal share of what is left of it, and a family that
    stops at a deadline keeps the rounds it has built (a usable, shorter model, marked ``stopped_by_deadline``).

    ``prune(fold, loss_so_far)`` is asked after every fold but the last, with the loss on the validation rows seen so
    far; when it says so the trial stops as ``pruned`` (multi-fidelity: folds are the resource).
    """
    cls = MODELS[spec.model]
    y = folds.y
    n_out = len(folds.schema.classes or []) if task in ("binary", "multiclass") else 0
    oof = np.zeros((len(y), n_out)) if n_out else np.zeros(len(y))
    counts = np.zeros(len(y))  # predictions summed into each row (repeated k-fold predicts a row once per repeat)
    models: list[Model] = []
    fit_time = predict_time = 0.0
    truncated = False
    sampled: int | None = None
    t0 = time.monotonic()
    trial_end = None if max_seconds is None else t0 + max_seconds

    def record(status: str, **kw: Any) -> FittedTrial:
        result = TrialResult(
            spec=spec,
            status=status,
            fit_time=fit_time,
            n_folds=len(models),
            stopped_by_deadline=truncated,
            sampled_rows=sampled,
            finished_at=time.monotonic() - started,
            **kw,
        )
        return FittedTrial(result)

    try:
        for k, (train, val) in enumerate(folds.splits):
            fold_deadline = deadline
            if must_finish:
                share = max(deadline.remaining() / (len(folds.splits) - k), _MIN_FOLD_SECONDS)
                fold_deadline = Deadline.after(share)
            elif deadline.expired():
                return record("timeout", error="deadline reached before all folds were trained")
            elif trial_end is not None:
                share = (trial_end - time.monotonic()) / (len(folds.splits) - k)
                fold_deadline = deadline.child(max(share, _MIN_FOLD_SECONDS))
            fold = folds.get(k, cls.preprocessing)
            X_train, y_train = fold.X_train, y[train]
            rows = _memory_rows(spec.model, X_train)
            if rows is not None and rows < len(y_train):
                keep = np.sort(np.random.default_rng(seed + k).choice(len(y_train), rows, replace=False))
                X_train, y_train, sampled = X_train[keep], y_train[keep], rows
                logger.info("%s: training on %d sampled rows to stay within memory", spec.name, rows)
            model = cls(task=task, params=dict(spec.params), n_jobs=n_jobs, seed=seed)
            t = time.monotonic()
            model.fit(X_train, y_train, deadline=fold_deadline, eval_set=(fold.X_val, y[val]), categorical=fold.categorical)
            fit_time += time.monotonic() - t
            truncated = truncated or model.stopped_by_deadline_
            t = time.monotonic()
            oof[val] += predict_outputs(model, fold.X_val)
            counts[val] += 1
            predict_time += (time.monotonic() - t) / max(len(val), 1) * 1000
            models.append(model)
            if prune is not None and k < len(folds.splits) - 1:
                seen = np.flatnonzero(counts)
                partial = metric.score_from_proba(y[seen], _average(oof[seen], counts[seen]))
                partial_loss = -partial if metric.greater_is_better else partial
                if np.isfinite(partial_loss) and prune(k, float(partial_loss)):
                    return record("pruned", score=float(partial), loss=float(partial_loss))
    except MemoryError:
        logger.warning("%s ran out of memory and was skipped", spec.name)
        return record("failed", error="out of memory")
    except Exception as exc:  # a failed trial is recorded and the search goes on
        logger.warning("%s failed: %s: %s", spec.name, type(exc).__name__, exc)
        return record("failed", error=f"{type(exc).__name__}: {exc}")

    rows = folds.oof_rows
    oof[rows] = _average(oof[rows], counts[rows])
    score = metric.score_from_proba(y[rows], oof[rows])
    loss = -score if metric.greater_is_better else score
    if not np.isfinite(loss):
        return record("failed", error=f"{metric.name} is not finite on the validation predictions")
    logger.debug("%s: %s=%.5f in %.2fs", spec.name, metric.name, score, time.monotonic() - t0)
    fitted = record("ok", score=float(score), loss=float(loss), predict_time=predict_time)
    fitted.oof, fitted.models = oof, models
    return fitted


def _average(total: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Summed predictions divided by how many were summed per row."""
    return total / (counts[:, None] if total.ndim == 2 else counts)
