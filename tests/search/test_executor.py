"""Executors: the core split, the portable pruning rule, and trials in worker processes that stop at the deadline."""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

import numpy as np
import pytest

from accelml.budget import Deadline
from accelml.exceptions import ConfigError
from accelml.metrics import get_metric, make_metric
from accelml.models.base import _SMALL_MATRIX
from accelml.profiling import check_data
from accelml.schema import infer_schema
from accelml.schema.validate import coerce_training_frame
from accelml.search.context import TrialContext
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.executors import EXECUTORS, MAX_WORKERS, MIN_PARALLEL_SECONDS, TrialOutcome, plan_workers
from accelml.search.executors.inline import InlineExecutor
from accelml.search.executors.process import ProcessExecutor
from accelml.search.folds import FoldCache
from accelml.search.loop import TRIAL_SHARE, default_workers, run_search
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialSpec
from accelml.tasks import encode_target, get_task
from accelml.validation import make_validation
from tests.conftest import make_table


def _folds(task: str = "binary", n: int = 240, seed: int = 0, n_splits: int = 3) -> FoldCache:
    frame = make_table(task, n=n, seed=seed)
    schema = infer_schema(frame, "y")
    frame, _ = check_data(frame, schema)
    schema.classes = get_task(schema.task).labels(frame["y"])
    X, y = coerce_training_frame(frame, schema), encode_target(frame["y"], schema)
    return FoldCache(X, make_validation(y, schema.task, seed=0, n_splits=n_splits), schema, seed=0)


def _ctx(metric: Any, task: str = "binary", deadline: Deadline | None = None, n_jobs: int = 1,
         trial_seconds: float | None = None) -> TrialContext:
    base = TrialContext(task, metric, seed=0, n_jobs=n_jobs, trial_seconds=trial_seconds)
    return base.at(deadline or Deadline.never(), started=time.monotonic())


def _scripted(spec: TrialSpec, *args: Any, **kwargs: Any) -> FittedTrial:
    """An ``evaluate`` for workers (module level, so that it pickles): ``params['script']`` says how to misbehave."""
    script = spec.params.get("script")
    if script == "raise":
        raise RuntimeError("simulated crash outside the fold loop")
    if script == "die":
        os._exit(3)
    if script == "hang":  # ignores the deadline, like a family that cannot be interrupted
        time.sleep(120)
    return evaluate_trial(spec, *args, **kwargs)


def _no_children() -> bool:
    return multiprocessing.active_children() == []


# ------------------------------------------------------------------------------------------------ planning
def test_plan_workers_splits_cores_by_data_size() -> None:
    assert plan_workers(1_000, 10, 4, 60) == (4, 1)  # small: every core runs its own single-threaded trial
    rows = _SMALL_MATRIX // 10
    assert plan_workers(rows, 10, 4, 60) == (1, 4)  # where a model would use its threads: one trial, every thread
    assert plan_workers(1_000, 10, 1, 60) == (1, 1)
    assert plan_workers(1_000, 10, 4, MIN_PARALLEL_SECONDS - 1) == (1, 4)  # start-up would not pay
    assert plan_workers(1_000, 10, 4, None) == (1, 4)  # max_trials runs stay reproducible
    assert plan_workers(1_000, 10, 4 * MAX_WORKERS, 600) == (MAX_WORKERS, 4)
    folds = _folds(n=100)
    assert default_workers(folds, 2, 60) == 2 and default_workers(folds, 2, None) == 1


# ------------------------------------------------------------------------------------------------ pruning
def test_fold_pruner_decides_as_optunas_median_pruner() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)
    decisions = 0
    for case in range(40):
        study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0))
        history = []
        for _ in range(int(rng.integers(0, 7))):
            steps = int(rng.integers(0, 4))  # 0: a configuration told without folds (a warm start)
            losses = {k: float(rng.normal()) for k in range(steps)}
            study.add_trial(optuna.trial.create_trial(value=float(rng.normal()), intermediate_values=losses))
            history.append(losses)
        pruner = RungPruner.from_history(history)
        trial = study.ask()
        for fold in range(3):
            loss = float(rng.normal())
            trial.report(loss, fold)
            expected = trial.should_prune()
            assert pruner(fold, loss) == expected, (case, fold)
            decisions += expected
            if expected:
                break
    assert decisions  # the cases did exercise pruning


