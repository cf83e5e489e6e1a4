"""The recommend task end to end on MovieLens-100k rows: roles make the task, both kinds of feedback, lists, ratings,
cold users and items, side tables, the artifact, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import accelml
from accelml.datasets import load_demo
from accelml.exceptions import ArtifactError, ConfigError, DataError

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "movielens_100k"
ROLES = {"user_id": "user", "item_id": "item"}
FAST = ["popularity", "ease", "item_knn", "biases", "als_ratings", "hybrid"]


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    df = pd.read_csv(DATA / "ratings.csv")
    return df[df["user_id"] <= 60].reset_index(drop=True)  # about 6,000 ratings of 60 users


@pytest.fixture(scope="module")
def explicit(ratings: pd.DataFrame) -> accelml.AutoML:
    return accelml.AutoML(time_limit=20, roles=ROLES, n_jobs=1, max_trials=14, models=FAST).fit(
        ratings.drop(columns="timestamp"), target="rating")


@pytest.fixture(scope="module")
def implicit(ratings: pd.DataFrame) -> accelml.AutoML:
    return accelml.AutoML(time_limit=20, roles=ROLES, n_jobs=1, max_trials=8, models=FAST).fit(
        ratings[["user_id", "item_id"]])


def test_a_star_table_with_user_and_item_roles_is_a_recommender_not_multiclass(explicit: accelml.AutoML) -> None:
    assert explicit.task_ == "recommend"
    assert explicit.metric_.name == "rmse"
    assert 0.7 < explicit.val_score_ < 1.3  # RMSE of 1-5 stars on held-out ratings
    kinds = {t.extra.get("kind") for t in explicit.result_.trials}
    assert kinds == {"rating", "ranking"}  # ratings predicted, lists ranked


def test_without_a_target_every_row_is_an_interaction_and_ndcg_is_tuned(implicit: accelml.AutoML) -> None:
    assert implicit.metric_.name == "ndcg@10"
    assert 0.0 < implicit.val_score_ <= 1.0
    with pytest.raises(ConfigError, match="predicts no ratings"):
        implicit.predict(pd.DataFrame({"user_id": [1], "item_id": [1]}))


def test_recommend_returns_k_unseen_items_per_user(explicit: accelml.AutoML, ratings: pd.DataFrame) -> None:
    recs = explicit.recommend([1, "2"], k=7)
    assert list(recs.columns) == ["user", "rank", "item", "score", "source"]
    assert recs.groupby("user").size().tolist() == [7, 7]
    assert set(recs["source"]) == {"personal"}
    seen = set(ratings.loc[ratings["user_id"] == 1, "item_id"].astype(str))
    assert not seen & set(recs.loc[recs["user"] == 1, "item"])
    assert recs.loc[recs["user"] == 1, "score"].is_monotonic_decreasing
    again = explicit.recommend([1], k=7, exclude_seen=False)
    assert len(again) == 7


def test_lists_beat_popularity_on_held_out_items(ratings: pd.DataFrame) -> None:
    from accelml.metrics.ranking import ranking_metrics
    from accelml.validation import per_user_holdout

    codes = pd.factorize(ratings["user_id"], sort=True)[0]
    train, test = per_user_holdout(codes, share=0.25, seed=0)
    model = accelml.AutoML(time_limit=15, roles=ROLES, n_jobs=1, max_trials=6, models=["popularity", "ease"]).fit(
        ratings.iloc[train][["user_id", "item_id"]])
    users = sorted(ratings["user_id"].unique())
    recs = model.recommend(users, k=10)
    items = pd.factorize(ratings["item_id"], sort=True)
    index = {str(v): k for k, v in enumerate(items[1])}
    held = ratings.iloc[test]
    relevant = np.zeros((len(users), len(items[1])))
    relevant[[users.index(u) for u in held["user_id"]], [index[str(i)] for i in held["item_id"]]] = 1
    lists = np.array([[index[i] for i in g["item"]] for _, g in recs.groupby("user", sort=True)])
    ours = ranking_metrics(lists, relevant, 10, len(items[1]))["precision@10"]
    popular = model.result_.ensemble.popularity
    seen_pop = np.argsort(-popular)[:40]
    baseline = []
    for row, user in enumerate(users):
        seen = set(ratings.iloc[train].loc[ratings.iloc[train]["user_id"] == user, "item_id"].astype(str))
        baseline.append([i for i in seen_pop if model.result_.ensemble.interactions.items[i] not in seen][:10])
    pop = ranking_metrics(np.array([b + [-1] * (10 - len(b)) for b in baseline]), relevant, 10, len(items[1]))
    assert ours > pop["precision@10"]


def test_ratings_of_pairs_and_the_unknown_get_means(explicit: accelml.AutoML, ratings: pd.DataFrame) -> None:
    pairs = ratings.head(50)
    pred = explicit.predict(pairs)
    assert pred.shape == (50,) and np.all((pred >= 1) & (pred <= 5))
    assert np.corrcoef(pred, pairs["rating"])[0, 1] > 0.3  # trained on these rows: they must correlate
    cold = explicit.predict(pd.DataFrame({"user_id": [99999, 1], "item_id": [1, 99999]}))
    assert np.all(np.isfinite(cold)) and np.all((cold > 1) & (cold < 5))


def test_unknown_users_get_popular_items_and_say_so(explicit: accelml.AutoML) -> None:
    recs = explicit.recommend(["nobody"], k=5)
    assert set(recs["source"]) == {"popular"}
    popularity = explicit.result_.ensemble.popularity
    top = np.argsort(-popularity, kind="stable")[:5]
    assert recs["item"].tolist() == [explicit.result_.ensemble.interactions.items[i] for i in top]


def test_similar_items_are_chosen_by_the_same_users(explicit: accelml.AutoML) -> None:
    similar = explicit.similar_items(50, k=5)
    assert len(similar) == 5 and "50" not in similar["similar_item"].tolist()
    assert similar["score"].is_monotonic_decreasing
    with pytest.raises(ConfigError, match="not in the catalogue"):
        explicit.similar_items("no-such-item")
    with pytest.raises(ConfigError, match="k must be"):
        explicit.recommend([1], k=0)


def test_side_tables_give_new_users_lists_by_attributes(ratings: pd.DataFrame) -> None:
    users = pd.read_csv(DATA / "users.csv")
    items = pd.read_csv(DATA / "items.csv")
    users = users[users["user_id"] <= 80]  # users 61-80 have attributes and no interactions
    model = accelml.AutoML(time_limit=15, roles=ROLES, n_jobs=1, max_trials=6, models=["popularity", "hybrid"]).fit(
        ratings[["user_id", "item_id"]], user_table=users, item_table=items)
    recs = model.recommend([70, 1, "stranger"], k=5)
    assert recs.groupby("user", sort=False)["source"].first().to_dict() == {
        70: "attributes", 1: "personal", "stranger": "popular"}
    attrs = model.result_.ensemble.attributes
    assert any(a.startswith("gender=") for a in attrs["users"]) and "Comedy=1" in attrs["items"]
    assert not any(a.startswith("title=") for a in attrs["items"])  # free text is not an attribute
    unrated = min(set(items["item_id"]) - set(ratings["item_id"]))
    assert set(model.similar_items(unrated, k=3)["source"]) == {"attributes"}


def test_the_artifact_is_json_and_npz_and_answers_the_same(explicit: accelml.AutoML, tmp_path: Path) -> None:
    folder = explicit.save(tmp_path / "model")
    files = {p.suffix for p in (folder / "recommender").iterdir()}
    assert files == {".json", ".npz"}
    loaded = accelml.load(folder)
    pd.testing.assert_frame_equal(loaded.recommend([1, 3], k=5), explicit.recommend([1, 3], k=5))
    pairs = pd.DataFrame({"user_id": [1, 2], "item_id": [50, 100]})
    np.testing.assert_allclose(loaded.predict(pairs), explicit.predict(pairs))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["task"] == "recommend" and manifest["ensemble"]["kind"] == "recommender"
    member = next(iter((folder / "recommender").glob("*_*.npz")))
    member.write_bytes(member.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match="sha256"):
        accelml.load(folder)


def test_duplicated_pairs_are_merged_and_reported(ratings: pd.DataFrame) -> None:
    log = pd.concat([ratings.head(3000), ratings.head(200)], ignore_index=True)
    model = accelml.AutoML(time_limit=10, roles=ROLES, n_jobs=1, max_trials=3, models=["biases", "popularity"]).fit(
        log.drop(columns="timestamp"), target="rating")
    issue = next(i for i in model.issues_ if i.kind == "duplicate_pairs")
    assert issue.count == 200 and "averaged" in issue.message
    assert model.result_.n_rows == 3000


def test_a_time_role_validates_on_each_users_latest_interactions(ratings: pd.DataFrame) -> None:
    model = accelml.AutoML(time_limit=10, roles={**ROLES, "timestamp": "time"}, n_jobs=1, max_trials=3,
                           models=["popularity", "ease"]).fit(ratings.head(3000), target="rating")
    assert "by time" in model.result_.extra["validation"]["description"]


def test_same_seed_same_lists(ratings: pd.DataFrame) -> None:
    def fit() -> pd.DataFrame:
        m = accelml.AutoML(time_limit=30, roles=ROLES, n_jobs=1, max_trials=5, seed=3,
                           models=["ease", "item_knn", "popularity"]).fit(ratings.head(3000)[["user_id", "item_id"]])
        return m.recommend([1, 2], k=5)

    pd.testing.assert_frame_equal(fit(), fit())


@pytest.mark.parametrize(("frame", "target", "roles", "error", "match"), [
    (pd.DataFrame({"u": [1, 2], "i": [1, 2], "r": [1, 2]}), "r", {"u": "user"}, ConfigError, "needs an item column"),
    (pd.DataFrame({"u": [1, 1, 1], "i": [1, 2, 3], "r": [1, 2, 3]}), "r", {"u": "user", "i": "item"}, DataError,
     "user column 'u' holds a single value"),
    (pd.DataFrame({"u": [1, 2, 3], "i": [1, 2, 3], "r": [4, "five", 3]}), "r", {"u": "user", "i": "item"},
     DataError, r"not numbers \(row 1: 'five'\)"),
    (pd.DataFrame({"u": [None, None], "i": [1, 2], "r": [1, 2]}), "r", {"u": "user", "i": "item"}, DataError,
     "no interactions are left"),
    (pd.DataFrame({"u": [1, 2, 3], "i": [1, 2, 3], "r": [4, 4, 4]}), "r", {"u": "user", "i": "item"}, DataError,
     "nothing to predict"),
])
def test_bad_logs_are_refused_with_the_column_at_fault(frame: pd.DataFrame, target: str, roles: dict[str, str],
                                                      error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        accelml.AutoML(time_limit=5, roles=roles, n_jobs=1).fit(frame, target=target)


def test_a_rating_metric_without_ratings_is_refused(ratings: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="no rating target"):
        accelml.AutoML(time_limit=5, roles=ROLES, metric="rmse").fit(ratings.head(500)[["user_id", "item_id"]])


def test_side_tables_need_a_recommender() -> None:
    with pytest.raises(ConfigError, match="side tables of a recommender"):
        accelml.AutoML(time_limit=5).fit(load_demo(), target="species",
                                         item_table=pd.DataFrame({"a": [1]}))


def test_progress_is_reported_after_every_trial(ratings: pd.DataFrame) -> None:
    seen = []
    model = accelml.AutoML(time_limit=10, roles=ROLES, n_jobs=1, max_trials=3, models=["popularity", "ease"])
    model.fit(ratings.head(2000)[["user_id", "item_id"]], progress=seen.append)
    assert [p.trials_done for p in seen] == [1, 2, 3]
    assert seen[-1].metric == "ndcg@10" and seen[-1].best_model is not None
