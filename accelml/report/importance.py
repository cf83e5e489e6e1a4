"""Section "Feature importance": permutation importance of the whole model, and tree SHAP beside it."""

from __future__ import annotations

import numpy as np

from accelml.report.context import ReportContext
from accelml.report.figures import family_colour, figure, figure_html, title
from accelml.report.page import Section, esc, note

__all__ = ["importance_section"]

TOP = 12


def _bars(ax, names: list[str], values: np.ndarray, errors: np.ndarray | None, colour: str) -> None:
    positions = np.arange(len(names))[::-1]  # most important at the top
    ax.barh(positions, values, xerr=errors, color=colour, alpha=0.85, error_kw={"elinewidth": 1, "capsize": 2})
    ax.set_yticks(positions, labels=[n if len(n) <= 28 else n[:27] + "…" for n in names])
    ax.grid(False, axis="y")
    ax.axvline(0, color="#333333", linewidth=0.8)


def permutation_chart(ctx: ReportContext) -> str:
    explanation = ctx.explanation
    table = explanation.importance.head(TOP)
    fig, ax = figure(width=6.4, height=0.9 + 0.32 * len(table))
    _bars(ax, list(table["feature"]), table["importance_mean"].to_numpy(), table["importance_std"].to_numpy(),
          "#3557b7")
    verb = "drop" if explanation.greater_is_better else "rise"
    title(ax, "Permutation importance")
    ax.set_xlabel(f"{verb} in {explanation.metric} when the feature is shuffled\n(mean ± sd of the repeats)")
    return figure_html(fig, "permutation importance of each feature")


def shap_chart(ctx: ReportContext) -> str:
    explanation = ctx.explanation
    table = explanation.shap.head(TOP)
    fig, ax = figure(width=6.4, height=0.9 + 0.32 * len(table))
    _bars(ax, list(table["feature"]), table["mean_abs_shap"].to_numpy(), None, family_colour("catboost"))
    title(ax, "Mean |SHAP value| of the tree models")
    ax.set_xlabel(f"mean absolute contribution to the prediction ({explanation.shap_units})")
    return figure_html(fig, "mean absolute SHAP value of each feature")


def importance_section(ctx: ReportContext) -> Section | None:
    """Bar charts of permutation importance and, when the ensemble has tree members, SHAP; ``None`` for a model that
    reads only images (one column's importance says nothing) or for a recommender (no feature columns)."""
    if ctx.images_only or ctx.recommends:
        return None
    explanation = ctx.explanation
    if explanation is None:
        reason = ctx.explanation_error or "no labelled rows were available"
        return Section("importance", "Feature importance", f"<p>Not computed: {esc(reason)}.</p>")
    charts = [permutation_chart(ctx)]
    if explanation.shap is not None:
        charts.append(shap_chart(ctx))
    text = (
        f"Computed on {explanation.n_rows:,} rows of {explanation.source}. Permutation importance shuffles one input "
        "column at a time and measures how much the whole model (preprocessing and ensemble) gets worse: it shows "
        "what the model relies on, not causes. Correlated features share their importance."
    )
    if ctx.evaluation is None or not ctx.evaluation.is_test:
        text += (" Without test data these are rows the model trained on, which can overstate features it overfits; "
                 "pass test data for an unbiased ranking.")
    if explanation.shap is not None:
        text += (" SHAP values come from the ensemble's tree models (exact TreeSHAP), weighted by their ensemble "
                 "weight and summed over the encoded columns of each input column.")
    else:
        text += " SHAP values are shown only when the ensemble includes LightGBM, XGBoost or CatBoost models."
    return Section("importance", "Feature importance", f'<div class="charts">{"".join(charts)}</div>' + note(text))
