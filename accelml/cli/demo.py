"""``accelml demo``: fit the shipped penguins data end to end and score it on rows it has not seen."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from accelml.cli.display import direction, format_score, print_command, stdout_console
from accelml.cli.paths import check_model_folder
from accelml.cli.report import check_report_file
from accelml.cli.summary import fit_with_display, print_fit_summary

__all__ = ["demo"]

DEFAULT_REPORT = "accelml-demo-report.html"
TEST_FRACTION = 0.25
SPLIT_SEED = 0


def demo(
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds the fit may take.")] = 30.0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also save the model in this folder.")] = None,
    max_trials: Annotated[int | None, typer.Option("--max-trials", help="Stop after this many trials.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Cores to use; -1 for all.")] = -1,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Where to write the HTML report [default: accelml-demo-report.html, or the "
                                      "next free name].", show_default=False),
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the HTML report.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out folder or --report file if they exist.")] = False,
) -> None:
    """Fit the Palmer penguins demo (predict the species), score it on a held-out quarter of the rows, and write the
    HTML report."""
    from sklearn.model_selection import train_test_split

    from accelml import AutoML
    from accelml.datasets import DEMO_TARGET, demo_path, load_demo

    console = stdout_console()
    if out is not None:
        check_model_folder(out, force)
    if no_report:
        report = None
    elif report is None:
        report = free_name(Path(DEFAULT_REPORT))
    else:
        check_report_file(report, force, option="--report")
    data = load_demo()
    data = data[data[DEMO_TARGET].notna()]
    train, test = train_test_split(
        data, test_size=TEST_FRACTION, stratify=data[DEMO_TARGET], random_state=SPLIT_SEED
    )
    console.print(
        f"[bold]Palmer penguins[/bold]: {len(data)} rows; predicting [bold]{DEMO_TARGET}[/bold] from "
        f"{data.shape[1] - 1} columns. Training on {len(train)} rows, testing on {len(test)} held-out rows; "
        f"time limit {time_limit:g}s."
    )
    automl = AutoML(time_limit=time_limit, n_jobs=jobs, max_trials=max_trials, seed=SPLIT_SEED)
    fit_with_display(console, automl, train, DEMO_TARGET)
    print_fit_summary(console, automl)

    metric = automl.metric_
    line = Text("Test ")
    line.append(f"{metric.name}: {format_score(automl.score(test))}", style="bold green")
    line.append(f" ({direction(metric.greater_is_better)})", style="dim")
    if metric.name != "accuracy":
        accuracy = float((automl.predict(test) == test[DEMO_TARGET].to_numpy()).mean())
        line.append(", accuracy: ")
        line.append(f"{accuracy:.1%}", style="bold green")
    line.append(f" on {len(test)} rows the model never saw")
    console.print(line)
    if report is not None:
        written = automl.report(report, test_data=test, force=force)
        console.print(f"Wrote the report to [bold]{escape(str(written))}[/bold]: open it in a browser.")

    console.print()
    data_file = demo_path()
    if out is not None:
        path = automl.save(out, force=force)
        console.print(f"Saved the model to [bold]{escape(str(path))}[/bold]. Predict with it:")
        print_command(console, f"accelml predict {path} {data_file} --out predictions.csv")
    else:
        console.print("The model was not saved. To keep it and predict with it:")
        print_command(console, "accelml demo --out penguins-model")
        print_command(console, f"accelml predict penguins-model {data_file} --out predictions.csv")
    console.print("Or fit the whole file yourself:")
    print_command(console, f"accelml fit {data_file} --target {DEMO_TARGET} --out penguins-model")


def free_name(path: Path) -> Path:
    """``path``, or ``stem-2.suffix``, ``stem-3.suffix``, ... : the first name not taken (the demo never overwrites).

    >>> free_name(Path("/nonexistent/report.html")).name
    'report.html'
    """
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
