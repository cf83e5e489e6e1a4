"""Image columns in monitoring: each image's size and tone, and a cheap embedding, profiled in training and compared
with new images.

An image column is not binned like a category (every path is new) but by what its images look like: the
distributions of height, width, channels, brightness (mean pixel, 0..255) and contrast (pixel standard deviation),
and an embedding of each image, its 8x8 grey thumbnail (64 numbers, no network needed). The profile keeps the
embedding's mean and standard deviation per dimension and the distribution of each training image's standardised
distance to that mean; new images are compared by that distance's distribution (PSI, as for any number) and by how far
their mean embedding moved (a root-mean-square standardised mean shift, corrected for the noise of small samples).
A measure drifts only when its change is both large (PSI) and significant (chi-square), see :func:`measure_status`.

Example:
    >>> from accelml.monitor.thresholds import DriftThresholds
    >>> grey = pd.Series([np.full((6, 6, 1), v, dtype=np.uint8) for v in range(40, 240)])
    >>> summary = image_summary(grey)
    >>> summary["kind"], summary["n_images"], round(summary["measures"]["brightness"]["mean"], 1)
    ('image', 200, 139.5)
    >>> row, detail = image_drift(summary, grey, DriftThresholds())
    >>> row["status"], [m["measure"] for m in detail["measures"]][-1]
    ('ok', 'embedding')
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from accelml.monitor.stats import chi_square, numeric_bins, numeric_summary, psi
from accelml.monitor.thresholds import DriftThresholds, worst_status

__all__ = ["IMAGE_ROWS", "MEASURES", "ImageBatch", "describe_images", "image_drift", "image_summary", "mean_shift",
           "measure_status"]

logger = logging.getLogger(__name__)

IMAGE_ROWS = 1000  # images looked at per column (a seeded sample beyond that): enough for 10 bins, cheap to decode
MAX_SECONDS = 5.0  # and at most this long (after 100 images), so that a slow disk cannot stall the end of a fit
MEASURES = ("height", "width", "channels", "brightness", "contrast")
THUMBNAIL = 8  # side of the grey thumbnail that serves as the embedding
STD_FLOOR = 0.02  # of the 0..1 pixel scale: dimensions that never vary in training (a blank border) stay finite
_MAX_SIDE = 256  # tone is measured on every k-th pixel, k chosen so that at most this many remain per side


@dataclass
class ImageBatch:
    """What the images of one column look like.

    Attributes:
        stats: ``(n, 5)`` height, width, channels, brightness, contrast; NaN rows for missing or unreadable cells.
        embeddings: ``(n, 64)`` grey thumbnails on a 0..1 scale; NaN rows likewise.
        n_rows: Cells in the column (``n`` of them were looked at).
        missing: Cells without an image (empty).
        unreadable: Cells whose image could not be read (no such file, corrupt, unknown array reference).
    """

    stats: np.ndarray
    embeddings: np.ndarray
    n_rows: int
    missing: int
    unreadable: int

    @property
    def n(self) -> int:
        return len(self.stats)

    @property
    def present(self) -> np.ndarray:
        return ~np.isnan(self.stats[:, 0])


def _is_missing(cell: Any) -> bool:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return True
    return isinstance(cell, float) and math.isnan(cell)


def _describe(image: np.ndarray) -> tuple[list[float], np.ndarray]:
    """One image's five measures and its grey thumbnail, both from every k-th pixel (the mean and spread of a regular
    subsample are unbiased; what is lost is detail the 8x8 thumbnail would not show anyway)."""
    from accelml.data.images import image_stats
    from accelml.features.images import square

    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    step = max(1, -(-max(height, width) // _MAX_SIDE))
    small = np.ascontiguousarray(image[::step, ::step]) if step > 1 else image
    stats = image_stats(small)
    stats["height"], stats["width"] = float(height), float(width)
    thumbnail = square(small, THUMBNAIL, 1).reshape(-1).astype(np.float64) / 255.0
    return [stats[m] for m in MEASURES], thumbnail


def describe_images(values: pd.Series, *, limit: int = IMAGE_ROWS, seed: int = 0,
                    max_seconds: float = MAX_SECONDS) -> ImageBatch:
    """Measure up to ``limit`` images of a column (a seeded sample when it holds more), within ``max_seconds``.

    Cells are file paths, ``array:`` references or arrays; one that cannot be read counts as unreadable, never as
    an error, so that monitoring reports broken inputs instead of failing on them.
    """
    from accelml.features.images import load_image

    cells = values.tolist()
    rows = np.arange(len(cells))
    if len(cells) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(len(cells), limit, replace=False))
    stats = np.full((len(rows), len(MEASURES)), np.nan)
    embeddings = np.full((len(rows), THUMBNAIL * THUMBNAIL), np.nan)
    missing = unreadable = 0
    started = time.monotonic()
    looked = len(rows)
    for i, row in enumerate(rows):
        if i >= 100 and time.monotonic() - started > max_seconds:
            looked = i
            logger.info("image profile: %d of %d images measured in %.0f s; the rest are left out", i, len(rows),
                        max_seconds)
            break
        cell = cells[row]
        if _is_missing(cell):
            missing += 1
            continue
        try:
            stats[i], embeddings[i] = _describe(load_image(cell))
        except Exception as exc:  # noqa: BLE001 - any unreadable cell is a finding, not a failure
            unreadable += 1
            logger.debug("image cell %d could not be read: %s", row, exc)
    return ImageBatch(stats[:looked], embeddings[:looked], len(cells), missing, unreadable)


def _distances(embeddings: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Each image's root-mean-square standardised distance to the training mean (NaN where there is no image)."""
    return np.sqrt(np.mean(((embeddings - mean) / std) ** 2, axis=1))


