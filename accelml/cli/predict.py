"""``accelml predict``: predictions of a saved model for a data file (written as CSV in the same row order) or a
folder of images (one row per image: its path, the predicted label and each class's probability)."""

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
    data: Annotated[Path, typer.Argument(help="Data to predict: the training columns (target not needed), or a "
                                         "folder of images for an image model.", show_default=False)],
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
    if data.is_dir():
        frame = _image_predictions(automl, data)
    elif proba:
        frame = automl.predict_proba(str(data))
    else:
        frame = pd.DataFrame({PREDICTION_COLUMN: automl.predict(str(data))})
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    what = "class probabilities" if proba and not data.is_dir() else "predictions"
    console.print(f"Wrote {len(frame):,} rows of {what} to [bold]{escape(str(out))}[/bold]")


def _image_predictions(automl, folder: Path):
    """Every image in ``folder`` (and its subfolders): its path, the predicted label and, for classification, each
    class's probability (columns ``proba_<class>``)."""
    import pandas as pd

    from accelml.data.sources import prediction_frame
    from accelml.features.images import image_columns

    columns = image_columns(automl.schema_)
    if not columns:
        raise ConfigError(f"'{folder}' is a folder, but this model reads a table: give a data file")
    frame = prediction_frame(folder, automl.schema_)
    out = pd.DataFrame({"path": frame[columns[0]].to_numpy()})
    if not get_task(automl.task_).classification:
        out[PREDICTION_COLUMN] = automl.predict(frame)
        return out
    from accelml.ensemble.threshold import class_indices

    probabilities = automl.predict_proba(frame)
    out["label"] = automl.classes_[class_indices(probabilities.to_numpy(), automl.decision_threshold_)]
    for label in probabilities.columns:
        out[f"proba_{label}"] = probabilities[label].to_numpy()
    return out
