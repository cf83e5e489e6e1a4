"""The HTML page: one self-contained file with its style inline, no scripts or resources from anywhere else.

The page carries one tiny inline script that counts errors (scripts and resources such as images that fail to load)
into attributes of ``<html>``: ``data-errors``, ``data-error-messages`` and, once loaded, ``data-images-broken``.
A browser, or a test reading the DOM, can see at a glance whether the report rendered cleanly.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Section", "esc", "key_figures", "note", "render_page", "table_html"]


@dataclass
class Section:
    """One part of the report: its anchor, heading and HTML body."""

    id: str
    title: str
    body: str


def esc(value: Any) -> str:
    """Text made safe for HTML.

    >>> esc("<b> & 'x'")
    '&lt;b&gt; &amp; &#x27;x&#x27;'
    """
    return html.escape(str(value))


def note(text: str) -> str:
    """A short explanatory paragraph in small grey type (``text`` is escaped)."""
    return f'<p class="note">{esc(text)}</p>'


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    return esc(value)


def table_html(
    rows: Iterable[Sequence[Any]],
    header: Sequence[str],
    *,
    numeric: Iterable[int] = (),
    digits: int = 4,
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table; floats get ``digits`` decimals and columns listed in ``numeric`` align right.

    >>> table_html([["a", 0.5]], ["name", "score"], numeric=[1])  # doctest: +NORMALIZE_WHITESPACE
    '<table><thead><tr><th>name</th><th class="num">score</th></tr></thead><tbody><tr><td>a</td><td
    class="num">0.5000</td></tr></tbody></table>'
    """
    numeric = set(numeric)
    num = ' class="num"'
    head = "".join(f"<th{num if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(header))
    body = []
    for r, row in enumerate(rows):
        css = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(
            f"<td{num if i in numeric else ''}>{_cell(v, digits)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def key_figures(items: Iterable[tuple[str, str]]) -> str:
    """Big numbers with a caption each, in a row of tiles."""
    tiles = "".join(f'<div class="tile"><div class="value">{esc(v)}</div><div class="label">{esc(k)}</div></div>'
                    for k, v in items)
    return f'<div class="tiles">{tiles}</div>'


_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1d2330;background:#f3f4f7}
header{background:#1d2330;color:#fff;padding:22px 32px 16px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#c5cad6;font-size:14px}
nav{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid #dde1e8;padding:8px 32px;
 display:flex;flex-wrap:wrap;gap:4px 18px;font-size:14px}
nav a{color:#3557b7;text-decoration:none}
nav a:hover{text-decoration:underline}
main{max-width:1180px;margin:0 auto;padding:16px 24px 48px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:18px 24px;margin:18px 0}
h2{margin:0 0 10px;font-size:19px}
h3{margin:16px 0 6px;font-size:15px}
p{margin:6px 0}
.note{color:#5b6475;font-size:13px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 4px}
.tile{background:#f3f5fa;border-radius:6px;padding:8px 14px;min-width:120px}
.tile .value{font-size:20px;font-weight:600}
.tile .label{font-size:12px;color:#5b6475}
table{border-collapse:collapse;margin:8px 0;font-size:13.5px}
th,td{padding:4px 10px;border-bottom:1px solid #e6e8ee;text-align:left;vertical-align:top}
th{background:#f3f5fa;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.best td{font-weight:600;background:#eef6ee}
tr.member td{background:#f5f9ff}
.sev-error{color:#b42318;font-weight:600}.sev-warning{color:#a15c00;font-weight:600}.sev-info{color:#3557b7}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px;align-items:start}
img.chart{max-width:100%;height:auto;display:block;border:1px solid #eceef3;border-radius:4px}
.scroll{max-height:520px;overflow:auto}
.thumbs{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start}
figure.thumb{margin:0;width:96px;font-size:11px;line-height:1.25;color:#5b6475;text-align:center}
img.thumb{width:96px;height:96px;display:block;image-rendering:pixelated;border:1px solid #eceef3;border-radius:3px}
.bar{height:12px;background:#3557b7;border-radius:2px;margin-top:4px}
.term-tables{display:flex;flex-wrap:wrap;gap:4px 28px;align-items:flex-start}
.wrap td{overflow-wrap:anywhere}
footer{color:#5b6475;font-size:12px;text-align:center;padding:8px}
@media print{nav{display:none}section{break-inside:avoid}}
"""

# Counts script errors and resources that fail to load (capture phase: their errors do not bubble).
_ERROR_PROBE = """
(function(){var root=document.documentElement,errors=[];
function note(m){errors.push(String(m).slice(0,200));root.setAttribute('data-errors',String(errors.length));
root.setAttribute('data-error-messages',errors.join(' | '));}
root.setAttribute('data-errors','0');
window.addEventListener('error',function(e){var t=e.target;
note(e.message||('could not load a '+((t&&t.tagName)||'resource').toLowerCase()));},true);
window.addEventListener('load',function(){var broken=0;
Array.prototype.forEach.call(document.images,function(i){if(!i.complete||!i.naturalWidth){broken++;}});
root.setAttribute('data-images-broken',String(broken));});})();
"""


def render_page(title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    """The whole report as one HTML document."""
    links = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style><script>{_ERROR_PROBE}</script></head>"
        f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<nav>{links}</nav><main>{body}</main><footer>{esc(footer)}</footer></body></html>\n"
    )