def image_summary(values: pd.Series, *, seed: int = 0) -> dict[str, Any]:
    """The profile of an image column: its five measures' distributions and its embedding summary (plain JSON)."""
    batch = describe_images(values, seed=seed)
    present = batch.present
    summary: dict[str, Any] = {
        "kind": "image",
        "n_images": batch.n,
        "n_rows": batch.n_rows,
        "missing_rate": float((batch.n - present.sum()) / batch.n) if batch.n else 0.0,
        "unreadable_rate": float(batch.unreadable / batch.n) if batch.n else 0.0,
        "measures": {m: numeric_summary(batch.stats[:, i]) for i, m in enumerate(MEASURES)},
    }
    if present.any():
        embeddings = batch.embeddings[present]
        mean, std = embeddings.mean(axis=0), np.maximum(embeddings.std(axis=0), STD_FLOOR)
        summary["embedding"] = {
            "kind": "grey_thumbnail",
            "size": THUMBNAIL,
            "mean": [round(float(v), 5) for v in mean],
            "std": [round(float(v), 5) for v in std],
            "distance": numeric_summary(_distances(batch.embeddings, _rounded(mean), _rounded(std))),
        }
    else:
        summary["embedding"] = None
    return summary


def _rounded(values: np.ndarray) -> np.ndarray:
    """As the profile stores them, so that training and new images are measured against the same numbers."""
    return np.round(np.asarray(values, dtype=np.float64), 5)


def mean_shift(new: np.ndarray, mean: np.ndarray, std: np.ndarray, n_reference: int) -> float:
    """Root-mean-square over the embedding's dimensions of the standardised difference of means, less what sampling
    noise alone gives on average (``1/n + 1/n_reference`` in squared units): about 0 for new images like the
    training ones, 0.5 when each dimension's mean moved by half a training standard deviation.

    >>> rng = np.random.default_rng(0)
    >>> mean_shift(rng.normal(0, 1, (400, 64)), np.zeros(64), np.ones(64), 1000) < 0.1
    True
    >>> round(mean_shift(rng.normal(0.5, 1, (400, 64)), np.zeros(64), np.ones(64), 1000), 1)
    0.5
    """
    n = len(new)
    if n == 0:
        return math.nan
    d = (new.mean(axis=0) - mean) / std
    noise = 1.0 / n + (1.0 / n_reference if n_reference else 0.0)
    return float(math.sqrt(max(0.0, float(np.mean(d**2)) - noise)))


