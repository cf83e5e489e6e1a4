"""Sections "Why these choices" and "Leaderboard" of a recommender's report.

A recommender blends two kinds of member: *rating* members predict the rating of a (user, item) pair (explicit
feedback only) and are scored by RMSE or MAE; *ranking* members score every item for a user and are scored by a list
metric such as NDCG@10. Each kind is searched and blended on its own, so every trial has a score in its kind's metric
only (``trial.extra["scores"]``), and the leaderboard shows one column per metric.
"""

from __future__ import annotations

import math
from typing import Any

from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, note, table_html

__all__ = ["recommend_choices_section", "recommend_leaderboard_section"]

_KINDS = {"rating": "predicts ratings", "ranking": "ranks items"}
_VERBS = {"rating": "predict ratings", "ranking": "rank items"}
MAX_ROWS = 20  # trials shown per metric: the best, and every member of the final blend


def _metric_names(ctx: ReportContext) -> list[str]:
    """The metrics trials were scored by, the optimised one first."""
    names = [ctx.metric.name]
    for trial in ctx.result.trials:
        for name in (trial.extra or {}).get("scores", {}):
            if name not in names:
                names.append(name)
    return names


def _trial_scores(trial: Any) -> dict[str, float]:
    return dict((trial.extra or {}).get("scores") or {})


def _task_text(ctx: ReportContext) -> str:
    info, schema = ctx.result.extra.get("recommend", {}), ctx.result.schema
    text = (f"<b>recommend</b>: the columns '{esc(info.get('user'))}' (user role) and '{esc(info.get('item'))}' "
            "(item role) make the data a log of who interacted with what. ")
    if schema.target:
        text += (f"The target '{esc(schema.target)}' holds ratings: the feedback is explicit, so the model predicts "
                 "ratings of (user, item) pairs and recommends lists.")
    else:
        text += "There is no target: every row is one interaction (implicit feedback), and the model recommends lists."
    return text


def _blend_text(ctx: ReportContext) -> str:
    members = ctx.result.ensemble.members
    kinds = {m.kind for m in members}
    scores = ctx.result.extra.get("recommend", {}).get("scores", {})
    parts = []
    for kind in ("rating", "ranking"):
        chosen = [m for m in members if m.kind == kind]
        if chosen:
            names = ", ".join(f"{m.name} ({m.weight:.2f})" for m in chosen)
            parts.append(f"{len(chosen)} member(s) that {_VERBS[kind]}: {esc(names)}")
    text = "<p>The final model blends " + "; and ".join(parts) + ", with the weights in brackets."
    if "ranking" in kinds and "rating" in kinds:
        text += " Lists come from the ranking blend; predicted ratings from the rating blend."
    elif "rating" in kinds:
        text += " Lists rank the items by predicted rating."
    if scores:
        text += " Validation scores of the blends: " + ", ".join(f"{esc(k)} <b>{v:.4f}</b>" for k, v in
                                                              scores.items()) + "."
    refit = [m.name for m in members if not m.refit]
    text += (" Each member was then refit on every interaction." if not refit else
             f" Members were then refit on every interaction, except {esc(', '.join(refit))} (not enough time left).")
    return text + "</p>"


def _skipped(ctx: ReportContext) -> str:
    skipped = ctx.result.extra.get("recommend", {}).get("skipped") or {}
    if not skipped:
        return ""
    return "<h3>Families not tried</h3>" + table_html([[k, v] for k, v in skipped.items()], ["family", "why"])


