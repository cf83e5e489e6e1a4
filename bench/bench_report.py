"""Markdown for the benchmark: the results table and the full report around it (machine, settings, failures)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["markdown_report", "markdown_table", "plain_table"]

def plain_table(rows: list[dict[str, Any]], digits: int = 4) -> str:
    """Rows of plain values as a Markdown table, one column per key (in first-seen order), floats to ``digits``.

    >>> print(plain_table([{"a": 1.0, "b": None}, {"a": 2, "c": "x"}], digits=1))
    | a | b | c |
    |---|---|---|
    | 1.0 |  |  |
    | 2 |  | x |
    """
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def cell(v: Any) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float) else ("" if v is None else str(v))

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows])


COLUMNS = (
    "dataset", "task", "rows train/test", "metric", "test", "val", "fit s", "limit s", "fit/limit", "in budget",
    "predict s/1k", "1k batch s", "peak MB", "artifact MB", "trials (ok)", "ensemble", "status",
)


def markdown_table(rows: list[dict[str, Any]], transforms: Mapping[str, str]) -> str:
    """One line per dataset; failed datasets keep their name, task and status."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cells(row, transforms)) + " |")
    return "\n".join(lines)


def _cells(row: dict[str, Any], transforms: Mapping[str, str]) -> list[str]:
    metric = row["metric"] + (f" ({transforms[row['dataset']]} target)" if row["dataset"] in transforms else "")
    if row.get("status") != "ok":
        status = f"{row.get('status')}: {_short(row.get('error', ''))}"
        return [row["dataset"], row["task"], _num(row.get("rows")), metric, "", "", "", f"{row['time_limit']:g}",
                *[""] * 8, status]
    arrow = "↑" if row["greater_is_better"] else "↓"
    members = ", ".join(f"{m['name']} {m['weight']:.2f}" for m in row["ensemble"])
    return [
        row["dataset"],
        row["task"],
        f"{row['train_rows']:,}/{row['test_rows']:,}",
        f"{metric} {arrow}",
        _fmt(row["test_score"]),
        _fmt(row["val_score"]),
        f"{row['fit_s']:.1f}",
        f"{row['time_limit']:g}",
        f"{row['wall_over_limit']:.2f}",
        "yes" if row["within_budget"] else "**NO**",
        _fmt(row["predict_s_per_1k"]),
        _fmt(row["predict_1k_batch_s"]),
        f"{row['peak_rss_mb']:.0f}",
        _fmt(row.get("artifact_mb")),
        f"{row['n_trials']} ({row['n_trials_ok']})",
        f"{len(row['ensemble'])}: {members}",
        "ok",
    ]


def markdown_report(rows: list[dict[str, Any]], info: dict[str, Any], args: dict[str, Any],
                    transforms: Mapping[str, str]) -> str:
    """The table with the machine, the settings, a summary line, notes and the errors of failed datasets."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v and k != "accelml")
    ok = [r for r in rows if r.get("status") == "ok"]
    over = [r["dataset"] for r in ok if not r["within_budget"]]
    parts = [
        f"# accelml benchmark, {args['time_limit']:g} s per dataset",
        "",
        f"- date: {info['date']}",
        f"- accelml {info['accelml_version']} (git {info['accelml_git']})",
        f"- machine: {info['processor']}, {info['cpu_count']} CPUs ({info['cpu_affinity']} usable), "
        f"{info['memory_gb']} GB RAM, GPU: {info['gpu'] or 'none'}; {info['platform']}, Python {info['python']}; "
        f"load average at start {info['load_avg_at_start']}",
        f"- libraries: {versions}",
        f"- settings: n_jobs={args['jobs']}, seed={args['seed']}, max_trials={args['max_trials']}, "
        f"child timeout {args['child_timeout_s']:g} s",
        f"- finished: {len(ok)}/{len(rows)} ok; within 1.05×limit+5 s: {len(ok) - len(over)}/{len(ok)}"
        + (f" (over: {', '.join(over)})" if over else ""),
        "",
        markdown_table(rows, transforms),
        "",
        "Notes: `test` is the dataset's conventional metric on the held-out test set (official test file where one "
        "exists, else a seeded 75/25 split, stratified for classification); `val` is accelml's out-of-fold score of "
        "the final ensemble on the same metric; ↑/↓ says which direction is better. `fit s` is the wall time of "
        "`AutoML.fit` alone. `predict s/1k` times one call over the whole test set, scaled to 1,000 rows; "
        "`1k batch s` times one call on 1,000 sampled test rows. `peak MB` is the child process's peak RSS "
        "(data loading included). `artifact MB`: the saved artifact folder on disk. `trials (ok)`: trials run (of which succeeded). `ensemble`: members and weights. "
        "See bench/README.md.",
    ]
    for name, how in transforms.items():
        if any(r["dataset"] == name for r in rows):
            parts.append(f"`{name}`: the target is replaced by its {how} before fitting and scoring, so its "
                         f"metric is on the {how} scale (the competition's RMSE of log price).")
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        parts += ["", "## Failures", ""]
        for r in failed:
            parts += [f"### {r['dataset']}: {r['status']}", "", "```", r.get("stderr_tail") or r.get("error", ""),
                      "```", ""]
    return "\n".join(parts).rstrip() + "\n"


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    value = float(value)
    if value == 0 or 0.001 <= abs(value) < 1e5:
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    return f"{value:.3g}"


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("" if value is None else str(value))


def _short(text: str, width: int = 80) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= width else text[: width - 1] + "…"
