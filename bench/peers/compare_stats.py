"""The comparison's summary: ranks, normalized scores and accelml's wins, ties and losses against each peer.

Pure functions over the rows ``bench/compare.py`` collects (one per framework and dataset, with ``status``,
``test_score`` and ``greater_is_better``); no framework is imported here.

Definitions (also in bench/peers/README.md):

- **rank**: per dataset, 1 is the best test score in the metric's direction; equal scores share the average of their
  ranks; every failed framework (crash, timeout) ranks below every finished one, failures sharing the last ranks.
- **normalized score**: per dataset, ``(score - worst) / (best - worst)`` over the finished frameworks, oriented so
  that 1 is the best and 0 the worst; a failure scores 0; when every finished framework has the same score, each gets 1.
- **tie** (for wins/ties/losses): ``|a - b| < 0.001 × max(|a|, |b|)``, a relative difference below 0.1 % of the metric
  value. A failure loses to a finished run; two failures tie.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

__all__ = ["TIE_REL", "average_ranks", "compare_pair", "is_tie", "normalized", "summarise"]

TIE_REL = 1e-3


def _oriented(row: dict[str, Any] | None) -> float | None:
    """The score with "higher is better" for every metric; None for a failure or a missing row."""
    if not row or row.get("status") != "ok" or row.get("test_score") is None:
        return None
    score = float(row["test_score"])
    if math.isnan(score):
        return None
    return score if row["greater_is_better"] else -score


def average_ranks(values: list[float | None]) -> list[float]:
    """Ranks of ``values`` (higher is better, None is a failure); ties share the average rank; failures rank last.

    Example:
        >>> average_ranks([0.9, 0.8, 0.9, None])
        [1.5, 3.0, 1.5, 4.0]
        >>> average_ranks([None, 0.5, None])
        [2.5, 1.0, 2.5]
    """
    order = sorted(range(len(values)), key=lambda i: (values[i] is None, -(values[i] or 0.0)))
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for pos in range(start, end + 1):
            ranks[order[pos]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def normalized(values: list[float | None]) -> list[float]:
    """``(v - worst) / (best - worst)`` over the finished values (higher is better); failures get 0.

    Example:
        >>> normalized([0.9, 0.8, 0.85, None])
        [1.0, 0.0, 0.5, 0.0]
        >>> normalized([0.7, 0.7])
        [1.0, 1.0]
    """
    done = [v for v in values if v is not None]
    if not done:
        return [0.0] * len(values)
    best, worst = max(done), min(done)
    if best == worst:
        return [1.0 if v is not None else 0.0 for v in values]
    return [round((v - worst) / (best - worst), 12) if v is not None else 0.0 for v in values]


def is_tie(a: float, b: float, rel: float = TIE_REL) -> bool:
    """Whether two scores differ by less than ``rel`` of the larger magnitude.

    Example:
        >>> is_tie(0.8000, 0.8007), is_tie(0.800, 0.802), is_tie(0.0, 0.0)
        (True, False, True)
    """
    return a == b or abs(a - b) < rel * max(abs(a), abs(b))


def compare_pair(a: float | None, b: float | None) -> str:
    """``win``, ``tie`` or ``loss`` of oriented score ``a`` against ``b`` (None is a failure).

    Example:
        >>> compare_pair(-0.50, -0.52), compare_pair(0.9, None), compare_pair(None, None)
        ('win', 'win', 'tie')
    """
    if a is None or b is None:
        return "tie" if a is None and b is None else ("loss" if a is None else "win")
    if is_tie(a, b):
        return "tie"
    return "win" if a > b else "loss"


def summarise(rows: list[dict[str, Any]], frameworks: list[str], reference: str = "accelml") -> dict[str, Any]:
    """Ranks and normalized scores per dataset, their means per framework, and ``reference``'s record against each.

    Only datasets with a row for every framework count (an interrupted run's last dataset may lack some).
    """
    by_dataset: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_dataset.setdefault(row["dataset"], {})[row["framework"]] = row
    complete = {name: got for name, got in by_dataset.items() if all(fw in got for fw in frameworks)}

    per_dataset: dict[str, dict[str, dict[str, float]]] = {}
    for name, got in complete.items():
        values = [_oriented(got[fw]) for fw in frameworks]
        ranks, norms = average_ranks(values), normalized(values)
        per_dataset[name] = {fw: {"rank": r, "normalized": n} for fw, r, n in zip(frameworks, ranks, norms)}

    summary_fw: dict[str, dict[str, Any]] = {}
    for fw in frameworks:
        mine = [got[fw] for got in complete.values()]
        ok = [r for r in mine if r.get("status") == "ok"]
        summary_fw[fw] = {
            "datasets": len(mine),
            "ok": len(ok),
            "mean_rank": _mean([per_dataset[n][fw]["rank"] for n in complete]),
            "mean_normalized": _mean([per_dataset[n][fw]["normalized"] for n in complete]),
            "mean_wall_over_limit": _mean([r["wall_over_limit"] for r in ok]),
            "max_wall_over_limit": max((r["wall_over_limit"] for r in ok), default=None),
            "median_predict_s_per_1k": _median([r.get("predict_s_per_1k") for r in ok]),
            "median_predict_1k_batch_s": _median([r.get("predict_1k_batch_s") for r in ok]),
            "median_one_row_ms": _median([r.get("one_row_ms") for r in ok]),
            "median_peak_mb": _median([r.get("peak_mb") for r in ok]),
            "median_predict_peak_mb": _median([r.get("predict_peak_mb") for r in ok]),
            "median_artifact_mb": _median([r.get("artifact_mb") for r in ok]),
        }

    versus: dict[str, dict[str, Any]] = {}
    if reference in frameworks:
        for fw in frameworks:
            if fw == reference:
                continue
            outcomes = {n: compare_pair(_oriented(got[reference]), _oriented(got[fw])) for n, got in complete.items()}
            versus[fw] = {"wins": sum(o == "win" for o in outcomes.values()),
                          "ties": sum(o == "tie" for o in outcomes.values()),
                          "losses": sum(o == "loss" for o in outcomes.values()),
                          "per_dataset": outcomes}
    return {"reference": reference, "tie_rel": TIE_REL, "datasets": list(complete), "per_dataset": per_dataset,
            "frameworks": summary_fw, "versus": versus}


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
