"""Refit the ensemble's members on all rows: one model per member instead of one per fold, for a lighter artifact
and faster predictions. The validation score stays the one measured on out-of-fold predictions."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.ensemble.predictor import Ensemble, Member
from accelml.features import Preprocessor
from accelml.models import MODELS
from accelml.schema import Schema

__all__ = ["refit_full"]

logger = logging.getLogger(__name__)


def refit_full(
    ensemble: Ensemble, X: pd.DataFrame, y: np.ndarray, schema: Schema, deadline: Deadline, *, n_jobs: int, seed: int,
    only_free: bool = False,
) -> Ensemble:
    """Each member trained once on all rows; a member whose refit the deadline cuts short keeps its fold models.
    ``only_free``: only the members whose family refits for free (``Model.free_refit``, k-nearest neighbours) and
    that no stacked member reads, which every fit does by default."""
    preprocessors: dict[str, tuple[Preprocessor, np.ndarray]] = {}
    members = []
    read = {name for member in ensemble.members for name in member.inputs}
    for member in ensemble.members:
        cls = MODELS[member.model]
        # A stacked member learned from out-of-fold outputs, which only fold models give: it keeps its fold models.
        # By default only what refits for free is refit, and never a stacker's input (it reads what it was validated
        # with).
        skip = only_free and (not cls.free_refit or member.name in read)
        if len(member.models) == 1 or member.inputs or deadline.expired() or skip:
            members.append(member)
            continue
        if cls.preprocessing not in preprocessors:
            pre = Preprocessor(cls.preprocessing, schema, seed=seed)
            preprocessors[cls.preprocessing] = (pre, pre.fit_transform(X, y))
        pre, matrix = preprocessors[cls.preprocessing]
        template = member.models[0]
        model = cls(task=template.task, params=template.refit_params(member.models), n_jobs=n_jobs, seed=seed)
        model.fit(matrix, y, deadline=deadline, categorical=(pre.categorical_indices_, pre.categorical_cardinalities_))
        if model.stopped_by_deadline_:
            logger.info("refit of %s cut short by the deadline; keeping its %d fold models", member.name,
                        len(member.models))
            members.append(member)
            continue
        members.append(Member(member.name, member.model, member.weight, [pre], [model], member.inputs))
    return Ensemble(members, ensemble.temperature)
