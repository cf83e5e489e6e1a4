"""Splits, the trial sequence, failure handling and budget accounting of the search loop."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import accelml
from accelml.models.knn import KNeighborsModel
from accelml.search.loop import available_models
from accelml.search.portfolio import load_portfolio
from accelml.search.searchers import N_TUNED_FAMILIES
from accelml.validation import make_validation
from tests.conftest import make_table


def test_splits_stratified_and_disjoint() -> None:
    y = np.array([0] * 90 + [1] * 10)
    splits = make_validation(y, "binary", seed=0, n_splits=5).splits
    assert len(splits) == 5
    seen = np.concatenate([val for _, val in splits])
    assert sorted(seen) == list(range(100))
    for train, val in splits:
        assert not set(train) & set(val)
        assert y[val].sum() == 2  # each fold keeps the class ratio
    holdout = make_validation(np.arange(1000.0), "regression", seed=0, n_splits=1).splits
    assert len(holdout) == 1 and len(holdout[0][1]) == 200


def test_repeated_splits_on_small_data_with_a_budget() -> None:
    y = np.array([0, 1] * 150)
    splits = make_validation(y, "binary", seed=0, time_limit=30).splits
    assert len(splits) == 15  # 5 folds x 3 repeats on 300 rows
    for r in range(3):
        seen = np.concatenate([val for _, val in splits[5 * r : 5 * r + 5]])
        assert sorted(seen) == list(range(300))  # each repeat is a partition
    assert any((a[1] != b[1]).any() for a, b in zip(splits[:5], splits[5:10]))  # with a fresh shuffle
    plain = make_validation(y, "binary", seed=0, n_splits=5).splits
    assert [v.tolist() for _, v in splits[:5]] == [v.tolist() for _, v in plain]
    assert len(make_validation(y, "binary", seed=0).splits) == 5  # no budget, no repeats
    asked = make_validation(y, "binary", seed=0, n_splits=5, time_limit=30)
    assert len(asked.splits) == 5  # folds set by the user: as asked


def test_repeated_folds_average_each_rows_predictions() -> None:
    table = make_table("binary", n=240)
    automl = accelml.AutoML(time_limit=8, n_jobs=1, models=["lgbm", "linear"], refit_full=False).fit(table, target="y")
    result = automl.result_
    assert (result.n_splits, result.n_repeats) == (5, 3)
    oof = result.sample_oof
    assert oof.shape == (240, 2) and np.allclose(oof.sum(axis=1), 1.0)  # averaged, not summed over repeats
    member = automl.result_.ensemble.members[0]
    assert len(member.models) == 5  # the first repeat's fold models predict


def test_splits_depend_on_seed_only() -> None:
    y = np.arange(50.0)
    a = make_validation(y, "regression", seed=1).splits
    b = make_validation(y, "regression", seed=1).splits
    c = make_validation(y, "regression", seed=2).splits
    assert all((x[1] == z[1]).all() for x, z in zip(a, b))
    assert any((x[1] != z[1]).any() for x, z in zip(a, c))


def test_opening_sequence_then_tuning() -> None:
    table = make_table("regression", n=200)
    automl = accelml.AutoML(max_trials=len(load_portfolio()) + 11, time_limit=None, n_jobs=1).fit(table, target="y")
    *trials, stacker = automl.result_.trials
    assert stacker.spec.stage == "stack"  # the second layer comes after the search
    opening = [t for t in trials if t.spec.stage != "tuning"]
    portfolio = load_portfolio()
    assert opening[0].spec.stage == "baseline"
    assert [(t.spec.model, t.spec.params) for t in opening[1 : 1 + len(portfolio)]] == portfolio
    defaults = {t.spec.model for t in opening if t.spec.stage == "default"}
    eligible = set(available_models(None, automl.task_, automl.schema_))  # not the image families, on a table
    assert defaults | {t.spec.model for t in opening[1:]} == eligible  # every family at least once
    assert len({(t.spec.model, str(t.spec.params)) for t in opening[1:]}) == len(opening) - 1  # no repeats
    assert trials[: len(opening)] == opening  # the opening comes first
    tuned = trials[len(opening) :]
    assert tuned and all(t.spec.stage == "tuning" for t in tuned)
    defaults = {t.spec.model: t.loss for t in opening if t.spec.stage in ("default", "portfolio") and t.ok}
    ranked = sorted(defaults, key=defaults.get)
    assert {t.spec.model for t in tuned} <= set(ranked[:N_TUNED_FAMILIES])  # only the most promising are tuned
    per_family = Counter(t.spec.model for t in tuned)
    assert per_family[ranked[0]] == max(per_family.values())  # the best family gets the most trials
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
    assert first.result_.trials[-1].spec.stage == "stack"  # built after the search, never recorded
    assert [t.result.spec for t in recorded] == _searched(first)
    assert all(t.models for t in recorded if t.result.ok)

    more = accelml.AutoML(max_trials=9, time_limit=None, n_jobs=1, work_dir=tmp_path / "run")
    more.fit(table, target="y", resume=True)
    trials = _searched(more)
    assert len(trials) == 9
    assert trials[:4] == _searched(first)  # not repeated
    assert len({t.spec.trial_id for t in more.result_.trials}) == 10  # the new stacker's id follows them
    assert len(TrialStore(tmp_path / "run").load()) == 9
    uninterrupted = _searched(accelml.AutoML(max_trials=9, time_limit=None, n_jobs=1).fit(table, target="y"))
    assert trials[:8] == uninterrupted[:8]  # the opening sequence is the same


def _searched(automl: accelml.AutoML) -> list:
    """The specs of a fit's search trials (the stacking layer, built after the search, left out)."""
    return [t.spec for t in automl.result_.trials if t.spec.stage != "stack"]


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
    from accelml.search.evaluate import evaluate_trial
    from accelml.search.store import TrialStore

    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # a kill in the middle of the third trial
        return evaluate_trial(*args, **kwargs)

    make = loop.make_executor
    monkeypatch.setattr(loop, "make_executor", lambda *a, **kw: make(*a, **{**kw, "evaluate": crash_on_third}))
    table = make_table("regression", n=200, seed=13)
    with pytest.raises(KeyboardInterrupt):
        accelml.AutoML(max_trials=6, time_limit=None, n_jobs=1, work_dir=tmp_path / "run").fit(table, target="y")
    assert len(TrialStore(tmp_path / "run").load()) == 2



