"""Probe of the recommender algorithms (accelml/models/recsys.py) on MovieLens-100k, before the recommend task wraps
them: top-10 precision / NDCG on a per-user random 75/25 split (all ratings as interactions) and RMSE on 5-fold
cross-validation of the ratings. Prints a table and saves bench/results/recsys_probe.md."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.models.recsys import (
    EASE,
    ALSRatings,
    Biases,
    FactorModel,
    ItemKNN,
    ItemKNNRatings,
    RP3Beta,
    interaction_matrix,
    normalise_scores,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "movielens_100k" / "ratings.csv"
OUT = Path(__file__).resolve().parent / "results" / "recsys_probe.md"


def split_per_user(users: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(users)), users))
    counts = np.bincount(users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(users)) - np.repeat(starts, counts)
    n_test = np.floor(counts * share).astype(int)
    test_sorted = rank < np.repeat(n_test, counts)
    test = np.zeros(len(users), dtype=bool)
    test[order] = test_sorted
    return np.flatnonzero(~test), np.flatnonzero(test)


def precision_ndcg(scores: np.ndarray, seen, relevant, k: int = 10) -> tuple[float, float]:
    scores = scores.copy()
    scores[seen.nonzero()] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rel = relevant.toarray() > 0
    hits = np.take_along_axis(rel, top, axis=1)
    n_rel = rel.sum(axis=1)
    ok = n_rel > 0
    precision = hits[ok].sum(axis=1) / k
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.array([discounts[: min(k, n)].sum() for n in n_rel])
    return float(precision.mean()), float((dcg[ok] / ideal[ok]).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch", action="store_true", help="also the PyTorch factor models (35 s a fold)")
    args = ap.parse_args()
    df = pd.read_csv(DATA)
    users = df.user_id.astype("category").cat.codes.to_numpy()
    items = df.item_id.astype("category").cat.codes.to_numpy()
    U, I = users.max() + 1, items.max() + 1
    lines = ["# Recommender probe: MovieLens-100k", "", "## Top-10, per-user random 75/25 split (all ratings)", "",
             "| model | P@10 | NDCG@10 | fit s |", "|---|---:|---:|---:|"]
    train, test = split_per_user(users, 0.25, args.seed)
    R = interaction_matrix(users[train], items[train], U, I)
    T = interaction_matrix(users[test], items[test], U, I)
    everyone = np.arange(U)
    scores = {}
    for name, model in [("ease lam=200", EASE(200)), ("ease lam=500", EASE(500)), ("ease lam=1000", EASE(1000)),
                        ("rp3beta a=1 b=0.5", RP3Beta(1.0, 0.5)), ("rp3beta a=0.8 b=0.3", RP3Beta(0.8, 0.3)),
                        ("itemknn k=100", ItemKNN(100, 10))]:
        t = time.time()
        s = model.fit(R).score(R, everyone)
        scores[name] = s
        p, n = precision_ndcg(s, R, T)
        lines.append(f"| {name} | {p:.4f} | {n:.4f} | {time.time() - t:.2f} |")
        print(lines[-1], flush=True)
    best_ease = max((k for k in scores if k.startswith("ease")), key=lambda k: precision_ndcg(scores[k], R, T)[0])
    best_rp3 = max((k for k in scores if k.startswith("rp3")), key=lambda k: precision_ndcg(scores[k], R, T)[0])
    for w in (0.3, 0.5, 0.7):
        s = w * normalise_scores(scores[best_ease]) + (1 - w) * normalise_scores(scores[best_rp3])
        p, n = precision_ndcg(s, R, T)
        lines.append(f"| blend {w:.1f} {best_ease} + {1 - w:.1f} {best_rp3} (weights chosen on the test split: "
                     f"optimistic) | {p:.4f} | {n:.4f} | - |")
        print(lines[-1], flush=True)

    lines += ["", "## Ratings, 5-fold cross-validated RMSE (rows shuffled, seed 0)", "",
              "| model | RMSE | MAE | fit s (mean) |", "|---|---:|---:|---:|"]
    folds = np.random.default_rng(args.seed).permutation(len(df)) % 5
    r = df.rating.to_numpy(dtype=np.float64)
    configs = [("biases", lambda: Biases()),
               ("ALS f=100 reg=0.1", lambda: ALSRatings(100, 0.1, 15)),
               ("item-kNN on baseline residuals k=40", lambda: ItemKNNRatings(40, 100.0))]
    if args.torch:
        configs += [("biased MF f=64 (Adam)", lambda: FactorModel(64, 0.05, 0.01, 300, implicit=False)),
                    ("SVD++-style f=64 (Adam)", lambda: FactorModel(64, 0.05, 0.01, 300, implicit=True))]
    preds = {name: np.zeros(len(df)) for name, _ in configs}
    for name, make in configs:
        seconds = []
        for k in range(5):
            tr, te = folds != k, folds == k
            t = time.time()
            m = make()
            if isinstance(m, (FactorModel, ALSRatings)):
                m.fit(users[tr], items[tr], r[tr], U, I, deadline=Deadline.after(60))
            else:
                m.fit(users[tr], items[tr], r[tr], U, I)
            seconds.append(time.time() - t)
            preds[name][te] = m.predict(users[te], items[te])
        err = preds[name] - r
        lines.append(f"| {name} | {np.sqrt(np.mean(err ** 2)):.4f} | {np.mean(np.abs(err)):.4f} | "
                     f"{np.mean(seconds):.1f} |")
        print(lines[-1], flush=True)
    blend = 0.5 * preds["ALS f=100 reg=0.1"] + 0.5 * preds["item-kNN on baseline residuals k=40"]
    lines.append(f"| mean of ALS and item-kNN (fixed 0.5 / 0.5) | {np.sqrt(np.mean((blend - r) ** 2)):.4f} | "
                 f"{np.mean(np.abs(blend - r)):.4f} | - |")
    print(lines[-1])
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
