"""Feature generation before the search: arithmetic combinations of the most important numeric columns, group
statistics of numeric columns by categorical ones and frequency encodings, kept only when validation says they pay.

One quick LightGBM is trained on the folds of the first repeat with the data's own columns; its importance (gain,
summed over the folds) ranks the columns. The candidates (:mod:`accelml.features.generated`) are then built from the
top ones: the ratio, difference and product of each pair of the ``TOP_NUMERIC`` most important numeric columns,
the group mean of each of the ``TOP_GROUPED`` most important numeric columns by each of the ``TOP_CATEGORICAL`` most
important categorical columns of at most ``MAX_LEVELS`` levels (and its deviation from it), and the frequency of
each of those categorical columns with three levels or more. Each fold's preprocessing learns the group means and
frequencies from that fold's training rows only. The same LightGBM is trained with the candidates, and again with
only those it leaned on (``KEEP_GAIN`` of the total gain or more, at most ``MAX_ADDED``). Of the sets tried that are
small enough to add (at most ``MAX_ADDED`` columns), the smaller one that comes within ``MARGIN`` of the best is
added when the model's own out-of-fold loss with it (log loss, squared error: smooth in every row's prediction, where
a rank metric such as AUC near 1 barely moves) is ``MARGIN`` lower than with the data's own columns, lower on more
folds than higher, its folds' relative gains are ``T_GAIN`` standard errors above zero (one holdout split:
``HOLDOUT_MARGIN`` lower), and the run's metric is no worse; otherwise nothing is added.

It takes a share of the time limit (``SHARE``) estimated from the data's size before it starts, so that whether it
runs depends on the data and the settings, not on the clock; an estimate that proves wrong is cut by the deadline,
and the run goes on without generated features. A table too large for that share is decided on a seeded sample of
its rows that the share affords (at least ``MIN_SAMPLE_ROWS``); the columns chosen are then generated on every row.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.features.generated import feature_name
from accelml.schema.schema import GENERATED_FEATURES, ColumnRole, Schema
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.folds import FoldCache
from accelml.search.selection import pointwise_loss
from accelml.search.trial import TrialSpec
from accelml.tasks import get_task
from accelml.validation import Validation

__all__ = ["Generation", "affordable_rows", "candidates", "estimated_seconds", "generate_features", "most_candidates",
           "sample_rows", "skipped"]

logger = logging.getLogger(__name__)

MODEL = "lgbm"
# Quick and deterministic, as feature selection's model: every column is a candidate at every split, few rounds.
PARAMS: dict[str, Any] = {"learning_rate": 0.15, "num_leaves": 15, "min_child_samples": 10, "feature_fraction": 1.0,
                          "bagging_fraction": 1.0, "n_estimators": 300, "early_stopping_rounds": 20}
SHARE = 0.15  # the most of the time limit generation may take (estimated before it starts)
TOP_NUMERIC = 5  # numeric columns whose pairs are combined (10 pairs, 3 combinations each)
TOP_GROUPED = 3  # numeric columns whose group statistics are computed ...
TOP_CATEGORICAL = 3  # ... by each of these categorical columns (which also get their frequency)
MAX_LEVELS = 200  # categorical columns with more levels are not grouped by (their groups are small)
KEEP_GAIN = 0.01  # a generated column the model drew this share of its total gain from is kept in the pruned set
MAX_ADDED = 10  # generated columns added at most
MARGIN = 0.005  # relative loss (the model's own) the generated columns must gain over the data's own columns (a few
# sets are tried: keep clear of noise; feature selection's small validation gains did not carry over to test data) ...
T_GAIN = 2.0  # ... by this many standard errors of the folds' relative gains (on pure noise, a 0.5 % lower RMSE on 3
# of 5 folds came about)
HOLDOUT_MARGIN = 0.01  # relative gain one holdout split must show
# A table too large for generation's share of the time limit is decided on a seeded sample of its rows, of the size
# the share affords, when that is at least this many rows (issue 17.5: the first minute on 20,000-300,000 rows).
MIN_SAMPLE_ROWS = 5_000


@dataclass
class Generation:
    """What feature generation did, as plain data (stored in the result, the artifact and the report).

    ``status``: ``"added"`` (generated columns were added to every model's input), ``"none"`` (they did not improve
    the out-of-fold score enough), ``"skipped"`` (no time, nothing to combine, a deadline) or ``"off"``
    (``feature_generation=False``). ``added`` lists ``{"name", "kind", "columns", "gain", "why"}``; ``gain`` is the
    share of the quick model's total gain that the column drew.
    """

    status: str
    reason: str
    n_columns: int = 0
    added: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    score_base: float | None = None  # the quick model's out-of-fold score on the data's own columns
    score_all: float | None = None  # ... with every candidate
    score_kept: float | None = None  # ... with the candidates it leaned on (None when those were all of them)
    metric: str | None = None
    model: str = MODEL
    seconds: float = 0.0
    fit_time_base: float = 0.0
    fit_time_all: float = 0.0
    fit_time_kept: float = 0.0
    sampled_rows: int | None = None  # the rows decided on, when the table was too large for the time share

    @property
    def specs(self) -> list[dict[str, Any]]:
        """The added columns as specs of :mod:`accelml.features.generated`."""
        return [{"kind": a["kind"], "columns": list(a["columns"])} for a in self.added]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimated_seconds(n_rows: int, n_features: int, n_folds: int, n_candidates: int) -> float:
    """Seconds generation is expected to take on this data (three quick LightGBMs on every fold, two of them with up
    to ``n_candidates`` more columns, and building the folds three times), measured on two cores (california_housing:
    8.9 to 10.8 s for 20,640 rows, 9 columns and 37 candidates; adult: 11.5 s for 32,561 rows, 14 columns and 51
    candidates); an overestimate only skips it.

    >>> round(estimated_seconds(690, 15, 5, 51), 2), round(estimated_seconds(20_640, 9, 5, 37), 1)
    (1.16, 10.1)
    """
    cells = n_rows * (3 * n_features + 2 * n_candidates)
    return 0.3 + n_folds * (0.08 + 9e-7 * cells)


def affordable_rows(seconds: float, n_features: int, n_folds: int, n_candidates: int) -> int:
    """The most rows on which :func:`estimated_seconds` stays within ``seconds`` (0 when none do).

    >>> affordable_rows(9.0, 17, 1, 40), affordable_rows(0.2, 17, 1, 40)
    (73112, 0)
    """
    per_fold = (seconds - 0.3) / n_folds - 0.08
    cells_per_row = 3 * n_features + 2 * n_candidates
    return max(0, int(per_fold / (9e-7 * cells_per_row))) if per_fold > 0 else 0


def sample_rows(X: pd.DataFrame, validation: Validation, n_rows: int, seed: int) -> tuple[pd.DataFrame, Validation]:
    """A seeded sample of ``n_rows`` of the rows, and the validation's splits restricted to them (renumbered).

    >>> from accelml.validation import make_validation
    >>> v = make_validation(np.arange(100.0), "regression", seed=0, n_splits=5)
    >>> Xs, vs = sample_rows(pd.DataFrame({"a": np.arange(100.0)}), v, 40, seed=0)
    >>> len(Xs), len(vs.truth), sum(len(val) for _, val in vs.splits), bool(np.all(vs.truth == Xs["a"].to_numpy()))
    (40, 40, 40, True)
    """
    keep = np.sort(np.random.default_rng(seed).choice(len(X), size=n_rows, replace=False))
    position = np.full(len(X), -1, dtype=np.int64)
    position[keep] = np.arange(n_rows)

    def kept(rows: np.ndarray) -> np.ndarray:
        mapped = position[rows]
        return mapped[mapped >= 0]

    splits = [(kept(train), kept(val)) for train, val in validation.splits]
    return X.iloc[keep].reset_index(drop=True), replace(validation, splits=splits, truth=validation.truth[keep])


def most_candidates(schema: Schema) -> int:
    """The most candidates :func:`candidates` can give on this schema (all its columns of some importance).

    >>> from accelml.schema.schema import ColumnSpec
    >>> most_candidates(Schema([ColumnSpec(f"x{i}", ColumnRole.NUMERIC, "float64") for i in range(8)] +
    ...                        [ColumnSpec("c", ColumnRole.CATEGORICAL, "object", n_unique=5)], "y", "regression"))
    37
    """
    numeric = sum(c.role is ColumnRole.NUMERIC for c in schema.features)
    grouping = min(TOP_CATEGORICAL, sum(c.role is ColumnRole.CATEGORICAL and _groups(c) for c in schema.features))
    frequent = min(TOP_CATEGORICAL, sum(c.role is ColumnRole.CATEGORICAL and _counted(c) for c in schema.features))
    top = min(numeric, TOP_NUMERIC)
    return top * (top - 1) // 2 * 3 + min(numeric, TOP_GROUPED) * grouping * 2 + frequent


def _groups(column: Any) -> bool:
    """Whether a categorical column is grouped by (few enough levels for the groups to hold rows)."""
    return 2 <= column.n_unique <= MAX_LEVELS


def _counted(column: Any) -> bool:
    """Whether a categorical column gets its frequency (three levels or more: of two, the frequency is the level)."""
    return column.n_unique >= 3 or column.n_unique == 0


def generate_features(X: pd.DataFrame, validation: Validation, schema: Schema, context: TrialContext,
                      deadline: Deadline, *, time_limit: float | None = None) -> Generation:
    """Decide which generated columns to add to ``schema`` (see the module's docstring); ``schema`` is not changed.

    ``validation`` is the run's; only its first repeat is used. ``time_limit`` is the run's limit: generation is
    skipped when :func:`estimated_seconds` exceeds its share of it, and otherwise stops at ``deadline`` (adding
    nothing).
    """
    started = time.monotonic()
    names = [c.name for c in schema.features]
    done = _Done(started, len(names), context.metric.name)
    roles = {c.name: c.role for c in schema.features}
    if not any(r is ColumnRole.NUMERIC for r in roles.values()) and not any(
            r is ColumnRole.CATEGORICAL for r in roles.values()):
        return done("skipped", "no numeric or categorical column to combine")
    validation = validation.first_repeat_only()
    estimate = estimated_seconds(len(X), len(names), validation.n_folds, most_candidates(schema))
    if time_limit is not None and estimate > SHARE * time_limit:
        rows = min(len(X), affordable_rows(SHARE * time_limit, len(names), validation.n_folds, most_candidates(schema)))
        if rows < MIN_SAMPLE_ROWS:
            logger.info("feature generation skipped: it would take about %.1f s of the %g s limit", estimate,
                        time_limit)
            return done("skipped", f"it would take about {estimate:.1f} s of the {time_limit:g} s limit")
        X, validation = sample_rows(X, validation, rows, seed=context.seed)
        done.sampled_rows = rows
        logger.info("feature generation decides on a sample of %d rows: on all of them it would take about %.1f s of "
                    "the %g s limit", rows, estimate, time_limit)
    if time_limit is not None:  # an estimate that proves wrong is cut here, and the run goes on without
        deadline = deadline.child(2 * SHARE * time_limit)
    base = _evaluate(X, validation, schema, [], context.at(deadline, started))
    if base is None:
        return done("skipped", "the quick model did not finish in its share of the time")
    done.scores[0], done.fit_times[0] = base.fitted.result.score, base.fitted.result.fit_time
    specs = candidates(schema, base.gain)
    if not specs:
        return done("skipped", "the quick model found no numeric or categorical column worth combining")
    done.candidates = [feature_name(s) for s in specs]
    every = _evaluate(X, validation, schema, specs, context.at(deadline, started))
    if every is None:
        return done("none", "the quick model with the candidates did not finish in its share of the time")
    done.scores[1], done.fit_times[1] = every.fitted.result.score, every.fitted.result.fit_time
    total = sum(every.gain.values()) or 1.0
    share = {feature_name(s): every.gain.get(feature_name(s), 0.0) / total for s in specs}
    leaned = sorted((s for s in specs if share[feature_name(s)] >= KEEP_GAIN),
                    key=lambda s: -share[feature_name(s)])[:MAX_ADDED]
    tried = [(specs, every)] if len(specs) <= MAX_ADDED else []  # too many to add: only the pruned set may be
    if leaned and len(leaned) < len(specs):
        kept = _evaluate(X, validation, schema, leaned, context.at(deadline, started))
        if kept is not None:
            done.scores[2], done.fit_times[2] = kept.fitted.result.score, kept.fitted.result.fit_time
            tried.insert(0, (leaned, kept))  # the smaller set first: it wins a near tie
    if not tried:
        return done("none", "the quick model drew too little gain from the candidates, or pruning them did not "
                            "finish in its share of the time")
    best_loss = min(run.model_loss for _, run in tried)
    chosen, run = next((s, r) for s, r in tried if r.model_loss <= best_loss + MARGIN * base.model_loss)
    better, worse = run.fold_comparison(base)
    scores = f"{_fmt(run.fitted.result.score)} against {_fmt(base.fitted.result.score)}"
    own = "log loss" if get_task(context.task).classification else "squared error"
    gain = 1.0 - run.model_loss / base.model_loss if base.model_loss > 0 else 0.0
    if gain < MARGIN:
        return done("none", f"the model's out-of-fold {own} with {len(chosen)} generated column(s) was not clearly "
                            f"lower ({gain:.2%} lower; {context.metric.name} {scores})")
    t = run.gain_t(base)
    if better <= worse or t < T_GAIN:
        return done("none", f"the model's {own} with the generated columns was lower on {better} fold(s) and higher "
                            f"on {worse}, not consistently enough (t = {t:.2g}; {context.metric.name} {scores})")
    if run.loss > base.loss:
        return done("none", f"the out-of-fold {context.metric.name} with them was worse ({scores}), though the "
                            f"model's {own} was {gain:.2%} lower")
    done.added = [{"name": feature_name(s), **s, "gain": share[feature_name(s)],
                   "why": f"{share[feature_name(s)]:.1%} of the quick model's gain"} for s in chosen]
    return done("added", f"the model's out-of-fold {own} with them was {gain:.2%} lower, on {better} of "
                         f"{better + worse} folds (t = {t:.2g}; {context.metric.name} {scores})")


def candidates(schema: Schema, gain: dict[str, float]) -> list[dict[str, Any]]:
    """The generated columns to try, from the columns' importance (``gain``, by column name; columns of zero gain are
    left out).

    >>> from accelml.schema.schema import ColumnSpec
    >>> schema = Schema([ColumnSpec("a", ColumnRole.NUMERIC, "float64"), ColumnSpec("b", ColumnRole.NUMERIC,
    ...                  "float64"), ColumnSpec("c", ColumnRole.CATEGORICAL, "object", n_unique=4)], "y", "regression")
    >>> [feature_name(s) for s in candidates(schema, {"a": 1.0, "b": 3.0, "c": 0.5})]  # doctest: +NORMALIZE_WHITESPACE
    ['gen__ratio__b__a', 'gen__difference__b__a', 'gen__product__b__a', 'gen__group_mean__b__c',
     'gen__group_deviation__b__c', 'gen__group_mean__a__c', 'gen__group_deviation__a__c', 'gen__frequency__c']
    """
    def ranked(role: ColumnRole, admit: Any = lambda c: True) -> list[str]:
        columns = [c for c in schema.features if c.role is role and gain.get(c.name, 0.0) > 0 and admit(c)]
        return [c.name for c in sorted(columns, key=lambda c: -gain[c.name])]

    numeric = ranked(ColumnRole.NUMERIC)
    grouping = ranked(ColumnRole.CATEGORICAL, _groups)[:TOP_CATEGORICAL]
    frequent = ranked(ColumnRole.CATEGORICAL, _counted)[:TOP_CATEGORICAL]
    out: list[dict[str, Any]] = []
    top = numeric[:TOP_NUMERIC]
    for i, a in enumerate(top):
        for b in top[i + 1:]:
            out += [{"kind": kind, "columns": [a, b]} for kind in ("ratio", "difference", "product")]
    for x in numeric[:TOP_GROUPED]:
        for c in grouping:
            out += [{"kind": kind, "columns": [x, c]} for kind in ("group_mean", "group_deviation")]
    out += [{"kind": "frequency", "columns": [c]} for c in frequent]
    return out


@dataclass
class _Run:
    """The quick model on the folds with some generated columns: its fitted trial, each input's gain (generated
    columns by name), and the model's own loss (log loss, squared error) on each fold's validation rows and on all
    of them."""

    fitted: FittedTrial
    gain: dict[str, float]
    fold_losses: np.ndarray
    model_loss: float

    @property
    def loss(self) -> float:
        """The run's metric as a loss."""
        return float(self.fitted.result.loss)

    def gain_t(self, base: _Run) -> float:
        """The mean of the folds' relative gains in loss over ``base`` in standard errors (one fold: its gain over
        ``HOLDOUT_MARGIN``, so that a holdout must gain that much)."""
        gains = (base.fold_losses - self.fold_losses) / np.maximum(np.abs(base.fold_losses), 1e-12)
        if len(gains) < 3:
            return float(np.mean(gains) / HOLDOUT_MARGIN * T_GAIN)
        se = float(np.std(gains, ddof=1)) / np.sqrt(len(gains))
        return float(np.mean(gains)) / se if se > 0 else (np.inf if np.mean(gains) > 0 else 0.0)

    def fold_comparison(self, base: _Run) -> tuple[int, int]:
        """Folds on which this run's loss was lower than ``base``'s, and folds on which it was higher."""
        diff = self.fold_losses - base.fold_losses
        return int(np.sum(diff < 0)), int(np.sum(diff > 0))


