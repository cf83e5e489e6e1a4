"""Section "Choices": why this task, this metric and this final model."""

from __future__ import annotations

import math
from typing import Any

from accelml.ensemble.refit import REFIT_MAX_FOLDS, refit_mode, refit_names
from accelml.models import MODELS
from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, table_html
from accelml.report.recommend_choices import recommend_choices_section
from accelml.result import FitResult
from accelml.tasks import get_task

__all__ = ["choices_section"]


def _task_reason(ctx: ReportContext) -> str:
    schema, config = ctx.result.schema, ctx.result.config
    if config.task:
        return f"<b>{esc(schema.task)}</b>: given by the user."
    if not get_task(schema.task).classification:
        return f"<b>{esc(schema.task)}</b>: inferred because the target '{esc(schema.target)}' holds many distinct numbers."
    k = len(schema.classes or [])
    return (f"<b>{esc(schema.task)}</b>: inferred because the target '{esc(schema.target)}' takes {k} distinct "
            f"values{' (two classes)' if k == 2 else ''}.")


def _better(a: float, b: float, greater_is_better: bool) -> float:
    """How much ``a`` beats ``b`` (positive: better)."""
    return a - b if greater_is_better else b - a


def _model_reason(ctx: ReportContext) -> str:
    result, metric = ctx.result, ctx.metric
    members = result.ensemble.members
    ok = [t for t in result.trials if t.ok and math.isfinite(t.score)]
    if not ok:
        return "<p>No trial finished.</p>"
    best = max(ok, key=lambda t: t.score if metric.greater_is_better else -t.score)
    scores = {t.spec.name: t.score for t in ok}
    gain = _better(result.val_score, best.score, metric.greater_is_better)
    lighter = result.extra.get("lighter") if isinstance(result.extra, dict) else None
    if len(members) == 1 and lighter and lighter.get("pruned"):
        text = (f"<p>The final model is one trial, <b>{esc(members[0].name)}</b> ({metric.name} "
                f"{result.val_score:.4f}): the lightest choice close to the ensemble that greedy selection found "
                "(below).</p>")
    elif len(members) == 1:
        text = (f"<p>The final model is the single best trial, <b>{esc(members[0].name)}</b> "
                f"({metric.name} {result.val_score:.4f}): greedy ensemble selection found no mix of models that "
                "validated better.</p>")
    else:
        text = (f"<p>The final model is a weighted average of <b>{len(members)} models</b>, chosen by greedy ensemble "
                f"selection on out-of-fold predictions. It scores {metric.name} <b>{result.val_score:.4f}</b> against "
                f"{best.score:.4f} for the best single model, {esc(best.spec.name)} "
                f"({'+' if gain >= 0 else ''}{gain:.4f}, {'better' if gain >= 0 else 'worse'}).</p>")
    temperature = result.ensemble.temperature
    if temperature != 1.0:
        text += (f"<p>Its class probabilities are then calibrated by one temperature, <b>T = {temperature:.3f}</b>, "
                 f"fitted on the out-of-fold predictions ({'below 1 sharpens' if temperature < 1 else 'above 1 softens'} "
                 f"them); the score above includes it. The predicted class and the order of rows never change.</p>")
    text += _lighter_text(result, metric) + _refit_text(result)
    latency = result.extra.get("latency") if isinstance(result.extra, dict) else None
    if latency:
        text += (f"<p>Prediction time of the final model: {latency['single_row_ms']:.1f} ms for one row, "
                 f"{latency['batch_ms_per_row'] * 1000:,.0f} ms per 1,000 rows in a batch.</p>")
    rows = [[m.name, m.model, m.weight, scores.get(m.name, float("nan"))] for m in members]
    return text + table_html(rows, ["member", "family", "weight", f"own validation {metric.name}"], numeric=[2, 3])


