"""Section "Data": the size of the training data, its columns by role, and the problems found before training."""

from __future__ import annotations

from collections import Counter

from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, key_figures, note, table_html

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


def _issues(ctx: ReportContext) -> str:
    issues = ctx.result.issues
    if not issues:
        return '<h3>Problems found</h3><p>The data checks found no problem.</p>'
    rows = [
        [f'<span class="sev-{esc(i.severity)}">{esc(i.severity)}</span>', esc(i.kind), esc(i.column or "-"),
         esc(i.message), esc(i.action.replace("_", " "))]
        for i in issues
    ]
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    head = "".join(f"<th>{h}</th>" for h in ("severity", "check", "column", "finding", "action"))
    return (f"<h3>Problems found ({len(issues)})</h3>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def data_section(ctx: ReportContext) -> Section:
    """Rows, columns by role, class balance and data issues."""
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
        tiles + "<h3>Columns by role</h3>" + roles + _class_balance(ctx) + _issues(ctx)
        + note("Rows with a missing target are dropped before training; identifiers and constants are never used."),
    )
