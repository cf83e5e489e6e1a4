"""Image classification benchmark: accelml on a folder of PNGs against FLAML and AutoGluon on the raw pixels, at the
same time limits, cores and split, one framework after another (run it alone: other work skews every figure).

    .venv/bin/python bench/images.py --time-limits 60,120            # accelml, FLAML, AutoGluon, LightGBM
    .venv/bin/python bench/images.py --time-limits 60 --frameworks accelml --no-transfer --no-speed

Data: ``../shared/datasets/mnist_5000`` (5,000 28x28 digits), one seeded stratified 80/20 split: 4,000 training
images written as a folder of PNGs (one subfolder per class) and 1,000 test images. Printed and saved to
``bench/results/images_<stamp>.{md,json}``:

* per time limit: test accuracy and wall time / limit of accelml (the folder, every family), FLAML and AutoGluon
  (medium quality) on the 784 pixel columns, plain LightGBM on the pixels (early-stopped on a tenth of the training
  rows, no time limit), and, from accelml's run, the best ``cnn`` and ``efficientnet`` trials (validation accuracy on
  the holdout; test accuracy when the trial is an ensemble member);
* transfer: with 1,000 training images, logistic regression on frozen EfficientNet-Lite0 features against raw pixels;
* prediction: images per second for 1,000 test files in one call, and one image's latency through the service.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import compare
import run_bench

DATASET = run_bench.DATASETS_DIR / "mnist_5000"
CACHE = BENCH / ".cache" / "images"
MARKER = "IMAGES_BENCH_RESULT "


# ---------------------------------------------------------------------------------------------------------- data
def prepare(seed: int) -> dict[str, Any]:
    """The split, written once: PNG folders for accelml, Parquet pixel tables for the peers."""
    import pandas as pd
    from PIL import Image
    from sklearn.model_selection import train_test_split

    folder = CACHE / f"mnist_5000_{seed}"
    meta_path = folder / "meta.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    frame = pd.read_csv(next(DATASET.glob("*.csv*")))
    train, test = train_test_split(frame, test_size=0.2, stratify=frame["label"], random_state=seed)
    for part, rows in (("train", train), ("test", test)):
        for i, (label, pixels) in enumerate(zip(rows["label"], rows.drop(columns="label").to_numpy(), strict=True)):
            path = folder / part / (f"{label}/{i:05d}.png" if part == "train" else f"{i:05d}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels.reshape(28, 28).astype(np.uint8)).save(path)
        rows.to_parquet(folder / f"{part}.parquet", index=False)
    meta = {"folder": str(folder), "train": str(folder / "train"), "test": str(folder / "test"),
            "train_path": str(folder / "train.parquet"), "test_path": str(folder / "test.parquet"),
            "test_labels": test["label"].tolist(), "train_rows": len(train), "test_rows": len(test),
            "digest": compare._digest(train, test), "split": "stratified 80/20", "target_transform": None}
    meta_path.write_text(json.dumps(meta))
    return meta


# ---------------------------------------------------------------------------------------------------------- accelml
def accelml_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One accelml fit on the training folder in this (fresh) process; test accuracy and what each family did."""
    started = time.perf_counter()
    import accelml
    from accelml.features.images import image_columns

    meta = spec["meta"]
    automl = accelml.AutoML(time_limit=spec["time_limit"], n_jobs=spec["jobs"], seed=spec["seed"],
                            models=spec.get("models"))
    automl.fit(meta["train"])
    wall = time.perf_counter() - started
    paths = sorted(str(p) for p in Path(meta["test"]).glob("*.png"))
    truth = np.asarray(meta["test_labels"]).astype(str)
    t = time.perf_counter()
    proba = automl.predict_proba(paths)
    batch_s = time.perf_counter() - t
    accuracy = float(np.mean(proba.columns.to_numpy().astype(str)[proba.to_numpy().argmax(axis=1)] == truth))
    result = automl.result_
    families = _families(result, truth, paths, automl)
    return {"framework": "accelml", "status": "ok", "accuracy": accuracy, "wall_s": wall,
            "fit_over_limit": wall / spec["time_limit"], "images_per_s": len(paths) / batch_s,
            "trials": len(result.trials), "ensemble": result.ensemble.names,
            "validation": result.extra["validation"]["description"], "families": families,
            "image_columns": image_columns(result.schema)}