# ------------------------------------------------------------------------------------------------ executors
def test_inline_executor_is_evaluate_trial() -> None:
    folds, metric = _folds(), get_metric("roc_auc", "binary")
    spec = TrialSpec(1, "linear", {}, "default")
    executor = EXECUTORS["inline"](folds)
    assert executor.workers == 1 and executor.pending == 0
    executor.submit(spec, _ctx(metric))
    assert executor.pending == 1
    [outcome] = executor.wait()
    direct = evaluate_trial(spec, folds, _ctx(metric))
    assert outcome.fitted.result.score == direct.result.score and executor.pending == 0


def test_a_trial_stops_at_its_share_of_the_search_with_usable_models(monkeypatch: pytest.MonkeyPatch) -> None:
    folds, metric = _folds(), get_metric("roc_auc", "binary")
    slow = {"learning_rate": 0.001, "n_estimators": 1_000_000, "early_stopping_rounds": 1_000_000}
    spec = TrialSpec(1, "lgbm", slow, "default")
    started = time.monotonic()
    fitted = evaluate_trial(spec, folds, _ctx(metric, deadline=Deadline.after(60), trial_seconds=1.5))
    took = time.monotonic() - started
    assert fitted.result.ok and fitted.result.stopped_by_deadline and len(fitted.models) == 3  # every fold, shorter
    assert took < 3.0 and fitted.result.score > 0.6
    seen: list[TrialContext] = []

    def spy(spec: TrialSpec, folds: FoldCache, ctx: TrialContext, **kwargs: Any) -> FittedTrial:
        seen.append(ctx)
        return evaluate_trial(spec, folds, ctx, **kwargs)

    import accelml.search.loop as loop

    make = loop.make_executor
    monkeypatch.setattr(loop, "make_executor", lambda *args, **kwargs: make(*args, **{**kwargs, "evaluate": spy}))
    context = TrialContext("binary", metric, seed=0, n_jobs=1)
    run_search(folds, context, Deadline.after(10), models=["linear"], max_trials=1)
    run_search(folds, context, Deadline.never(), models=["linear"], max_trials=1)
    # the search hands every trial its share of the search and the seconds left, to re-anchor where it runs
    assert seen[0].trial_seconds == pytest.approx(TRIAL_SHARE * 10, abs=0.1) and seen[1].trial_seconds is None
    assert 9.0 < seen[0].seconds_left <= 10.0 and seen[1].seconds_left is None


def test_worker_processes_give_the_scores_of_this_process() -> None:
    folds, metric = _folds(), get_metric("roc_auc", "binary")
    specs = [
        TrialSpec(0, "lgbm", {"n_estimators": 60, "num_leaves": 7}, "baseline"),
        TrialSpec(1, "linear", {}, "default"),
        TrialSpec(2, "knn", {}, "default"),
    ]
    inline = InlineExecutor(folds)
    executor = ProcessExecutor(folds, _ctx(metric), workers=2)
    outcomes: list[TrialOutcome] = []
    try:
        for spec in specs:
            inline.submit(spec, _ctx(metric))
            while executor.pending >= executor.workers:
                outcomes += executor.wait()
            executor.submit(spec, _ctx(metric))
        while executor.pending:
            outcomes += executor.wait()
    finally:
        executor.shutdown()
    assert _no_children()
    here = {o.fitted.result.spec.trial_id: o.fitted for o in inline.wait()}
    there = {o.fitted.result.spec.trial_id: o.fitted for o in outcomes}
    assert sorted(there) == [0, 1, 2]
    for trial_id, fitted in there.items():
        assert fitted.result.ok and fitted.result.score == here[trial_id].result.score
        np.testing.assert_array_equal(fitted.oof, here[trial_id].oof)
        assert len(fitted.models) == len(folds.splits)  # the fold models came back, usable here
        fold = folds.get(0, fitted.models[0].preprocessing)
        np.testing.assert_array_equal(
            fitted.models[0].predict_proba(fold.X_val), here[trial_id].models[0].predict_proba(fold.X_val)
        )


def test_failing_trials_in_workers_are_recorded_not_raised() -> None:
    folds, metric = _folds(n=150), get_metric("roc_auc", "binary")
    executor = ProcessExecutor(folds, _ctx(metric), workers=1, evaluate=_scripted)
    try:
        results = {}
        for spec in (
            TrialSpec(1, "lgbm", {"num_leaves": -3, "n_estimators": 10}, "tuning"),  # the library refuses it
            TrialSpec(2, "linear", {"script": "raise"}, "default"),  # evaluate itself raises
            TrialSpec(3, "linear", {"script": "die"}, "default"),  # the worker process dies
            TrialSpec(4, "linear", {}, "default"),  # no worker left: runs in this process
        ):
            executor.submit(spec, _ctx(metric))
            [outcome] = executor.wait()
            results[spec.trial_id] = outcome.fitted.result
    finally:
        executor.shutdown()
    assert _no_children()
    assert results[1].status == "failed" and results[1].error
    assert results[2].status == "failed" and "simulated crash" in results[2].error
    assert results[3].status == "failed" and "exited (code 3)" in results[3].error
    assert results[4].ok and executor.workers == 1


