"""The model server in-process: every endpoint and every error path, through FastAPI's TestClient."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # starlette warns that its test client will move to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from accelml.exceptions import ArtifactError, ConfigError, NotFittedError
from accelml.serve import create_app
from tests.serve.serve_helpers import assert_clean_error, fit_tiny, metric_value, tiny_frame


@pytest.fixture(scope="module")
def model():
    return fit_tiny("binary")


@pytest.fixture(scope="module")
def regressor():
    return fit_tiny("regression", seed=1)


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("serve") / "model")


@pytest.fixture(scope="module")
def frame():
    return tiny_frame("binary", n=40, seed=7)


@pytest.fixture()
def client(model_dir):
    return TestClient(create_app(model_dir))


def _records(frame, n=None):
    rows = frame.drop(columns="y").head(n)
    return json.loads(rows.to_json(orient="records"))


# ----------------------------------------------------------------------------------------------- predictions
def test_predict_json_matches_the_library(client, model, frame):
    response = client.post("/predict", json={"records": _records(frame)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == model.predict(frame).tolist()
    assert body["n_rows"] == len(frame)
    assert "probabilities" not in body
    assert body["request_id"] == response.headers["x-request-id"]
    assert len(body["warnings"]) == len(frame)


def test_proba_from_body_or_query(client, model, frame):
    expected = model.predict_proba(frame.head(3))
    for kwargs in ({"json": {"records": _records(frame, 3), "proba": True}},
                   {"json": {"records": _records(frame, 3)}, "params": {"proba": "true"}}):
        body = client.post("/predict", **kwargs).json()
        assert [list(p) for p in body["probabilities"]] == [["no", "yes"]] * 3
        got = np.array([[p["no"], p["yes"]] for p in body["probabilities"]])
        np.testing.assert_allclose(got, expected.to_numpy(), atol=1e-12)


def test_csv_body(client, model, frame):
    csv = frame.head(5).to_csv(index=False)
    response = client.post("/predict?proba=true", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == model.predict(frame.head(5)).tolist()
    assert len(body["probabilities"]) == 5


def test_regression_values_and_no_proba(regressor):
    client = TestClient(create_app(regressor))
    frame = tiny_frame("regression", n=5, seed=3)
    body = client.post("/predict", json={"records": _records(frame)}).json()
    np.testing.assert_allclose(body["predictions"], regressor.predict(frame), rtol=1e-12)
    response = client.post("/predict", json={"records": _records(frame), "proba": True})
    assert_clean_error(response, 422, "regression")


def test_warnings_for_missing_values_unseen_categories_and_unknown_booleans(client):
    record = {"x1": 0.5, "x2": None, "colour": "purple", "member": "maybe", "noise": 0.0}
    body = client.post("/predict", json={"records": [record, {**record, "x2": 1.0, "colour": "red",
                                                              "member": "yes"}]}).json()
    first, second = body["warnings"]
    assert {(w["column"], w["kind"]) for w in first} == {
        ("x2", "missing"), ("colour", "unseen_category"), ("member", "unknown_value")}
    assert any("purple" in w["message"] for w in first)
    assert second == []
    assert len(body["predictions"]) == 2


def test_absent_key_in_one_record_is_a_missing_value(client, frame):
    records = _records(frame, 2)
    del records[1]["x1"]
    body = client.post("/predict", json={"records": records}).json()
    assert [w["kind"] for w in body["warnings"][1]] == ["missing"]


def test_bare_list_of_records_is_accepted(client, frame):
    assert client.post("/predict", json=_records(frame, 2)).json()["n_rows"] == 2


# ----------------------------------------------------------------------------------------------- input errors
def test_missing_column_is_422_naming_it(client, frame):
    records = [{k: v for k, v in r.items() if k != "colour"} for r in _records(frame, 2)]
    assert_clean_error(client.post("/predict", json={"records": records}), 422, "'colour'", "missing")


def test_wrong_type_is_422_naming_column_and_row(client, frame):
    records = _records(frame, 3)
    records[2]["x1"] = "abc"
    assert_clean_error(client.post("/predict", json={"records": records}), 422, "'x1'", "row 2", "'abc'")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"rows": []}', "unknown field"),
        (b'{"proba": true}', "no 'records'"),
        (b'{"records": {"x1": 1}}', "must be a list"),
        (b'{"records": []}', "no rows"),
        (b'{"records": [1, 2]}', "row 0 must be an object"),
        (b'{"records": [{"x1": {"a": 1}}]}', "holds a dict"),
        (b'{"records": [{"x1": 1}], "proba": "yes"}', "true or false"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_malformed_json_is_422(client, body, fragment):
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert_clean_error(response, 422, fragment)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"x1,x2\n1,2,3,4\n", "cannot parse the CSV"), (b"   ", "empty"), (b"x1\n\xff\n", "UTF-8"), (b"x1,x2\n", "no rows")],
)
def test_malformed_csv_is_422(client, body, fragment):
    response = client.post("/predict", content=body, headers={"content-type": "text/csv"})
    assert_clean_error(response, 422, fragment)


def test_bad_query_parameter_is_422(client, frame):
    response = client.post("/predict?proba=perhaps", json={"records": _records(frame, 1)})
    assert_clean_error(response, 422, "proba")


def test_unsupported_media_type_is_415(client):
    response = client.post("/predict", content=b"<x/>", headers={"content-type": "application/xml"})
    assert_clean_error(response, 415, "application/xml")


# ----------------------------------------------------------------------------------------------- limits
def test_body_over_the_limit_by_content_length_is_413(model):
    client = TestClient(create_app(model, max_body_bytes=1_000))
    response = client.post("/predict", content=b"{" + b" " * 5_000 + b"}",
                           headers={"content-type": "application/json"})
    assert_clean_error(response, 413, "5,002 bytes", "1,000")


def test_body_over_the_limit_without_content_length_is_413(model):
    client = TestClient(create_app(model, max_body_bytes=1_000))

    def chunks():  # sent chunked, with no Content-Length: only counting the bytes read catches it
        for _ in range(10):
            yield b" " * 500

    response = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_clean_error(response, 413, "more than")


def test_too_many_rows_is_413(model, frame):
    client = TestClient(create_app(model, max_rows=5))
    assert_clean_error(client.post("/predict", json={"records": _records(frame, 6)}), 413, "6 rows", "limit is 5")
    csv = frame.head(6).to_csv(index=False)
    assert_clean_error(client.post("/predict", content=csv, headers={"content-type": "text/csv"}), 413, "6 rows")
    assert client.post("/predict", json={"records": _records(frame, 5)}).status_code == 200


def test_unknown_endpoint_and_method_are_clean_json(client):
    assert_clean_error(client.get("/nowhere"), 404, "/nowhere")
    assert_clean_error(client.get("/predict"), 405, "GET")


def test_unexpected_error_is_a_generic_500_and_logged(model, frame, caplog):
    app = create_app(model)

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    app.state.service.predict = broken
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="accelml.serve"):
        response = client.post("/predict", json={"records": _records(frame, 1)})
    error = assert_clean_error(response, 500, "internal server error")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert "secret" not in error
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)
    assert metric_value(client.get("/metrics").text, "accelml_errors_total", endpoint="/predict", kind="internal") == 1


def test_client_request_id_is_kept(client, frame):
    response = client.post("/predict", json={"records": _records(frame, 1)}, headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123" == response.json()["request_id"]


# ----------------------------------------------------------------------------------------------- other endpoints
def test_health(client, model_dir):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["task"] == "binary" and body["model"] == str(model_dir)


def test_metadata(client, model):
    body = client.get("/metadata").json()
    assert body["model"]["task"] == "binary" and body["model"]["classes"] == ["no", "yes"]
    assert body["model"]["metric"]["name"] == model.metric_.name
    assert body["model"]["val_score"] == pytest.approx(model.val_score_)
    assert [f["name"] for f in body["features"]] == [c.name for c in model.schema_.features]
    assert body["leaderboard"][0]["model"] == "ensemble"
    assert body["versions"]["serving"]["accelml"] and body["versions"]["trained_with"]["libraries"]["lightgbm"]
    assert body["limits"] == {"max_body_bytes": 1_000_000, "max_rows": 10_000}


def test_openapi_documents_the_model_columns(client, model):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/predict", "/health", "/metadata", "/metrics", "/monitor"} <= set(spec["paths"])
    content = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    example = content["application/json"]["example"]["records"][0]
    assert list(example) == [c.name for c in model.schema_.features]
    assert "text/csv" in content


def test_metrics_count_requests_rows_and_errors(client, frame):
    before = client.get("/metrics").text
    client.post("/predict", json={"records": _records(frame, 4)})
    client.post("/predict", json={"records": [{"x1": 1.0, "x2": None, "colour": "blue", "member": "yes",
                                               "noise": 0.0}]})
    client.post("/predict", content=b"{", headers={"content-type": "application/json"})
    after = client.get("/metrics").text
    assert after.startswith("# HELP")

    def delta(name, **labels):
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert delta("accelml_requests_total", endpoint="/predict", method="POST", status="200") == 2
    assert delta("accelml_requests_total", endpoint="/predict", method="POST", status="422") == 1
    assert delta("accelml_errors_total", endpoint="/predict", kind="invalid_input") == 1
    assert delta("accelml_rows_predicted_total") == 5
    assert delta("accelml_row_warnings_total", kind="missing") == 1 + frame.head(4).isna().sum().sum()
    assert delta("accelml_request_duration_seconds_count", endpoint="/predict") == 3


def test_monitor_reports_drift_of_recent_requests(model):
    client = TestClient(create_app(model, window=50))
    assert client.get("/monitor").json()["status"] == "no_data"
    same = tiny_frame("binary", n=60, seed=11)
    client.post("/predict", json={"records": _records(same)})
    body = client.get("/monitor").json()
    assert body["window_rows"] == 50 and body["rows_seen"] == 60 and body["window_size"] == 50
    assert body["status"] in ("ok", "warning", "drift")
    dropped = set(model.result_.schema.extra.get("dropped_features") or ())  # feature selection's: no model reads them
    assert {c["column"] for c in body["columns"]} == {"x1", "x2", "colour", "member", "noise"} - dropped
    assert body["prediction"]["kind"] == "classification"
    assert any("fewer than" in note for note in body["notes"])  # 50 rows: too few to call anything drift

    shifted = same.assign(x1=same["x1"] + 5.0, colour="purple")
    client.post("/predict", json={"records": _records(shifted)})
    columns = {c["column"]: c for c in client.get("/monitor").json()["columns"]}
    assert columns["x1"]["status"] != "ok" and columns["x1"]["psi"] > 1
    assert columns["colour"]["unseen_share"] == 1.0
    html = client.get("/monitor?format=html")
    assert html.headers["content-type"].startswith("text/html") and "<table>" in html.text


def test_prediction_log_rows_written_and_bounded(model, frame, tmp_path):
    from accelml.monitor import PredictionLog

    path = tmp_path / "log" / "predictions.sqlite"
    client = TestClient(create_app(model, prediction_log=path, log_rows=5))
    for i in range(3):
        response = client.post("/predict", json={"records": _records(frame.iloc[3 * i:]), "proba": i == 2})
        assert response.status_code == 200
    client.post("/predict", content=frame.head(2).to_csv(index=False), headers={"content-type": "text/csv"})
    log = PredictionLog(path, max_rows=5)
    assert log.count() == 5
    rows = log.tail(5)
    assert rows[-1]["request_id"] == response.headers["x-request-id"] or rows[-1]["request_id"]
    assert set(rows[-1]["features"]) >= {"x1", "x2", "colour", "member", "noise"}
    assert rows[-1]["prediction"] in ("no", "yes")
    log.close()
    assert client.get("/metadata").json()["monitoring"]["prediction_log"] == str(path)


def test_no_log_by_default(client):
    assert client.get("/metadata").json()["monitoring"]["prediction_log"] is None


# ----------------------------------------------------------------------------------------------- construction
def test_bad_settings_and_models_are_refused(model, tmp_path):
    with pytest.raises(ConfigError, match="max_rows"):
        create_app(model, max_rows=0)
    with pytest.raises(ArtifactError, match="does not exist"):
        create_app(tmp_path / "nothing")
    import accelml

    with pytest.raises(NotFittedError):
        create_app(accelml.AutoML())
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="prediction log"):
        create_app(model, prediction_log=tmp_path / "file" / "log.sqlite")


def test_importing_accelml_does_not_import_the_server():
    import subprocess
    import sys

    code = ("import sys, accelml, accelml.serve, accelml.monitor; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'prometheus_client', 'onnx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_model_is_warmed_up_before_the_first_request_and_nothing_is_remembered(model):
    app = create_app(model, window=50)
    assert app.state.service.warm_up_s is not None and app.state.service.warm_up_s >= 0
    client = TestClient(app)
    assert client.get("/monitor").json()["status"] == "no_data"  # the warm-up row is not a request
    assert metric_value(client.get("/metrics").text, "accelml_rows_predicted_total") == 0


def test_a_failed_warm_up_is_logged_and_the_model_still_served(model, frame, monkeypatch, caplog):
    from accelml.serve.service import ModelService

    real = ModelService._predict
    calls = []

    def failing_first(self, rows, proba):
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("cannot predict a row of missing values")
        return real(self, rows, proba)

    monkeypatch.setattr(ModelService, "_predict", failing_first)
    with caplog.at_level("WARNING", logger="accelml.serve.service"):
        app = create_app(model)
    assert app.state.service.warm_up_s is None and "warming up" in caplog.text
    response = TestClient(app).post("/predict", json={"records": _records(frame, 3)})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 3
