"""Markdown for ``bench/compare.py``: the per-dataset table, the score matrix, the summary and the full report."""

from __future__ import annotations

import math
from typing import Any

from compare_stats import TIE_REL

__all__ = ["markdown_report", "markdown_tables"]

ROW_COLUMNS = ("dataset", "metric", "framework", "test", "rank", "fit s", "fit/limit", "predict s/1k", "1k batch s",
               "one row ms", "peak MB", "predict peak MB", "artifact MB", "status")
SUMMARY_COLUMNS = ("framework", "version", "mean rank", "mean normalized", "ok", "accelml W/T/L vs it",
                   "mean fit/limit", "max fit/limit", "median predict s/1k", "median 1k batch s",
                   "median one row ms", "median peak MB", "median predict peak MB",
                   "median artifact MB")


def markdown_tables(rows: list[dict[str, Any]], frameworks: list[str], summary: dict[str, Any]) -> str:
    """The three tables: every (dataset, framework) row, test scores side by side, and the summary per framework."""
    return "\n\n".join([_row_table(rows, summary), _score_matrix(rows, frameworks, summary),
                        _summary_table(rows, frameworks, summary)])


def _table(columns: tuple[str, ...] | list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def _metric(row: dict[str, Any]) -> str:
    transform = f" ({row['target_transform']} target)" if row.get("target_transform") else ""
    return f"{row['metric']}{transform} {'↑' if row['greater_is_better'] else '↓'}"


def _row_table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = []
    for row in rows:
        ranks = summary["per_dataset"].get(row["dataset"], {})
        rank = ranks.get(row["framework"], {}).get("rank")
        best = rank is not None and rank == min(r["rank"] for r in ranks.values())
        ok = row.get("status") == "ok"
        status = ("ok" if ok else f"{row.get('status')}: {_short(row.get('error', ''))}") + \
            (" (cached)" if row.get("cached") else "")
        test = _fmt(row.get("test_score"), 5) if ok else ""
        lines.append([
            row["dataset"], _metric(row), row["framework"], f"**{test}**" if best and ok else test,
            f"{rank:g}" if rank is not None else "",
            f"{row['fit_s']:.1f}" if ok else "",
            f"{row['wall_over_limit']:.2f}" if ok else "",
            _fmt(row.get("predict_s_per_1k")) if ok else "",
            _fmt(row.get("predict_1k_batch_s")) if ok else "",
            _fmt(row.get("one_row_ms")) if ok and row.get("one_row_ms") is not None else "",
            f"{row['peak_mb']:.0f}" if ok else "",
            f"{row['predict_peak_mb']:.0f}" if ok and row.get("predict_peak_mb") is not None else "",
            _fmt(row.get("artifact_mb")) if ok else "",
            status,
        ])
    return _table(ROW_COLUMNS, lines)


def _score_matrix(rows: list[dict[str, Any]], frameworks: list[str], summary: dict[str, Any]) -> str:
    by_dataset: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], {})[row["framework"]] = row
    lines = []
    for name, got in by_dataset.items():
        ranks = summary["per_dataset"].get(name, {})
        best = min((r["rank"] for r in ranks.values()), default=None)
        cells = [name, _metric(next(iter(got.values())))]
        for fw in frameworks:
            row = got.get(fw)
            if row is None:
                cells.append("")
            elif row.get("status") != "ok":
                cells.append(str(row.get("status")))
            else:
                text = _fmt(row["test_score"], 5)
                cells.append(f"**{text}**" if ranks.get(fw, {}).get("rank") == best else text)
        lines.append(cells)
    return _table(["dataset", "metric", *frameworks], lines)


def _summary_table(rows: list[dict[str, Any]], frameworks: list[str], summary: dict[str, Any]) -> str:
    versions = {}
    for row in rows:
        versions.setdefault(row["framework"], row.get("version"))
    lines = []
    for fw in frameworks:
        s = summary["frameworks"][fw]
        vs = summary["versus"].get(fw)
        lines.append([
            fw, str(versions.get(fw) or ""), _fmt(s["mean_rank"], 3), _fmt(s["mean_normalized"], 3),
            f"{s['ok']}/{s['datasets']}",
            f"{vs['wins']}/{vs['ties']}/{vs['losses']}" if vs else "",
            _fmt(s["mean_wall_over_limit"], 3), _fmt(s["max_wall_over_limit"], 3),
            _fmt(s["median_predict_s_per_1k"]), _fmt(s["median_predict_1k_batch_s"]),
            _fmt(s["median_one_row_ms"]) if s.get("median_one_row_ms") is not None else "",
            _fmt(s["median_peak_mb"], 4),
            _fmt(s["median_predict_peak_mb"], 4) if s.get("median_predict_peak_mb") is not None else "",
            _fmt(s["median_artifact_mb"]),
        ])
    return _table(SUMMARY_COLUMNS, lines)


