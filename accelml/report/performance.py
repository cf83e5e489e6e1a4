"""Section "Performance": the score on test data (or out-of-fold) and the task's diagnostic charts."""

from __future__ import annotations

from accelml.ensemble.refit import refit_names
from accelml.report.classification import classification_charts
from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, key_figures, note
from accelml.report.recommend import recommend_section
from accelml.report.regression import regression_charts
from accelml.tasks import get_task

__all__ = ["performance_section"]


def performance_section(ctx: ReportContext) -> Section:
    """The test score when test data was given, and charts of the predictions on those rows (or out of fold); for a
    recommender, the quality of its lists instead."""
    if ctx.recommends:
        return recommend_section(ctx)
    ev, metric, result = ctx.evaluation, ctx.metric, ctx.result
    title = "Performance on test data" if ev is not None and ev.is_test else "Performance (out-of-fold)"
    if ev is None:
        return Section("performance", title, "<p>No test data was given and the model keeps no out-of-fold "
                                             "sample, so there is nothing to plot.</p>")
    tiles = [(f"validation {metric.name} (out-of-fold)", f"{result.val_score:.4f}")]
    if ev.is_test:
        tiles.insert(0, (f"test {metric.name} ({ev.label})", f"{ev.score:.4f}"))
        intro = (f"Scored on {esc(ev.label)} that no model saw during the search or the ensemble selection.")
        if ev.dropped:
            intro += f" {ev.dropped:,} test row(s) without a known target value were left out."
    else:
        intro = (f"No test data was given: these charts use the final ensemble's <b>{esc(ev.label)}</b>, each row "
                 "predicted by models that did not train on it. Pass test data for an independent check "
                 "(<code>accelml report MODEL --data test.csv</code>).")
        if refit_names(result.ensemble, result.n_splits, result.extra.get("one_fold", ())):
            intro += (" Members of the final model were refit on all rows; these predictions come from the fold "
                      "models they replaced.")
    if not get_task(ctx.task).classification:
        charts = regression_charts(ev, result.schema.target)
    else:
        charts = classification_charts(ev, list(result.schema.classes), result.decision_threshold)
    direction = "higher" if metric.greater_is_better else "lower"
    return Section(
        "performance",
        title,
        key_figures(tiles) + f"<p>{intro}</p>" + f'<div class="charts">{"".join(charts)}</div>'
        + note(f"{metric.name}: {direction} is better. Chart source: {ev.label}."),
    )
