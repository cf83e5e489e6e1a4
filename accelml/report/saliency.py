"""Section "What the model looks at": occlusion saliency of a few training images through the final model.

A grey patch slides over a coarse grid of the image; where covering the image lowers the probability of the class
the model predicts, the model relied on what was there. Every patched copy goes through the fitted model's own
prediction path (``automl.predict_proba``), so the maps explain the ensemble as it predicts, preprocessing included.
Cheap by design: at most 4 images, a 6x6 grid (37 predictions per image), images larger than 128 pixels on their
shorter side shrunk first, and a time limit.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from accelml.report.context import ReportContext
from accelml.report.figures import figure, figure_html
from accelml.report.images import load_or_none
from accelml.report.page import Section, esc, note
from accelml.tasks import get_task

__all__ = ["occlusion", "saliency_section"]

logger = logging.getLogger(__name__)

MAX_IMAGES = 4
GRID = 6  # patches per side
GREY = 128  # the patch's value in every channel
MAX_SIDE = 128  # shorter side an image is shrunk to first (the model resizes to its own, at most this, anyway)
MAX_SECONDS = 20.0  # no further image is started after this long
MIN_SCALE = 0.25  # a fall in log-odds drawn in full red at least (about a 5-point fall from 50 %)


def _shrink(image: np.ndarray) -> np.ndarray:
    """``image`` with its shorter side at most :data:`MAX_SIDE` (aspect kept), so that patched copies stay small."""
    height, width = image.shape[:2]
    scale = MAX_SIDE / min(height, width)
    if scale >= 1:
        return image
    from PIL import Image

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pil = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    return np.asarray(pil.resize(size, Image.BILINEAR, reducing_gap=2.0)).reshape(size[1], size[0], image.shape[2])


def occlusion(automl: Any, row: pd.DataFrame, column: str, image: np.ndarray, grid: int = GRID
              ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Occlusion saliency of one image: a grey patch twice a cell's size centred on each cell of a ``grid`` x
    ``grid`` grid in turn (overlapping, for a smoother map), each patched copy predicted by the model.

    Args:
        automl: A fitted :class:`accelml.AutoML`.
        row: The image's row of features (one row; the other columns are kept as they are).
        column: The image column.
        image: Its pixels (H, W, C).
        grid: Cells per side (fewer for images smaller than that).

    Returns:
        The intact image's probabilities, the class predicted, and per pixel (H, W) the mean fall, over the patches
        covering it, of that class's log-odds and of its probability. Log-odds show where the evidence lies even
        when the model is so sure that its probability barely moves.
    """
    from accelml.data.sources import image_frame

    height, width = image.shape[:2]
    cells = max(1, min(grid, height, width))
    ys, xs = np.linspace(0, height, cells + 1), np.linspace(0, width, cells + 1)
    half_y, half_x = height / cells / 2, width / cells / 2
    boxes, variants = [], [image]
    for i in range(cells):
        for j in range(cells):
            y0, y1 = max(0, round(ys[i] - half_y)), min(height, round(ys[i + 1] + half_y))
            x0, x1 = max(0, round(xs[j] - half_x)), min(width, round(xs[j + 1] + half_x))
            patched = image.copy()
            patched[y0:y1, x0:x1] = GREY
            boxes.append((y0, y1, x0, x1))
            variants.append(patched)
    frame = row.iloc[[0] * len(variants)].reset_index(drop=True)
    frame[column] = image_frame(variants, column=column, hold=False)[column].to_numpy()
    probabilities = np.asarray(automl.predict_proba(frame), dtype=np.float64)
    predicted = int(probabilities[0].argmax())
    p = np.clip(probabilities[:, predicted], 1e-6, 1 - 1e-6)
    log_odds = np.log(p / (1 - p))
    total_odds, total_p, count = (np.zeros((height, width)) for _ in range(3))
    for (y0, y1, x0, x1), odds, prob in zip(boxes, log_odds[1:], p[1:], strict=True):
        total_odds[y0:y1, x0:x1] += log_odds[0] - odds
        total_p[y0:y1, x0:x1] += p[0] - prob
        count[y0:y1, x0:x1] += 1
    count = np.maximum(count, 1)
    return probabilities[0], predicted, total_odds / count, total_p / count


