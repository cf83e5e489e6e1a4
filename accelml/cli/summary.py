"""A fit as the CLI shows it: the data issues, the live search, then the leaderboard and the validation score.

Shared by ``accelml fit`` and ``accelml demo``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from accelml.cli.display import direction, format_score, leaderboard_table, print_issues
from accelml.cli.progress import SearchDisplay
from accelml.leaderboard import generation_note, selection_note
from accelml.tasks import get_task

__all__ = ["fit_with_display", "print_fit_summary"]


def _known_metric(metric: str | None, task: str | None) -> str | None:
    """The metric's name when it is known before the data is read: the user's, or the default of the user's task."""
    if metric:
        return metric.lower()
    if task:
        from accelml.metrics import default_metric

        try:
            return default_metric(task).name
        except Exception:  # an unknown task: the fit itself reports it
            return None
    return None


def fit_with_display(console: Console, automl: Any, data: Any, target: str | None, *, resume: bool = False,
                     **tables: Any) -> Any:
    """Fit ``automl`` on ``data`` while showing the search; return the fitted ``automl``. ``tables`` are a
    recommender's ``item_table`` and ``user_table``, passed on to ``fit``."""
    metric = _known_metric(automl.metric if isinstance(automl.metric, str) else None, automl.task)
    with SearchDisplay(console, automl.time_limit, metric=metric) as display:
        automl.fit(data, target=target, progress=display, resume=resume, **tables)
        display.metric = automl.metric_.name  # so that the final frame of the live panel names it
    if not display.issues_shown:
        print_issues(console, automl.issues_)
    return automl


def print_fit_summary(console: Console, automl: Any) -> None:
    """The leaderboard and the validation score of a fitted ``automl`` (its data issues were shown before)."""
    metric = automl.metric_
    console.print()
    console.print(leaderboard_table(automl.leaderboard(), metric.name, metric.greater_is_better))
    line = Text("Validation ")
    line.append(f"{metric.name}: {format_score(automl.val_score_)}", style="bold")
    scheme = automl.result_.extra.get("validation") or {}
    splits = scheme.get("description") or f"{automl.result_.n_splits} split(s)"
    if automl.result_.n_repeats > 1 and "repeats" not in splits:
        splits += f" x {automl.result_.n_repeats} repeats"
    line.append(f" ({direction(metric.greater_is_better)}; out-of-fold, {splits})", style="dim")
    console.print(line)
    selection = automl.result_.extra.get("feature_selection")
    if selection and selection["status"] in ("dropped", "kept"):
        console.print(selection_note(selection), style="dim")
    generation = automl.result_.extra.get("feature_generation")
    if generation and generation["status"] in ("added", "none"):
        console.print(generation_note(generation), style="dim")
    decision = automl.result_.extra.get("decision")
    if decision and decision.get("tuned"):
        console.print(f"Decision threshold: {decision['threshold']:g}, tuned for {decision['objective']} on the "
                      f"out-of-fold predictions ({format_score(decision['value'])} against "
                      f"{format_score(decision['default_value'])} at 0.5)", style="dim")
    elif decision:
        console.print(f"Decision threshold: {decision['threshold']:g}, as given", style="dim")
    latency = automl.result_.extra.get("latency")
    if latency and get_task(automl.task_).recommends:
        console.print(
            f"Recommendation time: {latency['single_row_ms']:.1f} ms for one user, "
            f"{latency['batch_ms_per_row']:.1f} ms per user in a batch",
            style="dim",
        )
    elif latency:
        console.print(
            f"Prediction time: {latency['single_row_ms']:.1f} ms for one row, "
            f"{latency['batch_ms_per_row'] * 1000:.0f} ms per 1,000 rows in a batch",
            style="dim",
        )