def _evaluate(X: pd.DataFrame, validation: Validation, schema: Schema, specs: list[dict[str, Any]],
              ctx: TrialContext) -> _Run | None:
    """The quick model on every fold with ``specs`` generated, or None when it failed or the deadline cut it."""
    if specs:
        schema = Schema.from_dict({**schema.to_dict(), "extra": {**schema.extra, GENERATED_FEATURES: specs}})
    folds = FoldCache(X, validation, schema, seed=ctx.seed)
    fitted = evaluate_trial(TrialSpec(trial_id=-1, model=MODEL, params=dict(PARAMS), stage="generation"), folds, ctx)
    if not fitted.result.ok or fitted.result.stopped_by_deadline or not fitted.models or fitted.oof is None:
        return None
    gain: dict[str, float] = {}
    losses = []
    for k, (model, (_, val)) in enumerate(zip(fitted.models, folds.splits)):
        booster = getattr(model, "booster_", None)
        if booster is not None:
            values = booster.feature_importance("gain", iteration=getattr(model, "best_iteration_", None) or None)
            start = 0
            for encoder in folds.get(k, "tree").preprocessor.encoders_:
                width = len(encoder.feature_names_)
                gain[encoder.column] = gain.get(encoder.column, 0.0) + float(np.sum(values[start: start + width]))
                start += width
        losses.append(float(pointwise_loss(folds.y[val], fitted.oof[val][None])[0]))
    rows = folds.oof_rows
    return _Run(fitted, gain, np.array(losses, dtype=np.float64),
                float(pointwise_loss(folds.y[rows], fitted.oof[rows][None])[0]))


