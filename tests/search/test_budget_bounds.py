"""Bounding logic of the hard budget (issue 18) that runs in the default suite: the block summaries of numeric
columns agree with the per-column rules, and a trial stops at the end of a repeat when another would not fit."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.metrics import get_metric
from accelml.profiling import check_data
from accelml.schema import infer_schema
from accelml.schema.infer import _numeric_summaries, _nunique, infer_role
from accelml.schema.validate import coerce_training_frame
from accelml.search.context import TrialContext
from accelml.search.evaluate import evaluate_trial
from accelml.search.folds import FoldCache
from accelml.search.trial import TrialSpec
from accelml.tasks import encode_target, get_task
from accelml.validation import make_validation
from tests.conftest import make_table


def test_numeric_block_summaries_agree_with_the_per_column_rules() -> None:
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({
        "real": rng.normal(size=n),
        "holes": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
        "whole_floats": rng.integers(0, 5, n).astype(float),
        "ids": np.arange(n, dtype=float) + 100,
        "counter": np.arange(n),
        "flags": rng.integers(0, 2, n),
        "constant": np.ones(n),
        "empty": np.full(n, np.nan),
        "infinite": np.where(np.arange(n) % 7 == 0, np.inf, np.arange(n, dtype=float)),
        "signed_zero": np.tile([0.0, -0.0, 1.0, 2.0], n // 4),
        "small_ints": rng.integers(-3, 3, n).astype(np.int32),
        "words": rng.choice(["a", "b", "c"], n),
    })
    summaries = _numeric_summaries(frame, list(frame.columns))
    assert "words" not in summaries
    for name, (missing, n_unique, role) in summaries.items():
        s = frame[name]
        assert missing == float(s.isna().mean()), name
        assert n_unique == _nunique(s.dropna()), name
        assert role in (None, infer_role(s)), name  # None: decided column by column
    assert summaries["real"][2] is not None and summaries["holes"][2] is not None
    schema = infer_schema(frame.assign(y=rng.normal(size=n)), "y")
    assert {c.name: c.role.value for c in schema.columns} == {name: infer_role(frame[name]).value for name in frame}


def _repeated_folds(n_repeats: int = 3) -> FoldCache:
    frame = make_table("binary", n=200)
    schema = infer_schema(frame, "y")
    frame, _ = check_data(frame, schema)
    schema.classes = get_task(schema.task).labels(frame["y"])
    X, y = coerce_training_frame(frame, schema), encode_target(frame["y"], schema)
    validation = make_validation(y, schema.task, seed=0, n_splits=4, n_repeats=n_repeats)
    return FoldCache(X, validation, schema, seed=0)


def test_a_trial_stops_after_the_repeats_the_time_left_pays_for() -> None:
    folds, metric = _repeated_folds(), get_metric("roc_auc", "binary")
    spec = TrialSpec(0, "lgbm", {}, "default")
    ctx = TrialContext("binary", metric, seed=0, n_jobs=1)
    full = evaluate_trial(spec, folds, ctx.at(Deadline.never(), started=time.monotonic()))
    assert full.result.ok and len(full.models) == 12 and not full.result.stopped_by_deadline
    # no time left: the first trial of a run still trains one whole repeat (every row predicted once), not all three
    for must_finish in (True, False):
        cut = evaluate_trial(spec, folds, ctx.at(Deadline.after(0.0), started=time.monotonic()),
                             must_finish=must_finish)
        if must_finish:
            assert cut.result.ok and len(cut.models) == 4 and cut.result.stopped_by_deadline
            assert np.isfinite(cut.oof[folds.oof_rows]).all() and cut.result.score > 0.6
        else:
            assert cut.result.status == "timeout"  # a trial that never started a fold keeps nothing


class _NoBuild:
    """An executor stand-in whose folds are all built."""

    def estimated_build_seconds(self, kind: str) -> float:
        return 0.0


def test_a_family_that_cannot_be_stopped_needs_the_quickest_trials_time_before_its_first_trial() -> None:
    from accelml.search.loop import _Book

    folds, metric = _repeated_folds(n_repeats=1), get_metric("roc_auc", "binary")
    book = _Book(folds, TrialContext("binary", metric, seed=0, n_jobs=1), Deadline.after(1.0), None, None, (), None,
                 ())
    book.best = [object()]  # a trial has finished: the first trial of a run always starts
    book.seconds = {"lgbm": 3.0}
    assert not book.affordable("linear", _NoBuild())  # cannot be interrupted, its time unknown: 3 s > 1 s left
    assert book.affordable("lgbm", _NoBuild())  # the boosting callback stops it at the deadline
    book.seconds = {"lgbm": 0.2}
    assert book.affordable("linear", _NoBuild())


def test_the_profile_of_a_wide_table_stops_at_its_time_and_says_so() -> None:
    from accelml.monitor import build_profile, check_drift

    frame = make_table("regression", n=100)
    schema = infer_schema(frame, "y")
    full = build_profile(frame, schema, first=["noise", "colour"])
    assert set(list(full["columns"])[:2]) == {"noise", "colour"} and "unprofiled" not in full
    cut = build_profile(frame, schema, seconds=-1.0)
    assert cut["columns"] == {} and cut["unprofiled"] == len(schema.features)
    assert any("not profiled" in note for note in check_drift(cut, frame, schema).notes)


def test_the_leak_check_takes_a_share_of_a_short_time_limit() -> None:
    from accelml.profiling import checks

    frame = make_table("binary", n=300)
    frame["copy"] = frame["y"].map({"yes": 1, "no": 0})
    found = [i.kind for i in check_data(frame.copy(), infer_schema(frame, "y"), time_limit=60)[1]]
    assert "leak" in found and checks.LEAK_SHARE * 60 >= 1.0
    # a limit so short that its share is spent before the first column: the check stops, saying so in the log
    found = [i.kind for i in check_data(frame.copy(), infer_schema(frame, "y"), time_limit=-1.0)[1]]
    assert "leak" not in found


class _Store:
    """A trial store stand-in that remembers whether it was asked to keep the models."""

    def __init__(self) -> None:
        self.kept: list[bool] = []

    def record(self, fitted: Any, *, models: bool = True) -> None:
        self.kept.append(models)


def test_a_trials_models_are_recorded_for_resuming_only_when_the_write_ends_before_the_deadline() -> None:
    from accelml.search.evaluate import FittedTrial
    from accelml.search.loop import _Book
    from accelml.search.trial import TrialResult

    folds, metric = _repeated_folds(n_repeats=1), get_metric("roc_auc", "binary")
    store = _Store()
    book = _Book(folds, TrialContext("binary", metric, seed=0, n_jobs=1), Deadline.after(5.0), None, None, (), store,
                 ())
    fitted = FittedTrial(TrialResult(spec=TrialSpec(0, "extra_trees", {}, "default"), status="ok"), models=[object()])
    book.record(fitted)
    book.write_seconds["extra_trees"] = 20.0  # its last write took longer than the time left
    book.record(fitted)
    book.deadline = Deadline.after(0.0)
    book.record(FittedTrial(TrialResult(spec=TrialSpec(1, "lgbm", {}, "default"), status="ok"), models=[object()]))
    assert store.kept == [True, False, False]
