"""Section "Data": the size of the training data, its columns by role, and the problems found before training."""

from __future__ import annotations

from collections import Counter

from accelml.report.context import ReportContext
from accelml.report.issues import issues_html
from accelml.report.page import Section, key_figures, note, table_html
from accelml.report.recommend_data import interactions_section

__all__ = ["data_section"]

_ROLE_NOTES = {
    "identifier": "not used: looks like a row identifier",
    "constant": "not used: a single value",
}
_MAX_NAMES = 12


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES])
    return shown + (f", … ({len(names) - _MAX_NAMES} more)" if len(names) > _MAX_NAMES else "")


def _class_balance(ctx: ReportContext) -> str:
    """The class frequencies of the training sample (classification only)."""
    sample, schema = ctx.result.sample, ctx.result.schema
    if schema.classes is None or sample is None or schema.target not in sample.columns:
        return ""
    counts = Counter(str(v) for v in sample[schema.target])
    total = sum(counts.values()) or 1
    rows = [[str(c), counts.get(str(c), 0) / total] for c in schema.classes]
    return "<h3>Classes</h3>" + table_html(
        [[c, f"{share:.1%}"] for c, share in rows], ["class", f"share of {total:,} sampled training rows"], numeric=[1]
    )


def data_section(ctx: ReportContext) -> Section:
    """Rows, columns by role, class balance and data issues; for a recommender, its interactions instead."""
    if ctx.recommends:
        return interactions_section(ctx)
    result = ctx.result
    schema = result.schema
    by_role: dict[str, list[str]] = {}
    for column in schema.columns:
        by_role.setdefault(column.role.value, []).append(column.name)
    tiles = key_figures([
        ("training rows", f"{result.n_rows:,}"),
        ("feature columns", f"{len(schema.features):,}"),
        ("columns not used", f"{len(schema.columns) - len(schema.features):,}"),
        ("target", schema.target),
        ("task", schema.task),
    ])
    roles = table_html(
        [[role, len(names), _ROLE_NOTES.get(role, "used as a feature"), _names(names)]
         for role, names in by_role.items()],
        ["role", "columns", "use", "names"],
        numeric=[1],
    )
    return Section(
        "data",
        "Data",
        tiles + "<h3>Columns by role</h3>" + roles + _class_balance(ctx) + issues_html(result.issues)
        + note("Rows with a missing target are dropped before training; identifiers and constants are never used."),
    )
