"""The facade end to end on tiny seeded tables: fit, predict, leaderboard, budget, reproducibility."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import accelml
from accelml.exceptions import ConfigError, DataError, NotFittedError, SchemaError
from tests.conftest import make_table


def fit(table: pd.DataFrame, **kw) -> accelml.AutoML:
    options = {"time_limit": 30, "max_trials": 3, "n_jobs": 1, "seed": 0, **kw}
    return accelml.AutoML(**options).fit(table, target="y")


def test_fit_predict_each_task(task: str, table: pd.DataFrame) -> None:
    train, test = table.iloc[:240], table.iloc[240:]
    automl = fit(train)
    assert automl.task_ == task
    pred = automl.predict(test)
    assert len(pred) == len(test)
    if task == "regression":
        assert automl.metric_.name == "rmse"
        assert np.corrcoef(pred, test["y"])[0, 1] > 0.8
    else:
        proba = automl.predict_proba(test)
        assert list(proba.columns) == list(automl.classes_)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        assert set(pred) <= set(train["y"])
        assert np.mean(pred == test["y"].to_numpy()) > 0.7
        assert automl.metric_.name == ("roc_auc" if task == "binary" else "log_loss")
    board = automl.leaderboard()
    assert board.loc[0, "model"] in set(board["model"])
    assert {"model", "family", f"val_{automl.metric_.name}", "fit_s", "predict_s_per_1k", "weight"} <= set(board.columns)
    assert len(board) >= 2 and (board["model"] == "ensemble").sum() == 1
    assert np.isfinite(automl.score(test))


def test_metric_override_and_callable() -> None:
    table = make_table("binary")
    assert fit(table, metric="accuracy").metric_.name == "accuracy"

    def share_correct(y_true, y_pred):
        return float(np.mean(y_true == y_pred))

    automl = fit(table, metric=share_correct)
    assert automl.metric_.name == "share_correct"
    assert 0.5 < automl.val_score_ <= 1.0
    with pytest.raises(ConfigError, match="accuracy"):
        fit(table, metric="acuracy")


def test_drops_identifier_and_constant_columns_and_reports_them() -> None:
    table = make_table("binary")
    table["row_id"] = np.arange(len(table))
    table["always"] = 7
    automl = fit(table)
    kinds = {(i.kind, i.column) for i in automl.issues_}
    assert ("identifier", "row_id") in kinds
    assert ("constant", "always") in kinds
    # predicting does not need the dropped columns
    assert len(automl.predict(table.drop(columns=["row_id", "always"]).head(5))) == 5


def test_missing_target_rows_dropped_and_counted() -> None:
    table = make_table("regression")
    table.loc[:9, "y"] = np.nan
    automl = fit(table)
    issue = next(i for i in automl.issues_ if i.kind == "missing_target")
    assert issue.count == 10


def test_bad_input_errors() -> None:
    table = make_table("binary")
    with pytest.raises(DataError, match="did you mean 'y'"):
        accelml.AutoML(max_trials=1).fit(table, target="Y")
    with pytest.raises(DataError, match="single value|one value"):
        accelml.AutoML(max_trials=1).fit(table.assign(y="same"), target="y")
    with pytest.raises(ConfigError, match="task"):
        accelml.AutoML(task="ranking", max_trials=1).fit(table, target="y")
    with pytest.raises(NotFittedError):
        accelml.AutoML().predict(table)
    automl = fit(table)
    with pytest.raises(SchemaError, match="x1"):
        automl.predict(table.drop(columns=["x1"]))
    with pytest.raises(SchemaError, match="x2"):
        automl.predict(table.assign(x2="abc"))


def test_unseen_category_is_predicted_not_crashed() -> None:
    table = make_table("multiclass")
    automl = fit(table)
    new = table.head(5).assign(colour="purple")
    assert len(automl.predict(new)) == 5


def test_reproducible_with_max_trials() -> None:
    table = make_table("binary", n=400, seed=3)
    a = fit(table, max_trials=5, time_limit=None).leaderboard()
    b = fit(table, max_trials=5, time_limit=None).leaderboard()
    pd.testing.assert_frame_equal(a[["model", "val_roc_auc", "weight"]], b[["model", "val_roc_auc", "weight"]])


def test_time_limited_run_is_a_prefix_of_the_trial_sequence() -> None:
    table = make_table("regression", n=400, seed=4)
    # a limit max_trials ends well before, with the folds (repeats included) of the 4 s run (minutes would buy 8 folds)
    full = fit(table, max_trials=6, time_limit=60).result_
    short = fit(table, max_trials=None, time_limit=4).result_
    assert (full.n_splits, full.n_repeats) == (short.n_splits, short.n_repeats) == (5, 3)
    full, short = full.trials, short.trials
    assert short[-1].spec.stage == "stack" or not any(t.spec.stage == "stack" for t in short)  # after the search
    # Compared by trial id: a trial the per-trial cap stops early (and so scores differently) may be followed by
    # finished ones, and the specs of both must still be the unlimited run's.
    by_id = {t.spec.trial_id: t for t in full if t.spec.stage != "stack"}  # the stacker takes the next free id
    shared = [t for t in short if t.spec.stage != "stack" and t.spec.trial_id in by_id]
    assert [t.spec for t in shared] == [by_id[t.spec.trial_id].spec for t in shared]
    done = [t for t in shared if t.ok and not t.stopped_by_deadline]
    assert done, "no trial finished in 4 s"
    for a in done:
        assert a.score == pytest.approx(by_id[a.spec.trial_id].score, rel=1e-9)


def test_hard_time_limit() -> None:
    table = make_table("multiclass", n=3000, seed=5)
    start = time.monotonic()
    automl = accelml.AutoML(time_limit=6, n_jobs=2).fit(table, target="y")
    elapsed = time.monotonic() - start
    assert elapsed <= 6 * 1.05 + 1.0, f"fit took {elapsed:.2f} s for a 6 s limit"
    assert len(automl.leaderboard()) >= 2


def test_sklearn_api_clone_and_cross_validation() -> None:
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    table = make_table("binary", n=240)
    X, y = table.drop(columns=["y"]), table["y"]
    clf = accelml.AutoClassifier(time_limit=20, max_trials=2, n_jobs=1)
    assert clone(clf).get_params() == clf.get_params()
    scores = cross_val_score(clf, X, y, cv=2)
    assert scores.shape == (2,) and (scores > 0.6).all()
    reg_table = make_table("regression", n=240)
    reg = accelml.AutoRegressor(time_limit=20, max_trials=2, n_jobs=1).fit(reg_table.drop(columns=["y"]), reg_table["y"])
    assert reg.score(reg_table.drop(columns=["y"]), reg_table["y"]) > 0.5


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, accelml; "
        "heavy = [m for m in ('lightgbm', 'xgboost', 'catboost', 'optuna', 'sklearn', 'torch', 'polars') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import accelml loaded {out}"


def test_openmp_threads_wait_briefly_before_sleeping_unless_the_user_said_otherwise() -> None:
    import os
    import subprocess
    import sys

    code = "import os, accelml; print(os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert run.stdout.split() == ["PASSIVE", "10000"]
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "GOMP_SPINCOUNT": "0"})
    assert run.stdout.split() == ["PASSIVE", "0"]


def test_refit_full_gives_one_model_per_member_and_similar_predictions() -> None:
    table = make_table("binary", n=400, seed=8)
    bagged = fit(table, max_trials=4, time_limit=None, refit_full=False)
    refit = fit(table, max_trials=4, time_limit=None, refit_full=True)
    assert all(len(m.models) == 1 for m in refit.result_.ensemble.members)
    assert any(len(m.models) > 1 for m in bagged.result_.ensemble.members)
    agreement = np.mean(refit.predict(table) == bagged.predict(table))
    assert agreement > 0.9
    latency = refit.result_.extra["latency"]
    assert latency["batch_ms_per_row"] > 0 and latency["single_row_ms"] > 0
    assert latency["batch_ms_per_row"] < bagged.result_.extra["latency"]["batch_ms_per_row"]


def test_three_folds_or_fewer_refit_the_members_on_all_rows_by_default() -> None:
    table = make_table("binary", n=400, seed=8)
    three = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=None, n_splits=3, stacking=False)
    assert all(len(m.models) == 1 for m in three.result_.ensemble.members if m.weight > 0)
    assert "each fold model had trained on only 2/3 of the rows" in _model_reason_text(three)
    kept = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=None, n_splits=3, refit_full=False)
    assert all(len(m.models) == 3 for m in kept.result_.ensemble.members)
    five = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=None, n_splits=5, refit_full=False)
    assert all(len(m.models) == 5 for m in five.result_.ensemble.members)


def test_with_more_folds_trees_and_linear_models_are_refit_and_networks_keep_their_fold_models() -> None:
    import dataclasses

    from accelml.budget import Deadline
    from accelml.ensemble.predictor import Ensemble
    from accelml.ensemble.refit import refit_full
    from accelml.schema.validate import coerce_training_frame
    from accelml.tasks import encode_target

    table = make_table("binary", n=400, seed=8)
    default = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=None, n_splits=5)
    assert all(len(m.models) == 1 for m in default.result_.ensemble.members)
    assert "a tree or linear model on all rows does as well as the average of its 5" in _model_reason_text(default)

    trees = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=None, n_splits=5, refit_full=False)
    networks = fit(table, models=["mlp"], max_trials=1, time_limit=None, n_splits=5, refit_full=False)
    schema = trees.result_.schema
    X, y = coerce_training_frame(table, schema), encode_target(table["y"], schema)
    both = Ensemble(trees.result_.ensemble.members + networks.result_.ensemble.members)
    refit = refit_full(both, X, y, schema, Deadline.after(60), n_jobs=1, seed=0, mode="families")
    assert {m.model: len(m.models) for m in refit.members} == {**{m.model: 1 for m in trees.result_.ensemble.members},
                                                               "mlp": 5}
    trees.result_.ensemble = refit
    trees.result_.config = dataclasses.replace(trees.result_.config, refit_full=None)  # as the default would refit
    text = _model_reason_text(trees)
    assert "each fold's network starts from its own random weights" in text and "mlp_" in text


def test_under_a_time_limit_fold_models_are_kept_when_they_predict_within_the_allowance(monkeypatch) -> None:
    from accelml.ensemble import refit

    table = make_table("binary", n=400, seed=8)
    monkeypatch.setattr(refit, "BAG_BATCH_SHARE", 1.0)  # a 1,000-row batch may take the whole limit
    kept = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=20, n_splits=5)
    bag = kept.result_.extra["fold_models"]
    assert bag["kept"] and 0 < bag["batch_s"] <= bag["allowance_s"] == 20
    assert all(len(m.models) == 5 for m in kept.result_.ensemble.members)
    assert "kept its 5 fold models: together they predict 1,000 rows in" in _model_reason_text(kept)

    monkeypatch.setattr(refit, "BAG_BATCH_SHARE", 1e-9)  # 100 rows already take longer: 1,000 are not timed
    refit_ = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=20, n_splits=5)
    bag = refit_.result_.extra["fold_models"]
    assert not bag["kept"] and bag["batch_s"] is None
    assert all(len(m.models) == 1 for m in refit_.result_.ensemble.members)
    text = _model_reason_text(refit_)
    assert bag["batch_100_s"] > 0 and "for 100 rows, already over the 0 ms allowed for 1,000 rows for a 20 s fit" in text
    assert "refit once on all training rows" in text
    # without a time limit nothing is weighed: trees and linear models are refit as before
    assert "fold_models" not in fit(table, models=["lgbm"], max_trials=1, time_limit=None, n_splits=5).result_.extra


def test_a_bag_is_timed_on_a_thousand_rows_unless_a_hundred_already_take_too_long() -> None:
    from accelml.ensemble.refit import bag_batch_seconds

    table = make_table("binary", n=200, seed=3)
    model = fit(table, models=["lgbm"], max_trials=1, time_limit=None, n_splits=5, refit_full=False)
    calls: list[int] = []
    ensemble = model.result_.ensemble
    predict = ensemble.predict
    ensemble.predict = lambda X: calls.append(len(X)) or predict(X)  # type: ignore[method-assign]
    X = table.drop(columns=["y"])
    seconds, hundred = bag_batch_seconds(ensemble, X, allowance=10.0)
    assert seconds is not None and 0 < hundred < 10.0 and seconds > 0 and calls == [1, 100, 1000, 1000]
    calls.clear()
    seconds, hundred = bag_batch_seconds(ensemble, X, allowance=1e-9)  # 100 rows already over: 1,000 not timed
    assert seconds is None and hundred > 1e-9 and calls == [1, 100]


def test_a_member_whose_refit_would_not_finish_in_the_time_left_keeps_its_fold_models() -> None:
    from accelml.budget import Deadline
    from accelml.ensemble.refit import refit_full
    from accelml.schema.validate import coerce_training_frame
    from accelml.tasks import encode_target

    table = make_table("binary", n=400, seed=8)
    model = fit(table, models=["lgbm", "linear"], max_trials=3, time_limit=None, n_splits=3, refit_full=False)
    ensemble, schema = model.result_.ensemble, model.result_.schema
    X, y = coerce_training_frame(table, schema), encode_target(table["y"], schema)
    names = [m.name for m in ensemble.members]

    def refit(seconds: float) -> list[int]:
        out = refit_full(ensemble, X, y, schema, Deadline.after(30), n_jobs=1, seed=0, mode="chosen",
                         seconds=dict.fromkeys(names, seconds))
        return [len(m.models) for m in out.members]

    assert refit(60.0) == [3] * len(names)  # expected to take twice the time left
    assert refit(0.1) == [1] * len(names)


def test_a_forest_whose_refit_would_not_finish_keeps_its_first_fold_model_only() -> None:
    from accelml.budget import Deadline
    from accelml.ensemble.predictor import Ensemble
    from accelml.ensemble.refit import one_fold_names, refit_full, refit_names
    from accelml.schema.validate import coerce_training_frame
    from accelml.tasks import encode_target

    table = make_table("binary", n=300, seed=5)
    model = fit(table, models=["extra_trees"], max_trials=1, time_limit=None, n_splits=5, refit_full=False)
    networks = fit(table, models=["mlp"], max_trials=1, time_limit=None, n_splits=5, refit_full=False)
    ensemble = Ensemble(model.result_.ensemble.members + networks.result_.ensemble.members)
    schema = model.result_.schema
    X, y = coerce_training_frame(table, schema), encode_target(table["y"], schema)
    names = [m.name for m in ensemble.members]
    out = refit_full(ensemble, X, y, schema, Deadline.after(30), n_jobs=1, seed=0, mode="families",
                     seconds=dict.fromkeys(names, 60.0))  # no refit would finish
    counts = {m.model: len(m.models) for m in out.members}
    assert counts == {"extra_trees": 1, "mlp": 5}  # a network's fold models are not thinned
    forest = next(m for m in out.members if m.model == "extra_trees")
    before = next(m for m in ensemble.members if m.model == "extra_trees")
    assert forest.models[0] is before.models[0] and forest.preprocessors[0] is before.preprocessors[0]
    assert one_fold_names(ensemble, out) == [forest.name] and forest.name not in refit_names(out, 5, [forest.name])
    predicted = out.predict(X)
    assert predicted.shape == (len(X), 2) and np.all(np.isfinite(predicted))
    # the same with time to spare: refit on all rows, not thinned
    refit = refit_full(ensemble, X, y, schema, Deadline.after(30), n_jobs=1, seed=0, mode="families")
    assert one_fold_names(ensemble, refit) == [] and {m.model: len(m.models) for m in refit.members} == {
        "extra_trees": 1, "mlp": 5}
    model.result_.ensemble, model.result_.extra["one_fold"] = out, [forest.name]
    model.result_.config = __import__("dataclasses").replace(model.result_.config, refit_full=None)
    assert f"{forest.name} kept its first fold model only" in _model_reason_text(model)


def test_a_knn_member_is_refit_on_all_rows_with_the_fold_models_neighbourhood() -> None:
    table = make_table("binary", n=400, seed=8)
    other = fit(table, models=["linear"], max_trials=1, time_limit=None, n_splits=5, refit_full=False)
    assert [len(m.models) for m in other.result_.ensemble.members] == [5]  # only the family that refits for free
    model = fit(table, models=["knn"], max_trials=1, time_limit=None, n_splits=5)
    (member,) = model.result_.ensemble.members
    assert len(member.models) == 1 and member.models[0].X_ref_.shape[0] == len(table)
    trial = next(t for t in model.result_.trials if t.spec.name == member.name)
    k = {**member.models[0].defaults, **trial.spec.params}["n_neighbors"]
    assert member.models[0].estimator_.n_neighbors == round(k * 5 / 4)
    assert "refit once on all training rows" in _model_reason_text(model)


def _model_reason_text(model: accelml.AutoML) -> str:
    from accelml.report.choices import _model_reason
    from accelml.report.context import ReportContext

    return _model_reason(ReportContext(model, model.result_, model.leaderboard(), None, None, None))


def test_latency_and_size_constraints_pick_a_model_that_meets_them() -> None:
    table = make_table("binary", n=400, seed=9)
    free = fit(table, max_trials=8, time_limit=None)
    heavy = [m for m in free.result_.ensemble.members]
    # a size limit below the forests' and boosters' size but above the linear model's
    constrained = fit(table, max_trials=8, time_limit=None, max_size_mb=0.02)
    board = constrained.leaderboard()
    assert {"latency_ms", "size_mb", "meets_constraints"} <= set(board.columns)
    members = constrained.result_.ensemble.members
    costs = constrained.result_.extra["costs"]
    assert sum(costs[m.name]["size_mb"] for m in members) <= 0.02
    assert all(costs[m.name]["meets"] for m in members)
    assert any(not c["meets"] for c in costs.values()), "the limit should exclude some candidates"
    assert constrained.val_score_ <= free.val_score_ + 1e-12 or len(heavy) == len(members)
    with pytest.raises(accelml.exceptions.AccelMLError, match="no model meets max_latency_ms"):
        fit(table, max_trials=3, time_limit=None, max_latency_ms=1e-6)
    with pytest.raises(ConfigError, match="max_size_mb"):
        fit(table, max_size_mb=-1)
