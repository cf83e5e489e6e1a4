"""Explanations on real data: features known to matter come out on top.

The data sets live in ../shared/datasets beside the repository; the tests skip, saying so, when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from accelml import AutoML
from accelml.explain import explain

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _read(relative: str, rows: int | None = None) -> pd.DataFrame:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/datasets is absent)")
    frame = pd.read_csv(path)
    return frame.sample(rows, random_state=0) if rows and len(frame) > rows else frame


def test_adult_importance_puts_a_known_strong_feature_in_the_top_three() -> None:
    # Marital status, relationship and capital gain are the best-known predictors of income >50K in adult.
    automl = AutoML(time_limit=20, max_trials=3, n_jobs=1).fit(_read("adult/adult_train.csv", 2000), target="class")
    explanation = explain(automl, n_repeats=2, max_rows=400, dependence_features=2)

    top3 = list(explanation.importance["feature"].head(3))
    assert {"relationship", "marital-status", "capital-gain"} & set(top3), explanation.importance
    assert (explanation.importance["importance_mean"].head(3) > 0).all()
    assert explanation.source.startswith("the training sample")

    assert explanation.shap is not None  # the ensemble holds a LightGBM member
    assert set(explanation.shap["feature"]) == {c.name for c in automl.schema_.features}  # original columns only
    assert {"relationship", "marital-status", "capital-gain"} & set(explanation.shap["feature"].head(3))

    curves = explanation.partial_dependence
    assert list(dict.fromkeys(curves["feature"])) == [f for f in explanation.importance["feature"]][:2]
    assert set(curves["output"]) == {">50K"}  # binary: the positive class only
    assert curves["mean_prediction"].between(0, 1).all()


def test_iris_importance_puts_a_petal_measurement_first() -> None:
    data = _read("sklearn_iris/iris.csv")
    automl = AutoML(time_limit=20, max_trials=3, n_jobs=1, models=["lgbm", "linear"]).fit(data, target="target")
    explanation = explain(automl, data, n_repeats=3, top=2, dependence_features=1)

    assert explanation.importance["feature"].iloc[0].startswith("petal"), explanation.importance
    assert explanation.source == "the given data"
    assert len(explanation.to_frames()["importance"]) == 2
    curves = explanation.partial_dependence
    assert set(curves["output"]) == {0, 1, 2}  # multiclass: one curve per class
    sums = curves.groupby("value")["mean_prediction"].sum()
    assert sums.round(6).eq(1.0).all()  # the class probabilities at each grid point add up
