"""Splits, the trial sequence, failure handling and budget accounting of the search loop."""

from __future__ import annotations

import numpy as np
import pytest

import accelml
from accelml.models.knn import KNeighborsModel
from accelml.search.folds import make_splits
from accelml.search.loop import DEFAULT_ORDER, available_models
from tests.conftest import make_table


def test_splits_stratified_and_disjoint() -> None:
    y = np.array([0] * 90 + [1] * 10)
    splits = make_splits(y, "binary", seed=0, n_splits=5)
    assert len(splits) == 5
    seen = np.concatenate([val for _, val in splits])
    assert sorted(seen) == list(range(100))
    for train, val in splits:
        assert not set(train) & set(val)
        assert y[val].sum() == 2  # each fold keeps the class ratio
    holdout = make_splits(np.arange(1000.0), "regression", seed=0, n_splits=1)
    assert len(holdout) == 1 and len(holdout[0][1]) == 200


def test_splits_depend_on_seed_only() -> None:
    y = np.arange(50.0)
    a = make_splits(y, "regression", seed=1)
    b = make_splits(y, "regression", seed=1)
    c = make_splits(y, "regression", seed=2)
    assert all((x[1] == z[1]).all() for x, z in zip(a, b))
    assert any((x[1] != z[1]).any() for x, z in zip(a, c))


def test_opening_sequence_then_tuning() -> None:
    table = make_table("regression", n=200)
    automl = accelml.AutoML(max_trials=11, time_limit=None, n_jobs=1).fit(table, target="y")
    trials = automl.result_.trials
    assert [t.spec.stage for t in trials[:8]] == ["baseline"] + ["default"] * 7
    assert [t.spec.model for t in trials[1:8]] == list(DEFAULT_ORDER)
    tuned = trials[8:]
    assert len(tuned) == 3 and all(t.spec.stage == "tuning" for t in tuned)
    defaults = {t.spec.model: t.loss for t in trials if t.spec.stage == "default" and t.ok}
    best_family = min(defaults, key=defaults.get)
    assert tuned[0].spec.model == best_family
    assert tuned[0].spec.params and tuned[0].spec.params != tuned[1].spec.params


def test_failed_trial_is_recorded_and_search_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fit(self, *args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(KNeighborsModel, "fit", broken_fit)
    table = make_table("binary", n=200)
    automl = accelml.AutoML(max_trials=4, time_limit=None, n_jobs=1, models=["lgbm", "knn", "linear"]).fit(
        table, target="y"
    )
    knn = [t for t in automl.result_.trials if t.spec.model == "knn"]
    assert knn and knn[0].status == "failed" and "simulated crash" in knn[0].error
    assert "knn" not in set(automl.leaderboard()["family"])
    assert len(automl.predict(table.head(3))) == 3


def test_unknown_model_family_lists_valid_ones() -> None:
    with pytest.raises(accelml.exceptions.ConfigError, match="lgbm"):
        available_models(["lgbmm"])


def test_poor_configurations_are_pruned_after_a_fold() -> None:
    table = make_table("regression", n=300, seed=7)
    automl = accelml.AutoML(
        max_trials=30, time_limit=None, n_jobs=1, models=["lgbm", "linear", "knn"], n_splits=4
    ).fit(table, target="y")
    trials = automl.result_.trials
    pruned = [t for t in trials if t.status == "pruned"]
    assert pruned, "no tuning trial was stopped early"
    assert all(t.spec.stage == "tuning" and 1 <= t.n_folds < 4 for t in pruned)
    assert not set(automl.leaderboard()["model"]) & {t.spec.name for t in pruned}
