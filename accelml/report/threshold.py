"""Section "Decision threshold": a binary model's metric (and expected cost) against the threshold, the chosen one
marked."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from accelml.report.context import ReportContext
from accelml.report.figures import figure, figure_html, title
from accelml.report.page import Section, esc, key_figures, note
from accelml.tasks import get_task

__all__ = ["threshold_chart", "threshold_section"]

_COLOURS = ("#1f77b4", "#d62728")


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) and math.isfinite(value) else "not reached"


def threshold_chart(decision: dict[str, Any], positive: str) -> str:
    """Each stored curve against the threshold (a second one, in other units, on its own axis), with the chosen
    threshold as a solid line and 0.5 as a dotted one."""
    grid = np.asarray(decision["grid"], dtype=float)
    curves = list(decision["curves"].items())[:2]
    fig, ax = figure(width=7.4, height=4.6)
    axes = [ax, ax.twinx()] if len(curves) == 2 else [ax]
    for axis, colour, (label, curve) in zip(axes, _COLOURS, curves):
        values = np.array([np.nan if v is None else v for v in curve["values"]], dtype=float)
        better = "higher" if curve["greater_is_better"] else "lower"
        axis.plot(grid, values, color=colour, linewidth=1.7, label=f"{label} ({better} is better)")
        axis.set_ylabel(f"{label} (out-of-fold)", color=colour)
    if len(axes) == 2:
        axes[1].spines[["top"]].set_visible(False)
    threshold = decision["threshold"]
    ax.axvline(threshold, color="#111111", linewidth=1.3, label=f"chosen threshold {threshold:g}")
    ax.axvline(0.5, color="#888888", linestyle=":", linewidth=1.1, label="0.5")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"threshold: predict '{positive}' where its probability is at least this")
    title(ax, "Decision threshold")
    handles = [h for axis in axes for h in axis.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return figure_html(fig, "metric against the decision threshold")


def threshold_section(ctx: ReportContext) -> Section | None:
    """Where a binary model turns a probability into its positive class, and what that threshold was chosen for;
    ``None`` for other tasks and for models fitted without a stored threshold."""
    decision = ctx.result.extra.get("decision")
    if not get_task(ctx.task).two_classes or not decision or not decision.get("curves"):
        return None
    positive = str(ctx.result.schema.classes[1])
    threshold = decision["threshold"]
    tiles = [("decision threshold", f"{threshold:g}")]
    if decision.get("tuned"):
        objective = decision["objective"]
        tiles += [(f"{objective} at it (out-of-fold)", _number(decision["value"])),
                  (f"{objective} at 0.5", _number(decision["default_value"]))]
        best = "best" if decision["greater_is_better"] else "lowest"
        intro = (f"The model predicts <b>{esc(positive)}</b> where its probability is at least <b>{threshold:g}</b>, "
                 f"the threshold with the {best} {esc(objective)} on the out-of-fold predictions of "
                 f"{decision['rows']:,} training rows ({_number(decision['value'])} against "
                 f"{_number(decision['default_value'])} at 0.5).")
    else:
        intro = (f"The model predicts <b>{esc(positive)}</b> where its probability is at least <b>{threshold:g}</b>, "
                 f"as given when it was fitted; the curves show how the out-of-fold predictions of "
                 f"{decision['rows']:,} training rows fare at other thresholds.")
    costs = decision.get("costs")
    explained = ("Chosen on the same rows it is scored on, so the gain over 0.5 is slightly optimistic; ties go "
                 "to 0.5 or to the middle of the best range nearest it.")
    if costs:
        explained += " Expected cost is per row, with the costs " + ", ".join(f"{k} {v:g}" for k, v in costs.items())
        explained += "."
    return Section("threshold", "Decision threshold",
                   key_figures(tiles) + f"<p>{intro}</p>" + threshold_chart(decision, positive) + note(explained))
