"""The plain-data configuration of a run, stored with its result."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from accelml.exceptions import ConfigError
from accelml.metrics.threshold_options import normalize_costs, normalize_threshold
from accelml.tasks import TASKS

__all__ = ["FitConfig", "resolve_jobs"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """The options of a run: the one declaration that ``AutoML``, its loaders, the CLI and the wrappers follow.

    ``AutoML._config`` reads each field from the ``AutoML`` parameter of the same name, and stored configurations are
    read back with :meth:`from_dict`, so a new option is a field here (checked in ``__post_init__``) plus its parameter
    in ``AutoML.__init__``, ``AutoClassifier``/``AutoRegressor`` and ``accelml fit``, which scikit-learn's explicit
    signatures require and ``tests/test_config.py`` checks against these fields.
    """

    task: str | None = None
    metric: str | None = None  # a registry name; a callable metric is kept on the AutoML object
    time_limit: float | None = 60.0
    max_trials: int | None = None
    n_jobs: int = -1
    seed: int = 0
    models: tuple[str, ...] | None = None
    roles: dict[str, str] = field(default_factory=dict)
    n_splits: int | None = None
    # Refit the ensemble's members on all rows (lighter, faster to predict); None: every member where each fold model
    # trained on at most two thirds of the rows (3 folds or fewer), else trees and linear models (see
    # accelml/ensemble/refit.py).
    refit_full: bool | None = None
    max_latency_ms: float | None = None  # deployment constraints on the final model (see ensemble/constraints.py)
    max_size_mb: float | None = None
    stacking: bool = True  # a second layer on the best models' out-of-fold outputs when k-fold leaves time for it
    # Under a time limit, drop members whose prediction cost outweighs what they add: where the table ensemble
    # predicts 1,000 rows slower than 1/3,000 of the limit or one row slower than 5 ms, the lightest re-selection
    # within 0.1 % of its validation loss replaces it (see ensemble/prune.py)
    prune: bool = True
    workers: int | None = None  # trials run at once in worker processes; None: chosen from the data and the budget
    groups: str | None = None  # a column of group ids: grouped k-fold keeps each group's rows in one fold
    image_shape: tuple[int, ...] | None = None  # a table of pixel columns: each row's image (height, width[, channels])
    # A binary task's decision threshold (see ensemble/threshold.py): "auto" tunes it on the out-of-fold predictions
    # for the costs when given, else for a metric of labels; an objective name ("f1", "precision_at_recall=0.8")
    # tunes it for that; a number fixes it.
    threshold: str | float = "auto"
    costs: dict[str, float] | None = None  # the cost of each cell of the confusion matrix ({"false_negative": 5, ...})
    # Drop columns whose importance on the validation folds is no better than a shuffled copy's, when the out-of-fold
    # score without them is at least as good (see search/selection.py); None: on wide tables only (thousands of
    # columns, or more columns than rows), where it pays most; on 12 ordinary benchmark tables at 60 s it dropped 8 of
    # credit_approval's 15 columns for a validation gain within noise, and the test AUC fell 0.9644 -> 0.9579
    feature_selection: bool | None = None
    # Add generated columns (ratios, differences and products of the most important numeric columns, group statistics
    # by categorical columns, frequency encodings) when a quick LightGBM's out-of-fold score with them is clearly
    # better (see search/generation.py); None: on ordinary tables (not wide, no images or prose) when it fits in its
    # share of the time limit
    feature_generation: bool | None = None

    def __post_init__(self) -> None:
        # Any sequence or mapping is accepted (a JSON list, a user's list); one form is held. An empty list is None.
        object.__setattr__(self, "models", tuple(self.models) if self.models else None)
        object.__setattr__(self, "roles", dict(self.roles or {}))
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", _image_shape(self.image_shape))
        object.__setattr__(self, "threshold", normalize_threshold(self.threshold))
        object.__setattr__(self, "costs", normalize_costs(self.costs))
        if self.threshold == "cost" and self.costs is None:
            raise ConfigError("threshold='cost' tunes the threshold for costs; give them, as in "
                              "costs={'false_positive': 1, 'false_negative': 5}")
        if self.costs is not None and self.threshold not in ("auto", "cost") and isinstance(self.threshold, str):
            raise ConfigError(f"costs decide the threshold, so it cannot also be tuned for {self.threshold}; leave "
                              "threshold='auto' (or give a number to fix it) or leave costs unset")
        if self.task is not None and self.task not in TASKS:
            raise ConfigError(f"unknown task '{self.task}'; valid tasks: {', '.join(TASKS)}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ConfigError(f"time_limit must be a positive number of seconds; got {self.time_limit}")
        if self.time_limit is None and self.max_trials is None:
            raise ConfigError("give a time_limit, a max_trials, or both; with neither the search would never end")
        if self.max_trials is not None and self.max_trials < 1:
            raise ConfigError(f"max_trials must be at least 1; got {self.max_trials}")
        if self.n_splits is not None and self.n_splits < 1:
            raise ConfigError(f"n_splits must be at least 1 (1 means one holdout split); got {self.n_splits}")
        for name in ("max_latency_ms", "max_size_mb"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be a positive number; got {value}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be a positive number of processes (or None to choose); got {self.workers}")
        if self.n_jobs == 0 or self.n_jobs < -1:
            raise ConfigError(f"n_jobs must be -1 (all cores) or a positive number; got {self.n_jobs}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["models"] = list(self.models) if self.models else None
        return d

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FitConfig:
        """The configuration :meth:`to_dict` stored, also by another accelml version.

        Options missing from ``values`` (stored before they existed) take their defaults; options this version does
        not know are ignored, with a warning.

        >>> FitConfig.from_dict({"seed": 3, "models": ["lgbm"]}).models
        ('lgbm',)
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            logger.warning("ignoring stored option(s) %s, unknown to this accelml version", ", ".join(unknown))
        return cls(**{name: value for name, value in values.items() if name in known})


def _image_shape(value: Any) -> tuple[int, ...]:
    """``(28, 28)``, ``[28, 28, 3]`` or ``"28x28"`` as a tuple of 2 or 3 positive sizes.

    >>> _image_shape("28x28"), _image_shape([32, 32, 3])
    ((28, 28), (32, 32, 3))
    """
    parts = str(value).lower().replace("x", " ").split() if isinstance(value, str) else list(value)
    try:
        shape = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1 or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
        raise ConfigError(f"image_shape must be height x width[ x channels] (channels 1, 3 or 4), "
                          f"such as 28x28 or (32, 32, 3); got {value!r}")
    return shape


def resolve_jobs(n_jobs: int) -> int:
    """-1 means every core this process may use."""
    if n_jobs > 0:
        return n_jobs
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
