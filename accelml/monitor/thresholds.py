"""When a change counts as a warning or as drift: one frozen record, overridable field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from accelml.exceptions import ConfigError

__all__ = ["DriftThresholds", "psi_status", "resolve_thresholds", "worst_status"]

STATUSES = ("ok", "warning", "drift", "missing")  # least to most severe; 'missing' = the column is absent


@dataclass(frozen=True)
class DriftThresholds:
    """Limits that turn drift statistics into a status.

    Attributes:
        psi_warning: PSI from which a column (or the predictions) is a warning.
        psi_drift: PSI from which it is drift, whatever the test says.
        p_value: A chi-square p-value below this, with PSI at least ``psi_warning``, is drift too.
        missing_warning: Rise in a column's missing rate (absolute, 0.1 = ten points) that is a warning.
        unseen_warning: Share of a column's present values in categories training never saw that is a warning.
        metric_warning: Relative loss of the metric against the validation score that is a warning.
        metric_drift: Relative loss that is drift.
        min_rows: With fewer new rows than this, nothing is called drift (at most a warning): too few to tell.
        embedding_warning: Shift of an image column's mean embedding (root-mean-square over its dimensions, in
            training standard deviations, net of sampling noise) that is a warning.
        embedding_drift: Shift that is drift.
        oov_warning: Rise of a text column's out-of-vocabulary rate (share of new words not among the training
            vocabulary) above the rate texts like the training ones show (absolute, 0.05 = five points) that is a
            warning.
        oov_drift: Rise that is drift.
        language_warning: Change of a text column's share of common English words, relative to training's (at least
            0.12), that is a warning.
        language_drift: Change that is drift.
        text_embedding_warning: Shift of a text column's mean sentence vector (net of sampling noise, in units of
            the texts' spread around it) that is a warning.
        text_embedding_drift: Shift that is drift.
        new_users_warning: For a recommender, the share of new interactions whose user the model never saw, in points
            above the share that interactions like the training ones would show, that is a warning.
        new_users_drift: Points above it that are drift.
        new_items_warning: The same for items the model never saw (it can never recommend them), a warning.
        new_items_drift: Points above it that are drift.
    """

    psi_warning: float = 0.1
    psi_drift: float = 0.25
    p_value: float = 0.01
    missing_warning: float = 0.1
    unseen_warning: float = 0.05
    metric_warning: float = 0.05
    metric_drift: float = 0.10
    min_rows: int = 100
    embedding_warning: float = 0.25
    embedding_drift: float = 0.5
    oov_warning: float = 0.05
    oov_drift: float = 0.15
    language_warning: float = 0.25
    language_drift: float = 0.5
    text_embedding_warning: float = 0.1
    text_embedding_drift: float = 0.25
    new_users_warning: float = 0.1
    new_users_drift: float = 0.25
    new_items_warning: float = 0.05
    new_items_drift: float = 0.15

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_thresholds(thresholds: DriftThresholds | Mapping[str, Any] | None) -> DriftThresholds:
    """The defaults, a given record, or the defaults with some fields replaced from a dict.

    >>> resolve_thresholds({"psi_drift": 0.3}).psi_drift
    0.3
    >>> resolve_thresholds({"psi": 1})
    Traceback (most recent call last):
    ...
    accelml.exceptions.ConfigError: unknown drift threshold 'psi'; valid ones: psi_warning, psi_drift, ...
    """
    if thresholds is None:
        return DriftThresholds()
    if isinstance(thresholds, DriftThresholds):
        return thresholds
    valid = [f.name for f in fields(DriftThresholds)]
    for key in thresholds:
        if key not in valid:
            raise ConfigError(f"unknown drift threshold {key!r}; valid ones: {', '.join(valid)}")
    return replace(DriftThresholds(), **dict(thresholds))


def psi_status(value: float, p_value: float, limits: DriftThresholds, n: int) -> str:
    """``drift`` from ``psi_drift``, or from ``psi_warning`` with a p-value below ``p_value`` (a warning only with
    fewer than ``min_rows`` rows); ``warning`` from ``psi_warning``; else ``ok``.

    >>> psi_status(0.3, 0.5, DriftThresholds(), 500), psi_status(0.3, 0.5, DriftThresholds(), 50)
    ('drift', 'warning')
    """
    if value >= limits.psi_drift or (value >= limits.psi_warning and p_value < limits.p_value):
        return "drift" if n >= limits.min_rows else "warning"
    return "warning" if value >= limits.psi_warning else "ok"


def worst_status(*statuses: str) -> str:
    """The most severe of ``statuses`` (``ok`` when none).

    >>> worst_status("ok", "drift", "warning")
    'drift'
    """
    return max(statuses, key=STATUSES.index, default="ok")