def _choose(ctx: ReportContext) -> tuple[list[int], bool]:
    """Rows of the sample to explain: the most confidently right image of a few classes, and the most confident
    mistake when there is one (last; the flag says whether there is)."""
    result = ctx.result
    oof = np.asarray(result.sample_oof, dtype=np.float64)
    classes = [str(c) for c in result.schema.classes]
    labels = np.array([str(v) for v in result.sample[result.schema.target]], dtype=object)
    predicted = oof.argmax(axis=1)
    confidence = oof[np.arange(len(oof)), predicted]
    right = np.array([classes[p] for p in predicted], dtype=object) == labels
    wrong = np.flatnonzero(~right)
    chosen = []
    for label in classes:
        rows = np.flatnonzero(right & (labels == label))
        if len(rows):
            chosen.append(int(rows[np.argmax(confidence[rows])]))
        if len(chosen) == MAX_IMAGES - (1 if len(wrong) else 0):
            break
    if len(wrong):
        chosen.append(int(wrong[np.argmax(confidence[wrong])]))
    return chosen, bool(len(wrong))


def _figure(panels: list[tuple[np.ndarray, np.ndarray, str, str]]) -> str:
    """Each image above its heat map (the fall in log-odds, red where covering it hurt most)."""
    n = len(panels)
    fig, axes = figure(ncols=n, nrows=2, width=2.4 * n + 0.4, height=5.0)
    axes = np.asarray(axes).reshape(2, n)
    for k, (image, heat, top, bottom) in enumerate(panels):
        grey = image[:, :, 0] if image.shape[2] == 1 else image[:, :, :3].mean(axis=2)
        shown = image[:, :, 0] if image.shape[2] == 1 else image[:, :, :3]
        axes[0, k].imshow(shown, cmap="gray" if image.shape[2] == 1 else None, vmin=0, vmax=255,
                          interpolation="nearest")
        axes[0, k].set_title(top, fontsize=9)
        axes[1, k].imshow(grey, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        scale = max(float(heat.max()), MIN_SCALE)  # small falls stay faint rather than stretched into a pattern
        strength = np.clip(heat / scale, 0, 1)
        axes[1, k].imshow(strength, cmap="Reds", vmin=0, vmax=1, alpha=0.75 * strength, interpolation="nearest")
        axes[1, k].set_title(bottom, fontsize=9)
        for ax in axes[:, k]:
            ax.axis("off")
    return figure_html(fig, "occlusion saliency: where covering the image lowers the predicted class's probability")


def saliency_section(ctx: ReportContext) -> Section | None:
    """Occlusion maps of up to 4 training images (classification models that read images)."""
    result, column = ctx.result, ctx.image_column
    if column is None or not get_task(result.schema.task).classification:
        return None
    title = "What the model looks at"
    sample = result.sample
    if sample is None or result.sample_oof is None or len(sample) == 0 or column not in sample.columns:
        return Section("saliency", title, "<p>Not computed: the model keeps no training sample.</p>")
    classes = [str(c) for c in result.schema.classes]
    features = [c.name for c in result.schema.features if c.name in sample.columns]
    chosen, mistake = _choose(ctx)
    started, panels, error = time.monotonic(), [], None
    for index in chosen:
        if panels and time.monotonic() - started > MAX_SECONDS:
            break
        image = load_or_none(sample[column].iloc[index])
        if image is None:
            continue
        image = _shrink(image)
        try:
            proba, predicted, heat, fall = occlusion(ctx.automl, sample.iloc[[index]][features], column, image)
        except Exception as exc:  # noqa: BLE001 - an optional view: the rest of the report still helps
            logger.warning("report without occlusion saliency: %s", exc)
            error = str(exc)
            break
        label = str(sample[result.schema.target].iloc[index])
        panels.append((image, heat, f"true {label}\npredicted {classes[predicted]} ({proba[predicted]:.0%})",
                       f"largest fall of P: {max(float(fall.max()), 0.0):.1%}"))
    if not panels:
        reason = error or "the training images could not be read any more"
        return Section("saliency", title, f"<p>Not computed: {esc(reason)}.</p>")
    text = (f"Top: training images (the most confidently right of a few classes"
            f"{', and the most confident mistake' if mistake else ''}), with the final model's prediction. Bottom: a "
            f"grey patch (two cells wide) covered each cell of a {GRID}x{GRID} grid in turn; the redder an area, the "
            "more the final model's confidence in the class it predicts fell while it was covered (the fall of its "
            "log-odds, scaled per image, which shows where the evidence lies even when the probability barely moves; "
            "the largest fall of the probability itself is given). "
            "Red areas are what the prediction rests on; red on the background can mean a shortcut the model learned.")
    if len(panels) < len(chosen):
        text += f" {len(panels)} of {len(chosen)} chosen images could be explained (unreadable or out of time)."
    return Section("saliency", title, _figure(panels) + note(text))
