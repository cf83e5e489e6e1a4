"""Feature selection before the search: columns whose importance on the validation folds is no better than a shuffled
copy's are dropped, but only when the out-of-fold score without them says so.

One quick LightGBM is trained on the folds of the first repeat. Each column it reads is then shuffled in every
fold's validation rows (``SHUFFLES`` times), and the rise in each fold's loss is the column's importance there: a
column that carries signal raises the loss in (nearly) every fold, a useless one as often lowers it as raises it,
and a column the model never split on changes nothing. A column is a candidate to drop when its mean importance is
not clearly above zero (below ``T_KEEP`` standard errors over the folds). The same LightGBM is then trained on the
remaining columns, and the candidates are dropped only when that out-of-fold score is at least as good as with every
column (on wide data, within ``WIDE_TOLERANCE`` of it: the search that follows runs on a fraction of the columns).

On wide data (thousands of columns, few rows) this runs before anything else and the search then works on the kept
columns only. It takes a share of the time limit (``SHARE``) estimated from the data's size before it starts, so
that whether it runs depends on the data and the settings, not on the clock; an estimate that proves wrong is cut by
the deadline and the run goes on with every column.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.schema.schema import DROPPED_FEATURES, Schema
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial, predict_outputs
from accelml.search.folds import FoldCache
from accelml.search.trial import TrialSpec
from accelml.validation import Validation

__all__ = ["Selection", "estimated_seconds", "is_wide", "lightgbm_installed", "pointwise_loss", "select_features",
           "skipped"]

logger = logging.getLogger(__name__)

MODEL = "lgbm"
# Quick and deterministic: every column is a candidate at every split (no feature_fraction), few rounds.
PARAMS: dict[str, Any] = {"learning_rate": 0.15, "num_leaves": 15, "min_child_samples": 10, "feature_fraction": 1.0,
                          "bagging_fraction": 1.0, "n_estimators": 300, "early_stopping_rounds": 20}
SHARE = 0.15  # the most of the time limit selection may take (estimated before it starts)
WIDE_SHARE = 0.3  # ... on wide data, where it pays most
WIDE_COLUMNS = 1000  # features from which data is wide (also when there are more features than rows)
WIDE_TOLERANCE = 0.002  # relative loss a wide table may lose to drop columns (the search then runs far faster)
SHUFFLES = 3  # shuffles of each column per fold
TINY = 0.02  # importance below this share of the largest is negligible
T_KEEP = 2.0  # a column is kept when its mean importance is at least this many standard errors above zero
_CELLS_PER_BATCH = 20_000_000  # shuffled validation copies predicted at once (float32 cells)


@dataclass
class Selection:
    """What feature selection did, as plain data (stored in the result, the artifact and the report).

    ``status``: ``"dropped"`` (columns were dropped), ``"kept"`` (every column stays: none was useless, or the
    score without the candidates was worse), ``"skipped"`` (no time, too little data, nothing to select) or
    ``"off"`` (``feature_selection=False``). ``dropped`` lists ``{"column", "importance", "why"}``; ``importance``
    holds every column's mean rise in validation loss when shuffled (0 for a column the model never read).
    """

    status: str
    reason: str
    n_columns: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    importance: dict[str, float] = field(default_factory=dict)
    score_all: float | None = None
    score_kept: float | None = None
    metric: str | None = None
    model: str = MODEL
    seconds: float = 0.0
    fit_time_all: float = 0.0  # the selection model's training time on every fold, with every column
    fit_time_kept: float = 0.0  # ... without the candidates

    @property
    def dropped_columns(self) -> list[str]:
        return [d["column"] for d in self.dropped]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimated_seconds(n_rows: int, n_features: int, n_folds: int) -> float:
    """Seconds selection is expected to take on this data (two LightGBMs on every fold, shuffled predictions, and
    building the folds twice), measured on two cores; an overestimate is safe, it only skips selection.

    >>> round(estimated_seconds(500, 30, 5), 2), round(estimated_seconds(100, 5000, 5), 2)
    (0.75, 7.3)
    """
    cells = n_rows * n_features
    return 0.3 + n_folds * (0.05 + 2.5e-6 * cells) + 1.0e-6 * cells


def select_features(X: pd.DataFrame, validation: Validation, schema: Schema, context: TrialContext,
                    deadline: Deadline, *, time_limit: float | None = None) -> Selection:
    """Find the columns to drop from ``schema.features`` (see the module's docstring); ``schema`` is not changed.

    ``validation`` is the run's; only its first repeat is used. ``time_limit`` is the run's limit: selection is
    skipped when :func:`estimated_seconds` exceeds its share of it, and otherwise stops at ``deadline`` (keeping
    every column).
    """
    started = time.monotonic()
    names = [c.name for c in schema.features]
    done = _Done(started, len(names), context.metric.name)
    if len(names) < 2:
        return done("skipped", "fewer than two feature columns")
    folds = FoldCache(X, validation.first_repeat_only(), schema, seed=context.seed)
    wide = is_wide(len(X), len(names))
    estimate = estimated_seconds(len(X), len(names), len(folds.splits))
    if time_limit is not None and estimate > (WIDE_SHARE if wide else SHARE) * time_limit:
        logger.info("feature selection skipped: it would take about %.1f s of the %g s limit", estimate, time_limit)
        return done("skipped", f"it would take about {estimate:.1f} s of the {time_limit:g} s limit")
    if time_limit is not None:  # an estimate that proves wrong is cut here, and the run keeps every column
        deadline = deadline.child(2 * (WIDE_SHARE if wide else SHARE) * time_limit)
    full = _evaluate(folds, context.at(deadline, started))
    if full is None:
        return done("skipped", "the selection model did not finish in its share of the time")
    importance, per_fold = _importance(full, folds, names, context.seed, deadline)
    if importance is None:
        return done("skipped", "shuffling the columns did not finish in its share of the time")
    done.importance, done.score_all = {n: float(v) for n, v in importance.items()}, full.result.score
    done.fit_times[0] = full.result.fit_time
    top = max(importance.values())
    tiers = [[n for n in names if not _kept(per_fold[n])],  # every doubtful column
             [n for n in names if importance[n] <= TINY * top],  # ... those of negligible importance
             [n for n in names if importance[n] <= 0]]  # ... only those whose shuffled copy did as well
    if not tiers[0]:
        return done("kept", "every column's importance is clearly above its shuffled copy's")
    if len(tiers[0]) == len(names) and len(tiers[1]) == len(names):
        return done("kept", "no column's importance is above its shuffled copy's: the model found no signal")
    loss_all = full.result.loss
    allowed = loss_all + (WIDE_TOLERANCE * abs(loss_all) if wide else 0.0)
    tried: list[str] = []
    for candidates in tiers:
        if not candidates or len(candidates) == len(names) or candidates == done.candidates:
            continue
        done.candidates = candidates
        reduced = Schema.from_dict({**schema.to_dict(), "extra": {**schema.extra, DROPPED_FEATURES: list(candidates)}})
        kept = _evaluate(FoldCache(X, validation.first_repeat_only(), reduced, seed=context.seed),
                         context.at(deadline, started))
        if kept is None:
            return done("kept", "the model on the kept columns did not finish in its share of the time")
        done.score_kept, done.fit_times[1] = kept.result.score, kept.result.fit_time
        if kept.result.loss <= allowed:
            done.dropped = [{"column": n, "importance": importance[n], "why": _why(importance[n], per_fold[n])}
                            for n in candidates]
            better = ("better" if kept.result.loss < loss_all else "as good" if kept.result.loss == loss_all
                      else "within the tolerance of wide data")
            return done("dropped", f"the out-of-fold {context.metric.name} without them was {better} "
                                   f"({_fmt(kept.result.score)} against {_fmt(full.result.score)})")
        tried.append(f"without {len(candidates)}: {_fmt(kept.result.score)}")
    return done("kept", f"the out-of-fold {context.metric.name} was best with every column "
                        f"({_fmt(full.result.score)}; {', '.join(tried)})")


def _fmt(value: float) -> str:
    return f"{value:.5g}"


def is_wide(n_rows: int, n_features: int) -> bool:
    """Thousands of columns, or more columns than rows.

    >>> is_wide(100, 5000), is_wide(50, 60), is_wide(10_000, 80)
    (True, True, False)
    """
    return n_features >= WIDE_COLUMNS or n_features > n_rows


class _Done:
    """Builds the :class:`Selection` to return, with the time taken and one log line."""

    def __init__(self, started: float, n_columns: int, metric: str):
        self.started, self.n_columns, self.metric = started, n_columns, metric
        self.importance: dict[str, float] = {}
        self.score_all: float | None = None
        self.score_kept: float | None = None
        self.candidates: list[str] = []
        self.dropped: list[dict[str, Any]] = []
        self.fit_times = [0.0, 0.0]

    def __call__(self, status: str, reason: str) -> Selection:
        out = Selection(status, reason, self.n_columns, self.dropped, self.candidates, self.importance,
                        self.score_all, self.score_kept, self.metric, seconds=time.monotonic() - self.started,
                        fit_time_all=self.fit_times[0], fit_time_kept=self.fit_times[1])
        logger.info("feature selection (%.1f s): %s%s", out.seconds,
                    f"dropped {len(self.dropped)} of {self.n_columns} columns, " if self.dropped else
                    "kept every column: " if status == "kept" else "", reason)
        return out


def _evaluate(folds: FoldCache, ctx: TrialContext) -> FittedTrial | None:
    """The selection model on every fold, or None when it failed or the deadline cut it."""
    spec = TrialSpec(trial_id=-1, model=MODEL, params=dict(PARAMS), stage="selection")
    fitted = evaluate_trial(spec, folds, ctx)
    if not fitted.result.ok or fitted.result.stopped_by_deadline or not fitted.models:
        return None
    return fitted


def _kept(values: np.ndarray) -> bool:
    """Whether per-fold importances show a column carries signal: their mean is clearly above zero (``T_KEEP``
    standard errors; one fold: above zero at all)."""
    mean = float(np.mean(values))
    if mean <= 0:
        return False
    if len(values) < 3:
        return True
    se = float(np.std(values, ddof=1)) / np.sqrt(len(values))
    return mean >= T_KEEP * se


def _why(importance: float, per_fold: np.ndarray) -> str:
    if not np.any(per_fold):
        return "never used by the model"
    if importance <= 0:
        return f"shuffling it did not raise the validation loss (importance {importance:.3g})"
    return f"its importance ({importance:.3g}) is not clearly above a shuffled copy's in every fold"


def _owners(preprocessor: Any) -> dict[str, np.ndarray]:
    """Each input column's output columns in a fitted preprocessor's matrix."""
    out, start = {}, 0
    for encoder in preprocessor.encoders_:
        width = len(encoder.feature_names_)
        out[encoder.column] = np.arange(start, start + width)
        start += width
    return out


def _importance(full: FittedTrial, folds: FoldCache, names: list[str], seed: int, deadline: Deadline) -> tuple[dict[str, float] | None, dict[str, np.ndarray]]:
    """Each column's mean rise in validation loss when shuffled, over the folds, and its value in each fold (None
    when the deadline passed first). Only columns some fold model reads are shuffled; the others score 0.

    The loss is the model's own (log loss, squared error), not the run's metric: it moves smoothly with every row's
    prediction (a rank metric such as AUC on a small fold barely moves), and thousands of shuffled copies are
    scored in one array operation.
    """
    per_fold = {n: np.zeros(len(folds.splits)) for n in names}
    rng = np.random.default_rng(seed)
    for k, (model, (_, val)) in enumerate(zip(full.models, folds.splits)):
        data = folds.get(k, "tree")
        owners = _owners(data.preprocessor)
        used = set(np.asarray(model.used_inputs() if model.used_inputs() is not None else np.arange(
            data.X_val.shape[1])).tolist())
        columns = [n for n in names if used.intersection(owners[n].tolist())]
        y = folds.y[val]
        base = float(pointwise_loss(y, predict_outputs(model, data.X_val)[None])[0])
        X_val = data.X_val
        per_batch = max(1, _CELLS_PER_BATCH // max(1, X_val.size * SHUFFLES))
        for i in range(0, len(columns), per_batch):
            if deadline.expired():
                return None, per_fold
            batch = columns[i: i + per_batch]
            copies = np.repeat(X_val[None], len(batch) * SHUFFLES, axis=0)
            for j, name in enumerate(batch):
                idx = owners[name]
                for s in range(SHUFFLES):
                    copies[j * SHUFFLES + s][:, idx] = X_val[rng.permutation(len(val))][:, idx]
            out = predict_outputs(model, copies.reshape(-1, X_val.shape[1]))
            out = out.reshape(len(batch) * SHUFFLES, len(val), *out.shape[1:])
            losses = pointwise_loss(y, out).reshape(len(batch), SHUFFLES).mean(axis=1)
            for j, name in enumerate(batch):
                per_fold[name][k] = float(losses[j]) - base
    return {n: float(np.mean(v)) for n, v in per_fold.items()}, per_fold


def pointwise_loss(y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """The mean loss of each of several predictions of the same rows (``outputs``: ``(copies, rows[, classes])``):
    log loss of the true class's probability for classification, squared error for regression.

    >>> pointwise_loss(np.array([1, 0]), np.array([[[0.2, 0.8], [0.9, 0.1]]])).round(3).tolist()
    [0.164]
    >>> pointwise_loss(np.array([1.0, 3.0]), np.array([[1.0, 1.0], [2.0, 3.0]])).tolist()
    [2.0, 0.5]
    """
    if outputs.ndim == 3:
        p = np.take_along_axis(outputs, y.astype(np.int64)[None, :, None], axis=2)[..., 0]
        return -np.log(np.clip(p, 1e-15, 1.0)).mean(axis=1)
    return ((outputs - y[None]) ** 2).mean(axis=1)


def skipped(reason: str, status: str = "skipped") -> Selection:
    """The record of a run in which selection did not run (``status`` ``"off"``: turned off by the user)."""
    logger.info("feature selection %s: %s", "off" if status == "off" else "skipped", reason)
    return Selection(status, reason)


def lightgbm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("lightgbm") is not None
