"""Explanations on tiny seeded tables: shapes, directions, SHAP mapping, errors and the CLI command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from accelml import AutoML
from accelml.cli.errors import guarded
from accelml.cli.explain import explain as explain_command
from accelml.exceptions import ConfigError, DataError
from accelml.explain import Explanation, explain
from accelml.explain.tree_shap import shap_importance
from tests.conftest import make_table


@pytest.fixture(scope="module")
def regressor() -> AutoML:
    table = make_table("regression")
    table["when"] = pd.date_range("2024-01-01", periods=len(table), freq="D")  # one column, six encoded ones
    return AutoML(time_limit=20, max_trials=2, n_jobs=1, models=["lgbm"]).fit(table, target="y")


def test_regression_explanation_ranks_signal_above_noise(regressor: AutoML) -> None:
    explanation = explain(regressor, n_repeats=2, dependence_features=2)

    assert isinstance(explanation, Explanation)
    ranked = list(explanation.importance["feature"])
    assert ranked[0] == "x1"  # y = 3 * (x1 + 0.5 x2 + [colour = red]) + noise
    assert ranked.index("noise") > ranked.index("x2")
    assert explanation.metric == regressor.metric_.name
    assert explanation.shap_units == "target units"
    curves = explanation.partial_dependence
    x1 = curves[curves["feature"] == "x1"].sort_values("value")
    assert set(curves["output"]) == {"y"}
    assert x1["mean_prediction"].iloc[-1] > x1["mean_prediction"].iloc[0] + 2  # the model rises with x1
    assert "Permutation importance" in str(explanation)


def test_shap_sums_encoded_columns_back_to_their_input_column(regressor: AutoML) -> None:
    # The date becomes when__year, when__month, ... in the tree preprocessing: their SHAP values fold back into it.
    member = regressor.result_.ensemble.members[0]
    assert any(name.startswith("when__") for name in member.preprocessors[0].feature_names_)
    frame = regressor.result_.sample.drop(columns="y")
    table = shap_importance(regressor, frame)
    assert table is not None
    assert sorted(table["feature"]) == sorted(c.name for c in regressor.schema_.features)
    assert table["feature"].iloc[0] == "x1"
    assert np.isfinite(table["mean_abs_shap"]).all()


@pytest.mark.parametrize("family", ["xgb", "catboost"])
def test_shap_of_other_tree_families_on_multiclass(family: str) -> None:
    # XGBoost and CatBoost give multiclass contributions as (rows, classes, columns + 1), LightGBM side by side.
    automl = AutoML(time_limit=None, max_trials=1, n_jobs=1, models=[family]).fit(make_table("multiclass"), target="y")
    table = shap_importance(automl, automl.result_.sample.drop(columns="y"))
    assert table is not None
    assert table["feature"].iloc[0] == "x1"
    assert table.set_index("feature").loc["noise", "mean_abs_shap"] < table["mean_abs_shap"].iloc[0] / 3


def test_no_shap_without_tree_members() -> None:
    automl = AutoML(time_limit=20, max_trials=1, n_jobs=1, models=["linear"]).fit(make_table("binary"), target="y")
    explanation = explain(automl, n_repeats=1, dependence_features=1)
    assert explanation.shap is None
    assert "shap" not in explanation.to_frames()


def test_bad_input_fails_with_a_clear_error(regressor: AutoML) -> None:
    unlabelled = make_table("regression").drop(columns="y")
    with pytest.raises(DataError, match="no target column 'y'"):
        explain(regressor, unlabelled)
    with pytest.raises(ConfigError, match="n_repeats"):
        explain(regressor, n_repeats=0)


def test_explain_command_prints_tables(regressor: AutoML, tmp_path) -> None:
    folder = regressor.save(tmp_path / "model")
    app = typer.Typer()
    app.command("explain")(guarded(explain_command))
    app.command("other")(lambda: None)  # two commands: the runner keeps the command name as an argument

    result = CliRunner().invoke(app, ["explain", str(folder), "--top", "3", "--repeats", "1"])

    assert result.exit_code == 0, result.output
    assert "Permutation importance" in result.output
    assert "x1" in result.output
    assert "Partial dependence" in result.output