def _compare(name: str, summary: Mapping[str, Any], values: np.ndarray, limits: DriftThresholds,
             n_reference: int) -> dict[str, Any]:
    """One measure's new values against its training bins: PSI, chi-square and a status."""
    n = len(values)
    counts = numeric_bins(summary["edges"], values)
    expected = np.asarray(summary["fractions"], dtype=np.float64)
    value = psi(expected, counts / n) if n else math.nan
    _, p_value = chi_square(expected, counts, n_reference)
    present = values[~np.isnan(values)]
    return {"measure": name, "mean_train": summary.get("mean"),
            "mean_new": float(present.mean()) if present.size else math.nan, "psi": value, "p_value": p_value,
            "shift": math.nan, "status": measure_status(value, p_value, limits, n)}


def measure_status(value: float, p_value: float, limits: DriftThresholds, n: int) -> str:
    """A change counts only when the chi-square test rejects at ``p_value`` (it is not chance); PSI then says how
    large it is: ``drift`` from ``psi_drift`` (a warning with fewer than ``min_rows`` images), ``warning`` from
    ``psi_warning``.

    Stricter than a table column's rule (where PSI alone is enough): an image profile holds at most
    :data:`IMAGE_ROWS` images, often far fewer, and PSI between small samples is large by chance alone.

    >>> limits = DriftThresholds()
    >>> [measure_status(0.4, p, limits, 500) for p in (0.2, 0.001)], measure_status(0.15, 0.001, limits, 500)
    (['ok', 'drift'], 'warning')
    """
    if math.isnan(value) or value < limits.psi_warning or not p_value < limits.p_value:
        return "ok"
    return "drift" if value >= limits.psi_drift and n >= limits.min_rows else "warning"


def image_drift(summary: Mapping[str, Any], values: pd.Series, limits: DriftThresholds) -> tuple[dict, dict]:
    """New images of one column against its profile.

    Returns:
        The column's row of the drift table (its worst measure's PSI and status; unreadable images as type errors,
        missing or unreadable ones as missing) and the detail: one row per measure (``measure``, ``mean_train``,
        ``mean_new``, ``psi``, ``p_value``, ``shift`` for the embedding, ``status``), the images looked at and the
        mean thumbnails of training and new images.
    """
    batch = describe_images(values)
    n, n_reference = batch.n, int(summary.get("n_images") or 0)
    measures = [_compare(m, summary["measures"][m], batch.stats[:, i], limits, n_reference)
                for i, m in enumerate(MEASURES)]
    embedding = summary.get("embedding")
    new_mean = None
    if embedding:
        mean, std = _rounded(embedding["mean"]), _rounded(embedding["std"])
        present = batch.embeddings[batch.present]
        row = _compare("embedding", embedding["distance"], _distances(batch.embeddings, mean, std), limits,
                       n_reference)
        row["shift"] = mean_shift(present, mean, std, n_reference)
        if not math.isnan(row["shift"]):
            if row["shift"] >= limits.embedding_drift:
                row["status"] = worst_status(row["status"], "drift" if len(present) >= limits.min_rows else "warning")
            elif row["shift"] >= limits.embedding_warning:
                row["status"] = worst_status(row["status"], "warning")
        measures.append(row)
        if len(present):
            new_mean = [round(float(v), 5) for v in present.mean(axis=0)]
    missing_train = float(summary.get("missing_rate", 0.0))
    missing_new = float((n - batch.present.sum()) / n) if n else math.nan
    status = worst_status(*(m["status"] for m in measures))
    if status == "ok" and (batch.unreadable or missing_new - missing_train >= limits.missing_warning):
        status = "warning"
    worst = max(measures, key=lambda m: -1.0 if math.isnan(m["psi"]) else m["psi"])
    p_values = [m["p_value"] for m in measures if not math.isnan(m["p_value"])]
    row = {"psi": worst["psi"], "statistic": math.nan, "p_value": min(p_values) if p_values else math.nan,
           "missing_train": missing_train, "missing_new": missing_new, "missing_change": missing_new - missing_train,
           "unseen_share": math.nan, "type_errors": batch.unreadable, "status": status}
    detail = {"n_images": n, "n_rows": batch.n_rows, "unreadable": batch.unreadable, "measures": measures,
              "mean_thumbnail_train": None if not embedding else list(embedding["mean"]),
              "mean_thumbnail_new": new_mean}
    return row, detail
