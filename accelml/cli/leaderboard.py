"""``accelml leaderboard``: every trial of a saved model and the final ensemble, best first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from accelml.cli.display import leaderboard_table, stdout_console

__all__ = ["leaderboard"]


def leaderboard(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
) -> None:
    """Show the leaderboard of the model in MODEL_DIR."""
    from accelml import load

    automl = load(model_dir)
    metric = automl.metric_
    stdout_console().print(leaderboard_table(automl.leaderboard(), metric.name, metric.greater_is_better))
