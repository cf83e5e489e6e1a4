"""Sections of a model that reads images: examples of each class with the class balance, and the errors by class
with the most confident mistakes. Each image is shown as a small inline PNG (a ``data:`` URI), so the report stays
one offline file.

Sections here (and in :mod:`accelml.report.networks` and :mod:`accelml.report.saliency`) apply only when the schema
has an IMAGE feature column: they return ``None`` otherwise, and the report leaves them out.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from accelml.report.context import ReportContext
from accelml.report.page import Section, esc, note
from accelml.report.per_class import per_class_table
from accelml.tasks import get_task

__all__ = ["THUMB_SIZE", "errors_section", "examples_section", "load_or_none", "thumbnail_html", "thumbnail_uri"]

logger = logging.getLogger(__name__)

THUMB_SIZE = 96  # pixels per side of a thumbnail; smaller images are stored at their size and drawn enlarged
EXAMPLES_PER_CLASS = 6
MAX_CLASSES = 30  # classes shown with examples; the balance table lists every class
MAX_MISTAKES = 12


def load_or_none(ref: Any) -> np.ndarray | None:
    """The (H, W, C) pixels of one cell, or ``None`` when the image is gone (a moved file, or an in-memory array of
    another process): the report then shows fewer images rather than failing."""
    from accelml.features.images import load_image

    try:
        image = np.asarray(load_image(ref))
    except Exception as exc:  # noqa: BLE001 - any unreadable image is left out of the report, with one log line
        logger.debug("report: image %r could not be read: %s", ref, exc)
        return None
    return image[:, :, None] if image.ndim == 2 else image


def thumbnail_uri(image: np.ndarray, size: int = THUMB_SIZE) -> str:
    """``image`` (H, W, C) centre-cropped to a square of at most ``size`` pixels, as a base64 PNG ``data:`` URI."""
    from PIL import Image

    from accelml.features.images import square

    channels = 3 if image.shape[2] >= 3 else 1
    pixels = square(image[:, :, :channels], min(size, *image.shape[:2]), channels).transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail_html(image: np.ndarray, caption: str, alt: str) -> str:
    """One thumbnail with a caption below, if any (``caption`` and ``alt`` are escaped)."""
    below = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure class="thumb"><img class="thumb" alt="{esc(alt)}" src="{thumbnail_uri(image)}">{below}</figure>'



def _grid(items: Sequence[str]) -> str:
    return f'<div class="thumbs">{"".join(items)}</div>'


def _labels(ctx: ReportContext) -> np.ndarray:
    """The sample's targets as text, the way the classes are listed."""
    return np.array([str(v) for v in ctx.result.sample[ctx.result.schema.target]], dtype=object)


def _has_sample(ctx: ReportContext) -> bool:
    sample = ctx.result.sample
    return (ctx.image_column is not None and sample is not None and len(sample) > 0
            and ctx.image_column in sample.columns and ctx.result.schema.target in sample.columns)


def _sizes(images: list[np.ndarray]) -> str:
    heights, widths = [im.shape[0] for im in images], [im.shape[1] for im in images]
    colour = "colour" if any(im.shape[2] >= 3 for im in images) else "grey"
    if min(heights) == max(heights) and min(widths) == max(widths):
        return f"The images shown are {widths[0]}×{heights[0]} pixels, {colour}."
    return (f"The images shown are {min(widths)}–{max(widths)} pixels wide and {min(heights)}–{max(heights)} high, "
            f"{colour}; thumbnails show their centre square.")


def _sample_basis(ctx: ReportContext) -> str:
    n, total = len(ctx.result.sample), ctx.result.n_rows
    return (f"all {n:,} training images" if n >= total
            else f"a sample of {n:,} of the {total:,} training images")


