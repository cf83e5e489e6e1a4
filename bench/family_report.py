"""What one model family brings: its best trial against other families', how often it enters the final ensemble, and
what it changes in the ensemble's test score, from the JSON that ``bench/compare.py`` (or ``run_bench.py``) writes.

Usage:
    python bench/family_report.py bench/results/compare_60s_A.json [--without bench/results/accelml_60s_B.json]
        [--family torch_mlp] [--against lgbm,mlp]

``--without`` is a run of the same datasets, splits and limit with the family left out (``--models`` without it):
the test score with and without the family is then compared dataset by dataset.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def accelml_rows(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text())
    rows = data["rows"] if isinstance(data, dict) else data
    return {r["dataset"]: r for r in rows if r.get("framework", "accelml") == "accelml" and r.get("status") == "ok"}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.5g}"


def report(with_rows: dict[str, dict[str, Any]], without: dict[str, dict[str, Any]] | None, family: str,
           against: list[str]) -> str:
    head = ["dataset", "metric", f"{family} best val"] + [f"{a} best val" for a in against]
    head += [f"{family} trials (ok)", "in ensemble (weight)", "test with"]
    if without is not None:
        head += ["test without", "change"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    beats = {a: [0, 0] for a in against}
    entered = changed = better = worse = 0
    for name, row in with_rows.items():
        fams = row.get("families", {})
        sign = 1 if row["greater_is_better"] else -1
        mine = fams.get(family, {})
        best = mine.get("best_val")
        cells = [name, row["metric"] + (" ↑" if sign > 0 else " ↓"), _fmt(best)]
        for a in against:
            theirs = fams.get(a, {}).get("best_val")
            cells.append(_fmt(theirs))
            if best is not None and theirs is not None:
                beats[a][0] += sign * (best - theirs) > 0
                beats[a][1] += 1
        weight = sum(m["weight"] for m in row.get("ensemble", []) if m["name"].startswith(f"{family}_"))
        entered += weight > 0
        cells += [f"{mine.get('trials', 0)} ({mine.get('ok', 0)})", f"{weight:.2f}" if weight else "no",
                  _fmt(row["test_score"])]
        if without is not None and name in without:
            other = without[name]["test_score"]
            delta = row["test_score"] - other
            changed += 1
            better += sign * delta > 0
            worse += sign * delta < 0
            cells += [_fmt(other), f"{delta:+.4g}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for a, (wins, n) in beats.items():
        lines.append(f"- {family}'s best trial beat {a}'s on {wins} of {n} datasets (validation score).")
    lines.append(f"- {family} entered the final ensemble on {entered} of {len(with_rows)} datasets.")
    if without is not None:
        lines.append(f"- With {family} the ensemble's test score was better on {better}, worse on {worse} and the same on "
                     f"{changed - better - worse} of {changed} datasets.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--without", type=Path)
    parser.add_argument("--family", default="torch_mlp")
    parser.add_argument("--against", default="lgbm,mlp")
    args = parser.parse_args(argv)
    with_rows = accelml_rows(args.results)
    without = accelml_rows(args.without) if args.without else None
    limit = next(iter(with_rows.values()), {}).get("time_limit", "")
    text = (f"# {args.family} at {limit:g} s ({dt.date.today()})\n\nfrom {args.results.name}"
            + (f", without it: {args.without.name}" if args.without else "") + "\n\n"
            + report(with_rows, without, args.family, args.against.split(",")) + "\n")
    print(text)
    out = RESULTS / f"family_{args.family}_{limit:g}s_{dt.datetime.now():%Y%m%d-%H%M}.md"
    out.write_text(text)
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