def _fmt(value: float) -> str:
    return f"{value:.5g}"


class _Done:
    """Builds the :class:`Generation` to return, with the time taken and one log line."""

    def __init__(self, started: float, n_columns: int, metric: str):
        self.started, self.n_columns, self.metric = started, n_columns, metric
        self.candidates: list[str] = []
        self.added: list[dict[str, Any]] = []
        self.scores: list[float | None] = [None, None, None]
        self.fit_times = [0.0, 0.0, 0.0]
        self.sampled_rows: int | None = None

    def __call__(self, status: str, reason: str) -> Generation:
        if self.sampled_rows is not None:
            reason += f" (decided on a sample of {self.sampled_rows:,} rows)"
        out = Generation(status, reason, self.n_columns, self.added, self.candidates, *self.scores, self.metric,
                         seconds=time.monotonic() - self.started, fit_time_base=self.fit_times[0],
                         fit_time_all=self.fit_times[1], fit_time_kept=self.fit_times[2],
                         sampled_rows=self.sampled_rows)
        logger.info("feature generation (%.1f s): %s%s", out.seconds,
                    f"added {len(self.added)} of {len(self.candidates)} candidates, " if self.added else
                    "added nothing: " if status == "none" else "", reason)
        return out


def skipped(reason: str, status: str = "skipped") -> Generation:
    """The record of a run in which generation did not run (``status`` ``"off"``: turned off by the user)."""
    logger.info("feature generation %s: %s", "off" if status == "off" else "skipped", reason)
    return Generation(status, reason)
