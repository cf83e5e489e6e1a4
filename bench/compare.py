"""Side-by-side benchmark: accelml, FLAML and AutoGluon on the same splits, time limit and cores.

Each dataset is split once (the split of ``run_bench.py``) into ``bench/.cache/splits/<dataset>_<seed>/``; every
framework then fits on those files in a fresh process of its own virtual environment, one framework after another,
never two at once. Peer results are cached in ``bench/results/peers_cache.json``; accelml is always re-run.

Usage:
    .venv/bin/python bench/compare.py --time-limit 15 --datasets blood_transfusion,sklearn_diabetes
    .venv/bin/python bench/compare.py --time-limit 60 --frameworks flaml,ag_medium,ag_best --reuse-peers
    .venv/bin/python bench/compare.py --time-limit 60 --reuse-peers
    .venv/bin/python bench/compare.py --time-limit 60 --datasets large --frameworks accelml,flaml,ag_medium

Install the peers first with ``bench/peers/install.sh``. See bench/peers/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import run_bench

ROOT = run_bench.ROOT
BENCH = ROOT / "bench"
PEERS = BENCH / "peers"
# The summary, the report and the peers' restated metrics live beside the peer runners.
sys.path.insert(0, str(PEERS))

import compare_report
import compare_stats
import scoring

CACHE = BENCH / ".cache"
DEFAULT_DATASETS = (
    "blood_transfusion", "credit_approval", "kr_vs_kp", "credit_data", "spambase", "adult",  # binary
    "segment", "letter",  # multiclass
    "sklearn_diabetes", "house_prices_kaggle", "california_housing", "nyc_taxis",  # regression
)
# The large tables (19,000-336,000 rows), where the first minute must go where it pays (issue 17.5): --datasets large
LARGE_DATASETS = ("adult", "california_housing", "nycflights13_flights", "default_credit_card", "magic_telescope")
PEER_MARKER = "PEER_BENCH_RESULT "
CACHE_FORMAT = 1


@dataclass(frozen=True)
class Framework:
    """One contender: accelml (the ``run_bench.py`` child) or a peer runner in its own virtual environment."""

    key: str
    venv: str | None = None  # folder under bench/peers; None for accelml
    script: str | None = None  # runner under bench/peers
    package: str = "accelml"  # distribution whose version keys the cache
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_peer(self) -> bool:
        return self.venv is not None

    @property
    def python(self) -> Path:
        return PEERS / self.venv / "bin" / "python" if self.venv else Path(sys.executable)


FRAMEWORKS = {
    f.key: f
    for f in (
        Framework("accelml"),
        Framework("flaml", ".venv-flaml", "run_flaml.py", "flaml"),
        Framework("ag_medium", ".venv-autogluon", "run_autogluon.py", "autogluon.tabular", {"preset": "medium_quality"}),
        Framework("ag_best", ".venv-autogluon", "run_autogluon.py", "autogluon.tabular", {"preset": "best_quality"}),
    )
}


# ---------------------------------------------------------------------------------------------------------- splits
def materialise_split(name: str, entry: dict[str, Any], seed: int) -> dict[str, Any]:
    """Write the dataset's train and test files once and return their description (paths, rows, digest).

    The split comes from ``run_bench.load_split``, so accelml sees here exactly what ``run_bench.py`` gives it.
    """
    folder = CACHE / "splits" / f"{name}_{seed}"
    meta_path = folder / "meta.json"
    if meta_path.exists() and (folder / "train.parquet").exists() and (folder / "test.parquet").exists():
        return json.loads(meta_path.read_text())
    train, test, split, transform = run_bench.load_split(name, entry, seed)
    folder.mkdir(parents=True, exist_ok=True)
    train.to_parquet(folder / "train.parquet", index=False)
    test.to_parquet(folder / "test.parquet", index=False)
    meta = {
        "dataset": name,
        "seed": seed,
        "split": split,
        "target_transform": transform,
        "train_rows": len(train),
        "test_rows": len(test),
        "digest": _digest(train, test),
        "train_path": str(folder / "train.parquet"),
        "test_path": str(folder / "test.parquet"),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _digest(*frames: Any) -> str:
    """A short fingerprint of the split's contents, so a changed split never reuses a cached peer result."""
    import pandas as pd

    h = hashlib.sha256()
    for frame in frames:
        h.update("\x1f".join(map(str, frame.columns)).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------- children
def run_framework(fw: Framework, name: str, entry: dict[str, Any], split: dict[str, Any],
                  args: argparse.Namespace) -> dict[str, Any]:
    """Fit one framework on one dataset in a fresh process with a hard timeout; never raises."""
    work = CACHE / "work" / f"{fw.key}_{name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if fw.is_peer:
        job = {
            "dataset": name, "train_path": split["train_path"], "test_path": split["test_path"],
            "target": entry["target"], "task": entry["task"], "metric": entry["metric"],
            "time_limit": args.time_limit, "cores": args.jobs, "seed": args.seed, "workdir": str(work / "model"),
            "options": fw.options,
        }
        job_path = work / "job.json"
        job_path.write_text(json.dumps(job, indent=2))
        cmd = [str(fw.python), str(PEERS / fw.script), str(job_path)]
        marker = PEER_MARKER
    else:
        spec = {
            "name": name, "entry": entry, "time_limit": args.time_limit, "jobs": args.jobs, "seed": args.seed,
            "max_trials": None, "train_path": split["train_path"], "test_path": split["test_path"],
            "split": split["split"], "target_transform": split["target_transform"],
            "models": args.models.split(",") if args.models else None,
        }
        cmd = [str(fw.python), str(BENCH / "run_bench.py"), "--child", json.dumps(spec)]
        marker = run_bench.RESULT_MARKER
    row: dict[str, Any] = {"load_avg_1m_before": run_bench._load_avg()}
    row.update(run_isolated(cmd, 3 * args.time_limit + 180, cwd=work, env=_child_env(fw), marker=marker))
    if not args.keep_artifacts:
        shutil.rmtree(work, ignore_errors=True)
    return row


def _child_env(fw: Framework) -> dict[str, str]:
    env = dict(os.environ)
    if fw.is_peer:
        # The peer's own interpreter and nothing of accelml's environment.
        for var in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
            env.pop(var, None)
        env["PATH"] = f"{fw.python.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_isolated(cmd: list[str], timeout: float, *, cwd: Path, env: dict[str, str] | None,
                 marker: str) -> dict[str, Any]:
    """Run ``cmd`` in a fresh session and read the result line it prints after ``marker``: that result, or a
    ``timeout`` / ``crash`` row with the reason and the end of stderr; ``process_s`` is the child's wall time. On a
    timeout the child and everything it started (AutoGluon forks) are killed, and nothing else; never raises."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=str(cwd), env=env)
    row: dict[str, Any] = {}
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        try:
            stdout, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # a descendant in another session still holds the pipes
            proc.kill()
            stdout, stderr = "", ""
        row.update(status="timeout", error=f"killed after {timeout:.0f} s", stderr_tail=_tail(stderr))
    else:
        result = _parse(stdout, marker)
        if proc.returncode == 0 and result is not None:
            row.update(result)
        else:
            tail = [line for line in stderr.strip().splitlines() if line.strip()]
            reason = f"exit code {proc.returncode}" + (" (killed: out of memory?)" if proc.returncode == -9 else "")
            row.update(status="crash", error=tail[-1] if tail else reason, exit_code=proc.returncode,
                       stderr_tail=_tail(stderr))
    finally:
        _kill_leftovers(proc.pid)
    row["process_s"] = time.perf_counter() - started
    return row


def _kill_leftovers(pgid: int) -> None:
    # Daemons a framework left behind (Ray workers) would otherwise take CPU from the next framework.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _parse(stdout: str, marker: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            return json.loads(line[len(marker):])
    return None


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join([line for line in text.strip().splitlines() if line.strip()][-lines:])


def finish_row(row: dict[str, Any], fw: Framework, name: str, entry: dict[str, Any], split: dict[str, Any] | None,
               version: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """Add the columns every row shares, whichever child produced it."""
    from accelml.metrics import get_metric

    row.update(
        framework=fw.key,
        version=row.get("version") or version,
        dataset=name,
        task=entry["task"],
        metric=entry["metric"],
        greater_is_better=get_metric(entry["metric"], entry["task"]).greater_is_better,
        target_transform=split and split["target_transform"],
        split_digest=split and split["digest"],
        time_limit=args.time_limit,
        cores=args.jobs,
        seed=args.seed,
    )
    if row.get("status") == "ok":
        row["wall_over_limit"] = row["fit_s"] / args.time_limit
        row["peak_mb"] = row["peak_rss_mb"] + (row.get("peak_rss_children_mb") or 0.0)
    return row


# ---------------------------------------------------------------------------------------------------------- cache
def cache_key(fw: Framework, version: str | None, name: str, split: dict[str, Any], args: argparse.Namespace) -> str:
    return "|".join([fw.key, str(version), name, f"{args.time_limit:g}s", f"seed{args.seed}", f"cores{args.jobs}",
                     f"cpus{os.cpu_count()}", f"split{split['digest']}"])


def cached_version(cache: dict[str, Any], framework: str) -> str | None:
    """The version of ``framework`` whose results the cache holds most of (None when it holds none)."""
    versions = [key.split("|")[1] for key in cache if key.split("|")[0] == framework]
    return max(set(versions), key=versions.count) if versions else None


def load_cache(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data.get("entries", {}) if data.get("format") == CACHE_FORMAT else {}


def save_cache(path: Path, entries: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = run_bench._finite({"format": CACHE_FORMAT, "entries": dict(sorted(entries.items()))})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False, default=str) + "\n")
    tmp.replace(path)


def peer_version(fw: Framework) -> str | None:
    """The installed version of the peer's package, read without importing it; None when it is not installed."""
    if not fw.python.exists():
        return None
    code = f"from importlib.metadata import version; print(version({fw.package!r}))"
    out = subprocess.run([str(fw.python), "-c", code], capture_output=True, text=True, timeout=60,
                         env=_child_env(fw), check=False)
    return (out.stdout.strip() or None) if out.returncode == 0 else None


