"""``accelml predict``: predictions of a saved model for a data file, written as CSV in the same row order."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from accelml.cli.display import stdout_console
from accelml.cli.paths import check_output_file
from accelml.exceptions import ConfigError
from accelml.tasks import get_task

__all__ = ["predict"]

PREDICTION_COLUMN = "prediction"


def predict(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
    data: Annotated[Path, typer.Argument(help="Data to predict: the training columns (target not needed).",
                                         show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.", show_default=False)],
    proba: Annotated[bool, typer.Option("--proba", help="Write one probability column per class.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Predict every row of DATA with the model in MODEL_DIR and write the predictions to --out."""
    import pandas as pd

    from accelml import load

    console = stdout_console()
    check_output_file(out, force)
    automl = load(model_dir)
    if proba and not get_task(automl.task_).classification:
        raise ConfigError(f"--proba needs a classification model; this one does {automl.task_}, so drop --proba")
    if proba:
        frame = automl.predict_proba(str(data))
    else:
        frame = pd.DataFrame({PREDICTION_COLUMN: automl.predict(str(data))})
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    what = "class probabilities" if proba else "predictions"
    console.print(f"Wrote {len(frame):,} rows of {what} to [bold]{escape(str(out))}[/bold]")