def test_a_worker_stuck_past_the_deadline_is_killed_and_recorded_as_timeout() -> None:
    folds, metric = _folds(n=150), get_metric("roc_auc", "binary")
    deadline = Deadline.after(3.0)
    executor = ProcessExecutor(folds, _ctx(metric), workers=2, evaluate=_scripted, grace=0.5)
    try:
        executor.submit(TrialSpec(1, "linear", {"script": "hang"}, "default"), _ctx(metric, deadline=deadline))
        executor.submit(TrialSpec(2, "linear", {"script": "hang"}, "default"), _ctx(metric, deadline=deadline),
                        must_finish=True)
        [outcome] = executor.wait(timeout=30)
        assert time.monotonic() < deadline.end + 0.5 + 2.0  # killed at the deadline plus grace
        assert outcome.fitted.result.status == "timeout" and outcome.fitted.result.spec.trial_id == 1
        assert executor.pending == 1  # a trial that must finish is waited for, not killed
        assert executor.wait(timeout=0.2) == []
    finally:
        executor.shutdown()
    assert _no_children()


def test_a_metric_that_cannot_travel_keeps_trials_in_this_process() -> None:
    folds = _folds(n=150)
    metric = make_metric(lambda t, p: float(np.mean(t == p)), name="acc", tasks=["binary"])
    context = TrialContext("binary", metric, seed=0, n_jobs=1)
    with pytest.raises(ConfigError, match="module-level"):
        ProcessExecutor(folds, context, workers=2)
    trials = run_search(folds, context, Deadline.never(), models=["linear"], max_trials=1, workers=2)
    assert [t.result.status for t in trials] == ["ok"]
    with pytest.raises(ConfigError, match="workers"):
        run_search(folds, context, Deadline.never(), models=["linear"], max_trials=1, workers=0)


# ------------------------------------------------------------------------------------------------ the search
def test_a_parallel_search_ends_at_its_deadline_and_leaves_no_process() -> None:
    folds, metric = _folds(n=200), get_metric("roc_auc", "binary")
    first = evaluate_trial(TrialSpec(0, "lgbm", {"n_estimators": 50}, "baseline"), folds, _ctx(metric))
    assert first.result.ok  # a model in hand, so no trial of this search is allowed past the deadline
    limit = 4.0
    started = time.monotonic()
    trials = run_search(folds, TrialContext("binary", metric, seed=0, n_jobs=2), Deadline.after(limit),
                        models=["lgbm", "linear", "knn"], workers=2, previous=[first])
    grace = 2.0 + 0.05 * limit
    assert time.monotonic() - started < limit + grace + 1.5
    assert _no_children()
    assert trials[0] is first and len({t.result.spec.trial_id for t in trials}) == len(trials)
    assert all(t.result.status in ("ok", "timeout", "pruned") for t in trials)


@pytest.mark.slow
def test_a_parallel_search_records_tunes_and_prunes_like_the_serial_one(tmp_path) -> None:
    from accelml.search.store import TrialStore

    folds, metric = _folds("regression", n=300, seed=7, n_splits=4), get_metric("rmse", "regression")
    store = TrialStore(tmp_path / "run")
    store.start({})
    seen: list[int] = []
    trials = run_search(folds, TrialContext("regression", metric, seed=0, n_jobs=2), Deadline.never(),
                        models=["lgbm", "linear", "knn"], max_trials=30, workers=2, store=store,
                        progress=lambda p: seen.append(p.trials_done))
    assert _no_children()
    assert len(trials) == 30 and sorted(t.result.spec.trial_id for t in trials) == list(range(30))
    assert [t.result.spec for t in store.load()] == [t.result.spec for t in trials]  # recorded as they finished
    assert seen[-1] == 30
    tuned = [t.result for t in trials if t.result.spec.stage == "tuning"]
    assert tuned and len({str(r.spec.params) for r in tuned}) == len(tuned)  # pending trials get fresh proposals
    assert any(r.status == "pruned" and 1 <= r.n_folds < 4 for r in tuned)
    assert any(r.ok for r in tuned)