# ---------------------------------------------------------------------------------------------------------- checks
def check_scoring() -> None:
    """The peers' restated metrics (bench/peers/scoring.py) must match accelml's on random data."""
    import numpy as np

    from accelml.metrics import get_metric

    rng = np.random.default_rng(0)
    cases = []
    for task, k in (("binary", 2), ("multiclass", 5)):
        y = rng.integers(0, k, 300)
        proba = rng.dirichlet(np.ones(k), 300)
        proba[0] = 0.0
        proba[0, (y[0] + 1) % k] = 1.0  # certain and wrong: exercises the clipping
        cases += [(m, task, y, proba) for m in ("roc_auc", "log_loss", "accuracy")]
    y, pred = rng.normal(size=200), rng.normal(size=200)
    cases += [(m, "regression", y, pred) for m in ("rmse", "mae", "r2")]
    for metric, task, y, out in cases:
        ours = get_metric(metric, task).score_from_proba(y, out) if task != "regression" else \
            get_metric(metric, task).score(y, out)
        theirs = scoring.score(metric, y, out)
        if not np.isclose(ours, theirs, rtol=1e-9, atol=1e-12):
            sys.exit(f"bench/peers/scoring.py disagrees with accelml on {metric} ({task}): {theirs} vs {ours}")


def other_benchmarks() -> list[str]:
    """Command lines of other benchmark processes on this machine (timings are only fair with one at a time)."""
    mine = _ancestors()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            pid = int(proc.name)
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue
        words = cmd.split()
        # Any Python running a script of bench/ (run_bench.py, compare.py, the peer runners, build_portfolio.py...).
        if pid not in mine and words and "python" in Path(words[0]).name and any(
                "bench/" in w and w.endswith(".py") for w in words[1:3]):
            found.append(f"{pid}: {cmd[:160]}")
    return found


