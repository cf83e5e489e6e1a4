"""Feature selection (accelml/search/selection.py) on small real tables with seeded pure-noise columns added."""

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
from accelml.report.page import esc
from accelml.report.selection import selection_section
from accelml.run import _prepare
from accelml.search.context import TrialContext
from accelml.search.selection import select_features
from accelml.validation import make_validation

WINE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sklearn_wine" / "wine.csv"
SIGNAL = ["proline", "flavanoids", "color_intensity"]  # the strongest columns of the wine table

pytestmark = pytest.mark.skipif(not WINE.exists(), reason=f"the shared datasets are absent ({WINE})")


def wine_with_noise(n_noise: int = 10, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(WINE)
    rng = np.random.default_rng(seed)
    noise = [f"noise{i}" for i in range(n_noise)]
    extra = pd.DataFrame(rng.normal(size=(len(frame), n_noise)), columns=noise)
    return pd.concat([frame, extra], axis=1), noise


def _select(frame: pd.DataFrame, time_limit: float | None = None) -> object:
    config = FitConfig(time_limit=time_limit or 60, seed=0)
    d = _prepare(frame, "target", config)
    validation = make_validation(d.y, d.schema.task, seed=0, n_splits=5)
    context = TrialContext(d.schema.task, get_metric(None, d.schema.task), seed=0, n_jobs=1)
    return select_features(d.X, validation, d.schema, context, Deadline.after(time_limit), time_limit=time_limit)


def test_noise_columns_are_dropped_and_signal_kept_when_the_score_agrees() -> None:
    frame, noise = wine_with_noise()
    selection = _select(frame)
    assert selection.status == "dropped", selection.reason
    dropped = set(selection.dropped_columns)
    assert len(dropped & set(noise)) >= 8, dropped
    assert not dropped & set(SIGNAL)
    assert selection.score_kept <= selection.score_all  # log loss: dropped only because it was at least as good
    assert all(d["why"] and np.isfinite(d["importance"]) for d in selection.dropped)
    again = _select(frame)
    assert again.dropped_columns == selection.dropped_columns  # seeded: the same columns every time


def test_selection_is_skipped_when_it_would_not_fit_in_its_share_of_the_time() -> None:
    frame, _ = wine_with_noise()
    selection = _select(frame, time_limit=1.0)
    assert selection.status == "skipped" and "limit" in selection.reason
    assert not selection.dropped


def test_wide_table_keeps_the_signal_and_drops_most_columns() -> None:
    frame, noise = wine_with_noise(n_noise=1000, seed=2)
    selection = _select(frame, time_limit=120)
    assert selection.status == "dropped", selection.reason
    dropped = set(selection.dropped_columns)
    assert len(dropped & set(noise)) >= 950
    assert not dropped & set(SIGNAL)
    assert selection.seconds < 60


def test_a_dropped_column_may_be_absent_at_prediction_time(tmp_path: Path) -> None:
    frame, noise = wine_with_noise()
    automl = accelml.AutoML(time_limit=None, max_trials=3, n_jobs=1, seed=0, models=["lgbm", "linear"],
                            n_splits=3, feature_selection=True).fit(frame, target="target")
    record = automl.result_.extra["feature_selection"]
    dropped = [d["column"] for d in record["dropped"]]
    assert record["status"] == "dropped" and len(set(dropped) & set(noise)) >= 5
    assert not {c.name for c in automl.result_.schema.features} & set(dropped)
    # the leaderboard, the artifact and the report say which columns were dropped and why
    board = automl.leaderboard()
    assert list(board[board["stage"] == "selection"]["model"]) == ["selection_all_columns", "selection_kept_columns"]
    assert dropped[0] in board.attrs["feature_selection"]
    section = selection_section(ReportContext(automl, automl.result_, board, None, None, None))
    assert section is not None and esc(dropped[0]) in section.body and esc(record["dropped"][0]["why"]) in section.body

    test = frame.drop(columns=["target"]).head(20)
    expected = automl.predict_proba(test)
    lean = test.drop(columns=dropped)
    pd.testing.assert_frame_equal(automl.predict_proba(lean), expected)
    path = automl.save(tmp_path / "model")
    loaded = accelml.load(path)
    assert loaded.result_.extra["feature_selection"]["dropped"] == record["dropped"]
    pd.testing.assert_frame_equal(loaded.predict_proba(lean), expected)

    from fastapi.testclient import TestClient

    from accelml.serve import create_app

    client = TestClient(create_app(path))
    response = client.post("/predict", json={"records": lean.head(3).to_dict(orient="records")})
    assert response.status_code == 200, response.text
    ignored = {c["name"] for c in client.get("/metadata").json()["ignored_columns"]}
    assert set(dropped) <= ignored


def test_feature_selection_false_keeps_every_column() -> None:
    frame, noise = wine_with_noise()
    automl = accelml.AutoML(time_limit=None, max_trials=2, n_jobs=1, seed=0, models=["lgbm"], n_splits=3,
                            feature_selection=False).fit(frame, target="target")
    assert automl.result_.extra["feature_selection"]["status"] == "off"
    assert set(noise) <= {c.name for c in automl.result_.schema.features}
    assert "selection" not in set(automl.leaderboard()["stage"])
    with pytest.raises(Exception, match="noise0"):
        automl.predict(frame.drop(columns=["target", "noise0"]).head(5))


def test_by_default_only_a_wide_table_is_selected() -> None:
    frame, noise = wine_with_noise()  # 178 rows x 23 columns: not wide
    automl = accelml.AutoML(time_limit=None, max_trials=1, n_jobs=1, seed=0, models=["lgbm"], n_splits=3
                            ).fit(frame, target="target")
    record = automl.result_.extra["feature_selection"]
    assert record["status"] == "skipped" and "not wide" in record["reason"]
    assert set(noise) <= {c.name for c in automl.result_.schema.features}
