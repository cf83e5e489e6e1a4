"""``accelml monitor``: compare new data with a saved model's training profile and say whether it drifted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from accelml.cli.display import stdout_console
from accelml.cli.paths import check_output_file

__all__ = ["drift_table", "image_table", "interactions_table", "monitor"]

STATUS_STYLES = {"ok": "green", "warning": "yellow", "drift": "bold red", "missing": "bold red"}


def monitor(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
    new_data: Annotated[Path, typer.Argument(help="New data: a file with the training columns, or a folder of "
                                             "images for an image model.", show_default=False)],
    labels: Annotated[str | None, typer.Option("--labels", help="Column of NEW_DATA with the true targets, to "
                                                                "score the model on it.", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report as JSON here.",
                                             show_default=False)] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the report as an HTML page here.",
                                              show_default=False)] = None,
    psi_warning: Annotated[float, typer.Option("--psi-warning", min=0.0, help="PSI from which a column warns.")]
    = 0.1,
    psi_drift: Annotated[float, typer.Option("--psi-drift", min=0.0, help="PSI from which a column drifts.")] = 0.25,
    force: Annotated[bool, typer.Option("--force", help="Replace --out and --html if they exist.")] = False,
) -> None:
    """Check NEW_DATA against the training profile of MODEL_DIR: per-column drift, schema breaks, prediction drift
    and, with --labels, the metric. Image columns are compared by their images' size, brightness, contrast and a
    small embedding; with --labels, a folder of class subfolders gives the labels by folder name. Exits 0 whatever
    the status; only bad input is an error."""
    from accelml import load
    from accelml.monitor import check_model_drift

    for path in (out, html):
        if path is not None:
            check_output_file(path, force)
    automl = load(model_dir)
    report = check_model_drift(automl, str(new_data), labels=labels,
                               thresholds={"psi_warning": psi_warning, "psi_drift": psi_drift})
    console = stdout_console()
    console.print(drift_table(report))
    for name, detail in report.images.items():
        console.print(image_table(name, detail))
    if report.interactions:
        console.print(interactions_table(report.interactions))
    for line in _detail_lines(report):
        console.print(line, soft_wrap=True)
    style = STATUS_STYLES.get(report.status, "")
    console.print(Text.assemble("Overall: ", (report.status.upper(), style), f" ({report.summary()})"),
                  soft_wrap=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), indent=1, allow_nan=False))
        console.print(f"Wrote the JSON report to [bold]{escape(str(out))}[/bold]")
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(_page(report.to_html(), f"accelml drift: {model_dir.name}"))
        console.print(f"Wrote the HTML report to [bold]{escape(str(html))}[/bold]")


def _number(value: Any, pattern: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return pattern.format(value)


def drift_table(report: Any) -> Table:
    """The per-column table of a :class:`~accelml.monitor.DriftReport`, worst first."""
    table = Table(title=f"Drift of {report.n_rows:,} new rows against the training profile", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for name, justify in (("column", "left"), ("role", "left"), ("PSI", "right"), ("p-value", "right"),
                          ("missing train → new", "right"), ("unseen", "right"), ("bad values", "right"),
                          ("status", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in report.columns.to_dict(orient="records"):
        table.add_row(
            str(r["column"]),
            str(r["role"]),
            _number(r["psi"], "{:.3f}"),
            _number(r["p_value"], "{:.2g}"),
            f"{_number(r['missing_train'], '{:.1%}')} → {_number(r['missing_new'], '{:.1%}')}",
            _number(r["unseen_share"], "{:.1%}"),
            str(int(r["type_errors"])) if r["type_errors"] else "",
            Text(str(r["status"]), style=STATUS_STYLES.get(str(r["status"]), "")),
        )
    return table


def image_table(name: str, detail: dict[str, Any]) -> Table:
    """An image column's measures one by one: size, brightness, contrast and the embedding's distance and shift."""
    unreadable = f", {detail['unreadable']:,} unreadable" if detail.get("unreadable") else ""
    table = Table(title=f"Image column '{escape(name)}': {detail['n_images']:,} of {detail['n_rows']:,} new images "
                        f"measured{unreadable}", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (("measure", "left"), ("mean train → new", "right"), ("PSI", "right"),
                            ("p-value", "right"), ("shift", "right"), ("status", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for m in detail["measures"]:
        table.add_row(
            str(m["measure"]),
            f"{_number(m['mean_train'], '{:.4g}')} → {_number(m['mean_new'], '{:.4g}')}",
            _number(m["psi"], "{:.3f}"),
            _number(m["p_value"], "{:.2g}"),
            _number(m["shift"], "{:.3f}"),
            Text(str(m["status"]), style=STATUS_STYLES.get(str(m["status"]), "")),
        )
    return table


def interactions_table(detail: dict[str, Any]) -> Table:
    """A recommender's new interactions measure by measure: new users and items, item popularity, ratings."""
    from accelml.monitor.html import INTERACTION_MEASURES

    table = Table(title=f"{detail['n_rows']:,} new interactions", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (("measure", "left"), ("train → new", "right"), ("PSI", "right"), ("p-value", "right"),
                            ("change", "right"), ("status", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for m in detail["measures"]:
        label, value, change = INTERACTION_MEASURES.get(m["measure"], (m["measure"], "{:.4g}", "{:.3g}"))
        table.add_row(label, f"{_number(m['train'], value)} → {_number(m['new'], value)}",
                      _number(m["psi"], "{:.3f}"), _number(m["p_value"], "{:.2g}"), _number(m["change"], change),
                      Text(str(m["status"]), style=STATUS_STYLES.get(str(m["status"]), "")))
    return table


def _detail_lines(report: Any) -> list[Text]:
    lines = []
    if report.prediction:
        p = report.prediction
        lines.append(Text.assemble("Predictions: ", (p["status"], STATUS_STYLES.get(p["status"], "")),
                                   f" (PSI {p['psi']:.3f})"))
    if report.performance:
        p = report.performance
        reference = f" vs {p['reference']:.4f} in validation" if p.get("reference") is not None else ""
        lines.append(Text.assemble(f"{p['metric']} on {p['n_labelled']:,} labelled rows: {p['value']:.4f}{reference} ",
                                   (p["status"], STATUS_STYLES.get(p["status"], ""))))
    missing = report.schema_breaks.get("missing_columns") or []
    if missing:
        lines.append(Text(f"Missing column(s): {', '.join(missing)}", style="bold red"))
    lines += [Text(note, style="dim") for note in report.notes]
    return lines


def _page(section: str, title: str) -> str:
    from html import escape as html_escape

    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html_escape(title)}</title></head>"
            f"<body>{section}</body></html>")
