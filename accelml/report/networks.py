"""Section "Networks": the learning curves of the searched image networks and the architecture the final model uses.

Network families record, for their first fold model, the validation loss after each epoch (``trial.extra["curve"]``)
and their architecture and augmentation in one line (``trial.extra["architecture"]``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from accelml.report.context import ReportContext
from accelml.report.figures import family_colour, figure, figure_html, title
from accelml.report.page import Section, esc, note, table_html

__all__ = ["curves_chart", "networks_section"]

MAX_CURVES = 12  # the best trials and every member are drawn; more lines would be unreadable


def _networks(ctx: ReportContext) -> list[Any]:
    """Finished trials that described themselves as networks (an architecture or a learning curve)."""
    return [t for t in ctx.result.trials
            if t.ok and isinstance(t.extra, dict) and (t.extra.get("curve") or t.extra.get("architecture"))]


def _rank(ctx: ReportContext, trials: list[Any]) -> list[Any]:
    """Best validation score first; unscored trials last."""
    sign = -1.0 if ctx.metric.greater_is_better else 1.0
    return sorted(trials, key=lambda t: sign * t.score if math.isfinite(t.score) else math.inf)


def curves_chart(ctx: ReportContext, trials: list[Any], members: dict[str, float]) -> str:
    """Validation loss per epoch, one line per trial; members of the final model drawn thicker."""
    fig, ax = figure(width=7.4, height=4.2)
    for trial in trials:
        curve = np.asarray(trial.extra["curve"], dtype=np.float64)
        member = trial.spec.name in members
        ax.plot(np.arange(1, len(curve) + 1), curve, linewidth=2.4 if member else 1.1, alpha=1.0 if member else 0.6,
                color=family_colour(trial.spec.model) if len(trials) == 1 else None,
                marker="o" if len(curve) <= 12 else None, markersize=3,
                label=f"{trial.spec.name}{' (final model)' if member else ''}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (first fold)")
    title(ax, "Learning curves of the network trials")
    ax.legend(loc="upper right", fontsize=7)
    return figure_html(fig, "learning curves: validation loss per epoch of each network trial")


def _architecture_text(ctx: ReportContext, ranked: list[Any], members: dict[str, float]) -> str:
    chosen = [t for t in ranked if t.spec.name in members and t.extra.get("architecture")]
    if chosen:
        parts = "".join(f"<li><b>{esc(t.spec.name)}</b> (weight {members[t.spec.name]:.2f}): "
                        f"{esc(t.extra['architecture'])}</li>" for t in chosen)
        return f"<h3>Architecture of the final model</h3><ul>{parts}</ul>"
    described = [t for t in ranked if t.extra.get("architecture")]
    text = "<h3>Architecture of the final model</h3><p>No network entered the final model"
    if described:
        best = described[0]
        text += (f"; the best network trial, {esc(best.spec.name)} ({ctx.metric.name} {best.score:.4f}), was "
                 f"{esc(best.extra['architecture'])}")
    return text + ".</p>"


def networks_section(ctx: ReportContext) -> Section | None:
    """Learning curves and architectures of the network trials of an image model; ``None`` when no network ran."""
    if ctx.image_column is None:
        return None
    networks = _networks(ctx)
    if not networks:
        return None
    members = {m.name: float(m.weight) for m in ctx.result.ensemble.members}
    ranked = _rank(ctx, networks)
    with_curves = [t for t in ranked if t.extra.get("curve")]
    drawn = [t for t in with_curves if t.spec.name in members]
    drawn += [t for t in with_curves if t.spec.name not in members][: max(0, MAX_CURVES - len(drawn))]
    body = curves_chart(ctx, drawn, members) if drawn else "<p>No network trial recorded a learning curve.</p>"
    body += _architecture_text(ctx, ranked, members)
    rows = [[t.spec.name, t.spec.model, t.score, len(t.extra.get("curve") or []) or "-",
             f"{members[t.spec.name]:.2f}" if t.spec.name in members else "-", t.extra.get("architecture", "-")]
            for t in ranked]
    body += "<h3>Network trials</h3>" + table_html(
        rows, ["trial", "family", f"validation {ctx.metric.name}", "epochs", "weight", "architecture and augmentation"],
        numeric=[2, 3])
    text = ("Each curve is the validation loss after each epoch of the trial's first fold model: a curve still falling "
            "at its end could use more epochs (more time), one that rises again was stopped at its best epoch.")
    if len(with_curves) > len(drawn):
        text += f" The {len(drawn)} best of {len(with_curves)} curves are drawn."
    return Section("networks", "Networks", body + note(text))