def _lighter_text(result: FitResult, metric: Any) -> str:
    """What the prediction allowance weighed (see accelml.ensemble.prune): the members dropped and what the lighter
    ensemble costs and scores, or why every member stayed ("" where the ensemble fit the allowance)."""
    lighter = result.extra.get("lighter") if isinstance(result.extra, dict) else None
    if not lighter:
        return ""
    limit = getattr(result.config, "time_limit", None)
    allowance = (f"the {lighter['allowance_batch_s'] * 1000:,.0f} ms per 1,000 rows and "
                 f"{lighter['allowance_row_ms']:g} ms per row allowed" + (f" for a {limit:g} s fit" if limit else ""))
    full = (f"Greedy selection's ensemble would predict 1,000 rows in about {lighter['batch_s'] * 1000:,.0f} ms and "
            f"one row in {lighter['row_ms']:.1f} ms, over {allowance}")
    if not lighter.get("pruned"):
        return (f"<p>{full}; no lighter mix of its members validated within 0.1 % of it, so all were kept.</p>")

    def score(loss: float) -> float:
        return -loss if metric.greater_is_better else loss

    scale = lighter.get("scale", 1)
    within = "within that allowance" if scale == 1 else f"within {scale} times that allowance"
    return (f"<p>{full}. Selection was run again among its members {within}, and the result, without "
            f"{esc(', '.join(lighter['dropped']))}, predicts 1,000 rows in about "
            f"{lighter['batch_s_after'] * 1000:,.0f} ms and one row in {lighter['row_ms_after']:.1f} ms for a "
            f"validation {metric.name} of {score(lighter['loss_after']):.5f} against {score(lighter['loss_before']):.5f}"
            " (within 0.1 %): a member whose prediction cost outweighs what it adds is dropped "
            "(<code>prune=False</code> keeps them all).</p>")


def _bag_text(result: FitResult, bag: dict[str, Any]) -> str:
    """Why the default kept every fold model, or refit: what the ensemble with all its fold models took to predict
    1,000 rows, against what the time limit allows (``bag_allowance``)."""
    allowance = f"{bag['allowance_s'] * 1000:,.0f} ms"
    limit = getattr(result.config, "time_limit", None)
    given = f" for a {limit:g} s fit" if limit else ""
    if bag.get("kept"):
        return (f"<p>Every member kept its {result.n_splits} fold models: together they predict 1,000 rows in "
                f"{bag['batch_s'] * 1000:,.0f} ms, within the {allowance} allowed{given}, and on small tables the "
                "average of the fold models is worth more than one model refit on all rows "
                "(<code>refit_full=True</code> refits them).</p>")
    if bag.get("batch_s") is None and bag.get("batch_100_s") is not None:
        return (f"<p>With every fold model the ensemble took {bag['batch_100_s'] * 1000:,.0f} ms for 100 rows, already "
                f"over the {allowance} allowed for 1,000 rows{given}, so the fold models were not all kept.</p>")
    if bag.get("batch_s") is None:
        return (f"<p>Going by the search, the ensemble with every fold model would take over three times the "
                f"{allowance} allowed{given} to predict 1,000 rows, so the fold models were not all kept.</p>")
    return (f"<p>With every fold model the ensemble predicted 1,000 rows in {bag['batch_s'] * 1000:,.0f} ms, over "
            f"the {allowance} allowed{given} for keeping them all.</p>")


def _knn_text(names: list[str]) -> str:
    """Why k-nearest-neighbours members were refit on all rows ("" for none)."""
    if not names:
        return ""
    return (f"<p>{esc(', '.join(names))} (k-nearest neighbours) was refit once on all training rows, since that only "
            "stores them: one neighbour search instead of one per fold.</p>")


