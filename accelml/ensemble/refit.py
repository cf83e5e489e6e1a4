"""Refit the ensemble's members on all rows: one model per member instead of one per fold, for a lighter artifact
and faster predictions. The validation score stays the one measured on out-of-fold predictions."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.ensemble.predictor import Ensemble, Member, stack_features
from accelml.features import make_input
from accelml.models import MODELS
from accelml.schema import Schema

__all__ = ["BAG_BATCH_SHARE", "REFIT_MAX_FOLDS", "bag_allowance", "bag_batch_seconds", "one_fold_names", "planned_models",
           "refit_full", "refit_mode", "refit_names"]

logger = logging.getLogger(__name__)

# Folds at or below which the ensemble is refit on all rows by default: each fold model trained on at most two thirds
# of the rows. On adult (32,561 rows, 3 folds) refitting the 60 s ensemble's three members took the test AUC from
# 0.92853 to 0.92891 and halved a 1,000-row batch; a 300 s one-member ensemble went from 0.92894 to 0.92924.
# With more folds only trees and linear models are refit by default ("families"): on the 60 s ensembles of ten 5-fold
# tables (bench/refit_probe.py), refitting them (networks kept their fold models) changed the test score by -1.1 %
# (credit_approval AUC, house_prices_kaggle RMSE) to +10.9 % (segment log loss; nyc_taxis RMSE +8.8 %), ties on five,
# and took the median 1,000-row batch from 0.087 to 0.033 s.
REFIT_MAX_FOLDS = 3

# Where the default would refit trees and linear models (more than 3 folds) under a time limit, it keeps every fold
# model instead when the whole ensemble, fold models and all, predicts 1,000 rows within this share of the limit (20 ms
# at 60 s, 100 ms at 300 s): a longer fit buys a heavier, more accurate model, as long as predicting stays cheap. The
# bag is worth most on small tables: on credit_approval (690 rows) at 300 s the fold models scored a test AUC of
# 0.96402, the refit 0.95414 (bench/refit_probe.py), and that ensemble's fold models predicted 1,000 rows in 0.03 s;
# where the bag is dear (segment: 0.10 s at 60 s; california_housing: 0.82 s) the refit also scored as well or better.
BAG_BATCH_SHARE = 1 / 3000


def refit_mode(refit_full: bool | None, n_splits: int, scheme: str = "kfold") -> str:
    """How the ensemble's members are refit on all rows: ``"asked"`` (``refit_full=True``), ``"chosen"`` (the
    default where validation has 2 or 3 folds, or is time-ordered: no fold model saw the latest rows), ``"families"``
    (the default with more folds: members of the families one model suits, ``Model.refit_many_folds``), or
    ``"free"`` (``refit_full=False``, or one holdout split): only those that refit for free (k-nearest neighbours).

    >>> refit_mode(None, 3), refit_mode(None, 5), refit_mode(None, 1), refit_mode(True, 5), refit_mode(False, 3)
    ('chosen', 'families', 'free', 'asked', 'free')
    >>> refit_mode(None, 5, "time")
    'chosen'
    """
    if refit_full is None:
        if 1 < n_splits <= REFIT_MAX_FOLDS or (scheme == "time" and n_splits > 1):
            return "chosen"
        return "families" if n_splits > 1 else "free"
    return "asked" if refit_full else "free"


def bag_allowance(time_limit: float | None, mode: str) -> float | None:
    """Seconds the ensemble's fold models may take to predict 1,000 rows for the default to keep them all
    (:data:`BAG_BATCH_SHARE` of the limit), or None where no bag is weighed: refit ``mode`` other than ``"families"``,
    or no time limit.

    >>> bag_allowance(60, "families"), bag_allowance(300, "families"), bag_allowance(60, "chosen")
    (0.02, 0.1, None)
    """
    if mode != "families" or not time_limit:
        return None
    return round(BAG_BATCH_SHARE * time_limit, 6)


def bag_batch_seconds(ensemble: Ensemble, X: pd.DataFrame, *, allowance: float) -> tuple[float | None, float]:
    """Seconds ``ensemble`` takes to predict 1,000 rows of ``X`` (repeated where it has fewer), best of two, and
    before them, after a one-row warm-up, the seconds it took on 100 rows; where those alone are over the
    ``allowance``, 1,000 rows cannot be within it and are not timed (None). (The search's own estimate, from per-row
    times on validation folds of a few dozen rows, overstated small tables' bags tenfold: credit_approval's 0.3 s
    against 0.02 s measured.)"""
    if len(X) == 0:
        return None, 0.0
    batch = X.iloc[np.resize(np.arange(len(X)), 1000)]
    ensemble.predict(batch.iloc[:1])
    started = time.perf_counter()
    ensemble.predict(batch.iloc[:100])
    hundred = time.perf_counter() - started
    if hundred > allowance:
        return None, float(hundred)
    best = np.inf
    for _ in range(2):
        started = time.perf_counter()
        ensemble.predict(batch)
        best = min(best, time.perf_counter() - started)
    return float(best), float(hundred)


def refit_full(
    ensemble: Ensemble, X: pd.DataFrame, y: np.ndarray, schema: Schema, deadline: Deadline, *, n_jobs: int, seed: int,
    mode: str = "asked", seconds: Mapping[str, float] | None = None,
    stack_oof: Mapping[str, np.ndarray] | None = None,
) -> Ensemble:
    """Each member trained once on all rows, the heaviest-weighted first; a member whose refit the deadline cuts
    short, or whose expected ``seconds`` exceed the time left, keeps its fold models.

    ``mode`` (see :func:`refit_mode`): ``"asked"`` refits every member; ``"chosen"`` every member no
    stacked member reads (a stacker reads what it was validated with); ``"families"`` every member of a family one
    model on all rows suits (``Model.refit_many_folds``: trees and linear models, not networks), a stacker's inputs
    included; ``"free"`` only those whose family refits for free (``Model.free_refit``, k-nearest neighbours), which
    every fit does. A stacked member learned from its inputs' out-of-fold outputs: where ``stack_oof`` holds them
    (member name -> out-of-fold output for every row) it is refit on all rows with them in ``"asked"`` and
    ``"families"`` modes, else it keeps its fold models."""
    if mode not in ("asked", "chosen", "families", "free"):
        raise ValueError(f"unknown refit mode {mode!r}")
    preprocessors: dict[str, tuple[Any, np.ndarray]] = {}  # per input kind: the featurizer and its output
    refit: dict[str, Member] = {}
    read = ensemble.stack_inputs
    for member in sorted(ensemble.members, key=lambda m: -m.weight):  # stable: ties keep the ensemble's order
        cls = MODELS[member.model]
        unused = member.weight <= 0 and member.name not in read
        if len(member.models) == 1 or _keeps_folds(member, mode, read, stack_oof or {}) or unused:
            continue
        if deadline.expired():
            refit[member.name] = _one_fold(member, cls)
            continue
        expected = (seconds or {}).get(member.name, 0.0)
        if expected > deadline.remaining():
            logger.info("not refitting %s: it would take about %.1f s, %.1f s are left", member.name, expected,
                        deadline.remaining())
            refit[member.name] = _one_fold(member, cls)
            continue
        if cls.preprocessing not in preprocessors:
            pre = make_input(cls.preprocessing, schema, seed=seed)
            preprocessors[cls.preprocessing] = (pre, pre.fit_transform(X, y))
        pre, matrix = preprocessors[cls.preprocessing]
        if member.inputs:  # the inputs' out-of-fold outputs, last, as the fold models learned them
            matrix = np.hstack([matrix, stack_features([stack_oof[name] for name in member.inputs])])
        template = member.models[0]
        model = cls(task=template.task, params=template.refit_params(member.models), n_jobs=n_jobs, seed=seed)
        model.fit(matrix, y, deadline=deadline, categorical=(pre.categorical_indices_, pre.categorical_cardinalities_))
        if model.stopped_by_deadline_:
            logger.info("refit of %s cut short by the deadline; keeping its fold models", member.name)
            refit[member.name] = _one_fold(member, cls)
            continue
        refit[member.name] = Member(member.name, member.model, member.weight, [pre], [model], member.inputs)
    return Ensemble([refit.get(m.name, m) for m in ensemble.members], ensemble.temperature)


def _keeps_folds(member: Member, mode: str, read: set[str], stack_oof: Mapping[str, Any]) -> bool:
    """Whether :func:`refit_full` in ``mode`` leaves ``member`` its fold models by choice (not for want of time)."""
    cls = MODELS[member.model]
    skip = {"asked": False, "chosen": member.name in read, "families": not cls.refit_many_folds,
            "free": member.name in read or not cls.free_refit}[mode]
    stacked = bool(member.inputs) and (mode not in ("asked", "families")
                                       or any(name not in stack_oof for name in member.inputs))
    return skip or stacked


def planned_models(member: Member, mode: str, read: set[str]) -> int:
    """The models ``member`` will predict with after :func:`refit_full` in ``mode`` (a stacker's inputs ``read``, and
    their out-of-fold outputs at hand), where its refit finishes: 1, or its fold models."""
    return len(member.models) if _keeps_folds(member, mode, read, dict.fromkeys(read)) else 1


def _one_fold(member: Member, cls: type) -> Member:
    """A member whose refit was wanted but not done: its first fold model alone where one suffices
    (``Model.one_fold_suffices``: a forest, already an average of hundreds of trees, whose five fold models on
    magic_telescope took 183 ms per 1,000 rows), else unchanged."""
    if not cls.one_fold_suffices:
        return member
    logger.info("%s keeps its first fold model of %d", member.name, len(member.models))
    return Member(member.name, member.model, member.weight, member.preprocessors[:1], member.models[:1],
                  member.inputs)


def refit_names(ensemble: Ensemble, n_splits: int, one_fold: Sequence[str] = ()) -> list[str]:
    """The members that were refit on all rows: one model each where validation had several folds, but for those
    that kept ``one_fold`` model (see :func:`one_fold_names`)."""
    if n_splits < 2:
        return []
    return [m.name for m in ensemble.members if len(m.models) == 1 and m.name not in one_fold]


def one_fold_names(before: Ensemble, after: Ensemble) -> list[str]:
    """The members that :func:`refit_full` left with their first fold model only (no refit)."""
    first = {m.name: m.models[0] for m in before.members if len(m.models) > 1}
    return [m.name for m in after.members if len(m.models) == 1 and first.get(m.name) is m.models[0]]
