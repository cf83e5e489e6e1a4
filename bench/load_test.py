"""Bounded load test of the model server against in-process prediction, on adult.

Trains a model on adult (or loads ``--model``), starts the real server (uvicorn, one worker, prediction log on, as
``accelml serve`` runs it) on 127.0.0.1, and sends a FIXED number of requests, only ever to 127.0.0.1:

* single-row requests one at a time (latency without queueing), then from ``--concurrency`` client threads;
* 1,000-row batches one at a time (throughput in rows/s);

then stops the server and times ``AutoML.predict`` in this process on the same rows. Prints a table and writes
``bench/results/serve_load_<date>.md`` and ``.json``.

Usage:
    python bench/load_test.py                       # train for 60 s, then 1,000 + 2,000 single rows, 50 batches
    python bench/load_test.py --model model/ --requests 500 --batches 10

Client threads and the server share the machine's cores, so on a small machine the concurrent numbers include the
client's own cost; the one-at-a-time rows are the service's latency.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from run_bench import machine_info

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("ACCELML_DATASETS", ROOT.parent / "shared" / "datasets"))
HOST = "127.0.0.1"  # never anything else: this script must not load any other machine
SERVER = (
    "import sys; from accelml.serve.server import run_server; "
    "run_server(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), workers=1, access_log=False, "
    "prediction_log=sys.argv[3])"
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _train(time_limit: float, folder: Path) -> Path:
    import accelml
    from accelml.data import read_table

    frame = read_table(DATASETS / "adult" / "adult_train.csv")
    _log(f"training on adult ({len(frame):,} rows) for up to {time_limit:.0f} s ...")
    automl = accelml.AutoML(time_limit=time_limit, seed=0).fit(frame, target="class")
    return automl.save(folder / "model")


def _test_rows() -> list[dict[str, Any]]:
    from accelml.data import read_table

    frame = read_table(DATASETS / "adult" / "adult_test.csv").drop(columns=["class"])
    return json.loads(frame.to_json(orient="records"))


class Client:
    """One keep-alive HTTP connection to the local server."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)

    def predict(self, records: list[dict[str, Any]]) -> tuple[int, float]:
        body = json.dumps({"records": records}).encode()
        started = time.perf_counter()
        self.connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


def _run(port: int, payloads: list[list[dict[str, Any]]], concurrency: int) -> dict[str, Any]:
    """Send every payload exactly once from ``concurrency`` threads; latency of each, wall time, errors."""
    latencies = np.zeros(len(payloads))
    statuses = np.zeros(len(payloads), dtype=int)
    next_index = iter(range(len(payloads)))
    lock = threading.Lock()

    def worker() -> None:
        client = Client(port)
        try:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                statuses[i], latencies[i] = client.predict(payloads[i])
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    rows = sum(len(p) for p in payloads)
    return _summary(latencies, wall, rows, int(np.count_nonzero(statuses != 200)), len(payloads), concurrency)


