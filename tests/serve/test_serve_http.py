"""The real server: uvicorn in a subprocess on a free local port, called over HTTP with urllib."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

from tests.serve.serve_helpers import fit_tiny, tiny_frame

SERVER = (
    "import sys; from accelml.serve.server import run_server; "
    "run_server(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), access_log=False, prediction_log=sys.argv[3])"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: bytes | None = None, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_real_server_over_http(tmp_path):
    model = fit_tiny("binary")
    model_dir = model.save(tmp_path / "model")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "predictions.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(model_dir), str(port), str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _call(f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(0.2)
        assert status == 200 and json.loads(body)["status"] == "ok"

        frame = tiny_frame("binary", n=5, seed=3)
        records = json.loads(frame.drop(columns="y").to_json(orient="records"))
        status, body = _call(f"{base}/predict", json.dumps({"records": records, "proba": True}).encode())
        assert status == 200, body
        assert json.loads(body)["predictions"] == model.predict(frame).tolist()

        status, body = _call(f"{base}/predict?proba=true", frame.to_csv(index=False).encode(), "text/csv")
        assert status == 200 and len(json.loads(body)["probabilities"]) == 5

        status, body = _call(f"{base}/predict", b"{broken")
        assert status == 422 and "not valid JSON" in json.loads(body)["error"]

        status, body = _call(f"{base}/metrics")
        assert status == 200 and b'accelml_rows_predicted_total 10.0' in body
        assert json.loads(_call(f"{base}/monitor")[1])["window_rows"] == 10
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert log.exists()