def _refit_text(result: FitResult) -> str:
    """Which members were refit on all rows, and why (asked for, chosen for few folds, trees and linear models
    with more folds, or free for kNN)."""
    extra = result.extra if isinstance(result.extra, dict) else {}
    one_fold = list(extra.get("one_fold", []))
    names = refit_names(result.ensemble, result.n_splits, one_fold)
    bag = extra.get("fold_models")
    weighed = _bag_text(result, bag) if bag else ""
    if one_fold:
        weighed += (f"<p>{esc(', '.join(one_fold))} kept {'its' if len(one_fold) == 1 else 'their'} first fold model "
                    "only: the refit on all rows would not have finished in the time left, and a forest's fold "
                    "models, each an average of hundreds of trees, predict nearly alike, so one costs a fold's "
                    "share of the prediction time for nearly the same output.</p>")
    families = {m.name: MODELS[m.model] for m in result.ensemble.members}
    if not names or (bag and bag.get("kept")):
        return weighed + _knn_text([n for n in names if families[n].free_refit])
    scheme = (extra.get("validation") or {}).get("scheme", "kfold")
    mode = refit_mode(getattr(result.config, "refit_full", False), result.n_splits, scheme)
    if mode == "families" and all(families[name].free_refit for name in names):
        mode = "free"  # only k-nearest neighbours were refit (as in an artifact saved before the families were)
    read = result.ensemble.stack_inputs
    folds = [m for m in result.ensemble.members if len(m.models) > 1 and not m.inputs]
    # networks keep their fold models by design where only the families one model suits are refit
    bagged = [m.name for m in folds if mode == "families" and not families[m.name].refit_many_folds]
    stacked = [m.name for m in folds if m.name in read and m.name not in bagged] if mode == "chosen" else []
    kept = [m.name for m in folds if (m.weight > 0 or m.name in read) and m.name not in bagged + stacked]
    listed = esc(", ".join(names))
    if mode == "free":
        return weighed + _knn_text(names)
    if mode == "asked":
        why = "as asked (refit-full), for a lighter model and faster predictions"
    elif scheme == "time":
        why = "since with time-ordered validation no fold model had trained on the latest rows"
    elif mode == "families":
        why = (f"since a tree or linear model on all rows does as well as the average of its {result.n_splits} fold "
               "models, and is lighter and faster to predict")
    else:
        why = (f"since with {result.n_splits} folds (at most {REFIT_MAX_FOLDS} refit by default) each fold model had "
               f"trained on only {result.n_splits - 1}/{result.n_splits} of the rows; this is also lighter and faster "
               "to predict")
    text = (f"{weighed}<p>{listed} {'was' if len(names) == 1 else 'were'} then refit once on all training rows, {why}. "
            "The validation scores are those of the fold models replaced.")
    if kept:
        text += (f" {esc(', '.join(kept))} kept {'its' if len(kept) == 1 else 'their'} fold models: the refit would not "
                 "have finished in the time left.")
    if bagged:
        text += (f" {esc(', '.join(bagged))} kept {'its' if len(bagged) == 1 else 'their'} fold models: each fold's "
                 "network starts from its own random weights, and their average is worth more than one network.")
    if stacked:
        text += (f" {esc(', '.join(stacked))} kept {'its' if len(stacked) == 1 else 'their'} fold models for the "
                 "stacker, which reads the outputs it was validated with.")
    return text + "</p>"


def choices_section(ctx: ReportContext) -> Section:
    """The task, the metric (with ``metric_reason``), the validation scheme and the final model."""
    if ctx.recommends:  # a blend of rating and ranking members, validated per user
        return recommend_choices_section(ctx)
    result, metric = ctx.result, ctx.metric
    direction = "higher is better" if metric.greater_is_better else "lower is better"
    splits = (f"{result.n_splits}-fold cross-validation" if result.n_splits > 1 else "one holdout split")
    if result.n_repeats > 1:
        splits += f" repeated {result.n_repeats} times with fresh shuffles (each row's predictions averaged)"
    scheme = (result.extra.get("validation") or {}) if isinstance(result.extra, dict) else {}
    if scheme.get("scheme") == "time":
        splits = (f"{esc(scheme['description'])}: each fold trained on the rows up to a time in "
                  f"'{esc(scheme['column'])}' and was validated on the rows just after it, never on the past")
    elif scheme.get("scheme") == "grouped":
        splits = (f"{esc(scheme['description'])}: the rows of each group of '{esc(scheme['column'])}' stayed in one "
                  "fold, so no model was validated on a group it trained on")
    config = result.config
    budget = f"{config.time_limit:g} s" if config.time_limit else "no time limit"
    body = (
        f"<h3>Task</h3><p>{_task_reason(ctx)}</p>"
        f"<h3>Metric</h3><p>{esc(result.metric_reason)} ({direction}).</p>"
        f"<h3>Validation</h3><p>Every model was scored on out-of-fold predictions from {splits} over "
        f"{result.n_rows:,} rows; the search took {result.fit_seconds:.1f} s ({budget}) and ran "
        f"{len(result.trials)} trials.</p>"
        f"<h3>Final model</h3>{_model_reason(ctx)}"
    )
    return Section("choices", "Why these choices", body)