def _summary(latencies: np.ndarray, wall: float, rows: int, errors: int, n: int, concurrency: int) -> dict[str, Any]:
    ms = latencies * 1000
    return {"requests": n, "concurrency": concurrency, "rows": rows, "errors": errors, "wall_s": wall,
            "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "requests_per_s": n / wall, "rows_per_s": rows / wall}


def _in_process(model_dir: Path, records: list[dict[str, Any]], singles: int, batches: int,
                batch_rows: int) -> list[dict[str, Any]]:
    import pandas as pd

    import accelml

    automl = accelml.load(model_dir)
    frame = pd.DataFrame.from_records(records)
    for i in range(20):  # warm up
        automl.predict(frame.iloc[[i]])
    latencies = np.zeros(singles)
    started = time.perf_counter()
    for i in range(singles):
        row = frame.iloc[[i % len(frame)]]
        t = time.perf_counter()
        automl.predict(row)
        latencies[i] = time.perf_counter() - t
    single = _summary(latencies, time.perf_counter() - started, singles, 0, singles, 1)
    latencies = np.zeros(batches)
    started = time.perf_counter()
    for b in range(batches):
        chunk = frame.iloc[(b * batch_rows) % (len(frame) - batch_rows):][:batch_rows]
        t = time.perf_counter()
        automl.predict(chunk)
        latencies[b] = time.perf_counter() - t
    batch = _summary(latencies, time.perf_counter() - started, batches * batch_rows, 0, batches, 1)
    return [{"mode": "in-process AutoML.predict, 1 row", **single},
            {"mode": f"in-process AutoML.predict, {batch_rows:,}-row batch", **batch}]


def _wait_for(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer /health within 120 s")


def markdown(rows: list[dict[str, Any]], info: dict[str, Any], model: dict[str, Any], args: dict[str, Any]) -> str:
    lines = [
        "# accelml model server: bounded load test",
        "",
        f"- date: {info['date']}",
        f"- accelml {info['accelml_version']} (git {info['accelml_git']})",
        (f"- machine: {info['processor']}, {info['cpu_count']} CPUs ({info['cpu_affinity']} usable), "
         f"{info['memory_gb']} GB RAM; {info['platform']}, Python {info['python']}; "
         f"load average at start {info['load_avg_at_start']}"),
        (f"- model: adult (binary, 14 features), {model['source']}; ensemble {model['ensemble']}; "
         f"validation {model['metric']} {model['val_score']:.4f}"),
        ("- server: uvicorn, 1 worker, on 127.0.0.1, prediction log on (SQLite), access log off; client: "
         "keep-alive HTTP/1.1 connections from threads in one process on the same machine"),
        f"- settings: {json.dumps(args)}",
        "",
        "| mode | requests | concurrency | rows | p50 ms | p99 ms | mean ms | requests/s | rows/s | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['requests']:,} | {r['concurrency']} | {r['rows']:,} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['mean_ms']:.2f} | {r['requests_per_s']:,.1f} | "
                     f"{r['rows_per_s']:,.0f} | {r['errors']} |")
    lines += [
        "",
        ("Latency is measured by the client around each request (send to last byte read). Rows are adult's official "
         "test rows, cycled; batches are consecutive slices. The in-process rows call `AutoML.predict` on a one-row "
         "(or 1,000-row) DataFrame after the server has stopped, so nothing else competes for the cores."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a saved model folder (default: train one on adult)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="training time limit, seconds")
    parser.add_argument("--sequential", type=int, default=1000, help="single-row requests sent one at a time")
    parser.add_argument("--requests", type=int, default=2000, help="single-row requests sent concurrently")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads for the concurrent requests")
    parser.add_argument("--batches", type=int, default=50, help="batch requests")
    parser.add_argument("--batch-rows", type=int, default=1000, help="rows per batch request")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if not (DATASETS / "adult" / "adult_train.csv").exists():
        raise SystemExit(f"adult is not available under {DATASETS}")
    info = machine_info()
    scratch = Path(tempfile.mkdtemp(prefix="accelml-load-"))
    model_dir = args.model or _train(args.time_limit, scratch)

    from accelml.export.artifact import read_manifest

    manifest = read_manifest(model_dir)
    model = {"source": str(args.model) if args.model else f"trained here, time limit {args.time_limit:.0f} s",
             "ensemble": ", ".join(f"{m['name']} {m['weight']:.2f}" for m in manifest["ensemble"]["members"]),
             "metric": manifest["metric"]["name"], "val_score": manifest["val_score"]}
    records = _test_rows()
    singles = [[records[i % len(records)]] for i in range(max(args.sequential, args.requests))]
    batches = [records[(b * args.batch_rows) % (len(records) - args.batch_rows):][: args.batch_rows]
               for b in range(args.batches)]

    port = _free_port()
    server_log = scratch / "server.log"
    with open(server_log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(model_dir), str(port),
                                 str(scratch / "predictions.sqlite")], stdout=out, stderr=subprocess.STDOUT)
    rows = []
    try:
        _wait_for(port, proc, server_log)
        _log(f"server up on {HOST}:{port}; warming up ...")
        _run(port, singles[:50], 1)
        _log(f"{args.sequential:,} single-row requests, one at a time ...")
        rows.append({"mode": "HTTP POST /predict, 1 row", **_run(port, singles[: args.sequential], 1)})
        _log(f"{args.requests:,} single-row requests from {args.concurrency} threads ...")
        rows.append({"mode": "HTTP POST /predict, 1 row", **_run(port, singles[: args.requests], args.concurrency)})
        _log(f"{args.batches} requests of {args.batch_rows:,} rows ...")
        rows.append({"mode": f"HTTP POST /predict, {args.batch_rows:,}-row batch", **_run(port, batches, 1)})
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _log("in-process AutoML.predict ...")
    rows += _in_process(model_dir, records, args.sequential, args.batches, args.batch_rows)

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report = markdown(rows, info, model, settings)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"serve_load_{dt.datetime.now().strftime('%Y%m%d-%H%M')}"
    (args.out / f"{stem}.md").write_text(report)
    (args.out / f"{stem}.json").write_text(json.dumps({"machine": info, "model": model, "settings": settings,
                                                       "rows": rows}, indent=1))
    _log(f"wrote {args.out / stem}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