def markdown_report(rows: list[dict[str, Any]], info: dict[str, Any], args: dict[str, Any],
                    summary: dict[str, Any]) -> str:
    """The tables with the machine, the settings, the definitions and the errors of failed runs."""
    frameworks = args["frameworks"]
    fw_versions = ", ".join(f"{k} {v}" for k, v in info["framework_versions"].items())
    libs = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v and k != "accelml")
    parts = [
        f"# accelml vs peers, {args['time_limit']:g} s per dataset",
        "",
        f"- date: {info['date']}",
        f"- frameworks: {fw_versions} (accelml git {info['accelml_git']})",
        (f"- machine: {info['processor']}, {info['cpu_count']} CPUs ({info['cpu_affinity']} usable), "
        f"{info['memory_gb']} GB RAM, GPU: {info['gpu'] or 'none'}; {info['platform']}, Python {info['python']}; "
        f"load average at start {info['load_avg_at_start']}"),
        f"- accelml's libraries: {libs}",
        (f"- settings: cores={args['jobs']} for every framework, seed={args['seed']}, frameworks run one after "
        f"another; child timeout {args['child_timeout_s']:g} s; peer results reused from the cache: "
        f"{'yes' if args['reuse_peers'] else 'no'}"),
        f"- datasets ranked: {len(summary['datasets'])}/{len(args['datasets'])}",
        "",
        "## Summary",
        "",
        _summary_table(rows, frameworks, summary),
        "",
        "## Test scores",
        "",
        _score_matrix(rows, frameworks, summary),
        "",
        "## Every run",
        "",
        _row_table(rows, summary),
        "",
        "## Definitions",
        "",
        ("- `test`: the dataset's conventional metric on the held-out test set (the official test file where one "
        "exists, else a seeded 75/25 split, stratified for classification), the same files for every framework; "
        "↑/↓ says which direction is better; the best per dataset is in bold. house_prices_kaggle is scored on "
        "log(SalePrice)."),
        ("- `rank`: per dataset, 1 is best; equal scores share the average rank; a crash or timeout ranks below every "
        "finished run. `mean normalized`: per dataset `(score - worst) / (best - worst)` over the finished runs, "
        "1 best, a failure 0, averaged over datasets."),
        (f"- `accelml W/T/L vs it`: datasets where accelml's test score is better / tied / worse; a tie is a relative "
        f"difference below {TIE_REL:.1%} of the metric value (`|a - b| < {TIE_REL:g} × max(|a|, |b|)`); a failure "
        f"loses to a finished run."),
        ("- `fit s`: wall time of the framework's fit call alone; `fit/limit` = fit s / time limit (above 1 overran). "
        "`predict s/1k`: one prediction call over the whole test set, per 1,000 rows; `1k batch s`: one call on "
        "1,000 sampled test rows. `peak MB`: peak RSS of the child process plus that of its largest finished "
        "descendant (ru_maxrss of RUSAGE_SELF + RUSAGE_CHILDREN), read before saving. `predict peak MB`: peak RSS "
        "of a fresh process that loads the saved model and predicts the 1,000-row batch, as a deployment would "
        "(blank for results cached before it was measured). `artifact MB`: the model "
        "in the framework's own format (accelml: the artifact folder; FLAML: the pickled AutoML object, which "
        "keeps its training data; AutoGluon: the predictor folder)."),
        "- See bench/peers/README.md.",
    ]
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        parts += ["", "## Failures", ""]
        for r in failed:
            parts += [f"### {r['framework']} on {r['dataset']}: {r['status']}", "", "```",
                      r.get("stderr_tail") or r.get("error", ""), "```", ""]
    return "\n".join(parts).rstrip() + "\n"


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    if not math.isfinite(value):
        return "n/a"
    if value == 0 or 0.001 <= abs(value) < 1e5:
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


def _short(text: str, width: int = 80) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= width else text[: width - 1] + "…"
