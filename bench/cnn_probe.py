"""Probe configurations of the ``cnn`` family on MNIST (5,000 images) under a CPU time limit, to choose its defaults.

The split is the one a benchmark of the whole run uses: a seeded stratified 80/20 split into 4,000 training and 1,000
test images; inside the training part, the stratified 80/20 holdout (3,200 fit / 800 validation) the AutoML search
validates on. Each configuration is trained on the 3,200 with the 800 as its eval_set under a deadline, then refitted
on all 4,000 for its fold's best epoch count (``refit_params``) under the same deadline. It prints a Markdown table.

    .venv/bin/python bench/cnn_probe.py --seconds 70 --threads 2 --configs default,wide
    .venv/bin/python bench/cnn_probe.py --list

A script that prints tables, not a test; the seconds are wall time on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accelml.budget import Deadline
from accelml.models.cnn import CNNModel

DATA = Path(os.environ.get("ACCELML_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))

# Named configurations: each overrides CNNModel.defaults.
CONFIGS: dict[str, dict] = {
    "default": {},
    # the first guess: wider stages and a global average head (4x the compute of the default)
    "gap_32": {"width": 32, "head_pool": "avg", "batch_size": 128, "label_smoothing": 0.0, "max_epochs": 15},
    "gap_16": {"head_pool": "avg", "label_smoothing": 0.0},
    "avg_head": {"head_pool": "avg"},
    "avgmax_head": {"head_pool": "avgmax"},
    "w24": {"width": 24},
    "w32": {"width": 32},
    "2stages": {"stages": 2},
    "2blocks": {"blocks": 2},
    "residual": {"block": "residual"},
    "separable": {"block": "separable"},
    "stride": {"pool": "stride"},
    "k5": {"kernel": 5},
    "bs32": {"batch_size": 32},
    "bs128": {"batch_size": 128},
    "lr2e-3": {"learning_rate": 2e-3},
    "lr5e-3": {"learning_rate": 5e-3},
    "cosine": {"schedule": "cosine"},
    "constant": {"schedule": "constant"},
    "ls0": {"label_smoothing": 0.0},
    "ls0.2": {"label_smoothing": 0.2},
    "drop0.3": {"dropout": 0.3},
    "no_aug": {"translate": 0.0, "rotate": 0.0, "scale": 0.0},
    "shift_only": {"rotate": 0.0, "scale": 0.0},
    "cutout": {"cutout": 0.25},
    "mixup": {"mixup": 0.2},
    "e8": {"max_epochs": 8},
    "e15": {"max_epochs": 15},
    "e16": {"max_epochs": 16},
    "e20": {"max_epochs": 20},
}


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(DATA / "mnist_5000" / "mnist_5000.csv.gz")
    y = frame["label"].to_numpy(np.int64)
    X = frame.drop(columns="label").to_numpy(np.uint8).reshape(-1, 1, 28, 28)
    return X, y


def splits(X: np.ndarray, y: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=0, stratify=y_train)
    return {"train": (X_train, y_train), "test": (X_test, y_test), "fit": (X_fit, y_fit), "val": (X_val, y_val)}


def accuracy(model: CNNModel, data: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.mean(model.predict(data[0]) == data[1]))


def probe(params: dict, data: dict, seconds: float, threads: int, refit: bool, seed: int) -> dict:
    start = time.monotonic()
    model = CNNModel(task="multiclass", params=params, n_jobs=threads, seed=seed)
    model.fit(*data["fit"], eval_set=data["val"], deadline=Deadline.after(seconds))
    row = {"epochs": f"{model.epochs_}/{model.max_epochs_}", "best": model.best_epoch_,
           "fit s": time.monotonic() - start, "val acc": accuracy(model, data["val"]),
           "test acc": accuracy(model, data["test"]), "_proba": model.predict_proba(data["test"][0])}
    if refit:
        start = time.monotonic()
        again = CNNModel(task="multiclass", params=model.refit_params([model]), n_jobs=threads, seed=seed)
        again.fit(*data["train"], deadline=Deadline.after(seconds))
        row.update({"refit epochs": f"{again.epochs_}/{again.max_epochs_}", "refit s": time.monotonic() - start,
                    "refit test acc": accuracy(again, data["test"])})
        both = (model.predict_proba(data["test"][0]) + again.predict_proba(data["test"][0])) / 2
        row["fold+refit test acc"] = float(np.mean(np.argmax(both, axis=1) == data["test"][1]))
    row["describe"] = model.describe()
    return row


def mean_row(rows: list[dict]) -> dict:
    """The mean of each number over one configuration's seeds."""
    out = {"config": rows[0]["config"], "seed": "mean"}
    proba = np.mean([row["_proba"] for row in rows], axis=0)
    out["seeds' ensemble test acc"] = float(np.mean(np.argmax(proba, axis=1) == rows[0]["_test_y"]))
    for column, value in rows[0].items():
        if isinstance(value, float):
            out[column] = float(np.mean([row[column] for row in rows]))
    return out


def table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(c for row in rows for c in row if c != "describe" and not c.startswith("_")))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row.get(c, ''):.4f}" if isinstance(row.get(c), float) and "acc" in c
                 else f"{row.get(c, ''):.1f}" if isinstance(row.get(c), float) else str(row.get(c, ''))
                 for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="default",
                        help="comma-separated names (see --list); 'a+b' merges the overrides of a and b")
    parser.add_argument("--seconds", type=float, default=70.0, help="deadline of each fit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds of the model (the split stays seed 0)")
    parser.add_argument("--no-refit", action="store_true", help="skip the refit on all 4,000 images")
    parser.add_argument("--out", type=Path, default=None, help="append the table to this Markdown file")
    parser.add_argument("--list", action="store_true", help="print the configurations and exit")
    args = parser.parse_args()
    if args.list:
        for name, params in CONFIGS.items():
            print(f"{name}: {params}")
        return
    data = splits(*load_mnist())
    print(f"defaults: {CNNModel.defaults}")
    rows, seeds = [], [int(s) for s in args.seeds.split(",")]
    for name in args.configs.split(","):
        params = {k: v for part in name.split("+") for k, v in CONFIGS[part].items()}  # "c16+bs64": both
        for seed in seeds:
            row = {"config": name, "seed": seed, "_test_y": data["test"][1], **probe(params, data, args.seconds, args.threads, not args.no_refit,
                                                         seed)}
            print({k: v for k, v in row.items() if not k.startswith("_")}, flush=True)
            rows.append(row)
        if len(seeds) > 1:
            rows.append(mean_row(rows[-len(seeds):]))
    text = (f"{args.seconds:.0f} s deadline per fit, {args.threads} threads, "
            f"load average {os.getloadavg()[0]:.2f} at the end\n\n{table(rows)}\n")
    print(text)
    if args.out is not None:
        with args.out.open("a") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
