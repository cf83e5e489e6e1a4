"""Section "Leaderboard": every finished trial and the ensemble, best first, with costs."""

from __future__ import annotations

from accelml.report.context import ReportContext
from accelml.report.page import Section, note, table_html
from accelml.report.recommend_choices import recommend_leaderboard_section

__all__ = ["leaderboard_section"]

MAX_ROWS = 40


def leaderboard_section(ctx: ReportContext) -> Section:
    """The leaderboard table: validation score, fit time, prediction time per row and ensemble weight."""
    if ctx.recommends:  # trials scored by a rating or a list metric, by their kind
        return recommend_leaderboard_section(ctx)
    metric = ctx.metric
    board = ctx.board
    column = f"val_{metric.name}"
    rows, classes = [], []
    for record in board.head(MAX_ROWS).to_dict("records"):
        ensemble = record["stage"] == "ensemble"
        weight = float(record.get("weight") or 0.0)
        rows.append([
            record["model"], record["family"], record["stage"], float(record[column]), float(record["fit_s"]),
            float(record["predict_s_per_1k"]),  # seconds per 1,000 rows = milliseconds per row
            "" if ensemble else (f"{weight:.2f}" if weight else "-"),
        ])
        classes.append("best" if ensemble else ("member" if weight else ""))
    table = table_html(
        rows,
        ["model", "family", "stage", f"validation {metric.name}", "fit time (s)", "prediction (ms/row)", "weight"],
        numeric=[3, 4, 5, 6],
        row_classes=classes,
    )
    failed = [t for t in ctx.result.trials if not t.ok]
    notes = [
        (f"{metric.name}: {'higher' if metric.greater_is_better else 'lower'} is better, on out-of-fold predictions. "
         "Fit time covers all folds; prediction time is for all fold models together. Ensemble members are shaded."),
    ]
    if len(board) > MAX_ROWS:
        notes.append(f"The {MAX_ROWS} best of {len(board)} rows are shown.")
    if failed:
        kinds = sorted({t.status for t in failed})
        notes.append(f"{len(failed)} trial(s) did not finish ({', '.join(kinds)}) and are not listed.")
    return Section("leaderboard", "Leaderboard", f'<div class="scroll">{table}</div>' + "".join(map(note, notes)))
