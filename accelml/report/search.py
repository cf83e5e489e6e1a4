"""Section "Search over time": each trial's score when it finished, and the best score so far."""

from __future__ import annotations

import math

import numpy as np

from accelml.report.context import ReportContext
from accelml.report.figures import family_colour, figure, figure_html, title
from accelml.report.page import Section, note

__all__ = ["search_section"]


def search_chart(ctx: ReportContext) -> str:
    """Scatter of trial scores against elapsed time, coloured by model family, with the best-so-far staircase."""
    metric = ctx.metric
    trials = sorted((t for t in ctx.result.trials if t.ok and math.isfinite(t.score)), key=lambda t: t.finished_at)
    fig, ax = figure(width=9.0, height=4.2)
    times = np.array([t.finished_at for t in trials])
    scores = np.array([t.score for t in trials])
    best = np.maximum.accumulate(scores) if metric.greater_is_better else np.minimum.accumulate(scores)
    ax.step(np.r_[times, ctx.result.fit_seconds], np.r_[best, best[-1]], where="post", color="#555555",
            linewidth=1.6, label="best so far", zorder=2)
    for family in sorted({t.spec.model for t in trials}):
        mask = np.array([t.spec.model == family for t in trials])
        ax.scatter(times[mask], scores[mask], s=38, color=family_colour(family), label=family, zorder=3,
                   edgecolors="white", linewidths=0.6)
    ax.axhline(ctx.result.val_score, color=family_colour("ensemble"), linestyle="--", linewidth=1.2,
               label=f"final ensemble ({ctx.result.val_score:.4f})", zorder=1)
    title(ax, f"Validation {metric.name} of each trial as the search went on")
    ax.set_xlabel("elapsed time since the search began (s)")
    ax.set_ylabel(f"validation {metric.name} ({'higher' if metric.greater_is_better else 'lower'} is better)")
    ax.set_xlim(left=0)
    ax.margins(y=0.12)  # the best and worst points stay clear of the title and the axis
    _clip_outliers(ax, scores, ctx.result.val_score, metric.greater_is_better)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_html(fig, f"validation {metric.name} against elapsed time, by model family")


def _clip_outliers(ax, scores: np.ndarray, final: float, greater_is_better: bool) -> None:
    """Keep the interesting range readable: a few very bad trials should not squash the good ones into a line."""
    values = np.r_[scores, final]
    good = np.quantile(values, 0.25 if greater_is_better else 0.75)
    top = values.max() if greater_is_better else values.min()
    span = abs(top - good)
    worst = values.min() if greater_is_better else values.max()
    if span > 0 and abs(top - worst) > 4 * span:
        low, high = (good - 2 * span, top + 0.3 * span) if greater_is_better else (top - 0.3 * span, good + 2 * span)
        ax.set_ylim(low, high)
        ax.annotate("some poor trials lie outside the plot", xy=(0.01, 0.02), xycoords="axes fraction",
                    fontsize=8, color="#777777")


def search_section(ctx: ReportContext) -> Section:
    """The search-over-time chart, or a sentence when no trial finished."""
    finished = [t for t in ctx.result.trials if t.ok and math.isfinite(t.score)]
    if not finished:
        return Section("search", "Search over time", "<p>No trial finished, so there is nothing to plot.</p>")
    families = sorted({t.spec.model for t in finished})
    text = note(
        f"{len(finished)} finished trials from {len(families)} model families ({', '.join(families)}). Each point is "
        "one trial's out-of-fold score at the moment it finished; the staircase is the best single model so far and "
        "the dashed line the final ensemble."
    )
    return Section("search", "Search over time", search_chart(ctx) + text)
