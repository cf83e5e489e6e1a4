"""Mean |SHAP| per original feature for the ensemble's tree members, from the libraries' own TreeSHAP.

LightGBM (``pred_contrib``), XGBoost (``pred_contribs``) and CatBoost (``ShapValues``) compute exact TreeSHAP values
themselves, so no extra package is needed. Each member's values are computed per fold model on that fold's
preprocessed matrix, summed per row over the matrix columns that one input column produced (SHAP values add up),
then averaged: first over folds, then over members by ensemble weight. A family says which of these it is
explained with by naming it in its class's ``tree_shap`` (see :data:`TREE_SHAP`); the others are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from accelml.models import MODELS
from accelml.tasks import get_task

__all__ = ["SHAP_ROWS", "TREE_SHAP", "has_tree_shap", "shap_importance", "shap_units"]

logger = logging.getLogger(__name__)

# TreeSHAP costs trees x leaves x depth per row (LightGBM on adult: about 8 ms a row for 5 fold models); the mean
# absolute value per feature is stable long before a thousand rows.
SHAP_ROWS = 500


def _lgbm(model: Any, X: np.ndarray) -> np.ndarray:
    return model.booster_.predict(X, num_iteration=model.best_iteration_ or None, pred_contrib=True)


def _xgb(model: Any, X: np.ndarray) -> np.ndarray:
    return model.booster_.predict(model._matrix(X), pred_contribs=True, iteration_range=(0, model.best_iteration_))


def _catboost(model: Any, X: np.ndarray) -> np.ndarray:
    from catboost import Pool

    pool = Pool(model._frame(X), cat_features=model.cat_features_ or None)
    return model.estimator_.get_feature_importance(pool, type="ShapValues")


# TreeSHAP name (a family's ``tree_shap``) -> (model, preprocessed matrix) -> contributions with a bias column last
TREE_SHAP: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
    "catboost": _catboost,
    "lightgbm": _lgbm,
    "xgboost": _xgb,
}


def has_tree_shap(family: str) -> bool:
    """Whether the model family ``family`` (a registry key) is explained with exact TreeSHAP.

    >>> has_tree_shap("lgbm"), has_tree_shap("knn")
    (True, False)
    """
    return MODELS[family].tree_shap in TREE_SHAP


def shap_units(task: str) -> str:
    """What the SHAP values of ``task``'s tree models measure.

    >>> shap_units("binary"), shap_units("regression")
    ('log-odds', 'target units')
    """
    return get_task(task).shap_units


def _per_class(contrib: np.ndarray, n_rows: int, n_columns: int) -> np.ndarray:
    """Contributions as ``(n_rows, n_outputs, n_columns)``, bias dropped, whatever layout the library used."""
    contrib = np.asarray(contrib, dtype=np.float64)
    if contrib.ndim == 3:  # (n, K, F+1): XGBoost and CatBoost multiclass
        return contrib[:, :, :n_columns]
    per_output = contrib.reshape(n_rows, -1, n_columns + 1)  # LightGBM multiclass: K blocks of F+1 side by side
    return per_output[:, :, :n_columns]


def _member_shap(member: Any, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """Mean |SHAP| per original feature of one member, averaged over its fold models."""
    contrib_of = TREE_SHAP[MODELS[member.model].tree_shap]
    total = np.zeros(len(features))
    position = {name: i for i, name in enumerate(features)}
    for pre, model in zip(member.preprocessors, member.models, strict=True):
        X = pre.transform(frame)
        contrib = _per_class(contrib_of(model, X), len(frame), X.shape[1])
        start = 0
        for encoder in pre.encoders_:  # the encoders' output blocks lie side by side, in order
            width = len(encoder.feature_names_)
            per_row = contrib[:, :, start : start + width].sum(axis=2)  # SHAP values of one input column add up
            shap = np.abs(per_row).mean(axis=0).mean()
            sources = encoder.sources or (encoder.column,)  # a generated column's share goes to its sources
            for column in sources:
                total[position[column]] += shap / len(sources)
            start += width
    return total / len(member.models)


def shap_importance(
    automl: Any, frame: pd.DataFrame, *, max_rows: int = SHAP_ROWS, seed: int = 0
) -> pd.DataFrame | None:
    """Mean |SHAP| per feature over the ensemble's tree members, largest first; ``None`` without tree members.

    Args:
        automl: A fitted :class:`accelml.AutoML`.
        frame: Validated feature rows.
        max_rows: Rows to compute SHAP values for (a seeded sample when there are more).
        seed: Seed of that sample.

    Returns:
        Columns ``feature`` and ``mean_abs_shap`` (in :func:`shap_units`; multiclass: averaged over the classes).
    """
    result = automl._result()  # NotFittedError with a hint when it is not fitted
    # stacked members read other models' outputs besides the columns, so their SHAP values are not the columns'
    members = [m for m in result.ensemble.members if has_tree_shap(m.model) and m.weight > 0 and not m.inputs]
    if not members:
        return None
    if len(frame) > max_rows:
        frame = frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))]
    features = [c.name for c in result.schema.features]
    found, weights = [], []
    for member in members:
        try:
            found.append(_member_shap(member, frame, features))
            weights.append(member.weight)
        except Exception as exc:  # a model its library cannot explain: explain with the other members
            logger.warning("no SHAP values for %s (%s: %s); skipped", member.name, type(exc).__name__, exc)
    if not found:
        return None
    values = np.average(np.vstack(found), axis=0, weights=weights)
    table = pd.DataFrame({"feature": features, "mean_abs_shap": values})
    return table.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)
