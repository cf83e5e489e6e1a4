"""``explain``: permutation importance, tree SHAP and partial dependence of a fitted model in one call."""

from __future__ import annotations

import logging
from typing import Any

from accelml.exceptions import ConfigError
from accelml.explain.data import explain_data
from accelml.explain.dependence import DEPENDENCE_ROLES, partial_dependence
from accelml.explain.explanation import Explanation
from accelml.explain.permutation import permutation_importance
from accelml.explain.tree_shap import shap_importance, shap_units

__all__ = ["explain"]

logger = logging.getLogger(__name__)


def explain(
    automl: Any,
    data: Any = None,
    *,
    n_repeats: int = 5,
    top: int = 10,
    seed: int = 0,
    max_rows: int = 2000,
    dependence_features: int = 4,
) -> Explanation:
    """Explain a fitted model: which features matter, by how much, and how the prediction moves with them.

    Without ``data`` the fit's training sample is used. The final model trained on those rows, so importance there
    can overstate features it overfits; labelled data it never saw gives an unbiased ranking. The explanation's
    ``source`` says which it was.

    Args:
        automl: A fitted or loaded :class:`accelml.AutoML`.
        data: Labelled rows (a DataFrame or a file path) holding the target column; ``None`` for the training sample.
        n_repeats: Shuffles per feature for permutation importance.
        top: Features shown by the explanation's tables.
        seed: Seed of every sample and shuffle.
        max_rows: Rows to use at most (a seeded sample of ``data``).
        dependence_features: Partial dependence is computed for this many of the most important features that are
            numeric, categorical or boolean.

    Returns:
        An :class:`~accelml.explain.Explanation`.

    Raises:
        ConfigError: An argument is out of range.
        DataError: ``data`` has no labelled rows or lacks the target.

    Example:
        >>> import accelml
        >>> from accelml.datasets import load_demo
        >>> automl = accelml.AutoML(time_limit=20, max_trials=1, n_jobs=1, models=["lgbm"], n_splits=2).fit(
        ...     load_demo(), target="species")
        >>> explanation = explain(automl, n_repeats=2, dependence_features=1)
        >>> list(explanation.importance.columns)
        ['feature', 'importance_mean', 'importance_std']
    """
    if getattr(automl.result_.ensemble, "kind", None) == "recommender":
        raise ConfigError("a recommender is explained by its lists, not by feature importance: see similar_items(), "
                          "the example lists in the report (accelml report) and recommend()")
    for name, value in (("n_repeats", n_repeats), ("top", top), ("max_rows", max_rows)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    rows = explain_data(automl, data, max_rows=max_rows, seed=seed)
    logger.info("explaining on %d rows of %s", len(rows.frame), rows.source)
    importance = permutation_importance(automl, rows, n_repeats=n_repeats, seed=seed)
    shap = shap_importance(automl, rows.frame, seed=seed)
    schema = automl.schema_
    chosen = [f for f in importance["feature"] if schema.column(f).role in DEPENDENCE_ROLES][:dependence_features]
    dependence = partial_dependence(automl, rows.frame, chosen, seed=seed)
    return Explanation(
        importance=importance,
        shap=shap,
        partial_dependence=dependence,
        metric=automl.metric_.name,
        greater_is_better=automl.metric_.greater_is_better,
        shap_units=shap_units(schema.task),
        n_rows=len(rows.frame),
        source=rows.source,
        top=top,
    )
