"""The problems the data checks found before training, as HTML: what the data sections of every task show."""

from __future__ import annotations

from collections.abc import Sequence

from accelml.profiling import DataIssue
from accelml.report.page import esc

__all__ = ["issues_html"]


def issues_html(issues: Sequence[DataIssue]) -> str:
    """The problems the data checks found, as a heading and a table (or a sentence when there are none)."""
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
