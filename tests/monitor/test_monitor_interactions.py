"""Monitoring a recommender: new interactions are checked for users and items the model never saw, for a shift of
item popularity and of the ratings, while a held-out slice of the same log passes; through the library and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from accelml import AutoML
from accelml.cli.errors import guarded
from accelml.cli.monitor import monitor
from accelml.exceptions import DataError
from accelml.monitor import check_interactions, check_model_drift
from tests.conftest import shared_dataset

FAMILIES = ["biases", "knn_ratings", "popularity", "item_knn"]  # cheap ones of both kinds: a quick, steady fit


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """4,000 MovieLens ratings: a seeded 75 % to train on and the other 25 % held out (the same users and items)."""
    log = pd.read_csv(shared_dataset("movielens_100k/ratings.csv")).head(4000)
    held = np.random.default_rng(0).random(len(log)) >= 0.75
    return log[~held].reset_index(drop=True), log[held].reset_index(drop=True)


@pytest.fixture(scope="module")
def model(split: tuple[pd.DataFrame, pd.DataFrame]) -> AutoML:
    automl = AutoML(time_limit=8, n_jobs=1, seed=0, models=FAMILIES, roles={"user_id": "user", "item_id": "item"})
    return automl.fit(split[0], target="rating")


def _measures(report) -> dict[str, dict]:
    return {m["measure"]: m for m in report.interactions["measures"]}


def test_held_out_slice_of_the_same_log_is_not_flagged(model: AutoML, split) -> None:
    report = check_model_drift(model, split[1], labels="rating")
    measures = _measures(report)
    assert report.status == "ok", report.summary()
    assert set(measures) == {"new_users", "new_items", "item_popularity", "rating"}
    assert all(m["status"] == "ok" for m in measures.values())
    # new items do arrive (a small log has a long tail), about as often as the training log itself predicts
    assert 0 < measures["new_items"]["new"] < 0.25 and abs(measures["new_items"]["change"]) < 0.05
    assert measures["item_popularity"]["psi"] < 0.1
    assert report.performance["metric"] == "rmse" and report.performance["status"] == "ok"
    assert list(report.columns["column"]) == ["user_id", "item_id", "rating"]


def test_users_and_items_never_seen_are_flagged(model: AutoML, split) -> None:
    new = split[1].assign(user_id=split[1]["user_id"] + 100_000, item_id=split[1]["item_id"] + 100_000)
    report = check_interactions(model, new)
    measures = _measures(report)
    assert measures["new_users"]["new"] == 1.0 and measures["new_items"]["new"] == 1.0
    assert measures["new_users"]["status"] == measures["new_items"]["status"] == "drift"
    assert report.status == "drift"
    assert report.columns.set_index("column").loc["user_id", "unseen_share"] == 1.0
    assert "item_popularity" not in measures  # no known item left to spread


def test_interactions_on_a_few_unpopular_items_are_flagged(model: AutoML, split) -> None:
    recommender = model.result_.ensemble
    rare = np.asarray(recommender.interactions.items)[np.asarray(recommender.popularity) == 1][:5]
    new = split[1].head(600).assign(item_id=np.resize(rare.astype(int), 600))
    report = check_model_drift(model, new)
    measures = _measures(report)
    assert measures["item_popularity"]["status"] == "drift" and measures["item_popularity"]["change"] > 0.5
    assert measures["item_popularity"]["new"] == 0.0  # nothing on the most popular tenth of the items any more
    assert measures["new_items"]["status"] == "ok"
    assert report.columns_with("drift") == ["item_id"]
    top = measures["item_popularity"]["movers"][0]  # the largest change: a popular item no longer chosen
    assert top["train"] == max(model.result_.extra["profile"]["item_share"].values()) and top["new"] == 0.0


def test_a_shift_of_ratings_is_flagged(model: AutoML, split) -> None:
    report = check_model_drift(model, split[1].assign(rating=5))
    rating = _measures(report)["rating"]
    assert rating["status"] == "drift" and rating["new"] == 5.0
    assert report.columns_with("drift") == ["rating"]


def test_missing_columns_and_bad_labels(model: AutoML, split) -> None:
    report = check_model_drift(model, split[1].drop(columns=["item_id"]))
    assert report.status == "drift" and report.schema_breaks["missing_columns"] == ["item_id"]
    with pytest.raises(DataError, match="no label column 'stars'"):
        check_model_drift(model, split[1], labels="stars")
    with pytest.raises(DataError, match="no rows"):
        check_model_drift(model, split[1].head(0))


def test_json_html_and_cli(model: AutoML, split, tmp_path) -> None:
    report = check_model_drift(model, split[1])
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["interactions"]["measures"][0]["measure"] == "new_users"
    assert "Interactions" in report.to_html() and "never saw" in report.to_html()

    model_dir = model.save(tmp_path / "model")
    new = split[1].assign(user_id=split[1]["user_id"] + 100_000)
    new.to_csv(tmp_path / "new.csv", index=False)
    app = typer.Typer()
    app.command("monitor")(guarded(monitor))
    app.command("other")(lambda: None)  # a second command keeps "monitor" a sub-command
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["monitor", str(model_dir), str(tmp_path / "new.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "never saw" in result.output and "DRIFT" in result.output
    assert json.loads(out.read_text())["status"] == "drift"