def test_ensemble_candidates_keep_every_family() -> None:
    # 30 trials of one family, best first, then two of others: the others keep their fitted models.
    from types import SimpleNamespace

    from accelml.search import loop
    from accelml.search.trial import TrialResult, TrialSpec

    def trial(i: int, family: str, loss: float) -> SimpleNamespace:
        return SimpleNamespace(result=TrialResult(TrialSpec(i, family, {}, "tuning"), "ok", loss=loss))

    ranked = [trial(i, "catboost", 0.1 + 0.001 * i) for i in range(30)] + [trial(30, "lgbm", 0.2), trial(31, "mlp", 0.3)]
    kept, dropped = loop._keep(ranked)
    families = Counter(t.result.spec.model for t in kept)
    assert families == {"catboost": loop.KEEP_PER_FAMILY, "lgbm": 1, "mlp": 1}
    assert [t.result.spec.trial_id for t in kept[: loop.KEEP_PER_FAMILY]] == list(range(loop.KEEP_PER_FAMILY))
    assert len(kept) + len(dropped) == len(ranked)


def test_epochs_are_rungs_for_a_network() -> None:
    """A family whose fidelity is epochs is asked after each epoch of its first fold, and stops there when the median
    rule says so (here: any loss is worse than the threshold of epoch 2)."""
    pytest.importorskip("torch")
    from accelml.budget import Deadline
    from accelml.metrics import get_metric
    from accelml.profiling import check_data
    from accelml.schema import infer_schema
    from accelml.schema.validate import coerce_training_frame
    from accelml.search.context import TrialContext
    from accelml.search.evaluate import evaluate_trial
    from accelml.search.folds import FoldCache
    from accelml.search.pruner import RungPruner
    from accelml.search.trial import TrialSpec
    from accelml.tasks import encode_target, get_task

    frame = make_table("binary", n=200, seed=3)
    schema = infer_schema(frame, "y")
    frame, _ = check_data(frame, schema)
    schema.classes = get_task(schema.task).labels(frame["y"])
    X, y = coerce_training_frame(frame, schema), encode_target(frame["y"], schema)
    folds = FoldCache(X, make_validation(y, schema.task, seed=0, n_splits=3), schema)
    ctx = TrialContext("binary", get_metric("roc_auc", "binary"), seed=0, n_jobs=1).at(Deadline.never(), 0.0)
    spec = TrialSpec(5, "torch_mlp", {"max_epochs": 20, "patience": 20}, "tuning")
    pruner = RungPruner({}, {2: -1.0})
    fitted = evaluate_trial(spec, folds, ctx, prune=pruner)
    assert fitted.result.status == "pruned" and fitted.result.n_folds == 1
    assert sorted(pruner.epoch_losses) == [1, 2]  # asked after epochs 1 and 2, stopped at 2
    unpruned = evaluate_trial(spec, folds, ctx, prune=RungPruner({}, {}))
    assert unpruned.result.ok and unpruned.result.n_folds == 3