def _ancestors() -> set[int]:
    """This process and its parents (the shell or nohup that started it mentions compare.py too)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


# ---------------------------------------------------------------------------------------------------------- parent
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per dataset, the same for everyone")
    parser.add_argument("--datasets", help=f"comma-separated names, or 'large' for {','.join(LARGE_DATASETS)} "
                                           f"(default: {','.join(DEFAULT_DATASETS)})")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help=f"comma-separated, run in this order (default: {','.join(FRAMEWORKS)})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="cores for every framework (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of every framework")
    parser.add_argument("--models", help="accelml's model families (comma-separated; default: every registered one)")
    parser.add_argument("--reuse-peers", action="store_true",
                        help="reuse cached peer results of the same version, dataset, limit, seed, cores and machine")
    parser.add_argument("--retry-failed", action="store_true", help="with --reuse-peers: re-run cached crashes")
    parser.add_argument("--keep-artifacts", action="store_true",
                        help="keep each framework's saved model under bench/.cache/work/ (default: deleted)")
    parser.add_argument("--force", action="store_true", help="run even while another benchmark is running")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="folder for the reports and the cache")
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    if args.jobs is None or args.jobs < 1:
        parser.error("--jobs must be a positive number of cores")
    keys = [k.strip() for k in args.frameworks.split(",") if k.strip()]
    unknown = [k for k in keys if k not in FRAMEWORKS]
    if unknown or not keys:
        parser.error(f"unknown framework(s) {', '.join(unknown) or '(none given)'}; valid: {', '.join(FRAMEWORKS)}")
    args.framework_keys = keys
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    busy = other_benchmarks()
    if busy and not args.force:
        sys.exit("another benchmark is running; timings are only fair one at a time (or pass --force):\n  "
                 + "\n  ".join(busy))
    check_scoring()
    catalogue = json.loads((run_bench.DATASETS_DIR / "datasets.json").read_text())
    wanted = ",".join(LARGE_DATASETS) if args.datasets == "large" else args.datasets or ",".join(DEFAULT_DATASETS)
    names = run_bench.select_datasets(catalogue, wanted, False)
    frameworks = [FRAMEWORKS[k] for k in args.framework_keys]
    info = run_bench.machine_info()
    versions = {fw.key: peer_version(fw) if fw.is_peer else info["accelml_version"] for fw in frameworks}
    cache_path = args.out / "peers_cache.json"
    cache = load_cache(cache_path)
    if args.reuse_peers:  # a peer not installed here is taken from the cache alone, at the version cached
        for fw in frameworks:
            if fw.is_peer and versions[fw.key] is None:
                versions[fw.key] = cached_version(cache, fw.key)
    missing = [fw.key for fw in frameworks if fw.is_peer and versions[fw.key] is None]
    if missing:
        sys.exit(f"not installed: {', '.join(missing)}; run bench/peers/install.sh")
    info["framework_versions"] = versions
    run_args = {"time_limit": args.time_limit, "jobs": args.jobs, "seed": args.seed, "datasets": names,
                "frameworks": args.framework_keys, "reuse_peers": args.reuse_peers, "models": args.models,
                "child_timeout_s": 3 * args.time_limit + 180}
    stem = f"compare_{args.time_limit:g}s_{dt.datetime.now():%Y%m%d-%H%M}"
    _log(f"compare: {', '.join(f'{k} {v}' for k, v in versions.items())}; {info['cpu_count']} CPUs, "
         f"{len(names)} dataset(s), limit {args.time_limit:g} s, cores {args.jobs}, seed {args.seed}")

    rows: list[dict[str, Any]] = []
    for i, name in enumerate(names, 1):
        entry = catalogue[name]
        _log(f"[{i}/{len(names)}] {name} ({entry['task']}, {entry.get('rows')} rows, {entry['metric']})")
        try:
            split = materialise_split(name, entry, args.seed)
        except Exception as exc:  # noqa: BLE001 - the dataset fails for everyone, the run goes on
            for fw in frameworks:
                row = {"status": "crash", "error": f"split failed: {exc!r}"}
                rows.append(finish_row(row, fw, name, entry, None, versions[fw.key], args))
            _log(f"    split FAILED: {exc!r}")
            continue
        for fw in frameworks:
            key = cache_key(fw, versions[fw.key], name, split, args) if fw.is_peer else None
            cached = cache.get(key) if key and args.reuse_peers else None
            if cached and (cached.get("status") == "ok" or not args.retry_failed):
                row = dict(cached, cached=True)
            else:
                row = run_framework(fw, name, entry, split, args)
                row = finish_row(row, fw, name, entry, split, versions[fw.key], args)
                row["cached"] = False
                if key:
                    cache[key] = {k: v for k, v in row.items() if k != "cached"}
                    save_cache(cache_path, cache)
            rows.append(row)
            _log(f"    {fw.key:<10} {_progress(row)}")
        # Written after every dataset so an interrupted run still leaves its finished rows behind.
        paths = write_outputs(args.out, stem, args.time_limit, rows, info, run_args)

    summary = compare_stats.summarise(rows, args.framework_keys)
    print(compare_report.markdown_tables(rows, args.framework_keys, summary))
    for path in paths if rows else []:
        _log(f"wrote {path}")
    return 0


def write_outputs(out: Path, stem: str, limit: float, rows: list[dict[str, Any]], info: dict[str, Any],
                  args: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    summary = compare_stats.summarise(rows, args["frameworks"])
    report = compare_report.markdown_report(rows, info, args, summary)
    md, js, latest = out / f"{stem}.md", out / f"{stem}.json", out / f"compare_latest_{limit:g}s.md"
    md.write_text(report)
    latest.write_text(report)
    payload = run_bench._finite({"machine": info, "args": args, "summary": summary, "rows": rows})
    js.write_text(json.dumps(payload, indent=2, allow_nan=False, default=str) + "\n")
    return [md, js, latest]


def _progress(row: dict[str, Any]) -> str:
    cached = " (cached)" if row.get("cached") else ""
    if row.get("status") != "ok":
        return f"{str(row.get('status')).upper()}: {row.get('error')}{cached}"
    return (f"test {row['test_score']:.5g}, fit {row['fit_s']:.1f} s ({row['wall_over_limit']:.2f}× limit), "
            f"predict {row['predict_s_per_1k']:.3g} s/1k, peak {row['peak_mb']:.0f} MB, "
            f"artifact {row['artifact_mb'] if row.get('artifact_mb') is not None else float('nan'):.1f} MB{cached}")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
