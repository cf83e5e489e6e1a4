"""``accelml export``: a saved model's fold models in another format (ONNX), each checked against the native one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from accelml.cli.display import stdout_console
from accelml.exceptions import ConfigError

__all__ = ["FORMATS", "export"]

FORMATS = ("onnx",)
STATUS_STYLES = {"exported": "green", "skipped": "yellow", "mismatch": "bold red", "failed": "bold red"}


def export(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
    format: Annotated[str, typer.Option("--format", "-f", help="Export format: onnx.")] = "onnx",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder to write [default: MODEL_DIR-onnx].",
                                             show_default=False)] = None,
    check_rows: Annotated[int, typer.Option("--check-rows", min=0, help="Training-sample rows each exported "
                                                                        "model is checked on.")] = 200,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Export every fold model of MODEL_DIR's ensemble that can be converted to ONNX, checked against native
    predictions. The ONNX models take the preprocessed matrix; the preprocessing stays as JSON next to them."""
    if format.lower() not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; valid formats: {', '.join(FORMATS)}")
    from accelml.export.onnx import export_onnx

    out = out if out is not None else model_dir.with_name(f"{model_dir.name}-onnx")
    result = export_onnx(model_dir, out, force=force, check_rows=check_rows)
    console = stdout_console()
    table = Table(title=f"ONNX export of {model_dir}", title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("member", "left"), ("family", "left"), ("fold", "right"), ("status", "left"),
                          ("max abs diff", "right"), ("note", "left")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for fold in result.folds:
        diff = f"{fold.max_abs_diff:.1e}" if fold.max_abs_diff is not None else "-"
        table.add_row(fold.member, fold.family, str(fold.fold), Text(fold.status, style=STATUS_STYLES[fold.status]),
                      diff, fold.file if fold.status == "exported" else (fold.reason or ""))
    console.print(table)
    console.print(f"Wrote {len(result.exported)} of {len(result.folds)} fold models to "
                  f"[bold]{escape(str(result.path))}[/bold] (checked on {result.checked_rows} rows).")
    console.print(Text("The ONNX models take the preprocessed float32 matrix, not raw rows: the preprocessing stays as "
                       "plain JSON (members/<member>/fold_<k>.preprocessor.json). README.md in the folder explains "
                       "how to combine them; accelml.export.onnx.predict_onnx does it in Python.", style="bold"),
                  soft_wrap=True)
    if result.complete:
        diff = result.ensemble_max_abs_diff
        shown = f"{diff:.1e}" if diff is not None else "not checked"
        console.print(f"Every member was exported; the ONNX ensemble matches the native one (max abs diff {shown}).")
    else:
        missing = sorted({f.member for f in result.folds if f.status != "exported"})
        console.print(Text(f"Not exported: {', '.join(missing)}; the ONNX files alone do not reproduce the ensemble.",
                           style="yellow"), soft_wrap=True)
