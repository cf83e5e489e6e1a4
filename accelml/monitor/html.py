"""The drift report as one self-contained HTML ``<section>``: a status summary, the per-column table and, per image
column, its measures one by one with the mean thumbnails of training and new images (inline PNG, no file); per text
column, its length, vocabulary, language and sentence-vector measures; for a recommender, its new users and items,
item popularity and ratings."""

from __future__ import annotations

import base64
import io
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
.accelml-drift h3{font-size:15px;margin:16px 0 6px}
.accelml-drift figure{display:inline-block;margin:0 16px 8px 0;text-align:center;font-size:12px;color:#57606a}
.accelml-drift figure img{width:64px;height:64px;image-rendering:pixelated;border:1px solid #d0d7de;display:block}
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
    images = "".join(_image_part(name, detail, report) for name, detail in report.images.items())
    texts = "".join(_text_part(name, detail, report) for name, detail in report.texts.items())
    texts += _interactions_part(report.interactions, report) if report.interactions else ""
    return (
        f'<section class="accelml-drift"><style>{_STYLE}</style>'
        f"<h2>Data drift {_badge(report.status)}</h2>"
        f"<p>{report.n_rows:,} new rows compared with the training profile "
        f"(PSI warning at {report.thresholds.psi_warning}, drift at {report.thresholds.psi_drift}).</p>"
        f"<ul>{''.join(items)}</ul>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        f"{images}{texts}"
        "</section>"
    )


def _thumbnail(values: list[float] | None, alt: str) -> str:
    """A mean 8x8 grey thumbnail (0..1) as an inline PNG, or nothing when there is none or Pillow is missing."""
    if not values:
        return ""
    try:
        import numpy as np
        from PIL import Image
    except ImportError:
        return ""
    side = round(len(values) ** 0.5)
    pixels = np.clip(np.rint(np.asarray(values, dtype=float).reshape(side, side) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((side * 8, side * 8), Image.NEAREST).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">{escape(alt)}</figure>'


def _image_part(name: str, detail: dict[str, Any], report: DriftReport) -> str:
    """One image column: what was measured, the mean thumbnails side by side, and one row per measure."""
    limits = report.thresholds
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(m['measure']))}</td><td>{_number(m['mean_train'], '{:.4g}')}</td>"
        f"<td>{_number(m['mean_new'], '{:.4g}')}</td><td>{_number(m['psi'])}</td>"
        f"<td>{_number(m['p_value'], '{:.3g}')}</td><td>{_number(m['shift'])}</td><td>{_badge(str(m['status']))}</td>"
        "</tr>"
        for m in detail["measures"]
    )
    head = ("<tr><th>measure</th><th>mean (train)</th><th>mean (new)</th><th>PSI</th><th>p-value</th>"
            "<th>embedding shift</th><th>status</th></tr>")
    unreadable = f", {detail['unreadable']:,} unreadable" if detail.get("unreadable") else ""
    return (
        f"<h3>Image column {escape(name)}</h3>"
        f"<p>{detail['n_images']:,} of {detail['n_rows']:,} new images measured{unreadable}: size, brightness (mean "
        "pixel, 0-255), contrast (pixel standard deviation) and an embedding, each image's 8x8 grey thumbnail. "
        "The embedding's PSI compares each image's distance to the training mean; its shift is how far the mean "
        "thumbnail moved, in training standard deviations net of sampling noise (warning at "
        f"{limits.embedding_warning}, drift at {limits.embedding_drift}).</p>"
        + _thumbnail(detail.get("mean_thumbnail_train"), "mean training image")
        + _thumbnail(detail.get("mean_thumbnail_new"), "mean new image")
        + f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"
    )


_TEXT_MEASURES = {
    "length": ("length (characters, mean)", "{:,.0f}", "{:.3f}"),  # its change is its PSI: none of its own
    "oov_rate": ("out-of-vocabulary words", "{:.1%}", "{:+.1%}"),
    "english_share": ("common English words", "{:.1%}", "{:+.0%}"),
    "embedding": ("sentence vector (cosine distance of means)", "{:.3f}", "{:.3f}"),
}


def _measure_row(m: dict[str, Any], labels: dict[str, tuple[str, str, str]]) -> str:
    """One measure's table row: its label, train and new values, PSI, p-value, change and status."""
    label, value, change = labels.get(m["measure"], (m["measure"], "{:.4g}", "{:.3g}"))
    return ("<tr>"
            f'<td class="text">{escape(label)}</td><td>{_number(m["train"], value)}</td>'
            f"<td>{_number(m['new'], value)}</td><td>{_number(m['psi'])}</td>"
            f"<td>{_number(m['p_value'], '{:.3g}')}</td><td>{_number(m['change'], change)}</td>"
            f"<td>{_badge(str(m['status']))}</td>"
            "</tr>")


def _text_part(name: str, detail: dict[str, Any], report: DriftReport) -> str:
    """One text column: one row per measure, with what its change means."""
    limits = report.thresholds
    rows = [_measure_row(m, _TEXT_MEASURES) for m in detail["measures"]]
    head = ("<tr><th>measure</th><th>train</th><th>new</th><th>PSI</th><th>p-value</th><th>change</th>"
            "<th>status</th></tr>")
    return (
        f"<h3>Text column {escape(name)}</h3>"
        f"<p>{detail['n_rows']:,} new texts. Out-of-vocabulary words are words of new texts outside the training "
        "vocabulary; its train value is the rate texts like the training ones show, and its change the points above "
        f"it (warning at {limits.oov_warning:.0%}, drift at {limits.oov_drift:.0%}). The English share changes "
        f"relative to training's (warning at {limits.language_warning:.0%}, drift at {limits.language_drift:.0%}). "
        "The sentence vector's change is the shift of the mean vector, net of sampling noise, in units of the "
        f"texts' spread (warning at {limits.text_embedding_warning}, drift at {limits.text_embedding_drift}).</p>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


INTERACTION_MEASURES = {  # label, format of train and new, format of the change
    "new_users": ("rows with a user the model never saw", "{:.1%}", "{:+.1%}"),
    "new_items": ("rows with an item the model never saw", "{:.1%}", "{:+.1%}"),
    "item_popularity": ("share of rows on the most popular items", "{:.1%}", "{:.3f}"),
    "rating": ("mean rating", "{:.3g}", "{:+.3g}"),
}


def _interactions_part(detail: dict[str, Any], report: DriftReport) -> str:
    """A recommender's new interactions: one row per measure, and the items whose share moved most."""
    limits = report.thresholds
    rows = []
    movers = []
    for m in detail["measures"]:
        rows.append(_measure_row(m, INTERACTION_MEASURES))
        movers = m.get("movers") or movers
    head = ("<tr><th>measure</th><th>train</th><th>new</th><th>PSI</th><th>p-value</th><th>change</th>"
            "<th>status</th></tr>")
    moved = ""
    if movers:
        items = "".join(f"<tr><td>{escape(str(i['item']))}</td><td>{i['train']:.2%}</td><td>{i['new']:.2%}</td></tr>"
                        for i in movers)
        moved = ("<p>Items whose share of the interactions changed most:</p><table><thead><tr><th>item</th>"
                 f"<th>share (train)</th><th>share (new)</th></tr></thead><tbody>{items}</tbody></table>")
    return (
        "<h3>Interactions</h3>"
        f"<p>{detail['n_rows']:,} new interactions. New users and items: their train value is the share that "
        "interactions like the training ones would show (ids seen once in training, over all interactions), and "
        f"their change the points above it (users: warning at {limits.new_users_warning:.0%}, drift at "
        f"{limits.new_users_drift:.0%}; items: warning at {limits.new_items_warning:.0%}, drift at "
        f"{limits.new_items_drift:.0%}). Item popularity compares the rows with known items with the training "
        "shares of the items (the most popular one by one, the rest in groups); its train and new values are the "
        "share of the most popular tenth of the items, its change the total variation distance (the share of "
        "interactions that moved).</p>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{moved}"
    )