def _families(result: Any, truth: np.ndarray, paths: list[str], automl: Any) -> dict[str, Any]:
    """Per family: trials run, the best trial's validation accuracy, its architecture, and its test accuracy when it
    is an ensemble member."""
    from accelml.data.sources import prediction_frame

    classes = np.asarray(result.schema.classes).astype(str)
    frame = prediction_frame(paths, result.schema)
    members = {m.name: m for m in result.ensemble.members}
    out: dict[str, Any] = {}
    for trial in result.trials:
        family = trial.spec.model
        entry = out.setdefault(family, {"trials": 0, "ok": 0, "best": None})
        entry["trials"] += 1
        if not trial.ok:
            continue
        entry["ok"] += 1
        if entry["best"] is None or trial.loss < entry["best"]["loss"]:
            entry["best"] = {"name": trial.spec.name, "loss": trial.loss, "val_log_loss": trial.score,
                             "architecture": trial.extra.get("architecture"), "epochs": len(trial.extra.get("curve", []))}
    for entry in out.values():
        best = entry["best"]
        if best is not None and best["name"] in members:
            outputs = members[best["name"]].predict(frame, {})
            best["test_accuracy"] = float(np.mean(classes[np.argmax(outputs, axis=1)] == truth))
    return out


def run_accelml(meta: dict[str, Any], limit: float, args: argparse.Namespace) -> dict[str, Any]:
    spec = {"meta": meta, "time_limit": limit, "jobs": args.jobs, "seed": args.seed,
            "models": args.models.split(",") if args.models else None}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                          timeout=3 * limit + 300, cwd=str(ROOT))
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)), None)
    if proc.returncode != 0 or line is None:
        return {"framework": "accelml", "status": "crash", "error": proc.stderr.strip().splitlines()[-3:]}
    row = json.loads(line[len(MARKER):])
    row["process_s"] = time.perf_counter() - started
    return row


# ---------------------------------------------------------------------------------------------------------- others
def run_peer(key: str, meta: dict[str, Any], limit: float, args: argparse.Namespace) -> dict[str, Any]:
    fw = compare.FRAMEWORKS[key]
    if not fw.python.exists():
        return {"framework": key, "status": "not installed (bash bench/peers/install.sh)"}
    entry = {"target": "label", "task": "multiclass", "metric": "accuracy"}
    ns = argparse.Namespace(time_limit=limit, jobs=args.jobs, seed=args.seed, keep_artifacts=False)
    row = compare.run_framework(fw, "mnist_5000", entry, meta, ns)
    return {"framework": key, "status": row.get("status"), "accuracy": row.get("test_score"),
            "wall_s": row.get("fit_s"), "fit_over_limit": (row.get("fit_s") or 0) / limit,
            "error": row.get("error")}


