"""Images as model inputs: the ``image`` input kind (uint8 pixels for the image networks) and the IMAGE column's
encoder in the table preprocessing (small grey or colour thumbnails as numbers, for every tabular family).

An IMAGE column holds file paths or ``array:`` references (see :mod:`accelml.data.memory`). Each image is decoded once
(files through :data:`accelml.data.images.STORE`), converted to the run's channels (grey when every image is grey),
its shorter side resized to the run's size and centre-cropped to a square. The size follows the data (the median
shorter side, between :data:`MIN_SIZE` and :data:`MAX_SIZE`), made smaller when the run's pixels would not fit in
:data:`MAX_BYTES`; networks resize further to the resolution their configuration searches.

Example:
    >>> import numpy as np
    >>> square(np.full((4, 6, 3), 200, dtype=np.uint8), size=2, channels=1).shape
    (1, 2, 2)
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import DataError, SchemaError
from accelml.features.base import ColumnEncoder
from accelml.schema.schema import ColumnRole, Schema

__all__ = ["MAX_BYTES", "MAX_SIZE", "MIN_SIZE", "ImageInput", "ImagePixelEncoder", "image_columns", "load_images",
           "looks_like_photos", "square"]

logger = logging.getLogger(__name__)

MIN_SIZE, MAX_SIZE = 8, 128
MAX_BYTES = 1024**3  # a run's decoded pixels held at most, as uint8
_SAMPLE = 300  # images looked at to choose the size and channels
_THUMB_VALUES = 1024  # numbers per image for the tabular families: 32 x 32 grey or 18 x 18 colour at most
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def image_columns(schema: Schema) -> list[str]:
    """The schema's IMAGE feature columns, in order."""
    return [c.name for c in schema.features if c.role is ColumnRole.IMAGE]


def load_image(ref: Any, row: int | None = None) -> np.ndarray:
    """The (H, W, C) uint8 pixels of one cell: an ``array:`` reference, a path, or an array."""
    from accelml.data.images import load_image as load_file
    from accelml.data.memory import get_array, is_array_ref

    if is_array_ref(ref):
        return get_array(ref)
    if ref is None or (isinstance(ref, float) and np.isnan(ref)) or (isinstance(ref, str) and not ref.strip()):
        where = f"row {row + 1}" if row is not None else "a row"
        raise DataError(f"{where} has no image; every row needs an image (a path or an array)")
    return load_file(ref)


