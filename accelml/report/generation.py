"""Section "Feature generation": which generated columns were added to every model's input, and the out-of-fold
scores that decided it (see :mod:`accelml.search.generation`)."""

from __future__ import annotations

from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, key_figures, note, table_html
from accelml.report.selection import score_text

__all__ = ["generation_section"]


def generation_section(ctx: ReportContext) -> Section | None:
    """The generated columns added with each one's share of the quick model's gain, and the out-of-fold scores with
    and without them, or why none was added; ``None`` where generation did not run (turned off, skipped: the
    leaderboard's note says why) and for a model saved before feature generation existed."""
    generation = ctx.result.extra.get("feature_generation")
    if not generation or generation["status"] not in ("added", "none"):
        return None
    metric = generation.get("metric") or ctx.metric.name
    added = generation.get("added") or []
    tiles = [("columns added", f"{len(added)} of {len(generation.get('candidates') or [])} tried"),
             (f"{metric} with the data's own columns", score_text(generation.get("score_base"))),
             (f"{metric} with every candidate", score_text(generation.get("score_all"))),
             (f"{metric} with those it leaned on", score_text(generation.get("score_kept"))),
             ("seconds", f"{generation.get('seconds', 0.0):.1f}")]
    how = (f"A quick {esc(generation.get('model', 'lgbm'))} model was trained on the validation folds with the data's "
           "own columns; ratios, differences and products of its most important numeric columns, their means by its "
           "most important categorical columns (and the deviations from them) and those columns' frequencies were "
           "then tried as extra columns, each learned from the training rows of its fold only. They were added only "
           f"if the out-of-fold {esc(metric)} with them was clearly better, on more folds than it was worse.")
    if added:
        rows = [[a["name"], a["kind"], ", ".join(a["columns"]), float(a["gain"])] for a in added]
        body = (f"<p>{len(added)} generated column(s) were added to every model's input: {esc(generation['reason'])}."
                " They are computed from the columns they are made of, which must be present at prediction time.</p>"
                + table_html(rows, ["column", "kind", "made of", "share of gain"], numeric=[3]))
    else:
        body = f"<p>No generated column was added: {esc(generation['reason'])}.</p>"
    return Section("generation", "Feature generation", key_figures(tiles) + body + note(how))
