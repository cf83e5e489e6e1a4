"""``accelml report``: write the HTML report of a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from accelml.cli.display import stdout_console
from accelml.exceptions import ConfigError

__all__ = ["check_report_file", "default_report_path", "report"]


def check_report_file(path: Path, force: bool, option: str = "--out") -> Path:
    """Refuse a report path that is a folder, or that exists without ``--force``; call it before fitting.

    Args:
        path: The HTML file to write.
        force: Whether ``--force`` was given.
        option: The command's option that names the file, for the message (``--report`` for ``fit`` and ``demo``).

    Raises:
        ConfigError: ``path`` is a folder, or exists and ``force`` is not set.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"'{path}' is a folder; give a file name for the report ({option})")
    if path.exists() and not force:
        raise ConfigError(f"'{path}' already exists; choose another file with {option} or pass --force to replace it")
    return path


def default_report_path(model_dir: Path) -> Path:
    """``<model folder>-report.html`` beside the model folder (never inside it: the artifact's files are hashed).

    >>> default_report_path(Path("runs/penguins-model")).as_posix()
    'runs/penguins-model-report.html'
    """
    model_dir = Path(model_dir)
    if not model_dir.name:  # ".": name the report after the folder it stands for
        model_dir = model_dir.resolve()
    if not model_dir.name:  # the root folder
        return Path("accelml-model-report.html")
    return model_dir.with_name(f"{model_dir.name}-report.html")


def report(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
    data: Annotated[
        Path | None,
        typer.Option("--data", "-d", help="Labelled test data the model never saw, for a test score and its charts.",
                     show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file to write; MODEL_DIR-report.html beside the folder by default.",
                     show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists.")] = False,
) -> None:
    """Write a self-contained HTML report (works offline) about the model in MODEL_DIR."""
    from accelml import load
    from accelml.report import write_report

    path = check_report_file(out or default_report_path(model_dir), force)  # before any time is spent
    automl = load(model_dir)
    console = stdout_console()
    with console.status("Writing the report (explanations and charts)..."):
        written = write_report(automl, path, test_data=str(data) if data is not None else None, force=force)
    console.print(f"Wrote the report to [bold]{escape(str(written))}[/bold]; open it in any browser (works offline).")
