"""``accelml info``: what a saved model is, read from its manifest alone.

Only the manifest is read (no model file is loaded), so ``info`` also works on a model saved with library versions
that can no longer load it, which is when it is most needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from accelml.cli.display import direction, format_score, print_issues, stdout_console

__all__ = ["info"]


def info(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
) -> None:
    """Describe the model in MODEL_DIR: task, metric, score, versions, columns, ensemble and data issues."""
    from accelml.export.artifact import read_manifest

    manifest = read_manifest(model_dir)
    console = stdout_console()
    console.print(_overview(model_dir, manifest))
    console.print()
    console.print(_columns_table(manifest))
    console.print()
    console.print(_members_table(manifest))
    console.print()
    print_issues(console, manifest.get("issues", []))


def _overview(model_dir: Path, m: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    schema = m.get("schema", {})
    metric = m.get("metric", {})
    classes = schema.get("classes")
    task = str(m.get("task"))
    if classes:
        shown = ", ".join(str(c) for c in classes[:10]) + (", ..." if len(classes) > 10 else "")
        task += f" ({len(classes)} classes: {shown})"
    grid.add_row("model", str(model_dir))
    grid.add_row("task", task)
    grid.add_row("target", str(m.get("target")))
    grid.add_row("metric", f"{metric.get('name')} ({direction(bool(metric.get('greater_is_better')))})")
    reason = str(metric.get("reason") or "").removeprefix(f"{metric.get('name')}: ")
    if reason:
        grid.add_row("", Text(reason, style="dim"))
    splits = ((m.get("extra") or {}).get("validation") or {}).get("description") or (
        f"{m.get('n_splits')} split(s)" + (f" x {m['n_repeats']} repeats" if m.get("n_repeats", 1) > 1 else ""))
    grid.add_row("validation", f"{format_score(m.get('val_score'))} (out-of-fold, {splits})")
    fit_seconds = m.get("fit_seconds") or 0.0
    grid.add_row("trained", f"{m.get('created')} on {m.get('n_rows', 0):,} rows in {fit_seconds:.1f}s")
    config = m.get("config", {})
    settings = ", ".join(f"{k}={v}" for k, v in config.items() if v not in (None, {}, []))
    grid.add_row("settings", settings)
    versions = [f"accelml {m.get('accelml_version')}", f"python {m.get('python')}"]
    versions += [f"{name} {version}" for name, version in (m.get("libraries") or {}).items() if version]
    grid.add_row("versions", ", ".join(versions))
    return grid


def _columns_table(m: dict[str, Any]) -> Table:
    table = Table(title="Columns", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("column")
    table.add_column("role")
    table.add_column("dtype", style="dim")
    table.add_column("missing", justify="right")
    table.add_column("distinct", justify="right")
    for c in m.get("schema", {}).get("columns", []):
        role = str(c.get("role")) + (" (set by you)" if c.get("user_role") else "")
        used = c.get("role") not in ("identifier", "constant")
        table.add_row(
            str(c.get("name")),
            role,
            str(c.get("dtype")),
            f"{c.get('missing_fraction', 0.0):.1%}",
            f"{c.get('n_unique', 0):,}",
            style="" if used else "dim",
        )
    return table


def _members_table(m: dict[str, Any]) -> Table:
    table = Table(title="Ensemble", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("member")
    table.add_column("family")
    table.add_column("weight", justify="right")
    table.add_column("folds", justify="right")
    for member in sorted(m.get("ensemble", {}).get("members", []), key=lambda e: -(e.get("weight") or 0.0)):
        table.add_row(str(member.get("name")), str(member.get("model")), f"{member.get('weight', 0.0):.2f}",
                      str(member.get("folds", "all rows" if member.get("refit", True) else "validation")))
    temperature = m.get("ensemble", {}).get("temperature", 1.0)
    if temperature != 1.0:
        table.caption = f"probabilities calibrated: temperature {temperature:.3f}"
        table.caption_justify = "left"
    return table

