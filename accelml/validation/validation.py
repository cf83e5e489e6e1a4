"""The :class:`Validation` of a run: its splits, the truth that metrics read, and out-of-fold scoring."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from accelml.tasks import get_task
from accelml.validation.splits import (
    Split,
    grouped_splits,
    n_repeats_for,
    n_splits_for,
    shuffled_splits,
    time_splits,
)

__all__ = ["SCHEMES", "Validation", "make_validation"]

logger = logging.getLogger(__name__)

# How rows are split: shuffled k-fold, stratified k-fold (classification), one holdout split, grouped k-fold (no group
# on both sides) and time-ordered folds (never validated on the past with the future in training)
SCHEMES = ("kfold", "stratified", "holdout", "grouped", "time")


@dataclass(frozen=True)
class Validation:
    """How a run validates: the splits, the truth every score is measured against, and the scheme that made them.

    Every out-of-fold score of the run (a trial's, a partial one the pruner reads, the ensemble's) goes through
    :meth:`score`, over the rows that got a prediction (:attr:`oof_rows`): all rows for k-fold, the held-out rows of
    a holdout, every row but the earliest for time-ordered folds. A row predicted by several repeats is scored on
    the average of its predictions.

    Example:
        >>> from accelml.metrics import get_metric
        >>> v = make_validation(np.array([0, 1] * 10), "binary", seed=0, n_splits=4)
        >>> v.scheme, v.n_folds, v.n_repeats, len(v.oof_rows), v.partition
        ('stratified', 4, 1, 20, True)
        >>> v.score(get_metric("accuracy", "binary"), np.tile([1.0, 0.0], (20, 1)))
        0.5
    """

    splits: list[Split]
    truth: np.ndarray
    scheme: str = "kfold"
    n_repeats: int = 1
    column: str | None = None  # the groups or time column the splits follow

    @cached_property
    def oof_rows(self) -> np.ndarray:
        """Rows that get an out-of-fold prediction."""
        return np.unique(np.concatenate([val for _, val in self.splits]))

    @property
    def n_folds(self) -> int:
        """Splits per repeat (1: one holdout split)."""
        return len(self.splits) // self.n_repeats

    @property
    def first_repeat(self) -> list[Split]:
        """The splits of the first repeat: one partition of the rows for k-fold (all splits otherwise)."""
        return self.splits[: self.n_folds]

    @property
    def partition(self) -> bool:
        """Whether each repeat's validation rows cover every row once (k-fold, grouped): a second layer can then be
        trained on the first layer's out-of-fold outputs for every row."""
        return self.n_folds > 1 and len(self.oof_rows) == len(self.truth) and self.scheme != "time"

    def first_repeat_only(self) -> Validation:
        return replace(self, splits=self.first_repeat, n_repeats=1)

    def score(self, metric: Any, oof: np.ndarray, rows: np.ndarray | None = None, *, aligned: bool = False) -> float:
        """``metric`` of the out-of-fold output on ``rows`` (default: every row that got a prediction). ``oof`` has
        one entry per row of the data, or, with ``aligned``, one per entry of ``rows``."""
        rows = self.oof_rows if rows is None else rows
        return float(metric.score_from_proba(self.truth[rows], oof if aligned else oof[rows]))

    def loss(self, metric: Any, oof: np.ndarray, rows: np.ndarray | None = None, *, aligned: bool = False) -> float:
        """:meth:`score` with lower meaning better."""
        value = self.score(metric, oof, rows, aligned=aligned)
        return -value if metric.greater_is_better else value

    def describe(self) -> str:
        """In words, for logs and the report.

        >>> make_validation(np.arange(100.0), "regression", seed=0, n_splits=5).describe()
        '5-fold'
        """
        if self.scheme == "holdout":
            return "one holdout split" + (f" grouped by '{self.column}'" if self.column else "")
        prefix = {"kfold": "", "stratified": "stratified ", "grouped": "grouped ", "time": "time-ordered "}[self.scheme]
        text = f"{prefix}{self.n_folds}-fold"
        if self.column:
            text += f" by '{self.column}'"
        return text + (f" x {self.n_repeats} repeats" if self.n_repeats > 1 else "")


def make_validation(
    y: np.ndarray,
    task: str,
    *,
    seed: int,
    n_splits: int | None = None,
    time_limit: float | None = None,
    n_repeats: int | None = None,
    groups: np.ndarray | None = None,
    times: np.ndarray | None = None,
    column: str | None = None,
    holdout_rows: int = 50_000,
) -> Validation:
    """The validation a run gets: time-ordered folds when ``times`` are given (a TIME column), grouped k-fold when
    ``groups`` are, else seeded k-fold (stratified for classification), repeated ``n_repeats`` times with fresh
    shuffles (chosen by :func:`~accelml.validation.splits.n_repeats_for` when None), or one 80/20 holdout for large
    data or tight budgets (at most ``holdout_rows`` validation rows: fewer where predicting a row is costly, as for
    a pretrained network). The number of folds is ``n_splits`` or :func:`~accelml.validation.splits.n_splits_for`.

    >>> y = np.array([0, 1] * 300)
    >>> make_validation(y, "binary", seed=0, time_limit=60).describe()
    'stratified 5-fold x 3 repeats'
    >>> make_validation(y, "binary", seed=0, times=np.arange(600), column="day").describe()
    "time-ordered 5-fold by 'day'"
    """
    stratify = get_task(task).stratified
    n_classes = int(y.max()) + 1 if stratify else 1
    k = n_splits or n_splits_for(len(y), n_classes=n_classes, time_limit=time_limit)
    if times is not None:
        return Validation(time_splits(times, k=k, column=column or "time"), y, "time", 1, column)
    if groups is not None:
        splits = grouped_splits(y, groups, k=k, stratify=stratify, seed=seed, column=column or "groups",
                                holdout_rows=holdout_rows)
        return Validation(splits, y, "grouped" if len(splits) > 1 else "holdout", 1, column)
    if k == 1:
        return Validation(shuffled_splits(y, k=1, stratify=stratify, seed=seed, holdout_rows=holdout_rows), y,
                          "holdout")
    if n_repeats is None:
        n_repeats = n_repeats_for(len(y), k, n_classes=n_classes, time_limit=time_limit) if n_splits is None else 1
    splits = shuffled_splits(y, k=k, stratify=stratify, seed=seed, n_repeats=n_repeats)
    return Validation(splits, y, "stratified" if stratify else "kfold", n_repeats)
