"""Splits, the trial sequence, failure handling and budget accounting of the search loop."""

from __future__ import annotations

import numpy as np
import pytest

import accelml
from accelml.models.knn import KNeighborsModel
from accelml.search.folds import make_splits
from accelml.search.loop import DEFAULT_ORDER, available_models
from accelml.search.portfolio import load_portfolio
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
    automl = accelml.AutoML(max_trials=len(load_portfolio()) + 11, time_limit=None, n_jobs=1).fit(table, target="y")
    trials = automl.result_.trials
    opening = [t for t in trials if t.spec.stage != "tuning"]
    portfolio = load_portfolio()
    assert opening[0].spec.stage == "baseline"
    assert [(t.spec.model, t.spec.params) for t in opening[1 : 1 + len(portfolio)]] == portfolio
    defaults = {t.spec.model for t in opening if t.spec.stage == "default"}
    assert defaults | {t.spec.model for t in opening[1:]} == set(DEFAULT_ORDER)  # every family at least once
    assert len({(t.spec.model, str(t.spec.params)) for t in opening[1:]}) == len(opening) - 1  # no repeats
    assert trials[: len(opening)] == opening  # the opening comes first
    tuned = trials[len(opening) :]
    assert tuned and all(t.spec.stage == "tuning" for t in tuned)
    defaults = {t.spec.model: t.loss for t in opening if t.spec.stage in ("default", "portfolio") and t.ok}
    best_family = min(defaults, key=defaults.get)
    assert tuned[0].spec.model == best_family
    assert tuned[0].spec.params and tuned[0].spec.params != tuned[1].spec.params


def test_failed_trial_is_recorded_and_search_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fit(self, *args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(KNeighborsModel, "fit", broken_fit)
    table = make_table("binary", n=200)
    automl = accelml.AutoML(max_trials=4, time_limit=None, n_jobs=1, models=["knn", "linear"]).fit(table, target="y")
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


def test_resume_continues_the_recorded_run(tmp_path) -> None:
    from accelml.search.store import TrialStore

    table = make_table("binary", n=300, seed=11)
    first = accelml.AutoML(max_trials=4, time_limit=None, n_jobs=1, work_dir=tmp_path / "run").fit(table, target="y")
    recorded = TrialStore(tmp_path / "run").load()
    assert [t.result.spec for t in recorded] == [t.spec for t in first.result_.trials]
    assert all(t.models for t in recorded if t.result.ok)

    more = accelml.AutoML(max_trials=9, time_limit=None, n_jobs=1, work_dir=tmp_path / "run")
    more.fit(table, target="y", resume=True)
    trials = more.result_.trials
    assert len(trials) == 9
    assert [t.spec for t in trials[:4]] == [t.spec for t in first.result_.trials]  # not repeated
    assert len({t.spec.trial_id for t in trials}) == 9
    assert len(TrialStore(tmp_path / "run").load()) == 9
    uninterrupted = accelml.AutoML(max_trials=9, time_limit=None, n_jobs=1).fit(table, target="y").result_.trials
    assert [t.spec for t in trials[:8]] == [t.spec for t in uninterrupted[:8]]  # the opening sequence is the same


def test_resume_refuses_other_data_and_missing_run(tmp_path) -> None:
    table = make_table("binary", n=200, seed=12)
    accelml.AutoML(max_trials=2, time_limit=None, n_jobs=1, work_dir=tmp_path / "run").fit(table, target="y")
    with pytest.raises(accelml.exceptions.DataError, match="differs"):
        accelml.AutoML(max_trials=3, time_limit=None, work_dir=tmp_path / "run").fit(table.head(150), "y", resume=True)
    with pytest.raises(accelml.exceptions.ConfigError, match="no run to resume"):
        accelml.AutoML(max_trials=3, time_limit=None, work_dir=tmp_path / "none").fit(table, "y", resume=True)
    with pytest.raises(accelml.exceptions.ConfigError, match="already holds a run"):
        accelml.AutoML(max_trials=2, time_limit=None, work_dir=tmp_path / "run").fit(table, "y")


def test_a_crash_loses_at_most_the_trial_in_flight(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from accelml.search import loop
    from accelml.search.store import TrialStore

    calls = {"n": 0}
    real = loop.evaluate_trial

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # a kill in the middle of the third trial
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate_trial", crash_on_third)
    table = make_table("regression", n=200, seed=13)
    with pytest.raises(KeyboardInterrupt):
        accelml.AutoML(max_trials=6, time_limit=None, n_jobs=1, work_dir=tmp_path / "run").fit(table, target="y")
    assert len(TrialStore(tmp_path / "run").load()) == 2
