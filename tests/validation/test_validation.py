"""Validation schemes: k-fold, repeated, holdout, grouped and time-ordered splits, and scoring through one object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import accelml
from accelml.exceptions import ConfigError, DataError
from accelml.metrics import get_metric
from accelml.validation import Validation, grouped_splits, make_validation, time_splits


def test_time_ordered_folds_never_train_on_the_future() -> None:
    rng = np.random.default_rng(0)
    times = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 400, 1000), unit="D")
    splits = time_splits(times.to_numpy(), k=4)
    assert len(splits) == 4
    for train, val in splits:
        assert times[train].max() < times[val].min()  # ties stay on one side
    earliest = np.flatnonzero(times == times.min())
    validated = np.concatenate([val for _, val in splits])
    assert not np.isin(earliest, validated).any()  # the earliest rows are only ever trained on


def test_grouped_folds_keep_each_group_on_one_side() -> None:
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 40, 600)
    y = rng.integers(0, 2, 600)
    for stratify in (True, False):
        splits = grouped_splits(y, groups, k=5, stratify=stratify, seed=0)
        assert len(splits) == 5
        for train, val in splits:
            assert set(groups[train]).isdisjoint(groups[val])
        assert np.array_equal(np.sort(np.concatenate([val for _, val in splits])), np.arange(600))


def test_split_errors_name_the_column() -> None:
    with pytest.raises(DataError, match="time column 'day' has 1 missing"):
        time_splits(np.array([1.0, np.nan, 3.0]), k=1, column="day")
    with pytest.raises(DataError, match="time column 'day' has 3 distinct.*needs at least 6"):
        time_splits(np.array([1, 2, 3, 1]), k=5, column="day")
    with pytest.raises(DataError, match="groups column 'site' has 1 group"):
        grouped_splits(np.array([0, 1, 0]), np.array(["a", "a", "a"]), k=3, stratify=False, seed=0, column="site")


def test_validation_scores_the_rows_that_were_predicted() -> None:
    y = np.array([0, 1] * 50)
    v = make_validation(y, "binary", seed=0, n_splits=1)
    assert v.scheme == "holdout" and v.n_folds == 1 and not v.partition
    oof = np.zeros((100, 2))
    oof[v.oof_rows, y[v.oof_rows]] = 1.0  # right on the held-out rows, zeros elsewhere
    accuracy = get_metric("accuracy", "binary")
    assert v.score(accuracy, oof) == 1.0
    assert v.loss(accuracy, oof[v.oof_rows], aligned=True) == -1.0
    repeated = make_validation(y, "binary", seed=0, n_splits=4, n_repeats=2)
    assert isinstance(repeated, Validation) and repeated.n_repeats == 2 and len(repeated.first_repeat) == 4
    assert repeated.first_repeat_only().splits == repeated.first_repeat


def _dated(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    day = pd.date_range("2021-01-01", periods=n, freq="D")
    x = rng.normal(size=n)
    return pd.DataFrame({"day": day.strftime("%Y-%m-%d"), "x": x, "store": rng.integers(0, 12, n),
                         "y": 2 * x + np.arange(n) / n + rng.normal(scale=0.1, size=n)})


def test_a_time_column_orders_validation_and_the_final_model_is_refit() -> None:
    frame = _dated()
    automl = accelml.AutoML(time_limit=None, max_trials=2, n_jobs=1, models=["lgbm"], roles={"day": "time"}, seed=0)
    automl.fit(frame, target="y")
    result = automl._result()
    assert result.extra["validation"]["scheme"] == "time" and result.extra["validation"]["column"] == "day"
    assert result.schema.column("day").role.value == "time"
    assert all(len(m.models) == 1 for m in result.ensemble.members)  # refit: no fold model saw the latest rows
    assert not any(t.spec.stage == "stack" for t in result.trials)  # not every row has an out-of-fold output
    assert np.isfinite(automl.score(frame.tail(50)))


def test_groups_give_grouped_validation_and_are_not_a_feature() -> None:
    frame = _dated()
    automl = accelml.AutoML(time_limit=None, max_trials=2, n_jobs=1, models=["lgbm"], groups="store", seed=0)
    automl.fit(frame, target="y")
    result = automl._result()
    assert result.extra["validation"]["scheme"] == "grouped"
    assert "store" not in [c.name for c in result.schema.features]
    with pytest.raises(ConfigError, match="given as groups and as role 'numeric'"):
        accelml.AutoML(max_trials=1, groups="store", roles={"store": "numeric"}).fit(frame, target="y")


def test_a_dated_table_without_a_time_role_keeps_shuffled_folds() -> None:
    automl = accelml.AutoML(time_limit=None, max_trials=1, n_jobs=1, models=["lgbm"], seed=0).fit(_dated(), target="y")
    assert automl._result().extra["validation"]["scheme"] == "kfold"