def square(image: np.ndarray, size: int, channels: int) -> np.ndarray:
    """``image`` (H, W, C) as (channels, size, size) uint8: grey or colour as asked, the shorter side resized to
    ``size`` (bilinear, antialiased when shrinking), the longer one centre-cropped."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] != channels:
        if channels == 1:
            image = np.clip(image[:, :, :3].astype(np.float32) @ _LUMA + 0.5, 0, 255).astype(np.uint8)[:, :, None]
        else:
            image = np.repeat(image[:, :, :1], 3, axis=2)
    h, w = image.shape[:2]
    if (h, w) != (size, size):
        from PIL import Image

        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        pil = Image.fromarray(image[:, :, 0] if channels == 1 else image)
        resized = np.asarray(pil.resize((nw, nh), Image.BILINEAR, reducing_gap=2.0 if scale < 0.5 else None))
        top, left = (nh - size) // 2, (nw - size) // 2
        image = resized.reshape(nh, nw, channels)[top : top + size, left : left + size]
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def load_images(values: pd.Series, size: int, channels: int) -> np.ndarray:
    """Every image of a column as one uint8 array (n, channels, size, size)."""
    out = np.empty((len(values), channels, size, size), dtype=np.uint8)
    for i, ref in enumerate(values.tolist()):
        out[i] = square(load_image(ref, row=i), size, channels)
    return out


def learn_layout(values: pd.Series, max_size: int = MAX_SIZE) -> tuple[int, int]:
    """``(size, channels)`` for a column: the median shorter side of a sample of its images, between
    :data:`MIN_SIZE` and ``max_size``, smaller when every image at that size would not fit in :data:`MAX_BYTES`;
    colour when any sampled image has colour."""
    refs = values.tolist()
    step = max(1, len(refs) // _SAMPLE)
    sample = [load_image(ref, row=i) for i, ref in list(enumerate(refs))[::step]]
    if not sample:
        raise DataError("the image column has no rows")
    channels = 3 if any(im.ndim == 3 and im.shape[2] >= 3 for im in sample) else 1
    size = int(np.clip(np.median([min(im.shape[:2]) for im in sample]), MIN_SIZE, max_size))
    while size > MIN_SIZE and len(refs) * channels * size * size > MAX_BYTES:
        size = max(MIN_SIZE, int(size * 0.8))
    return size, channels


def looks_like_photos(X: pd.DataFrame, schema: Schema) -> bool | None:
    """Whether the first image column holds photo-like images (colour, or more than 32 pixels on the shorter side)
    rather than small grey ones (digits, glyphs); None without an image column."""
    columns = [c for c in image_columns(schema) if c in X.columns]
    if not columns:
        return None
    size, channels = learn_layout(X[columns[0]])
    return channels == 3 or size > 32


class ImageInput:
    """The ``image`` input kind: the first IMAGE column's pixels as uint8 (n, channels, size, size).

    Stateless (computed once per run on every row and sliced per fold): what it learns, the size and channels, comes
    from the images alone, never from the target.
    """

    stateless: ClassVar[bool] = True
    opens_first: ClassVar[bool] = True  # the search opens with the families fed it (see opening_specs)

    @classmethod
    def accepts(cls, schema: Schema) -> bool:
        return bool(image_columns(schema))

    def __init__(self, kind: str, schema: Schema, seed: int = 0) -> None:
        self.kind, self.schema, self.seed = kind, schema, seed
        self.categorical_indices_: list[int] = []
        self.categorical_cardinalities_: list[int] = []

    @property
    def column(self) -> str:
        columns = image_columns(self.schema)
        if not columns:
            raise SchemaError("the data has no image column for an image network")
        if len(columns) > 1:
            logger.info("image networks see the first image column '%s' (of %d)", columns[0], len(columns))
        return columns[0]

    def _values(self, X: pd.DataFrame) -> pd.Series:
        if self.column not in X.columns:
            raise SchemaError(f"the data has no column '{self.column}', which holds the images the model needs")
        return X[self.column]

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> ImageInput:
        self.size_, self.channels_ = learn_layout(self._values(X))
        self.feature_names_ = [self.column]
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return load_images(self._values(X), self.size_, self.channels_)

    @property
    def shape_(self) -> tuple[int, int, int]:
        """(channels, size, size) of each image given to a network."""
        return self.channels_, self.size_, self.size_

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "size": self.size_, "channels": self.channels_}

    @classmethod
    def from_dict(cls, d: dict[str, Any], schema: Schema) -> ImageInput:
        featurizer = cls(d["kind"], schema)
        featurizer.size_, featurizer.channels_ = int(d["size"]), int(d["channels"])
        featurizer.feature_names_ = [featurizer.column]
        return featurizer

    def __repr__(self) -> str:
        shape = f"{self.channels_}x{self.size_}x{self.size_}" if hasattr(self, "size_") else "unfitted"
        return f"ImageInput({shape})"


class ImagePixelEncoder(ColumnEncoder):
    """An IMAGE column in a table's preprocessing: a small thumbnail's pixels scaled to 0..1, at most
    1,024 numbers per image (28 x 28 digits stay whole), so that every tabular family can learn from raw pixels."""

    def _learn(self, values: pd.Series, y: np.ndarray | None) -> dict[str, Any]:
        size, channels = learn_layout(values)
        limit = int((_THUMB_VALUES / channels) ** 0.5)
        return {"size": min(size, limit), "channels": channels}

    def set_state(self, state: dict[str, Any]) -> None:
        self.state_ = state
        self.categorical_ = []
        n = state["channels"] * state["size"] ** 2
        self.feature_names_ = [f"{self.column}__px{i}" for i in range(n)]

    def transform(self, values: pd.Series) -> np.ndarray:
        images = load_images(values, self.state_["size"], self.state_["channels"])
        return images.reshape(len(values), -1).astype(np.float32) / 255.0
