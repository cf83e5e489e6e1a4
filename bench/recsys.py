"""Recommendation benchmark on MovieLens-100k: accelml's recommend task against Surprise (SVD, SVD++, KNNBaseline),
the implicit package (ALS, BPR) and EASE on the same splits and cores, one system after another (run it alone).

    .venv/bin/python bench/recsys.py                          # everything: about 15 minutes on 2 cores
    .venv/bin/python bench/recsys.py --limit 10 --folds 2     # a smoke test
    .venv/bin/python bench/recsys.py --parts topk,service     # only the lists and the service

Parts (``--parts``):

* ``ratings``: 5-fold cross-validated RMSE and MAE of the ratings (rows shuffled, seed 0): accelml fits each fold's
  training rows with ``time_limit=--limit`` (roles user/item, target rating) and predicts the fold's pairs; Surprise's
  SVD, SVD++ and KNNBaseline (item-based, Pearson-baseline) on the same folds through ``bench/peers/run_recsys.py`` in
  ``bench/peers/.venv-recsys`` (``bash bench/peers/install.sh recsys``), without a time limit (their seconds shown).
* ``topk``: top-10 lists for every user, all ratings treated as interactions, on two per-user splits: a seeded random
  25 % of each user's interactions (``random``), and each user's last 25 % by time (``time``). accelml fits the training
  rows without a target in ``--limit`` seconds (NDCG@10 tuned); implicit's ALS (its grid chosen on an inner split of
  the training rows within the same limit) and BPR; EASE (lambda 500, the closed form, no tuning). Precision, recall,
  NDCG, MAP at 10 and catalogue coverage, over users with held-out items, the user's training items excluded.
* ``scale`` (not in the default parts): a synthetic log of ``--scale-interactions`` (10 million) interactions of
  100,000 users with a catalogue of a million items (item popularity a power law, seeded), fitted without a target in
  ``--limit`` seconds: wall time, peak memory, the families skipped and why, one user's list.
* ``service``: the fitted top-k model (random split) served in process (FastAPI's TestClient, so no network):
  ``GET /recommend`` for one user (median and 99th percentile of 200 calls) and ``POST /recommend`` for a batch of
  1,000 users (users per second).

Printed and saved to ``bench/results/recsys_<limit>s_<stamp>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_report import plain_table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "datasets" / "movielens_100k" / "ratings.csv"
PEER_PYTHON = BENCH / "peers" / ".venv-recsys" / "bin" / "python"
PEER_SCRIPT = BENCH / "peers" / "run_recsys.py"
RESULTS = BENCH / "results"
ROLES = {"user_id": "user", "item_id": "item"}
NO_PEERS = False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per accelml fit (and per peer search)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--parts", default="ratings,topk,service")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--scale-interactions", type=int, default=10_000_000)
    ap.add_argument("--splits", default="random,time", help="top-k splits to run")
    ap.add_argument("--no-peers", action="store_true", help="accelml (and EASE) only")
    args = ap.parse_args()
    global NO_PEERS
    NO_PEERS = args.no_peers
    parts = set(args.parts.split(","))
    df = pd.read_csv(DATA)
    codes = {c: pd.factorize(df[c], sort=True)[0] for c in ("user_id", "item_id")}
    tables: dict[str, list[dict[str, Any]]] = {}
    work = Path(tempfile.mkdtemp(prefix="recsys_bench_"))
    stamp = time.strftime("%Y%m%d-%H%M")
    out = RESULTS / f"recsys_{args.limit:g}s_{stamp}"
    models: dict[str, Any] = {}
    if "ratings" in parts:
        tables["ratings"] = ratings_part(df, codes, args, work)
        write(out, tables, args)
    if "topk" in parts or "service" in parts:
        for split in args.splits.split(",") if "topk" in parts else ("random",):
            tables[f"topk_{split}"], models[split] = topk_part(df, codes, split, args, work)
            write(out, tables, args)
    if "service" in parts:
        tables["service"] = service_part(models["random"], df)
    if "scale" in parts:
        tables["scale"] = scale_part(args)
    write(out, tables, args)
    print(f"\nsaved {out}.md and .json")


# ------------------------------------------------------------------------------------------------ ratings
def ratings_part(df: pd.DataFrame, codes: dict[str, np.ndarray], args: Any, work: Path) -> list[dict[str, Any]]:
    import accelml

    rng = np.random.default_rng(args.seed)
    folds = rng.permutation(np.arange(len(df)) % args.folds)
    y = df["rating"].to_numpy(dtype=float)
    pred = np.full(len(df), np.nan)
    walls = []
    for f in range(args.folds):
        train, test = df[folds != f], df[folds == f]
        started = time.monotonic()
        model = accelml.AutoML(time_limit=args.limit, roles=ROLES, seed=args.seed, n_jobs=args.n_jobs)
        model.fit(train.drop(columns=["timestamp"]), target="rating")
        walls.append(time.monotonic() - started)
        pred[folds == f] = model.predict(test)
        members = ", ".join(f"{m.name} {m.weight:.2f}" for m in model.result_.ensemble.members if m.kind == "rating")
        print(f"fold {f}: accelml RMSE {_rmse(y[folds == f], pred[folds == f]):.4f} in {walls[-1]:.1f} s ({members})",
              flush=True)
    rows = [{"system": "accelml", "rmse": _rmse(y, pred), "mae": _mae(y, pred), "seconds": sum(walls),
             "max_fit_over_limit": max(walls) / args.limit}]
    peers = _peer("ratings", df, codes, work, folds=folds, seed=args.seed)
    for name in ("svd", "svdpp", "knnbaseline"):
        if peers and f"pred_{name}" in peers:
            p = peers[f"pred_{name}"]
            rows.append({"system": f"surprise {name}", "rmse": _rmse(y, p), "mae": _mae(y, p),
                         "seconds": float(peers[f"seconds_{name}"]), "max_fit_over_limit": None})
    return rows


# ------------------------------------------------------------------------------------------------ top-k
def topk_part(df: pd.DataFrame, codes: dict[str, np.ndarray], split: str, args: Any, work: Path
              ) -> tuple[list[dict[str, Any]], Any]:
    import accelml
    from accelml.metrics.ranking import ranking_metrics
    from accelml.models.recsys import EASE, interaction_matrix
    from accelml.validation import per_user_holdout

    users, items = codes["user_id"], codes["item_id"]
    n_users, n_items = users.max() + 1, items.max() + 1
    times = df["timestamp"].to_numpy() if split == "time" else None
    train, test = per_user_holdout(users, share=0.25, seed=args.seed, times=times)
    is_test = np.zeros(len(df), dtype=bool)
    is_test[test] = True
    relevant = interaction_matrix(users[test], items[test], n_users, n_items)
    seen = interaction_matrix(users[train], items[train], n_users, n_items)
    user_ids = pd.factorize(df["user_id"], sort=True)[1]
    item_ids = pd.factorize(df["item_id"], sort=True)[1]
    item_code = {str(v): k for k, v in enumerate(item_ids)}
    rows = []

    def score(name: str, recs: np.ndarray, seconds: float, extra: str = "") -> None:
        m = ranking_metrics(recs, relevant, 10, n_items)
        rows.append({"system": name, "precision@10": m["precision@10"], "recall@10": m["recall@10"],
                     "ndcg@10": m["ndcg@10"], "map@10": m["map@10"], "coverage@10": m["coverage@10"],
                     "seconds": seconds, "notes": extra})
        print(f"{split}: {name} P@10 {m['precision@10']:.4f} NDCG@10 {m['ndcg@10']:.4f} ({seconds:.1f} s) {extra}",
              flush=True)

    frame = df.iloc[train][["user_id", "item_id"]]
    if split == "time":
        frame = df.iloc[train][["user_id", "item_id", "timestamp"]]
    roles = {**ROLES, **({"timestamp": "time"} if split == "time" else {})}
    started = time.monotonic()
    model = accelml.AutoML(time_limit=args.limit, roles=roles, seed=args.seed, n_jobs=args.n_jobs).fit(frame)
    wall = time.monotonic() - started
    lists = model.recommend(list(user_ids), k=10)
    recs = np.full((n_users, 10), -1)
    user_pos = {str(v): k for k, v in enumerate(user_ids)}
    for user, group in lists.groupby("user", sort=False):
        codes_ = [item_code[str(i)] for i in group["item"]]
        recs[user_pos[str(user)], : len(codes_)] = codes_
    blend = ", ".join(f"{m.name} {m.weight:.2f}" for m in model.result_.ensemble.members)
    score("accelml", recs, wall, f"fit/limit {wall / args.limit:.2f}; validation ndcg@10 {model.val_score_:.4f}; "
                                 f"blend {blend}")
    started = time.monotonic()
    ease = EASE(500.0).fit(seen)
    from accelml.metrics.ranking import top_k

    score("EASE lambda=500", top_k(ease.score(seen, np.arange(n_users)), 10, exclude=seen),
          time.monotonic() - started)
    peers = _peer("topk", df, codes, work, test=is_test, seed=args.seed, limit=args.limit)
    for name in ("als", "bpr"):
        if peers and f"recs_{name}" in peers:
            score(f"implicit {name}", peers[f"recs_{name}"], float(peers[f"seconds_{name}"]),
                  str(peers[f"params_{name}"]))
    return rows, model


# ------------------------------------------------------------------------------------------------ service
def service_part(model: Any, df: pd.DataFrame) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from accelml.serve.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="recsys_model_")) / "model"
    model.save(folder)
    client = TestClient(create_app(folder))
    users = [str(u) for u in pd.unique(df["user_id"])]
    client.get("/recommend", params={"user": users[0], "k": 10}).raise_for_status()
    times = []
    for n in range(200):
        started = time.perf_counter()
        client.get("/recommend", params={"user": users[n % len(users)], "k": 10}).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    batch = (users * 2)[:1000]
    started = time.perf_counter()
    client.post("/recommend", json={"users": batch, "k": 10}).raise_for_status()
    seconds = time.perf_counter() - started
    row = {"single_user_median_ms": float(np.median(times)), "single_user_p99_ms": float(np.percentile(times, 99)),
           "batch_1000_users_s": seconds, "users_per_s": 1000 / seconds}
    print(f"service: one user {row['single_user_median_ms']:.1f} ms median, {row['single_user_p99_ms']:.1f} ms p99; "
          f"1,000 users in {seconds:.2f} s ({row['users_per_s']:.0f} users/s)", flush=True)
    return [row]


# ------------------------------------------------------------------------------------------------ scale
def scale_part(args: Any) -> list[dict[str, Any]]:
    import resource

    import accelml

    rng = np.random.default_rng(args.seed)
    n, n_users, n_items = args.scale_interactions, 100_000, 1_000_000
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    log = pd.DataFrame({"user": rng.integers(0, n_users, n), "item": rng.choice(n_items, n, p=weights / weights.sum())})
    started = time.monotonic()
    model = accelml.AutoML(time_limit=args.limit, roles={"user": "user", "item": "item"}, seed=args.seed,
                           n_jobs=args.n_jobs).fit(log)
    wall = time.monotonic() - started
    rec = model.result_.extra["recommend"]
    started = time.perf_counter()
    model.recommend([int(log["user"].iloc[0])], k=10)
    one = (time.perf_counter() - started) * 1000
    row = {"interactions": n, "users": rec["n_users"], "items": rec["n_items"], "fit_s": wall,
           "fit_over_limit": wall / args.limit,
           "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
           "members": ", ".join(m.name for m in model.result_.ensemble.members), "one_user_ms": one,
           "skipped": "; ".join(f"{k}: {v}" for k, v in rec["skipped"].items())}
    print(f"scale: {n:,} interactions fitted in {wall:.1f} s (limit {args.limit:g}), peak {row['peak_rss_gb']:.1f} GB, "
          f"members {row['members']}; one user {one:.0f} ms", flush=True)
    return [row]


# ------------------------------------------------------------------------------------------------ helpers
def _peer(mode: str, df: pd.DataFrame, codes: dict[str, np.ndarray], work: Path, **kw: Any) -> dict[str, Any] | None:
    if NO_PEERS:
        return None
    if not PEER_PYTHON.exists():
        print(f"peers skipped: {PEER_PYTHON} is missing (bash bench/peers/install.sh recsys)")
        return None
    data = work / "data.parquet"
    pd.DataFrame({"user": codes["user_id"], "item": codes["item_id"],
                  "rating": df["rating"].astype(float)}).to_parquet(data, index=False)
    out = work / f"{mode}.npz"
    cmd = [str(PEER_PYTHON), str(PEER_SCRIPT), mode, "--data", str(data), "--out", str(out), "--seed", str(kw["seed"])]
    if mode == "ratings":
        np.save(work / "folds.npy", kw["folds"])
        cmd += ["--folds", str(work / "folds.npy")]
    else:
        np.save(work / "test.npy", kw["test"])
        cmd += ["--test", str(work / "test.npy"), "--k", "10", "--time-limit", str(kw["limit"])]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"peers ({mode}) failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    with np.load(out, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def write(out: Path, tables: dict[str, list[dict[str, Any]]], args: Any) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [(f"# Recommendation benchmark: MovieLens-100k, accelml at {args.limit:g} s, {args.n_jobs} cores, "
              f"seed {args.seed}"), ""]
    titles = {"ratings": f"Ratings: {args.folds}-fold cross-validated RMSE (bar: at most 0.91)",
              "topk_random": ("Top-10, each user's interactions split 75/25 at random "
                              "(bar: P@10 >= 0.42, NDCG@10 >= 0.49)"),
              "topk_time": "Top-10, each user's last 25 % by time held out",
              "service": "Service (in process): recommendation latency and throughput",
              "scale": "Scale: a synthetic log of 100,000 users and a million items"}
    for key, rows in tables.items():
        lines += [f"## {titles.get(key, key)}", "", plain_table(rows, digits=4), ""]
    text = "\n".join(lines)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(tables, indent=1, default=float))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
