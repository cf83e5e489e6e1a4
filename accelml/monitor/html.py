"""The drift report as one self-contained HTML ``<section>``: a status summary and the per-column table."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accelml.monitor.report import DriftReport

__all__ = ["drift_section"]

_COLOURS = {"ok": "#1a7f37", "warning": "#9a6700", "drift": "#cf222e", "missing": "#cf222e"}
_STYLE = """
.accelml-drift{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328}
.accelml-drift h2{font-size:18px;margin:0 0 8px}
.accelml-drift .badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.accelml-drift ul{margin:6px 0 12px;padding-left:20px}
.accelml-drift table{border-collapse:collapse;width:100%}
.accelml-drift th,.accelml-drift td{padding:4px 8px;border-bottom:1px solid #d0d7de;text-align:right}
.accelml-drift th:first-child,.accelml-drift td:first-child,.accelml-drift td.text{text-align:left}
.accelml-drift th{background:#f6f8fa}
"""


def _badge(status: str) -> str:
    colour = _COLOURS.get(status, "#57606a")
    return f'<span class="badge" style="background:{colour}">{escape(status)}</span>'


def _number(value: Any, pattern: str = "{:.3f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return pattern.format(value)


def drift_section(report: DriftReport) -> str:
    """Render ``report`` as an HTML section whose styles apply only inside it."""
    items = [f"<li>{escape(report.summary())}</li>"]
    items += [f"<li>{escape(note)}</li>" for note in report.notes]
    errors = report.schema_breaks.get("type_errors") or {}
    if errors:
        listed = ", ".join(f"{name} ({count})" for name, count in errors.items())
        items.append(f"<li>values that do not parse as their column's type: {escape(listed)}</li>")
    rows = []
    for r in report.columns.to_dict(orient="records"):
        rows.append(
            "<tr>"
            f"<td>{escape(str(r['column']))}</td><td class=\"text\">{escape(str(r['role']))}</td>"
            f"<td>{_number(r['psi'])}</td><td>{_number(r['p_value'], '{:.3g}')}</td>"
            f"<td>{_number(r['missing_train'], '{:.1%}')}</td><td>{_number(r['missing_new'], '{:.1%}')}</td>"
            f"<td>{_number(r['unseen_share'], '{:.1%}')}</td><td>{int(r['type_errors'])}</td>"
            f"<td>{_badge(str(r['status']))}</td>"
            "</tr>"
        )
    head = ("<tr><th>column</th><th>role</th><th>PSI</th><th>p-value</th><th>missing (train)</th>"
            "<th>missing (new)</th><th>unseen</th><th>type errors</th><th>status</th></tr>")
    return (
        f'<section class="accelml-drift"><style>{_STYLE}</style>'
        f"<h2>Data drift {_badge(report.status)}</h2>"
        f"<p>{report.n_rows:,} new rows compared with the training profile "
        f"(PSI warning at {report.thresholds.psi_warning}, drift at {report.thresholds.psi_drift}).</p>"
        f"<ul>{''.join(items)}</ul>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )
