"""The server of a recommender in-process: GET and POST /recommend, ratings of (user, item) rows on /predict, the
limits, and the health, metadata and docs of a model without table features."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette warns that its test client will move to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import accelml
from accelml.exceptions import ConfigError
from accelml.serve import create_app
from accelml.serve.settings import ServiceSettings
from tests.conftest import shared_dataset
from tests.serve.serve_helpers import assert_clean_error, fit_tiny, metric_value

ROLES = {"user_id": "user", "item_id": "item"}
KNOWN_USER = "196"


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return pd.read_csv(shared_dataset("movielens_100k/ratings.csv")).head(2500)


@pytest.fixture(scope="module")
def model(ratings):
    return accelml.AutoML(time_limit=8, n_jobs=1, roles=ROLES).fit(ratings, target="rating")


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("serve_recommend") / "model")


@pytest.fixture(scope="module")
def client(model_dir):
    return TestClient(create_app(model_dir))


def _items(body):
    return [entry["item"] for entry in body["items"]]


# ----------------------------------------------------------------------------------------------- GET /recommend
def test_get_recommend_matches_the_library(client, model):
    response = client.get("/recommend", params={"user": KNOWN_USER, "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == KNOWN_USER and body["source"] == "personal"
    assert [entry["rank"] for entry in body["items"]] == [1, 2, 3, 4, 5]
    expected = model.recommend(KNOWN_USER, k=5)
    assert _items(body) == expected["item"].tolist()
    assert [entry["score"] for entry in body["items"]] == pytest.approx(expected["score"].tolist())
    assert body["request_id"] == response.headers["x-request-id"]


def test_seen_items_are_left_out_unless_asked(client, ratings):
    seen = set(ratings.loc[ratings["user_id"] == int(KNOWN_USER), "item_id"].astype(str))
    fresh = client.get("/recommend", params={"user": KNOWN_USER, "k": 50}).json()
    assert len(fresh["items"]) == 50 and not seen & set(_items(fresh))
    every = client.get("/recommend", params={"user": KNOWN_USER, "k": 50, "exclude_seen": "false"}).json()
    assert len(every["items"]) == 50


def test_unknown_user_gets_popular_items(client):
    body = client.get("/recommend", params={"user": "nobody-at-all", "k": 3}).json()
    assert body["source"] == "popular" and len(body["items"]) == 3


def test_default_k_is_ten(client):
    assert len(client.get("/recommend", params={"user": KNOWN_USER}).json()["items"]) == 10


@pytest.mark.parametrize(("params", "fragment"), [
    ({"user": KNOWN_USER, "k": 101}, "k: Input should be less than or equal to 100"),
    ({"user": KNOWN_USER, "k": 0}, "k: Input should be greater than or equal to 1"),
    ({"user": KNOWN_USER, "k": "ten"}, "k:"),
    ({"k": 5}, "user:"),
])
def test_get_recommend_refuses_bad_queries(client, params, fragment):
    assert_clean_error(client.get("/recommend", params=params), 422, fragment)


# ----------------------------------------------------------------------------------------------- POST /recommend
def test_batch_keeps_the_order_and_says_each_source(client, model):
    response = client.post("/recommend", json={"users": [KNOWN_USER, 186, "nobody", KNOWN_USER], "k": 3})
    assert response.status_code == 200, response.text
    lists = response.json()["recommendations"]
    assert [entry["user"] for entry in lists] == [KNOWN_USER, "186", "nobody", KNOWN_USER]
    assert [entry["source"] for entry in lists] == ["personal", "personal", "popular", "personal"]
    assert all(len(entry["items"]) == 3 for entry in lists)
    assert _items(lists[1]) == model.recommend("186", k=3)["item"].tolist()
    assert lists[0] == lists[3]


def test_batch_defaults_and_exclude_seen(client):
    body = client.post("/recommend", json={"users": [KNOWN_USER], "exclude_seen": False}).json()
    assert len(body["recommendations"][0]["items"]) == 10


@pytest.mark.parametrize(("body", "fragment"), [
    ({"k": 3}, "no 'users' field"),
    ({"users": []}, "non-empty list"),
    ({"users": "196"}, "non-empty list"),
    ({"users": [[1]]}, "users[0]"),
    ({"users": [True]}, "users[0]"),
    ({"users": [1.5]}, "users[0]"),
    ({"users": ["1"], "k": 101}, "'k' must be a whole number from 1 to 100"),
    ({"users": ["1"], "k": "3"}, "'k'"),
    ({"users": ["1"], "exclude_seen": "yes"}, "'exclude_seen'"),
    ({"users": ["1"], "top": 3}, "unknown field(s) 'top'"),
    (["1", "2"], "send {"),
])
def test_batch_refuses_bad_bodies(client, body, fragment):
    assert_clean_error(client.post("/recommend", json=body), 422, fragment)


def test_batch_refuses_broken_json(client):
    response = client.post("/recommend", content=b"{users", headers={"content-type": "application/json"})
    assert_clean_error(response, 422, "not valid JSON")


def test_limits_come_from_the_settings(model_dir):
    small = TestClient(create_app(model_dir, max_k=5, max_users=2))
    assert_clean_error(small.post("/recommend", json={"users": ["1", "2", "3"]}), 413, "3 users", "limit is 2")
    assert_clean_error(small.get("/recommend", params={"user": "1", "k": 6}), 422, "less than or equal to 5")
    assert len(small.get("/recommend", params={"user": "1"}).json()["items"]) == 5  # the default k within the bound
    assert small.get("/metadata").json()["limits"]["max_k"] == 5
    with pytest.raises(ConfigError, match="max_k"):
        ServiceSettings(max_k=0)


def test_default_batch_bound(client):
    assert_clean_error(client.post("/recommend", json={"users": list(range(1001))}), 413, "1,001 users")


# ----------------------------------------------------------------------------------------------- POST /predict
def test_predict_rates_pairs(client, model):
    pairs = [{"user_id": 196, "item_id": 242}, {"user_id": "186", "item_id": "302"}, {"user_id": "ghost",
                                                                                       "item_id": 242}]
    response = client.post("/predict", json={"records": pairs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == pytest.approx(model.predict(pd.DataFrame(pairs).astype(str)).tolist())
    assert body["n_rows"] == 3
    assert body["warnings"][:2] == [[], []]
    assert [w["kind"] for w in body["warnings"][2]] == ["unknown_user"]
    csv = client.post("/predict", content="user_id,item_id\n196,242\n", headers={"content-type": "text/csv"})
    assert csv.json()["predictions"] == pytest.approx(body["predictions"][:1])


def test_predict_needs_both_columns(client):
    assert_clean_error(client.post("/predict", json={"records": [{"user_id": 196}]}), 422, "'item_id'", "missing")


def test_predict_refuses_probabilities(client):
    response = client.post("/predict", json={"records": [{"user_id": 196, "item_id": 242}], "proba": True})
    assert_clean_error(response, 422, "probabilities exist only for classification", "recommend")


def test_an_implicit_model_rates_no_pairs(ratings, tmp_path):
    implicit = accelml.AutoML(time_limit=5, n_jobs=1, max_trials=2, models=["popularity"], roles=ROLES).fit(ratings)
    client = TestClient(create_app(implicit))
    response = client.post("/predict", json={"records": [{"user_id": 196, "item_id": 242}]})
    assert_clean_error(response, 400, "without ratings", "/recommend")
    assert client.get("/recommend", params={"user": KNOWN_USER, "k": 2}).status_code == 200
    assert client.get("/metadata").json()["recommend"]["explicit"] is False


# ----------------------------------------------------------------------------------------------- the rest
def test_health_metadata_monitor_and_docs(client):
    assert client.get("/health").json()["task"] == "recommend"
    meta = client.get("/metadata").json()
    assert meta["model"]["task"] == "recommend" and meta["features"] == []
    assert meta["recommend"]["user"] == "user_id" and meta["recommend"]["item"] == "item_id"
    assert meta["recommend"]["explicit"] is True and "POST /predict" in meta["recommend"]["endpoints"]
    assert meta["limits"]["max_k"] == 100 and meta["limits"]["max_users"] == 1000
    assert "rating" in {m["kind"] for m in meta["ensemble"]}
    assert client.get("/monitor").json()["status"] == "not_available"
    spec = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"]["/recommend"])
    predict_body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert predict_body["schema"]["properties"]["records"]["items"]["required"] == ["user_id", "item_id"]


def test_recommend_requests_are_counted(client):
    client.get("/recommend", params={"user": KNOWN_USER})
    text = client.get("/metrics").text
    assert metric_value(text, "accelml_requests_total", endpoint="/recommend", method="GET", status="200") >= 1


def test_a_table_model_has_no_recommend_endpoint():
    client = TestClient(create_app(fit_tiny("binary")))
    assert_clean_error(client.get("/recommend", params={"user": "1"}), 404, "no endpoint at /recommend")
