"""Text in prediction requests: bounded in characters per text and texts per request, documented in the OpenAPI
schema, and monitored against the training profile's text measures."""

from __future__ import annotations

import io
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
from accelml.features.text_input import MAX_CHARS
from accelml.serve import create_app
from accelml.serve.settings import ServiceSettings
from tests.conftest import shared_dataset
from tests.serve.serve_helpers import assert_clean_error

LIMIT = 400  # characters per text in these tests' servers


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    frame = pd.read_csv(shared_dataset("sms_spam/sms_spam.csv"))[["label", "message"]]
    return frame.sample(n=900, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(sms: pd.DataFrame) -> accelml.AutoML:
    return accelml.AutoML(time_limit=15, models=["tfidf_linear"], seed=0).fit(sms.iloc[:700], target="label")


@pytest.fixture(scope="module")
def client(model: accelml.AutoML) -> TestClient:
    return TestClient(create_app(model, max_text_chars=LIMIT, max_rows=300))


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame[["message"]].to_dict("records")


def test_text_is_predicted_from_json_and_csv(client: TestClient, model: accelml.AutoML, sms: pd.DataFrame) -> None:
    new = sms.iloc[700:720]
    expected = model.predict(new).tolist()
    response = client.post("/predict", json={"records": _records(new), "proba": True})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected
    assert set(response.json()["probabilities"][0]) == {"ham", "spam"}
    csv = new[["message"]].to_csv(index=False).encode()
    response = client.post("/predict", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected


def test_a_text_at_the_limit_is_predicted(client: TestClient) -> None:
    response = client.post("/predict", json={"records": [{"message": "free prize " * (LIMIT // 11)},
                                                         {"message": "x" * LIMIT}, {"message": None}]})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"][2][0]["kind"] == "missing"


def test_a_text_over_the_limit_is_413_naming_column_and_row(client: TestClient) -> None:
    records = [{"message": "hello"}, {"message": "a" * (LIMIT + 1)}]
    response = client.post("/predict", json={"records": records})
    assert_clean_error(response, 413, f"the text in column 'message' of row 1 has {LIMIT + 1:,} characters; the limit "
                                      f"is {LIMIT:,} characters per text (the server's max_text_chars), so shorten it")
    buffer = io.StringIO()
    pd.DataFrame(records).to_csv(buffer, index=False)
    response = client.post("/predict", content=buffer.getvalue().encode(), headers={"content-type": "text/csv"})
    assert_clean_error(response, 413, "column 'message' of row 1")


def test_too_many_texts_are_413(client: TestClient) -> None:
    response = client.post("/predict", json={"records": [{"message": "hi"}] * 301})
    assert_clean_error(response, 413, "request has 301 rows; the limit is 300 rows per request")


def test_the_default_limit_is_the_training_cut(model: accelml.AutoML) -> None:
    assert ServiceSettings().max_text_chars == MAX_CHARS
    with pytest.raises(ConfigError, match="max_text_chars must be a positive whole number; got 0"):
        create_app(model, max_text_chars=0)
    client = TestClient(create_app(model))
    response = client.post("/predict", json={"records": [{"message": "y" * (MAX_CHARS + 1)}]})
    assert_clean_error(response, 413, f"has {MAX_CHARS + 1:,} characters; the limit is {MAX_CHARS:,} characters")


def test_openapi_and_metadata_state_the_bound(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    record = body["requestBody"]["content"]["application/json"]["schema"]["properties"]["records"]
    assert record["maxItems"] == 300
    message = record["items"]["properties"]["message"]
    assert message["maxLength"] == LIMIT and message["type"] == ["string", "null"]
    assert f"at most {LIMIT:,} characters" in message["description"]
    assert f"each text ('message') at most {LIMIT:,} characters" in body["requestBody"]["description"]
    assert "text's length" in body["responses"]["413"]["description"]
    assert client.get("/metadata").json()["limits"] == {"max_body_bytes": 1_000_000, "max_rows": 300,
                                                        "max_text_chars": LIMIT}


def test_monitor_compares_the_window_texts(model: accelml.AutoML, sms: pd.DataFrame) -> None:
    client = TestClient(create_app(model))
    assert client.post("/predict", json={"records": _records(sms.iloc[700:900])}).status_code == 200
    body = client.get("/monitor").json()
    measures = [m["measure"] for m in body["texts"]["message"]["measures"]]
    assert measures[:3] == ["length", "oov_rate", "english_share"]
    row = next(c for c in body["columns"] if c["column"] == "message")
    assert row["status"] in ("ok", "warning") and 0 <= row["unseen_share"] < 0.2
    if "embedding" not in measures:  # the fit left the sentence vector out: the report says so
        assert any("text column 'message': no embedding drift" in note for note in body["notes"])
    html = client.get("/monitor?format=html").text
    assert "Text column message" in html and "out-of-vocabulary words" in html
