"""Refit the ensemble's members on all rows: one model per member instead of one per fold, for a lighter artifact
and faster predictions. The validation score stays the one measured on out-of-fold predictions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.ensemble.predictor import Ensemble, Member
from accelml.features import make_input
from accelml.models import MODELS
from accelml.schema import Schema

__all__ = ["refit_full", "refit_names"]

logger = logging.getLogger(__name__)


def refit_full(
    ensemble: Ensemble, X: pd.DataFrame, y: np.ndarray, schema: Schema, deadline: Deadline, *, n_jobs: int, seed: int,
    mode: str = "asked", seconds: Mapping[str, float] | None = None,
) -> Ensemble:
    """Each member trained once on all rows, the heaviest-weighted first; a member whose refit the deadline cuts
    short, or whose expected ``seconds`` exceed the time left, keeps its fold models.

    ``mode`` (see :func:`accelml.run.refit_mode`): ``"asked"`` refits every member; ``"chosen"`` every member no
    stacked member reads (a stacker reads what it was validated with); ``"free"`` only those of them whose family
    refits for free (``Model.free_refit``, k-nearest neighbours), which every fit does."""
    if mode not in ("asked", "chosen", "free"):
        raise ValueError(f"unknown refit mode {mode!r}")
    preprocessors: dict[str, tuple[Any, np.ndarray]] = {}  # per input kind: the featurizer and its output
    refit: dict[str, Member] = {}
    read = ensemble.stack_inputs
    for member in sorted(ensemble.members, key=lambda m: -m.weight):  # stable: ties keep the ensemble's order
        cls = MODELS[member.model]
        # A stacked member learned from out-of-fold outputs, which only fold models give: it keeps its fold models.
        skip = mode != "asked" and (member.name in read or (mode == "free" and not cls.free_refit))
        unused = member.weight <= 0 and member.name not in read
        if len(member.models) == 1 or member.inputs or deadline.expired() or skip or unused:
            continue
        expected = (seconds or {}).get(member.name, 0.0)
        if expected > deadline.remaining():
            logger.info("not refitting %s: it would take about %.1f s, %.1f s are left", member.name, expected,
                        deadline.remaining())
            continue
        if cls.preprocessing not in preprocessors:
            pre = make_input(cls.preprocessing, schema, seed=seed)
            preprocessors[cls.preprocessing] = (pre, pre.fit_transform(X, y))
        pre, matrix = preprocessors[cls.preprocessing]
        template = member.models[0]
        model = cls(task=template.task, params=template.refit_params(member.models), n_jobs=n_jobs, seed=seed)
        model.fit(matrix, y, deadline=deadline, categorical=(pre.categorical_indices_, pre.categorical_cardinalities_))
        if model.stopped_by_deadline_:
            logger.info("refit of %s cut short by the deadline; keeping its %d fold models", member.name,
                        len(member.models))
            continue
        refit[member.name] = Member(member.name, member.model, member.weight, [pre], [model], member.inputs)
    return Ensemble([refit.get(m.name, m) for m in ensemble.members], ensemble.temperature)


def refit_names(ensemble: Ensemble, n_splits: int) -> list[str]:
    """The members that were refit on all rows: one model each where validation had several folds (a stacked member
    never is)."""
    if n_splits < 2:
        return []
    return [m.name for m in ensemble.members if len(m.models) == 1 and not m.inputs]