def recommend_choices_section(ctx: ReportContext) -> Section:
    """The task, the metric, the per-user validation and the blend of the final recommender."""
    result, metric = ctx.result, ctx.metric
    validation = (result.extra.get("validation") or {}).get("description") or f"{result.n_splits} split(s)"
    config = result.config
    budget = f"{config.time_limit:g} s" if config.time_limit else "no time limit"
    rows = [[m.name, m.family, _KINDS.get(m.kind, m.kind), m.weight] for m in result.ensemble.members]
    body = (
        f"<h3>Task</h3><p>{_task_text(ctx)}</p>"
        f"<h3>Metric</h3><p>{esc(result.metric_reason)} ({'higher' if metric.greater_is_better else 'lower'} is "
        "better).</p>"
        f"<h3>Validation</h3><p>{esc(validation)}: every model trained on the other interactions and was scored on "
        "each user's held-out ones (lists leave out the items the user had in training). The search took "
        f"{result.fit_seconds:.1f} s ({budget}) over {result.n_rows:,} interactions and ran {len(result.trials)} "
        "trials.</p>"
        "<h3>Final model</h3>" + _blend_text(ctx)
        + table_html(rows, ["member", "family", "kind", "weight"], numeric=[3])
        + _skipped(ctx)
    )
    return Section("choices", "Why these choices", body)


def recommend_leaderboard_section(ctx: ReportContext) -> Section:
    """The blends, then the best finished trials of each metric with their score, members shaded."""
    result = ctx.result
    names = _metric_names(ctx)
    weights = {m.name: m.weight for m in result.ensemble.members}
    blend = result.extra.get("recommend", {}).get("scores", {})
    rows = [["final blend", "+".join(sorted({m.family for m in result.ensemble.members})), "blend",
             *[float(blend.get(n, math.nan)) for n in names], float("nan"), ""]]
    classes = ["best"]
    for trial in _shown(ctx, names, weights):
        scores = _trial_scores(trial)
        weight = weights.get(trial.spec.name, 0.0)
        rows.append([trial.spec.name, trial.spec.model, _KINDS.get((trial.extra or {}).get("kind"), "-"),
                     *[float(scores.get(n, math.nan)) for n in names], float(trial.fit_time),
                     f"{weight:.2f}" if weight else "-"])
        classes.append("member" if weight else "")
    header = ["model", "family", "kind", *[f"validation {n}" for n in names], "fit time (s)", "weight"]
    numeric = list(range(3, len(header)))
    table = table_html(rows, header, numeric=numeric, row_classes=classes)
    notes = [", ".join(f"{n}: {'higher' if _greater(n) else 'lower'} is better" for n in names)
             + ". Each trial is scored in its kind's metric only ('-' elsewhere); fit time covers every validation "
               "split. Members of the final blend are shaded."]
    ok = [t for t in result.trials if t.ok]
    if len(rows) - 1 < len(ok):
        notes.append(f"{len(rows) - 1} of {len(ok)} finished trials are shown: the {MAX_ROWS} best of each metric, "
                     "and every member.")
    failed = [t for t in result.trials if not t.ok]
    if failed:
        notes.append(f"{len(failed)} trial(s) did not finish ({', '.join(sorted({t.status for t in failed}))}) and "
                     "are not listed.")
    return Section("leaderboard", "Leaderboard", f'<div class="scroll">{table}</div>' + "".join(map(note, notes)))


def _shown(ctx: ReportContext, names: list[str], weights: dict[str, float]) -> list[Any]:
    """Finished trials grouped by the metric that scored them (in the order of ``names``), best first: the
    :data:`MAX_ROWS` best of each group and every member of the final blend."""
    groups: dict[str, list[Any]] = {n: [] for n in names}
    for trial in ctx.result.trials:
        scores = _trial_scores(trial)
        name = next((n for n in names if math.isfinite(scores.get(n, math.nan))), None)
        if trial.ok and name is not None:
            groups[name].append(trial)
    shown = []
    for name, trials in groups.items():
        sign = -1.0 if _greater(name) else 1.0
        ranked = sorted(trials, key=lambda t: sign * _trial_scores(t)[name])
        shown += [t for k, t in enumerate(ranked) if k < MAX_ROWS or t.spec.name in weights]
    return shown


def _greater(name: str) -> bool:
    from accelml.metrics import get_metric

    return get_metric(name, "recommend").greater_is_better
