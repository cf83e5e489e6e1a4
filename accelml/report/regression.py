"""Charts of a regressor's performance: predicted against actual, and residuals."""

from __future__ import annotations

import numpy as np

from accelml.report.evaluation import Evaluation
from accelml.report.figures import figure, figure_html, title

__all__ = ["actual_chart", "regression_charts", "residual_chart", "residual_histogram"]


def _alpha(n: int) -> float:
    return float(np.clip(30 / np.sqrt(max(n, 1)), 0.15, 0.8))


def actual_chart(ev: Evaluation, target: str) -> str:
    """Predicted against actual values, with the line of perfect predictions and R²/RMSE in the title."""
    y, pred = ev.y, ev.outputs
    rmse = float(np.sqrt(np.mean((y - pred) ** 2)))
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else float("nan")
    fig, ax = figure(width=5.2, height=4.4)
    ax.scatter(y, pred, s=10, alpha=_alpha(len(y)), color="#3557b7", edgecolors="none")
    low, high = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([low, high], [low, high], linestyle="--", color="#d62728", linewidth=1.2, label="perfect prediction")
    ax.set_xlabel(f"actual {target}")
    ax.set_ylabel(f"predicted {target}")
    title(ax, f"Predicted against actual (R² {r2:.3f}, RMSE {rmse:.4g})")
    ax.legend(loc="upper left")
    return figure_html(fig, "predicted against actual values")


def residual_chart(ev: Evaluation, target: str) -> str:
    """Residuals against the prediction: bias shows as a trend, unequal spread as a funnel."""
    residuals = ev.y - ev.outputs
    fig, ax = figure(width=5.2, height=4.4)
    ax.scatter(ev.outputs, residuals, s=10, alpha=_alpha(len(residuals)), color="#3557b7", edgecolors="none")
    ax.axhline(0, color="#d62728", linestyle="--", linewidth=1.2)
    ax.set_xlabel(f"predicted {target}")
    ax.set_ylabel(f"residual: actual − predicted {target}")
    title(ax, "Residuals against prediction")
    return figure_html(fig, "residuals against prediction")


def residual_histogram(ev: Evaluation, target: str) -> str:
    """How the residuals are distributed: centred on zero, symmetric, heavy-tailed?"""
    residuals = ev.y - ev.outputs
    fig, ax = figure(width=5.2, height=4.4)
    ax.hist(residuals, bins=min(40, max(10, len(residuals) // 10)), color="#3557b7", alpha=0.85)
    ax.axvline(0, color="#d62728", linestyle="--", linewidth=1.2)
    ax.set_xlabel(f"residual: actual − predicted {target}")
    ax.set_ylabel("rows")
    title(ax, f"Distribution of residuals (mean {residuals.mean():.3g})")
    return figure_html(fig, "residuals histogram")


def regression_charts(ev: Evaluation, target: str) -> list[str]:
    """Every regression chart, in reading order."""
    return [actual_chart(ev, target), residual_chart(ev, target), residual_histogram(ev, target)]
