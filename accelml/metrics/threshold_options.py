"""The ``threshold`` and ``costs`` options of a binary task, checked and written in the one form a configuration
stores (see :class:`~accelml.config.FitConfig`; :mod:`accelml.ensemble.decision` acts on them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from accelml.exceptions import ConfigError
from accelml.metrics.counted import COUNTED

__all__ = ["COST_KEYS", "DEGENERATE", "OBJECTIVES", "PRECISION_AT_RECALL", "normalize_costs", "normalize_threshold"]

COST_KEYS = ("false_positive", "false_negative", "true_positive", "true_negative")
_COST_ALIASES = {"fp": "false_positive", "fn": "false_negative", "tp": "true_positive", "tn": "true_negative"}
PRECISION_AT_RECALL = "precision_at_recall"
# Highest at the extremes of the grid (predict almost nothing, or everything, positive): not objectives on their own.
DEGENERATE = {"precision": "precision_at_recall=0.8", "recall": "f1"}
OBJECTIVES = ("accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_weighted", "mcc", "precision_at_recall=R", "cost")


def normalize_threshold(value: Any) -> str | float:
    """The ``threshold`` option in its one stored form: ``"auto"``, an objective name, or a number in (0, 1).

    >>> normalize_threshold("F1"), normalize_threshold("0.3"), normalize_threshold("precision-at-recall: 0.9")
    ('f1', 0.3, 'precision_at_recall=0.9')

    Raises:
        ConfigError: Anything else, with the valid values.
    """
    valid = f"'auto', a number between 0 and 1, or an objective: {', '.join(OBJECTIVES)}"
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"threshold must be {valid}; got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower().replace("-", "_").replace(" ", "")
        try:
            value = float(text)
        except ValueError:
            return _threshold_name(text, value, valid)
    if not isinstance(value, (int, float)) or not 0 < float(value) < 1:
        raise ConfigError(f"threshold must be {valid}; got {value!r}")
    return float(value)


def _threshold_name(text: str, given: Any, valid: str) -> str:
    if text in ("auto", "cost") or (text in COUNTED and text not in DEGENERATE):
        return text
    if text in DEGENERATE:
        raise ConfigError(f"threshold={given!r}: {text} alone is best at a threshold that predicts (almost) "
                          f"{'nothing' if text == 'precision' else 'everything'} positive; use "
                          f"threshold='{DEGENERATE[text]}' instead")
    name, sep, number = text.replace(":", "=").replace("@", "=").partition("=")
    if name == PRECISION_AT_RECALL:
        try:
            recall = float(number)
        except ValueError:
            recall = math.nan
        if not sep or not 0 < recall <= 1:
            raise ConfigError(f"threshold={given!r}: give the recall to reach, between 0 and 1, as in "
                              "threshold='precision_at_recall=0.8'")
        return f"{PRECISION_AT_RECALL}={recall:g}"
    raise ConfigError(f"unknown threshold {given!r}; threshold must be {valid}")


def normalize_costs(value: Any) -> dict[str, float] | None:
    """The ``costs`` option as ``{cell: cost}`` with the long cell names, in :data:`COST_KEYS` order.

    >>> normalize_costs({"fn": 5, "false_positive": 1})
    {'false_positive': 1.0, 'false_negative': 5.0}

    Raises:
        ConfigError: Not a mapping, an unknown cell, a cost that is not a finite number of at least 0, or no cost of
            an error above that of the right decision.
    """
    if value is None:
        return None
    example = "costs={'false_positive': 1, 'false_negative': 5}"
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"costs must map cells of the confusion matrix to costs, as in {example}; got {value!r}")
    costs: dict[str, float] = {}
    for key, cost in value.items():
        cell = _COST_ALIASES.get(str(key).strip().lower(), str(key).strip().lower())
        if cell not in COST_KEYS:
            raise ConfigError(f"costs: unknown cell {key!r}; the cells are {', '.join(COST_KEYS)} (or fp, fn, tp, tn)")
        try:
            number = float(cost)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(cost, bool) or not math.isfinite(number) or number < 0:
            raise ConfigError(f"costs: the cost of {cell} must be a finite number of at least 0; got {cost!r}")
        if cell in costs:
            raise ConfigError(f"costs: {cell} is given twice (as {key!r} and under another name); give it once")
        costs[cell] = number
    full = {cell: costs.get(cell, 0.0) for cell in COST_KEYS}
    if full["false_positive"] <= full["true_negative"] and full["false_negative"] <= full["true_positive"]:
        raise ConfigError(f"costs: no error costs more than the right decision, so every threshold is as good; give "
                          f"what each error costs, as in {example}")
    return {cell: costs[cell] for cell in COST_KEYS if cell in costs}