def run_lightgbm(meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import lightgbm
    import pandas as pd

    train, test = pd.read_parquet(meta["train_path"]), pd.read_parquet(meta["test_path"])
    X, y = train.drop(columns="label").to_numpy(np.float32), train["label"].to_numpy()
    cut = int(0.9 * len(X))
    started = time.perf_counter()
    model = lightgbm.LGBMClassifier(n_estimators=2000, learning_rate=0.1, num_threads=args.jobs, verbose=-1,
                                    random_state=args.seed)
    model.fit(X[:cut], y[:cut], eval_set=[(X[cut:], y[cut:])],
              callbacks=[lightgbm.early_stopping(30, verbose=False)])
    wall = time.perf_counter() - started
    accuracy = float(np.mean(model.predict(test.drop(columns="label").to_numpy(np.float32)) == test["label"]))
    return {"framework": "lightgbm (pixels)", "status": "ok", "accuracy": accuracy, "wall_s": wall,
            "rounds": int(model.best_iteration_ or 0)}


def transfer(meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Logistic regression on 1,000 training images: frozen EfficientNet-Lite0 features against raw pixels."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from accelml.features.pretrained import embed, load_backbone
    from accelml.models._torch import torch_threads

    train, test = pd.read_parquet(meta["train_path"]), pd.read_parquet(meta["test_path"])
    small, _ = train_test_split(train, train_size=1000, stratify=train["label"], random_state=args.seed)
    out = {}
    images = {name: part.drop(columns="label").to_numpy(np.uint8).reshape(-1, 1, 28, 28)
              for name, part in (("train", small), ("test", test))}
    backbone = load_backbone()
    with torch_threads(args.jobs):
        t = time.perf_counter()
        features = {name: embed(backbone, x, 112, n_jobs=args.jobs) for name, x in images.items()}
        seconds = time.perf_counter() - t
    out["embed_images_per_s"] = (len(images["train"]) + len(images["test"])) / seconds
    for name, (a, b) in {"pixels": (images["train"].reshape(1000, -1) / 255.0, images["test"].reshape(len(test), -1)
                                    / 255.0), "efficientnet_lite0": (features["train"], features["test"])}.items():
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        model.fit(a, small["label"])
        out[name] = float(np.mean(model.predict(b) == test["label"].to_numpy()))
    return out


def service_latency(meta: dict[str, Any], limit: float, args: argparse.Namespace) -> dict[str, Any]:
    """One PNG through POST /predict (multipart) of a model fitted here, median of 50 requests."""
    import tempfile

    from fastapi.testclient import TestClient

    import accelml
    from accelml.serve import create_app

    automl = accelml.AutoML(time_limit=limit, n_jobs=args.jobs, seed=args.seed).fit(meta["train"])
    with tempfile.TemporaryDirectory() as tmp:
        path = automl.save(Path(tmp) / "model")
        client = TestClient(create_app(path))
        png = next(Path(meta["test"]).glob("*.png")).read_bytes()
        times = []
        for _ in range(50):
            t = time.perf_counter()
            response = client.post("/predict", files={"files": ("digit.png", png, "image/png")})
            times.append(time.perf_counter() - t)
            assert response.status_code == 200, response.text
    return {"single_image_ms_median": 1000 * statistics.median(times), "ensemble": automl.result_.ensemble.names}


# ---------------------------------------------------------------------------------------------------------- main
def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| limit | framework | status | test accuracy | wall s | wall / limit | notes |",
             "|---:|---|---|---:|---:|---:|---|"]
    for r in rows:
        acc = f"{r['accuracy']:.4f}" if isinstance(r.get("accuracy"), float) else "-"
        wall = f"{r['wall_s']:.1f}" if r.get("wall_s") else "-"
        ratio = f"{r['fit_over_limit']:.3f}" if r.get("fit_over_limit") else "-"
        lines.append(f"| {r.get('limit', '-')} | {r['framework']} | {r.get('status')} | {acc} | {wall} | {ratio} | "
                     f"{r.get('notes', '')} |")
    return "\n".join(lines)


def family_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for family, entry in sorted(row.get("families", {}).items()):
        best = entry.get("best") or {}
        acc = best.get("test_accuracy")
        notes = (f"{entry['ok']}/{entry['trials']} trials ok; best {best.get('name')}: val log_loss "
                 f"{best.get('val_log_loss', float('nan')):.4f}, {best.get('epochs', 0)} epochs"
                 + ("" if acc is not None else " (not an ensemble member: no test accuracy)")
                 + (f"; {best['architecture']}" if best.get("architecture") else ""))
        out.append({"limit": row.get("limit"), "framework": f"  accelml best {family} trial", "status": "",
                    "accuracy": acc, "notes": notes})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limits", default="60,120")
    parser.add_argument("--frameworks", default="accelml,flaml,ag_medium,lightgbm")
    parser.add_argument("--models", default=None, help="accelml's families (default: every installed one)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-transfer", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--child", default=None)
    args = parser.parse_args(argv)
    if args.child:
        print(MARKER + json.dumps(accelml_child(json.loads(args.child))), flush=True)
        return 0
    meta = prepare(args.seed)
    frameworks = args.frameworks.split(",")
    rows: list[dict[str, Any]] = []
    for limit in [float(v) for v in args.time_limits.split(",")]:
        for key in frameworks:
            print(f"[{time.strftime('%H:%M:%S')}] {key} at {limit:.0f} s ...", flush=True)
            if key == "accelml":
                row = run_accelml(meta, limit, args)
                row["notes"] = (f"{row.get('trials')} trials; ensemble {row.get('ensemble')}; "
                                f"{row.get('validation')}; {row.get('images_per_s', 0):.0f} images/s predicted")
            elif key == "lightgbm":
                if any(r["framework"].startswith("lightgbm") for r in rows):
                    continue  # no time limit: once is enough
                row = run_lightgbm(meta, args)
                row["notes"] = f"{row['rounds']} rounds, early-stopped, no limit"
            else:
                row = run_peer(key, meta, limit, args)
                row["notes"] = row.get("error") or "raw pixels"
            row["limit"] = limit if key != "lightgbm" else "-"
            rows.append(row)
            rows.extend(family_rows(row) if key == "accelml" else [])
            print(table([row]).splitlines()[-1], flush=True)
    extras: dict[str, Any] = {}
    for name, wanted, run in (("transfer_1000", not args.no_transfer, lambda: transfer(meta, args)),
                              ("service", not args.no_speed, lambda: service_latency(meta, 30.0, args))):
        if wanted:
            print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
            try:
                extras[name] = run()
            except Exception as exc:  # the tables above are still saved
                extras[name] = {"error": f"{type(exc).__name__}: {exc}"}
    info = {"machine": run_bench.machine_info(), "jobs": args.jobs, "seed": args.seed, "split": meta["split"],
            "train_rows": meta["train_rows"], "test_rows": meta["test_rows"]}
    text = "\n".join([f"# Images: mnist_5000, {meta['train_rows']:,} training PNGs, {meta['test_rows']:,} test",
                      "", f"machine: {json.dumps(info['machine'])}", "", table(rows), "",
                      "```", json.dumps(extras, indent=1), "```", ""])
    print(text)
    out = BENCH / "results"
    stamp = time.strftime("%Y%m%d-%H%M")
    (out / f"images_{stamp}.md").write_text(text)
    (out / f"images_{stamp}.json").write_text(json.dumps({"info": info, "rows": rows, "extras": extras}, indent=1,
                                                         default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