def examples_section(ctx: ReportContext) -> Section | None:
    """A few thumbnails of each class beside its count and share (classification), or of images with their target
    (regression)."""
    if not _has_sample(ctx):
        return None
    result, column = ctx.result, ctx.image_column
    sample = result.sample
    shown: list[np.ndarray] = []

    def thumbs(rows: Sequence[int], caption: Any) -> list[str]:
        out = []
        for row in rows:
            image = load_or_none(sample[column].iloc[row])
            if image is not None:
                shown.append(image)
                out.append(thumbnail_html(image, caption(row), f"training image {row + 1}"))
        return out

    if not get_task(result.schema.task).classification:
        values = sample[result.schema.target].to_numpy()
        rows = np.argsort(values, kind="stable")[np.linspace(0, len(values) - 1, 12).astype(int)]  # low to high
        body = _grid(thumbs(list(dict.fromkeys(rows.tolist())), lambda r: f"{result.schema.target} = {values[r]:.4g}"))
        title = "Example images"
    else:
        labels = _labels(ctx)
        classes = [str(c) for c in result.schema.classes]
        rows_html = []
        for k, label in enumerate(classes):
            where = np.flatnonzero(labels == label)
            examples = thumbs(where[:EXAMPLES_PER_CLASS].tolist(), lambda r: "") if k < MAX_CLASSES else []
            rows_html.append([label, len(where), len(where) / max(len(labels), 1), examples])
        table = _balance_table(rows_html)
        body = table
        title = "Images by class"
        if len(classes) > MAX_CLASSES:
            body += note(f"Examples are shown for the first {MAX_CLASSES} of {len(classes)} classes.")
    if not shown:
        return Section("images", title, body + "<p>The training images could not be read any more (moved files, or "
                                               "arrays held only by the process that fitted the model).</p>")
    text = f"Counts from {_sample_basis(ctx)}. {_sizes(shown)}"
    return Section("images", title, body + note(text))


def _balance_table(rows: list[list[Any]]) -> str:
    """Class, images, share, a bar of the share, and the examples: one row per class."""
    top = max((r[2] for r in rows), default=1.0) or 1.0
    body = "".join(
        f"<tr><td>{esc(label)}</td><td class=\"num\">{count:,}</td><td class=\"num\">{share:.1%}</td>"
        f'<td><div class="bar" style="width:{100 * share / top:.0f}px"></div></td><td>{_grid(examples)}</td></tr>'
        for label, count, share, examples in rows
    )
    head = ("<tr><th>class</th><th class=\"num\">images</th><th class=\"num\">share</th><th>balance</th>"
            "<th>examples</th></tr>")
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def errors_section(ctx: ReportContext) -> Section | None:
    """Precision and recall of each class, and the training images the model got wrong most confidently."""
    result = ctx.result
    if ctx.image_column is None or not get_task(result.schema.task).classification:
        return None
    body = per_class_table(ctx.evaluation, result.schema.classes, "images") if ctx.evaluation is not None else ""
    body += "<h3>Most confident mistakes</h3>"
    if not _has_sample(ctx) or result.sample_oof is None:
        return Section("errors", "Errors by class", body + "<p>The model keeps no out-of-fold sample to look for "
                                                           "mistakes in.</p>")
    classes = [str(c) for c in result.schema.classes]
    oof = np.asarray(result.sample_oof, dtype=np.float64)
    labels = _labels(ctx)
    predicted = oof.argmax(axis=1)
    wrong = np.flatnonzero(np.array([classes[p] for p in predicted], dtype=object) != labels)
    if not len(wrong):
        return Section("errors", "Errors by class", body + f"<p>None: every one of {_sample_basis(ctx)} was "
                                                           "predicted right out of fold.</p>")
    order = wrong[np.argsort(-oof[wrong, predicted[wrong]], kind="stable")][:MAX_MISTAKES]
    items = []
    for row in order:
        image = load_or_none(result.sample[ctx.image_column].iloc[row])
        if image is not None:
            confidence = oof[row, predicted[row]]
            items.append(thumbnail_html(image, f"{labels[row]} → {classes[predicted[row]]} ({confidence:.0%})",
                                        f"mistake: a {labels[row]} predicted as {classes[predicted[row]]}"))
    grid = _grid(items) if items else "<p>The images of these mistakes could not be read any more.</p>"
    text = (f"{len(wrong):,} of {_sample_basis(ctx)} were predicted wrong out of fold (by models that did not train "
            f"on them); the {len(order)} shown had the highest confidence in the wrong class. Caption: true class → "
            "predicted class (its probability). Confident mistakes are often wrong labels worth checking.")
    return Section("errors", "Errors by class", body + grid + note(text))
