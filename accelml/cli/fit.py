"""``accelml fit``: search, tune and ensemble models for a column of a data file, then save the result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from accelml.cli.display import print_command, stdout_console
from accelml.cli.paths import check_model_folder
from accelml.cli.summary import fit_with_display, print_fit_summary

__all__ = ["fit", "parse_models"]

DEFAULT_OUT = Path("accelml-model")


def parse_models(models: str | None) -> list[str] | None:
    """``"lgbm, xgb"`` as ``["lgbm", "xgb"]``; ``None`` or empty for every family.

    >>> parse_models("lgbm, xgb,"), parse_models(None)
    (['lgbm', 'xgb'], None)
    """
    if not models:
        return None
    keys = [key.strip() for key in models.split(",") if key.strip()]
    return keys or None


def fit(
    data: Annotated[Path, typer.Argument(help="Training data: CSV/TSV, Parquet, JSON or Excel.", show_default=False)],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.", show_default=False)],
    task: Annotated[
        str | None, typer.Option(help="binary, multiclass or regression; inferred from the target if not given.")
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="Metric to optimise (accuracy, roc_auc, rmse, ...); chosen for the task if none.")
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds the whole fit may take.")] = 60.0,
    max_trials: Annotated[int | None, typer.Option("--max-trials", help="Stop after this many trials.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to save the model in.")] = DEFAULT_OUT,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Cores to use; -1 for all.")] = -1,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated model families to try, e.g. lgbm,xgb; all by default.")
    ] = None,
    refit_full: Annotated[
        bool, typer.Option("--refit-full", help="Refit the ensemble on all rows: lighter model, faster predictions.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out folder if it exists.")] = False,
) -> None:
    """Fit models to predict TARGET from the other columns of DATA and save the best ensemble."""
    from accelml import AutoML

    console = stdout_console()
    check_model_folder(out, force)  # before fitting, so that no time is wasted
    automl = AutoML(
        task=task,
        metric=metric,
        time_limit=time_limit,
        n_jobs=jobs,
        seed=seed,
        max_trials=max_trials,
        models=parse_models(models),
        refit_full=refit_full,
    )
    fit_with_display(console, automl, str(data), target)
    print_fit_summary(console, automl)
    path = automl.save(out, force=force)
    console.print()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    console.print(f"Saved the model to [bold]{escape(str(path))}[/bold] ({size:.1f} MB)")
    console.print("Predict with:")
    print_command(console, f"accelml predict {path} NEW_DATA.csv --out predictions.csv")
