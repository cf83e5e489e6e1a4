"""``accelml explain``: which features a saved model relies on, as Rich tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from accelml.cli.display import stdout_console

if TYPE_CHECKING:
    from accelml.explain import Explanation

__all__ = ["explain", "explanation_tables"]


def _bar(value: float, largest: float, width: int = 20) -> str:
    """A text bar proportional to ``value``.

    >>> _bar(0.5, 1.0, width=4)
    '██'
    """
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(width * value / largest))


def explanation_tables(explanation: Explanation) -> list[Table]:
    """Permutation importance, SHAP (when there is any) and partial dependence, as Rich tables."""
    frames = explanation.to_frames()
    verb = "drop" if explanation.greater_is_better else "rise"
    importance = Table(
        title=f"Permutation importance: {verb} in {explanation.metric} when shuffled",
        title_justify="left",
        caption=f"on {explanation.n_rows:,} rows of {explanation.source}",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for name, justify in (("feature", "left"), ("importance", "right"), ("± sd", "right"), ("", "left")):
        importance.add_column(name, justify=justify)
    largest = float(frames["importance"]["importance_mean"].max()) if len(frames["importance"]) else 0.0
    for row in frames["importance"].itertuples(index=False):
        importance.add_row(str(row.feature), f"{row.importance_mean:.4f}", f"{row.importance_std:.4f}",
                           _bar(row.importance_mean, largest), style="" if row.importance_mean > 0 else "dim")
    tables = [importance]
    if "shap" in frames:
        shap = Table(title=f"Mean |SHAP value| of the tree models ({explanation.shap_units})", title_justify="left",
                     box=box.SIMPLE_HEAD)
        shap.add_column("feature")
        shap.add_column("mean |SHAP|", justify="right")
        shap.add_column("")
        largest = float(frames["shap"]["mean_abs_shap"].max())
        for row in frames["shap"].itertuples(index=False):
            shap.add_row(str(row.feature), f"{row.mean_abs_shap:.4f}", _bar(row.mean_abs_shap, largest))
        tables.append(shap)
    curves = frames["partial_dependence"]
    if not curves.empty:
        dependence = Table(title="Partial dependence: where the mean prediction is lowest and highest",
                           title_justify="left", box=box.SIMPLE_HEAD)
        for name in ("feature", "output", "lowest at", "lowest", "highest at", "highest"):
            dependence.add_column(name, justify="right" if name in ("lowest", "highest") else "left")
        for (feature, output), part in curves.groupby(["feature", "output"], sort=False):
            low = part.loc[part["mean_prediction"].idxmin()]
            high = part.loc[part["mean_prediction"].idxmax()]
            dependence.add_row(str(feature), str(output), _value(low["value"]), f"{low['mean_prediction']:.4f}",
                               _value(high["value"]), f"{high['mean_prediction']:.4f}")
        tables.append(dependence)
    return tables


def _value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def explain(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
    data: Annotated[
        Path | None,
        typer.Argument(help="Labelled data to explain on (with the target column); the training sample if omitted.",
                       show_default=False),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Features to show.")] = 10,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Shuffles per feature.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the samples and shuffles.")] = 0,
) -> None:
    """Show which features the model in MODEL_DIR relies on: permutation importance, SHAP, partial dependence."""
    from accelml import load
    from accelml.explain import explain as explain_model

    automl = load(model_dir)
    explanation = explain_model(automl, str(data) if data is not None else None, n_repeats=repeats, top=top,
                                seed=seed)
    console = stdout_console()
    for table in explanation_tables(explanation):
        console.print(table)
