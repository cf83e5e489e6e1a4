"""Feature generation (accelml/search/generation.py): added when a ratio is the signal, not when nothing combines
into one, and end to end through AutoML, the artifact, the leaderboard and the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import accelml
from accelml.budget import Deadline
from accelml.config import FitConfig
from accelml.metrics import get_metric
from accelml.report.context import ReportContext
from accelml.report.generation import generation_section
from accelml.run import _prepare
from accelml.schema.schema import GENERATED_FEATURES
from accelml.search.context import TrialContext
from accelml.search.generation import generate_features
from accelml.validation import make_validation

PENGUINS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "penguins" / "penguins.csv"


def ratio_data(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """The class is whether a / b exceeds 1: a ratio no tree finds with few splits. c is noise, g a categorical."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(1, 10, n), rng.uniform(1, 10, n)
    return pd.DataFrame({"a": a, "b": b, "c": rng.normal(size=n), "g": rng.choice(["u", "v", "w"], n),
                         "y": np.where(a / b > 1, "yes", "no")})


def additive_data(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """The target is a step of one column plus noise: nothing to combine."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 10, n)
    return pd.DataFrame({"a": a, "b": rng.uniform(0, 10, n), "c": rng.normal(size=n),
                         "y": (a > 5).astype(float) + rng.normal(scale=0.3, size=n)})


def _generate(frame: pd.DataFrame, time_limit: float | None = None) -> object:
    config = FitConfig(time_limit=time_limit or 60, seed=0)
    d = _prepare(frame, "y", config)
    validation = make_validation(d.y, d.schema.task, seed=0, n_splits=5)
    context = TrialContext(d.schema.task, get_metric(None, d.schema.task), seed=0, n_jobs=1)
    return generate_features(d.X, validation, d.schema, context, Deadline.after(time_limit), time_limit=time_limit)


def test_a_ratio_that_is_the_signal_is_added() -> None:
    generation = _generate(ratio_data())
    assert generation.status == "added", generation.reason
    names = [a["name"] for a in generation.added]
    assert {"gen__ratio__a__b", "gen__ratio__b__a", "gen__difference__a__b", "gen__difference__b__a"} & set(names)
    assert generation.score_base is not None and generation.score_base < max(generation.score_all or 0,
                                                                             generation.score_kept or 0)
    assert all(a["gain"] > 0 and a["why"] for a in generation.added)
    assert generation.specs == [{"kind": a["kind"], "columns": a["columns"]} for a in generation.added]
    again = _generate(ratio_data())
    assert [a["name"] for a in again.added] == names  # seeded: the same columns every time


def test_nothing_is_added_when_nothing_combines() -> None:
    generation = _generate(additive_data())
    assert generation.status == "none", generation.reason
    assert not generation.added and generation.candidates


def test_generation_is_skipped_when_it_would_not_fit_in_its_share_of_the_time() -> None:
    generation = _generate(ratio_data(n=20_000), time_limit=5.0)
    assert generation.status == "skipped" and "limit" in generation.reason


@pytest.mark.skipif(not PENGUINS.exists(), reason=f"the shared datasets are absent ({PENGUINS})")
def test_penguins_decision_runs_on_real_data() -> None:
    frame = pd.read_csv(PENGUINS).rename(columns={"species": "y"})
    generation = _generate(frame)
    assert generation.status in ("added", "none"), generation.reason
    assert generation.candidates and generation.score_base is not None and generation.seconds < 30


def test_end_to_end_predictions_artifact_leaderboard_and_report(tmp_path: Path) -> None:
    frame = ratio_data()
    automl = accelml.AutoML(time_limit=None, max_trials=2, n_jobs=1, seed=0, models=["lgbm", "linear"], n_splits=3
                            ).fit(frame, target="y")
    record = automl.result_.extra["feature_generation"]
    assert record["status"] == "added", record["reason"]
    specs = automl.result_.schema.extra[GENERATED_FEATURES]
    assert specs == [{"kind": a["kind"], "columns": a["columns"]} for a in record["added"]]
    board = automl.leaderboard()
    assert "generation_own_columns" in set(board["model"])
    assert record["added"][0]["name"] in board.attrs["feature_generation"]
    section = generation_section(ReportContext(automl, automl.result_, board, None, None, None))
    assert section is not None and record["added"][0]["name"] in section.body

    new = ratio_data(n=50, seed=1).drop(columns=["y"])
    expected = automl.predict_proba(new)
    assert (automl.predict(new) == np.where(new["a"] / new["b"] > 1, "yes", "no")).mean() > 0.8
    path = automl.save(tmp_path / "model")
    loaded = accelml.load(path)
    assert loaded.result_.extra["feature_generation"] == record
    pd.testing.assert_frame_equal(loaded.predict_proba(new), expected)
    required = automl.result_.ensemble.required_columns()
    if required is not None:  # the sources of the generated columns are required at prediction time
        sources = {c for s in specs for c in s["columns"]}
        assert sources & set(required)


def test_with_a_time_limit_and_off() -> None:
    frame = ratio_data(n=300)
    timed = accelml.AutoML(time_limit=8, n_jobs=1, seed=0, models=["lgbm"], n_splits=3).fit(frame, target="y")
    assert timed.result_.extra["feature_generation"]["status"] in ("added", "none", "skipped")
    assert len(timed.predict(frame.head(5))) == 5
    off = accelml.AutoML(time_limit=None, max_trials=1, n_jobs=1, seed=0, models=["lgbm"], n_splits=3,
                         feature_generation=False).fit(frame, target="y")
    assert off.result_.extra["feature_generation"]["status"] == "off"
    assert GENERATED_FEATURES not in off.result_.schema.extra
    assert "generation" not in set(off.leaderboard()["stage"])


def test_a_table_too_large_for_the_time_share_is_decided_on_a_sample() -> None:
    frame = ratio_data(n=30_000)
    generation = _generate(frame, time_limit=20)
    assert generation.sampled_rows is not None and 5_000 <= generation.sampled_rows < len(frame)
    assert "sample" in generation.reason
    assert generation.status == "added", generation.reason  # the ratio shows on the sample too
    assert generation.seconds < 0.3 * 20 + 2  # the sample kept it near its share of the limit
