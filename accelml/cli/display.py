"""What the commands print: the consoles, numbers, data issues and the leaderboard table.

Consoles are made per call, not at import, so that they follow the streams of the moment (a terminal, a pipe, or the
test runner's buffers) and only use colour on a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # pandas is slow to import; the CLI's --help should not wait for it
    import pandas as pd

__all__ = [
    "SEVERITY_STYLES",
    "direction",
    "format_score",
    "leaderboard_table",
    "print_command",
    "print_issues",
    "stderr_console",
    "stdout_console",
]

SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def stdout_console() -> Console:
    """A console on the current standard output."""
    return Console(highlight=False)


def stderr_console() -> Console:
    """A console on the current standard error."""
    return Console(stderr=True, highlight=False)


def format_score(value: Any) -> str:
    """A metric value, short and aligned; missing or non-finite values as ``-``.

    >>> format_score(0.034438), format_score(12345.678), format_score(None), format_score(float("nan"))
    ('0.0344', '12,345.7', '-', '-')
    """
    if value is None:
        return "-"
    value = float(value)
    if not math.isfinite(value):
        return "-"
    return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4f}"


def direction(greater_is_better: bool) -> str:
    """``"higher is better"`` or ``"lower is better"``.

    >>> direction(False)
    'lower is better'
    """
    return "higher is better" if greater_is_better else "lower is better"


def print_command(console: Console, command: str) -> None:
    """A command for the user to run, indented and never wrapped, so that it can be copied whole."""
    console.print(Text(f"  {command}", style="cyan"), soft_wrap=True)


def print_issues(console: Console, issues: Iterable[Any]) -> None:
    """The data problems found before training, one line each, coloured by severity (``DataIssue`` or dicts)."""
    issues = [i if isinstance(i, dict) else i.to_dict() for i in issues]
    if not issues:
        console.print(Text("Data checks: no problems found.", style="green"))
        return
    console.print(Text(f"Data checks: {len(issues)} finding(s)", style="bold"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()  # long messages wrap under themselves, not under the severity
    for issue in issues:
        severity = str(issue.get("severity", "info"))
        grid.add_row(Text(f" {severity}", style=SEVERITY_STYLES.get(severity, "")), Text(str(issue.get("message", ""))))
    console.print(grid)


def leaderboard_table(board: pd.DataFrame, metric_name: str, greater_is_better: bool) -> Table:
    """The leaderboard frame (see :meth:`accelml.AutoML.leaderboard`) as a Rich table, best first.

    The ensemble's row is bold; models it does not use are dim. Prediction time is per row, all fold models together.
    """
    score_column = f"val_{metric_name}"
    table = Table(
        title=f"Leaderboard: validation {metric_name}, {direction(greater_is_better)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("model", overflow="fold")
    table.add_column("stage")
    table.add_column(metric_name, justify="right")
    # a recommender's list trials are scored by their own metric (ndcg@10 next to rmse): a column each
    others = [c for c in board.columns if c.startswith("val_") and c != score_column]
    for column in others:
        table.add_column(column.removeprefix("val_"), justify="right")
    table.add_column("fit s", justify="right")
    table.add_column("pred ms/row", justify="right")
    table.add_column("weight", justify="right")
    constrained = "meets_constraints" in board.columns
    if constrained:  # the deployment trade-off: each candidate's single-row latency and size
        table.add_column("1-row ms", justify="right")
        table.add_column("MB", justify="right")
        table.add_column("meets", justify="center")
    for row in board.to_dict("records"):
        ensemble = row.get("stage") == "ensemble"
        weight = row.get("weight") or 0.0
        cells = [
            str(row.get("model")),
            str(row.get("stage")),
            format_score(row.get(score_column)),
            *(format_score(row.get(column)) for column in others),
            f"{row.get('fit_s') or 0.0:.2f}",
            f"{row.get('predict_s_per_1k') or 0.0:.3f}",  # seconds per 1,000 rows is milliseconds per row
            "" if ensemble or not weight else f"{weight:.2f}",
        ]
        if constrained:
            measured = isinstance(row.get("meets_constraints"), bool)
            cells += [
                f"{row['latency_ms']:.1f}" if measured else "",
                f"{row['size_mb']:.2f}" if measured else "",
                ("yes" if row["meets_constraints"] else "no") if measured else "",
            ]
        table.add_row(*cells, style="bold" if ensemble else ("" if weight else "dim"))
    return table
