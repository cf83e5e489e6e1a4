"""Validation: how rows are split, what the metrics read, and out-of-fold scoring (one object, :class:`Validation`)."""

from __future__ import annotations

from accelml.validation.per_user import per_user_folds, per_user_holdout
from accelml.validation.splits import (
    Split,
    grouped_splits,
    n_repeats_for,
    n_splits_for,
    shuffled_splits,
    time_splits,
)
from accelml.validation.validation import SCHEMES, Validation, make_validation

__all__ = [
    "SCHEMES",
    "Split",
    "Validation",
    "grouped_splits",
    "make_validation",
    "n_repeats_for",
    "n_splits_for",
    "per_user_folds",
    "per_user_holdout",
    "shuffled_splits",
    "time_splits",
]
