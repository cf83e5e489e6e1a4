"""The leaderboard: the final ensemble and every finished trial, best first."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["generation_note", "leaderboard", "selection_note"]


def leaderboard(result: Any) -> pd.DataFrame:
    """One row per finished trial plus one for the ensemble (``accelml.result.FitResult`` in, a frame out).

    Columns: ``model``, ``family``, ``stage``, ``val_<metric>`` (out-of-fold score), ``fit_s`` (all folds),
    ``predict_s_per_1k`` (all fold models, per 1,000 rows) and ``weight`` in the final ensemble; under deployment
    constraints also ``latency_ms`` (one row), ``size_mb`` and ``meets_constraints`` for the ensemble's candidates.
    """
    weights = {m.name: m.weight for m in result.ensemble.members}
    members = [t for t in result.trials if t.spec.name in weights]
    rows = [
        {
            "model": "ensemble",
            "family": "+".join(sorted({m.model for m in result.ensemble.members})),
            "stage": "ensemble",
            "score": result.val_score,
            "fit_s": sum(t.fit_time for t in members),
            "predict_s_per_1k": sum(t.predict_time for t in members),
            "weight": 1.0,
        }
    ]
    rows += [
        {
            "model": t.spec.name,
            "family": t.spec.model,
            "stage": t.spec.stage,
            "score": t.score,
            "fit_s": t.fit_time,
            "predict_s_per_1k": t.predict_time,
            "weight": weights.get(t.spec.name, 0.0),
        }
        for t in result.trials
        if t.ok
    ]
    board = pd.DataFrame(rows)
    # a recommender scores its rating and its list trials by different metrics: one column each
    others = {name for t in result.trials if t.ok for name in t.extra.get("scores", {}) if name != result.metric.name}
    for name in sorted(others):
        values = {t.spec.name: t.extra["scores"].get(name) for t in result.trials if t.ok}
        board[f"val_{name}"] = board["model"].map(values)
        board.loc[board["model"] == "ensemble", f"val_{name}"] = result.extra.get("recommend", {}).get(
            "scores", {}).get(name)
    costs = result.extra.get("costs")
    if costs:  # under deployment constraints: each candidate's single-row latency, size, and whether it meets them
        latency = {name: c["latency_ms"] for name, c in costs.items()}
        size = {name: c["size_mb"] for name, c in costs.items()}
        board["latency_ms"] = board["model"].map(latency)
        board["size_mb"] = board["model"].map(size)
        board["meets_constraints"] = board["model"].map({name: c["meets"] for name, c in costs.items()})
        members = [m.name for m in result.ensemble.members]
        board.loc[board["model"] == "ensemble", ["latency_ms", "size_mb", "meets_constraints"]] = [
            sum(latency.get(n, 0.0) for n in members), sum(size.get(n, 0.0) for n in members), True
        ]
    board = board.sort_values("score", ascending=not result.metric.greater_is_better, kind="stable")
    before = [_selection_rows(result.extra.get("feature_selection")),
              _generation_rows(result.extra.get("feature_generation"))]
    before = [rows for rows in before if len(rows)]
    if before:
        board = pd.concat([board, *before], ignore_index=True)
    board.attrs["feature_selection"] = selection_note(result.extra.get("feature_selection"))
    board.attrs["feature_generation"] = generation_note(result.extra.get("feature_generation"))
    return board.reset_index(drop=True).rename(columns={"score": f"val_{result.metric.name}"})


def _selection_rows(selection: dict[str, Any] | None) -> pd.DataFrame:
    """Feature selection's evidence, below the trials (its quick model on the first repeat's folds is no candidate
    of the ensemble): the out-of-fold score with every column and without the candidates to drop."""
    if not selection or selection.get("score_all") is None:
        return pd.DataFrame()
    n, kept = selection["n_columns"], selection["n_columns"] - len(selection.get("candidates") or [])
    rows = [("selection_all_columns", f"{n} columns", selection["score_all"], selection.get("fit_time_all", 0.0))]
    if selection.get("score_kept") is not None:
        rows.append(("selection_kept_columns", f"{kept} of {n} columns", selection["score_kept"],
                     selection.get("fit_time_kept", 0.0)))
    return _step_rows("selection", selection.get("model", "lgbm"), rows)


def _step_rows(stage: str, family: str, rows: list[tuple[str, str, float | None, float]]) -> pd.DataFrame:
    """Leaderboard rows of a step before the search (its quick model's scores): ``(name, columns, score, seconds)``
    each, those without a score left out."""
    return pd.DataFrame([{"model": name, "family": family, "stage": stage, "score": score, "fit_s": seconds,
                          "predict_s_per_1k": 0.0, "weight": 0.0, "columns": columns}
                         for name, columns, score, seconds in rows if score is not None])


def selection_note(selection: dict[str, Any] | None) -> str:
    """Feature selection's outcome in one sentence (empty when it did not run).

    >>> selection_note({"status": "dropped", "n_columns": 5, "reason": "the score was better",
    ...                 "dropped": [{"column": "a", "why": "never used by the model"}]})
    'Feature selection dropped 1 of 5 columns (the score was better): a (never used by the model).'
    """
    if not selection:
        return ""
    if selection["status"] == "dropped":
        dropped = selection["dropped"]
        listed = "; ".join(f"{d['column']} ({d['why']})" for d in dropped[:_LISTED])
        more = f"; and {len(dropped) - _LISTED} more" if len(dropped) > _LISTED else ""
        return (f"Feature selection dropped {len(dropped)} of {selection['n_columns']} columns ({selection['reason']}): "
                f"{listed}{more}.")
    what = {"kept": "kept every column", "off": "was off", "skipped": "was skipped"}.get(selection["status"], "")
    return f"Feature selection {what}: {selection['reason']}."


def _generation_rows(generation: dict[str, Any] | None) -> pd.DataFrame:
    """Feature generation's evidence, below the trials: its quick model's out-of-fold score on the data's own
    columns, with every candidate, and with those it leaned on."""
    if not generation or generation.get("score_base") is None:
        return pd.DataFrame()
    n = len(generation.get("candidates") or [])
    rows = [("generation_own_columns", "own columns", generation["score_base"], generation.get("fit_time_base", 0.0)),
            ("generation_all_candidates", f"+{n} generated", generation.get("score_all"),
             generation.get("fit_time_all", 0.0)),
            ("generation_kept_candidates", "+ the generated columns it leaned on", generation.get("score_kept"),
             generation.get("fit_time_kept", 0.0))]
    return _step_rows("generation", generation.get("model", "lgbm"), rows)


def generation_note(generation: dict[str, Any] | None) -> str:
    """Feature generation's outcome in one sentence (empty when it did not run).

    >>> generation_note({"status": "added", "reason": "the score was better", "candidates": ["a", "b"],
    ...                  "added": [{"name": "gen__ratio__x__y", "why": "30.0% of the quick model's gain"}]})
    "Feature generation added 1 of 2 candidate columns (the score was better): gen__ratio__x__y (30.0% of the quick model's gain)."
    """
    if not generation:
        return ""
    if generation["status"] == "added":
        added = generation["added"]
        listed = "; ".join(f"{a['name']} ({a['why']})" for a in added[:_LISTED])
        more = f"; and {len(added) - _LISTED} more" if len(added) > _LISTED else ""
        return (f"Feature generation added {len(added)} of {len(generation.get('candidates') or [])} candidate "
                f"columns ({generation['reason']}): {listed}{more}.")
    what = {"none": "added nothing", "off": "was off", "skipped": "was skipped"}.get(generation["status"], "")
    return f"Feature generation {what}: {generation['reason']}."


_LISTED = 10  # dropped columns named in the note
