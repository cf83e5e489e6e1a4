"""Section "Feature selection": which columns were dropped before the search, and why (see
:mod:`accelml.search.selection`)."""

from __future__ import annotations

import math
from typing import Any

from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, key_figures, note, table_html

__all__ = ["score_text", "selection_section"]

MAX_ROWS = 50  # dropped columns listed; the rest are counted


def score_text(value: Any) -> str:
    return f"{value:.5g}" if isinstance(value, (int, float)) and math.isfinite(value) else "-"


def selection_section(ctx: ReportContext) -> Section | None:
    """The columns feature selection dropped with each one's importance and reason, and the out-of-fold scores with
    and without them, or why it kept every column; ``None`` where it did not run (turned off, skipped: the
    leaderboard's note says why) and for a model saved before feature selection existed."""
    selection = ctx.result.extra.get("feature_selection")
    if not selection:
        return None
    metric, status = selection.get("metric") or ctx.metric.name, selection["status"]
    if status not in ("dropped", "kept"):  # off, or skipped (the leaderboard's note says why)
        return None
    dropped = selection.get("dropped") or []
    tiles = [("columns dropped", f"{len(dropped)} of {selection['n_columns']}"),
             (f"{metric} with every column", score_text(selection.get("score_all"))),
             (f"{metric} without the candidates", score_text(selection.get("score_kept"))),
             ("seconds", f"{selection.get('seconds', 0.0):.1f}")]
    how = (f"A quick {esc(selection.get('model', 'lgbm'))} model was trained on the validation folds; each column it "
           "read was then shuffled in the validation rows, and the rise in the validation loss is its importance (0 "
           "for a column the model never used). Columns whose importance was not clearly above a shuffled copy's "
           f"were candidates, dropped only if the out-of-fold {esc(metric)} without them was at least as good.")
    if status == "dropped":
        rows = [[d["column"], float(d["importance"]), d["why"]] for d in dropped[:MAX_ROWS]]
        body = (f"<p>{len(dropped)} column(s) were dropped before the search: {esc(selection['reason'])}. No model "
                "reads them, and they may be absent from the data to predict.</p>"
                + table_html(rows, ["column", "importance", "why"], numeric=[1]))
        if len(dropped) > MAX_ROWS:
            body += note(f"The first {MAX_ROWS} of {len(dropped)} dropped columns are listed.")
    else:
        body = f"<p>Every column was kept: {esc(selection['reason'])}.</p>"
    return Section("selection", "Feature selection", key_figures(tiles) + body + note(how))
