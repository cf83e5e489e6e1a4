"""What a user may hand over, turned into one table: a table (a file or an in-memory frame), a folder of images (one
subfolder per class), a list of image paths, NumPy arrays of images, or a table of pixel columns with an image shape.

Images always end up as one IMAGE column of strings: absolute file paths, or ``array:`` references to arrays held in
memory (:mod:`accelml.data.memory`), so every table step downstream works unchanged.

Example:
    >>> import numpy as np
    >>> frame, target = read_data(np.zeros((3, 4, 4), dtype=np.uint8), [0, 1, 0])
    >>> list(frame.columns), target, bool(frame["image"].str.startswith("array:").all())
    (['image', 'label'], 'label', True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accelml.data.memory import is_array_ref, register_arrays
from accelml.data.read import read_table
from accelml.exceptions import ConfigError, DataError

__all__ = ["IMAGE_COLUMN", "LABEL_COLUMN", "image_frame", "read_data"]

logger = logging.getLogger(__name__)

IMAGE_COLUMN, LABEL_COLUMN = "image", "label"


def read_data(source: Any, target: Any = None, *, image_shape: Any = None) -> tuple[pd.DataFrame, str | None]:
    """The table to learn from and the target's column name.

    Args:
        source: a table (path or in-memory, see :func:`~accelml.data.read.read_table`); a folder of class
            subfolders of images (the target is the folder name, column ``label`` unless ``target`` names it); NumPy
            images ``(n, height, width[, channels])`` or a list of such arrays (``target`` then holds the labels).
        target: the target column's name, or (with arrays) the labels themselves.
        image_shape: with a table of pixel columns, each row's image shape, ``(28, 28)`` or ``"28x28"``: every numeric
            column but the target is a pixel, in table order.
    """
    if _is_folder(source):
        from accelml.data.images import scan_image_folder

        name = target if isinstance(target, str) and target else LABEL_COLUMN
        return scan_image_folder(source, target=name, column=IMAGE_COLUMN).frame, name
    if _is_images(source):
        labels = None if target is None or isinstance(target, str) else target
        frame = image_frame(source, labels=labels)
        return frame, (LABEL_COLUMN if labels is not None else None)
    frame = read_table(source)
    target = target if isinstance(target, str) else None
    if image_shape is not None:
        frame = pixel_frame(frame, image_shape, exclude=[target] if target else [])
    base = Path(source).parent if isinstance(source, (str, Path)) else None
    return checked_images(frame, base=base, exclude=[target] if target else []), target


def image_frame(images: Any, *, labels: Any = None, column: str = IMAGE_COLUMN, hold: bool = True) -> pd.DataFrame:
    """A one-column table of in-memory images (and a ``label`` column when ``labels`` are given): ``array:``
    references to images held in memory (``hold``: training data, which reports and monitoring read again), or the
    arrays themselves in the cells (new data to predict, which nothing keeps)."""
    from accelml.data.images import arrays_to_frame

    y = None if labels is None else np.asarray(labels)
    if y is not None and len(y) != len(images):
        raise DataError(f"{len(images)} images but {len(y)} labels; give one label per image")
    frame = arrays_to_frame(images, y, column=column, target=LABEL_COLUMN)
    if hold:
        frame[column] = register_arrays(frame[column].tolist())
    return frame


def pixel_frame(frame: pd.DataFrame, image_shape: Any, *, exclude: Sequence[str] = (), hold: bool = True
                ) -> pd.DataFrame:
    """A table of pixel columns with their images as one IMAGE column instead (other columns kept)."""
    from accelml.data.images import parse_image_shape, pixels_to_frame

    shape = parse_image_shape(image_shape)
    out, _ = pixels_to_frame(frame, shape, column=IMAGE_COLUMN, exclude=tuple(exclude))
    if hold:  # see image_frame
        out[IMAGE_COLUMN] = register_arrays(out[IMAGE_COLUMN].tolist())
    return out


def checked_images(frame: pd.DataFrame, *, base: Path | None = None, exclude: Sequence[str] = (),
                   max_bad_fraction: float = 0.02, hold: bool = True) -> pd.DataFrame:
    """``frame`` with its image-path columns resolved against ``base`` and checked (every image decoded once; up to
    ``max_bad_fraction`` of unreadable images dropped with a warning, more an error), and columns of arrays held in
    memory as references (``hold``; else the checked arrays stay in the cells). New data to predict is checked with
    ``max_bad_fraction=0`` (no row is dropped) and ``hold=False``."""
    from accelml.data.images import check_image_column
    from accelml.schema.infer import looks_like_images

    dtypes = frame.dtypes  # once: frame[name] per column is slow on a wide frame
    for name, dtype in zip(frame.columns, dtypes.tolist(), strict=True):
        if name in exclude or not (dtype == object or pd.api.types.is_string_dtype(dtype)):
            continue
        head = frame[name].dropna().head(20)  # a cheap look first: most string columns are not images
        if len(head) and all(is_array_ref(v) for v in head):
            continue  # images held in memory, checked when they were registered
        if len(head) and all(isinstance(v, np.ndarray) for v in head):
            frame = check_image_column(frame, name, name="data", max_bad_fraction=max_bad_fraction).frame
            if hold:
                frame[name] = register_arrays(frame[name].tolist())
        elif len(head) and looks_like_images(head.astype(str)) \
                and looks_like_images(frame[name].dropna().astype(str)):
            frame = check_image_column(frame, name, base=base, name="data", max_bad_fraction=max_bad_fraction).frame
    return frame


def _is_folder(source: Any) -> bool:
    return isinstance(source, (str, Path)) and Path(source).is_dir()


def _is_images(source: Any) -> bool:
    """NumPy images (n, h, w[, c]), or a list of 2-D or 3-D arrays."""
    if isinstance(source, np.ndarray):
        return source.ndim >= 3
    return isinstance(source, (list, tuple)) and bool(source) and all(isinstance(a, np.ndarray) for a in source)


def prediction_frame(source: Any, schema: Any) -> pd.DataFrame:
    """New data to predict, in any form the model's training data could take: a table (path columns resolved
    against its folder), a folder of images (every image file in it and its subfolders), a list of image paths,
    NumPy images, or a table of pixel columns when the model learned from one."""
    from accelml.schema.schema import ColumnRole

    images = schema.names(ColumnRole.IMAGE)
    column = images[0] if images else None
    if column is not None and (_is_folder(source) or _is_images(source) or _is_path_list(source)):
        if len(images) > 1:
            raise ConfigError(f"the model reads {len(images)} image columns; give a table with columns "
                              f"{', '.join(map(repr, images))}")
        if _is_folder(source):
            return _folder_frame(Path(source), column)
        if _is_images(source):
            return image_frame(source, column=column, hold=False)
        return checked_images(pd.DataFrame({column: [str(Path(p).resolve()) for p in source]}), max_bad_fraction=0)
    shape = schema.extra.get("image_shape")
    frame = read_table(source, copy=column is not None)  # a model without images only reads the frame
    if shape is not None and column is not None and column not in frame.columns:
        frame = pixel_frame(frame, shape, exclude=[schema.target], hold=False)
    if column is None:  # the model reads no images: nothing to resolve or check
        return frame
    base = Path(source).parent if isinstance(source, (str, Path)) else None
    return checked_images(frame, base=base, exclude=[schema.target], max_bad_fraction=0, hold=False)


def _is_path_list(source: Any) -> bool:
    return isinstance(source, (list, tuple)) and bool(source) and all(isinstance(p, (str, Path)) for p in source)


def _folder_frame(folder: Path, column: str) -> pd.DataFrame:
    from accelml.data.images import is_image_path

    paths = sorted(str(p.resolve()) for p in folder.rglob("*") if p.is_file() and is_image_path(p)
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not paths:
        raise DataError(f"folder '{folder}' holds no image file to predict")
    return checked_images(pd.DataFrame({column: paths}), max_bad_fraction=0)
