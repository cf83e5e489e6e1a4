"""Section "Partial dependence": how the mean prediction moves as one top feature is set to each value."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from accelml.report.context import ReportContext
from accelml.report.figures import figure, figure_html, title
from accelml.report.page import Section, esc, note
from accelml.schema.schema import ColumnRole
from accelml.tasks import get_task

__all__ = ["dependence_section"]

MAX_CLASSES = 8


def _ylabel(ctx: ReportContext) -> str:
    schema = ctx.result.schema
    if not get_task(schema.task).classification:
        return f"mean predicted {schema.target}"
    if len(schema.classes) == 2:
        return f"mean P({schema.target} = {schema.classes[1]})"
    return "mean predicted probability"


def _chart(ctx: ReportContext, feature: str, curve: pd.DataFrame, ylim: tuple[float, float]) -> str:
    fig, ax = figure(width=5.2, height=3.4)
    numeric = ctx.result.schema.column(feature).role == ColumnRole.NUMERIC
    outputs = list(dict.fromkeys(curve["output"]))[:MAX_CLASSES]
    levels = list(dict.fromkeys(curve["value"]))
    for k, output in enumerate(outputs):
        part = curve[curve["output"] == output]
        label = str(output) if len(outputs) > 1 else None
        if numeric:
            ax.plot(part["value"], part["mean_prediction"], marker="o", markersize=3, linewidth=1.6, label=label)
        else:  # dots, not bars: the shared y-axis need not start at zero
            x = np.arange(len(levels)) + (k - (len(outputs) - 1) / 2) * min(0.12, 0.6 / len(outputs))
            ax.plot(x, part["mean_prediction"].to_numpy(), marker="o", markersize=7, linestyle="none", label=label)
    if not numeric:
        ax.set_xticks(np.arange(len(levels)), labels=[_short(v) for v in levels], rotation=30 if len(levels) > 4 else 0,
                      ha="right" if len(levels) > 4 else "center")
        ax.set_xlim(-0.5, len(levels) - 0.5)
    ax.set_ylim(*ylim)
    if len(outputs) > 1:
        ax.legend(title="class", fontsize=7, loc="best")
    title(ax, f"Partial dependence on {_short(feature, 30)}")
    ax.set_xlabel(feature + ("" if numeric else " (most frequent values)"))
    ax.set_ylabel(_ylabel(ctx))
    return figure_html(fig, f"partial dependence of the prediction on {feature}")


def _shared_ylim(values: pd.Series) -> tuple[float, float]:
    """One y-range for every chart, so that a flat curve looks flat and effects compare across features."""
    low, high = float(values.min()), float(values.max())
    pad = 0.08 * (high - low) or 0.05 * max(abs(high), 1e-9)
    return low - pad, high + pad


def _short(value: object, n: int = 16) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def dependence_section(ctx: ReportContext) -> Section | None:
    """One small chart per explained top feature; ``None`` for a model that reads only images, or a recommender."""
    if ctx.images_only or ctx.recommends:
        return None
    explanation = ctx.explanation
    if explanation is None or explanation.partial_dependence.empty:
        reason = "no explanation" if explanation is None else "no numeric or categorical feature among the top ones"
        return Section("dependence", "Partial dependence", f"<p>Not computed: {esc(reason)}.</p>")
    curves = explanation.partial_dependence
    ylim = _shared_ylim(curves["mean_prediction"])
    charts = [_chart(ctx, f, curves[curves["feature"] == f], ylim) for f in dict.fromkeys(curves["feature"])]
    text = ("Each chart sets one feature to each value of a grid (quantiles between the 5th and 95th percentile for "
            "numbers, the most frequent values for categories) in every row, keeps the other columns as they are, "
            "and plots the model's mean prediction. All charts share one vertical scale, so steeper means stronger. "
            "They show the model's average response, not a causal effect.")
    if any(isinstance(v, float) and math.isnan(v) for v in curves["mean_prediction"]):
        text += " Missing points could not be predicted."
    return Section("dependence", "Partial dependence", f'<div class="charts">{"".join(charts)}</div>' + note(text))
