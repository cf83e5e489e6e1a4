"""Every built-in metric in one explicit map, the default per task, and :func:`get_metric` to resolve a user's choice.

A new metric is one function (in ``classification.py`` or ``regression.py``) plus one entry in :data:`METRICS`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from accelml.exceptions import ConfigError
from accelml.metrics import classification as cls
from accelml.metrics import ranking
from accelml.metrics import regression as reg
from accelml.metrics.metric import CLASSIFICATION_TASKS, TASKS, Metric, make_metric
from accelml.tasks import get_task

__all__ = ["METRICS", "default_metric", "get_metric", "list_metrics", "ranking_metric"]

_RECOMMEND = frozenset(key for key in TASKS if get_task(key).output == "scores")
_RATINGS = frozenset({"regression"}) | _RECOMMEND  # rating errors score regression and rating predictions alike
_REGRESSION = frozenset({"regression"})


_ALL: list[Metric] = [
    Metric(
        name="roc_auc",
        func=cls.roc_auc,
        greater_is_better=True,
        needs_proba=True,
        tasks=CLASSIFICATION_TASKS,
        description="ranks every positive above every negative regardless of the decision threshold",
    ),
    Metric(
        name="log_loss",
        func=cls.log_loss,
        greater_is_better=False,
        needs_proba=True,
        tasks=CLASSIFICATION_TASKS,
        description="rewards well-calibrated probabilities for every class",
    ),
    Metric(
        name="pr_auc",
        func=cls.pr_auc,
        greater_is_better=True,
        needs_proba=True,
        tasks=CLASSIFICATION_TASKS,
        description="summarises precision against recall, which stays informative when positives are rare",
    ),
    Metric(
        name="accuracy",
        func=cls.accuracy,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="counts the share of correctly predicted labels",
    ),
    Metric(
        name="balanced_accuracy",
        func=cls.balanced_accuracy,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="averages recall over classes, so rare classes count as much as common ones",
    ),
    Metric(
        name="f1",
        func=cls.f1,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="balances precision and recall (of class 1 for binary, macro-averaged for multiclass)",
        task_funcs={"binary": cls.f1_binary, "multiclass": cls.f1_macro},
    ),
    Metric(
        name="f1_macro",
        func=cls.f1_macro,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="averages F1 over classes with equal weight",
    ),
    Metric(
        name="f1_weighted",
        func=cls.f1_weighted,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="averages F1 over classes weighted by how often each occurs",
    ),
    Metric(
        name="precision",
        func=cls.precision,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="measures how many predicted positives are right (macro-averaged for multiclass)",
        task_funcs={"binary": cls.precision_binary, "multiclass": cls.precision_macro},
    ),
    Metric(
        name="recall",
        func=cls.recall,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="measures how many actual positives are found (macro-averaged for multiclass)",
        task_funcs={"binary": cls.recall_binary, "multiclass": cls.recall_macro},
    ),
    Metric(
        name="mcc",
        func=cls.mcc,
        greater_is_better=True,
        needs_proba=False,
        tasks=CLASSIFICATION_TASKS,
        description="correlates predictions with the truth using the whole confusion matrix, robust to imbalance",
    ),
    Metric(
        name="rmse",
        func=reg.rmse,
        greater_is_better=False,
        needs_proba=False,
        tasks=_RATINGS,
        description="penalises large errors and reads in the target's own units",
    ),
    Metric(
        name="mse",
        func=reg.mse,
        greater_is_better=False,
        needs_proba=False,
        tasks=_REGRESSION,
        description="penalises errors by their square",
    ),
    Metric(
        name="mae",
        func=reg.mae,
        greater_is_better=False,
        needs_proba=False,
        tasks=_RATINGS,
        description="weighs every error linearly, so outliers matter less than with rmse",
    ),
    Metric(
        name="median_ae",
        func=reg.median_ae,
        greater_is_better=False,
        needs_proba=False,
        tasks=_REGRESSION,
        description="takes the median error, which a few large outliers cannot move",
    ),
    Metric(
        name="r2",
        func=reg.r2,
        greater_is_better=True,
        needs_proba=False,
        tasks=_REGRESSION,
        description="measures the share of the target's variance explained",
    ),
    Metric(
        name="mape",
        func=reg.mape,
        greater_is_better=False,
        needs_proba=False,
        tasks=_REGRESSION,
        description="measures errors relative to the size of the target",
    ),
    Metric(
        name="rmsle",
        func=reg.rmsle,
        greater_is_better=False,
        needs_proba=False,
        tasks=_REGRESSION,
        description="measures relative errors on a log scale, suited to positive targets spanning orders of magnitude",
    ),
]

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}

# Ranking metrics of top-k lists, named with their k (ndcg@10, precision@5); the list's k=10 ones are listed, any k
# is understood. Their truth is each user's relevant items, their prediction the users' lists (metrics.ranking).
_RANKING = {
    "precision": ("measures the share of each list that the user went on to choose", True),
    "recall": ("measures the share of what the user went on to choose that the list found", True),
    "ndcg": ("rewards finding what the user chose, and finding it near the top of the list", True),
    "map": ("averages precision at each position where the list found something the user chose", True),
    "hit_rate": ("measures the share of users whose list holds at least one item they chose", True),
    "coverage": ("measures the share of the catalogue that appears in some user's list", True),
}


class _RankingScore:
    """``f(relevant, recommended)``: one ranking metric of top-k lists (a class, so that the metric pickles)."""

    def __init__(self, key: str, k: int):
        self.key, self.k = key, k

    def __call__(self, relevant: Any, recommended: Any) -> float:  # relevant: users x items; recommended: users x k
        return ranking.ranking_metrics(recommended, relevant, self.k, relevant.shape[1])[self.key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RankingScore) and (other.key, other.k) == (self.key, self.k)

    def __hash__(self) -> int:
        return hash((self.key, self.k))


def ranking_metric(name: str) -> Metric | None:
    """The ranking metric called ``name`` (``"ndcg@10"``, ``"precision@5"``), or ``None`` if it is not one.

    >>> ranking_metric("NDCG@5").name, ranking_metric("ndcg").name, ranking_metric("rmse")
    ('ndcg@5', 'ndcg@10', None)
    """
    base, _, k = name.strip().lower().replace("-", "_").partition("@")
    if base not in _RANKING or not (k or "10").isdigit() or int(k or 10) < 1:
        return None
    k = int(k or 10)
    description, greater = _RANKING[base]
    key = f"{base}@{k}"

    return Metric(name=key, func=_RankingScore(key, k), greater_is_better=greater, needs_proba=False, tasks=_RECOMMEND,
                  description=description)


METRICS.update({f"{name}@10": ranking_metric(name) for name in _RANKING})



def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; valid tasks: {', '.join(sorted(TASKS))}")


def list_metrics(task: str | None = None) -> list[str]:
    """Names of the built-in metrics, sorted; only those valid for ``task`` when given.

    Example:
        >>> list_metrics("regression")
        ['mae', 'mape', 'median_ae', 'mse', 'r2', 'rmse', 'rmsle']
    """
    if task is None:
        return sorted(METRICS)
    _check_task(task)
    return sorted(name for name, metric in METRICS.items() if task in metric.tasks)


def default_metric(task: str) -> Metric:
    """The metric used when the user names none: roc_auc, log_loss or rmse.

    Raises:
        ConfigError: ``task`` is unknown.

    Example:
        >>> default_metric("multiclass").name
        'log_loss'
    """
    _check_task(task)
    return _lookup(get_task(task).default_metric, task).for_task(task)


def _suggest(key: str) -> list[str]:
    # Prefixes and substrings first ("acc" -> accuracy, "auc" -> roc_auc), then spelling ("rsme" -> rmse).
    names = sorted(METRICS)
    close = [n for n in names if n.startswith(key)] or [n for n in names if key in n]
    return close[:3] or difflib.get_close_matches(key, names, n=3)


def _or_list(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _lookup(name: str, task: str) -> Metric:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if "@" in key and key not in METRICS and (ranked := ranking_metric(key)) is not None:
        return ranked
    valid = ", ".join(list_metrics(task))
    if key not in METRICS:
        hint = _suggest(key)
        did_you_mean = f"; did you mean {_or_list(hint)}?" if hint else "."
        raise ConfigError(f"unknown metric {name!r}{did_you_mean} Valid metrics for {task}: {valid}")
    return METRICS[key]


def get_metric(metric: str | Metric | Callable[..., float] | None, task: str) -> Metric:
    """Resolve what the user asked for into a :class:`Metric` specialised for ``task``.

    Args:
        metric: ``None`` for the task's default, a registered name (any case), a :class:`Metric`, or a plain
            ``f(y_true, y_pred) -> float`` where greater is better and ``y_pred`` holds labels or values (use
            :func:`~accelml.metrics.make_metric` for other settings).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.

    Returns:
        The metric, with any task-specific behaviour (e.g. ``f1`` binary vs macro) bound.

    Raises:
        ConfigError: Unknown task or metric name, a metric not defined for ``task``, or an unusable ``metric``.

    Example:
        >>> get_metric("AUC", "binary")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        accelml.exceptions.ConfigError: unknown metric 'AUC'; did you mean 'pr_auc' or 'roc_auc'? ...
        >>> get_metric("Accuracy", "multiclass").name
        'accuracy'
        >>> get_metric(None, "regression").greater_is_better
        False
    """
    _check_task(task)
    if metric is None:
        return default_metric(task)
    if isinstance(metric, str):
        resolved = _lookup(metric, task)
    elif isinstance(metric, Metric):
        resolved = metric
    elif callable(metric):
        resolved = make_metric(metric)
    else:
        raise ConfigError(
            f"metric must be a name, a Metric or a callable f(y_true, y_pred); got {type(metric).__name__}"
        )
    if task not in resolved.tasks:
        raise ConfigError(
            f"metric {resolved.name!r} is defined for {', '.join(sorted(resolved.tasks))}, not {task}; "
            f"valid metrics for {task}: {', '.join(list_metrics(task))}"
        )
    return resolved.for_task(task)
