"""Images as data: decode files, bytes and arrays into ``(H, W, C)`` uint8 arrays, and find them in folders and tables.

Every image accelml sees passes through :func:`decode_image`, so a model only ever gets C-contiguous uint8 arrays with
one (grey) or three (colour) channels. Files are decoded once and kept in :data:`STORE`, a process-wide cache bounded
by bytes. The table helpers (:func:`scan_image_folder`, :func:`check_image_column`, :func:`arrays_to_frame`,
:func:`pixels_to_frame`) all produce a frame with one image column (paths or arrays) that the rest of accelml reads
through :func:`load_image`.

Pillow (``pip install 'accelml[image]'``) is imported only when a file or bytes are decoded, so arrays work without it.
Every failure is a :class:`~accelml.exceptions.DataError` whose one line names the file, row or folder at fault.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import warnings
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import ConfigError, DataError

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "STORE",
    "FolderScan",
    "ImageCheck",
    "ImageStore",
    "arrays_to_frame",
    "check_image_column",
    "decode_image",
    "image_size",
    "image_stats",
    "is_image_folder",
    "is_image_path",
    "load_image",
    "parse_image_shape",
    "pixels_to_frame",
    "scan_image_folder",
]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif")
"""File suffixes (compared case-insensitively) that count as images."""

MAX_PIXELS: int = 40_000_000
"""Images with more pixels are refused before decoding: a small file can expand to gigabytes (decompression bomb)."""

INSTALL_HINT = "pip install 'accelml[image]'"
_JUNK_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})  # written by archivers and file browsers
_GREY_MODES = frozenset({"1", "L"})
_WIDE_GREY_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_MAX_NAMED = 5  # bad files named in one message


# --- paths ------------------------------------------------------------------------------------------------------


def is_image_path(value: Any) -> bool:
    """Whether ``value`` is a ``str`` or path whose suffix is an image extension.

    Examples:
        >>> is_image_path("photos/cat.JPG"), is_image_path("table.csv"), is_image_path(3)
        (True, False, False)
    """
    if not isinstance(value, (str, os.PathLike)):
        return False
    return os.path.splitext(os.fspath(value))[1].lower() in IMAGE_EXTENSIONS


# --- decoding ---------------------------------------------------------------------------------------------------


def decode_image(source: Any, *, name: str | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode a file, raw bytes or an array into a C-contiguous uint8 ``(H, W, C)`` array with C == 1 or 3.

    Transparency is composited over white; 16-bit, integer and float grey images are stretched from their own
    range (min..max) to 0..255; animated GIF and WebP give their first frame. Arrays may be ``(H, W)``,
    ``(H, W, 1|2|3|4)`` (2 and 4 carry alpha) or channel-first ``(1|3, H, W)``; booleans become 0/255, floats whose
    maximum is at most 1.0 are multiplied by 255, other values are rounded and clipped to 0..255.

    Args:
        source: A path (``str`` or :class:`~pathlib.Path`), the bytes of an image file, or a numpy array.
        name: How to call the image in error messages; defaults to the path, ``"image bytes"`` or ``"image array"``.
        max_pixels: Files whose header declares more pixels are refused before decoding.

    Raises:
        DataError: The file is missing, unreadable, truncated or too large, or the array cannot be an image.

    Examples:
        >>> decode_image(np.zeros((4, 5))).shape
        (4, 5, 1)
        >>> decode_image(np.array([[0.0, 0.5, 1.0]])).ravel().tolist()
        [0, 128, 255]
    """
    if isinstance(source, (str, os.PathLike)):
        return _decode_path(Path(source), name or os.fspath(source), max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode_file(io.BytesIO(bytes(source)), name or "image bytes", max_pixels)
    if isinstance(source, (np.ndarray, list, tuple)):
        return _from_array(np.asarray(source), name or "image array")
    raise DataError(
        f"{name or 'image'}: cannot decode a {type(source).__name__}; pass a file path, the file's bytes or an array"
    )


def image_size(path: str | os.PathLike, *, name: str | None = None) -> tuple[int, int]:
    """The ``(width, height)`` of an image file, read from its header only (nothing is decoded).

    Raises:
        DataError: The file is missing or not a readable image.
    """
    label = name or os.fspath(path)
    _check_exists(Path(path), label)
    with _open(Path(path), label) as img:
        return img.size


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise DataError(f"decoding images needs Pillow; install it with `{INSTALL_HINT}`") from exc
    return Image


def _check_exists(path: Path, label: str) -> None:
    if path.is_dir():
        raise DataError(f"{label}: is a folder, not an image file")
    if not path.exists():
        raise DataError(f"{label}: does not exist; check the path")


def _decode_path(path: Path, label: str, max_pixels: int) -> np.ndarray:
    _check_exists(path, label)
    return _decode_file(path, label, max_pixels)


def _open(fp: Any, label: str) -> Any:
    """``Image.open`` (lazy: reads the header only) with Pillow's errors turned into one-line DataErrors."""
    image = _pil()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", image.DecompressionBombWarning)
            return image.open(fp)
    except (image.DecompressionBombError, image.DecompressionBombWarning) as exc:
        raise DataError(f"{label}: is too large to decode safely ({exc}); resize it first") from exc
    except Exception as exc:  # Pillow raises many kinds on hostile input; all mean the same to the user
        raise DataError(f"{label}: is not a readable image ({_reason(exc)})") from exc


def _decode_file(fp: Any, label: str, max_pixels: int) -> np.ndarray:
    with _open(fp, label) as img:
        width, height = img.size
        if width * height > max_pixels:
            raise DataError(
                f"{label}: {width}x{height} pixels is too large to decode safely (limit {max_pixels:,}); "
                "resize it first"
            )
        try:
            img.load()  # decodes now, so a truncated file fails here rather than later in training
            array = _pil_to_array(img)
        except Exception as exc:
            raise DataError(f"{label}: is not a readable image ({_reason(exc)})") from exc
    return np.ascontiguousarray(array)


def _reason(exc: Exception) -> str:
    """The first line of ``exc`` without the in-memory buffer Pillow names (``<_io.BytesIO object at 0x...>``)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", " the bytes", text).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _pil_to_array(img: Any) -> np.ndarray:
    mode = img.mode
    if mode in _GREY_MODES:
        return np.asarray(img.convert("L"))[:, :, None]
    if mode in _WIDE_GREY_MODES:
        return _stretch(np.asarray(img, dtype=np.float64))[:, :, None]
    if mode in ("LA", "La"):
        return _over_white(np.asarray(img.convert("LA")))
    if mode in ("P", "PA"):
        return _palette_to_array(img)
    if mode in ("RGBA", "RGBa"):
        return _over_white(np.asarray(img.convert("RGBA")))
    return np.asarray(img.convert("RGB"))


def _palette_to_array(img: Any) -> np.ndarray:
    transparent = img.mode == "PA" or "transparency" in img.info or img.palette.mode == "RGBA"
    rgb = _over_white(np.asarray(img.convert("RGBA"))) if transparent else np.asarray(img.convert("RGB"))
    palette = np.asarray(img.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)
    grey = palette.size > 0 and bool((palette == palette[:, :1]).all())
    return rgb[:, :, :1] if grey else rgb


def _stretch(values: np.ndarray) -> np.ndarray:
    """Map the image's own range to 0..255 (a constant image keeps its values, clipped)."""
    finite = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(finite.min()), float(finite.max())
    if high > low:
        finite = (finite - low) * (255.0 / (high - low))
    return np.clip(np.rint(finite), 0, 255).astype(np.uint8)


def _over_white(array: np.ndarray) -> np.ndarray:
    """Composite a uint8 image whose last channel is alpha (grey+alpha or RGBA) over a white background."""
    colour = array[..., :-1].astype(np.uint32)
    alpha = array[..., -1:].astype(np.uint32)
    blended = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


# --- arrays -----------------------------------------------------------------------------------------------------


def _from_array(array: np.ndarray, label: str) -> np.ndarray:
    if array.size == 0:
        raise DataError(f"{label}: the image array is empty (shape {array.shape})")
    hwc = _to_hwc(array, label)
    pixels = _to_uint8(hwc, label)
    if pixels.shape[2] in (2, 4):
        pixels = _over_white(pixels)
    return np.ascontiguousarray(pixels)


def _to_hwc(array: np.ndarray, label: str) -> np.ndarray:
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        return array
    if array.ndim == 3 and array.shape[0] in (1, 3):
        return array.transpose(1, 2, 0)
    raise DataError(
        f"{label}: an image array must have shape (H, W), (H, W, C) with C in 1, 2, 3, 4 or (C, H, W) with C in 1, 3; "
        f"got shape {array.shape}"
    )


def _to_uint8(array: np.ndarray, label: str) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * np.uint8(255)
    if kind == "u" and array.dtype.itemsize == 1:
        return array
    if kind == "O":
        array = _object_to_float(array, label)
        kind = "f"
    if kind not in "uif":
        raise DataError(f"{label}: an image array must hold numbers, not {array.dtype}")
    values = array.astype(np.float64)
    if kind == "f":
        if not np.isfinite(values).all():
            raise DataError(f"{label}: the image array holds NaN or infinite values; fill or drop them first")
        if values.max() <= 1.0:
            values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _object_to_float(array: np.ndarray, label: str) -> np.ndarray:
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{label}: an image array must hold numbers; it holds {_reason(exc)}") from exc


# --- the store --------------------------------------------------------------------------------------------------


class ImageStore:
    """A bounded in-memory cache of decoded image files, keyed by absolute path, least recently used evicted first.

    Arrays it returns are read-only, so that no caller can change what the next one gets. An image larger than the
    whole budget is decoded each time and not kept.

    Args:
        max_bytes: The most bytes of decoded pixels kept; 0 keeps nothing.
    """

    def __init__(self, max_bytes: int = 2 * 1024**3) -> None:
        self.max_bytes = max_bytes
        self._images: OrderedDict[str, np.ndarray] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes of decoded pixels held now."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._images)

    def get(self, path: str | os.PathLike) -> np.ndarray:
        """The decoded image at ``path``: decoded on the first call, then served from memory while it fits."""
        key = os.path.abspath(os.fspath(path))
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
                return image
        image = decode_image(key, name=os.fspath(path), max_pixels=MAX_PIXELS)  # read now: tests and users may lower it
        image.flags.writeable = False
        self._put(key, image)
        return image

    def clear(self) -> None:
        """Forget every image."""
        with self._lock:
            self._images.clear()
            self._nbytes = 0

    def _put(self, key: str, image: np.ndarray) -> None:
        if image.nbytes > self.max_bytes:
            return
        with self._lock:
            if key in self._images:  # another thread decoded it meanwhile
                return
            self._images[key] = image
            self._nbytes += image.nbytes
            while self._nbytes > self.max_bytes:
                _, old = self._images.popitem(last=False)
                self._nbytes -= old.nbytes


STORE = ImageStore()
"""The process-wide store that :func:`load_image` and :func:`check_image_column` decode through."""


def load_image(ref: Any) -> np.ndarray:
    """The ``(H, W, C)`` uint8 image for a cell of an image column: a path (through :data:`STORE`) or an array.

    Examples:
        >>> load_image(np.ones((2, 2, 3), dtype=np.uint8)).shape
        (2, 2, 3)
    """
    if isinstance(ref, (str, os.PathLike)):
        return STORE.get(ref)
    if isinstance(ref, (np.ndarray, bytes, bytearray, memoryview)):
        return decode_image(ref)
    raise DataError(f"an image cell must be a file path or an array, not {type(ref).__name__} ({ref!r:.60})")


# --- folders ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderScan:
    """What :func:`scan_image_folder` found.

    Attributes:
        frame: Columns ``image`` (absolute paths, sorted by class then file) and ``label`` (the class folder names).
        ignored: Non-image files skipped, counted by lower-case suffix (``""`` for none).
    """

    frame: pd.DataFrame
    ignored: dict[str, int] = field(default_factory=dict)


def scan_image_folder(folder: str | os.PathLike, *, target: str = "label", column: str = "image") -> FolderScan:
    """Turn a folder with one subfolder per class into a table of image paths and labels.

    Files nested deeper inside a class folder belong to that class. Hidden files and folders (``.name``) and archive
    debris such as ``__MACOSX`` are skipped silently; other non-image files are counted in ``ignored`` and logged once.

    Args:
        folder: The folder holding the class subfolders.
        target: Name of the label column.
        column: Name of the image path column.

    Raises:
        DataError: The folder is missing or empty, has no class subfolders or only one, or a class folder has no image.
    """
    _check_names(column, target)
    root = Path(folder)
    label = os.fspath(folder)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(f"image folder '{label}' {what}; pass a folder with one subfolder of images per class")
    classes, loose = _split_root(root, label)
    ignored: Counter[str] = Counter(_suffix(p) for p in loose if not is_image_path(p))
    rows: list[tuple[str, str]] = []
    for class_dir in classes:
        images, others = _class_files(class_dir)
        if not images:
            raise DataError(
                f"class folder '{os.path.join(label, class_dir.name)}' has no image file ({_extensions_hint()}); "
                "add images or remove the folder"
            )
        rows.extend((str(path), class_dir.name) for path in images)
        ignored.update(others)
    _warn_skipped(label, ignored, sum(is_image_path(p) for p in loose))
    frame = pd.DataFrame(rows, columns=[column, target])
    return FolderScan(frame=frame, ignored=dict(sorted(ignored.items())))


def is_image_folder(path: Any) -> bool:
    """Whether ``path`` is a folder with at least one subfolder holding an image file (looks at a few hundred entries).

    Examples:
        >>> is_image_folder("no/such/folder")
        False
    """
    if not isinstance(path, (str, os.PathLike)) or not os.path.isdir(path):
        return False
    budget = 500
    try:
        for sub in sorted(Path(path).iterdir()):
            if not sub.is_dir() or _skipped(sub.name):
                continue
            for _, dirs, files in os.walk(sub):
                dirs[:] = [d for d in dirs if not _skipped(d)]
                if any(is_image_path(f) for f in files):
                    return True
                budget -= len(files) + 1
                if budget <= 0:
                    return False
    except OSError:
        return False
    return False


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in _JUNK_NAMES


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _extensions_hint() -> str:
    return ", ".join(IMAGE_EXTENSIONS[:3]) + ", ..."


def _split_root(root: Path, label: str) -> tuple[list[Path], list[Path]]:
    """The class folders and the files directly in ``root``, or a DataError when there are no class folders."""
    entries = sorted(p for p in root.iterdir() if not _skipped(p.name))
    classes = [p for p in entries if p.is_dir()]
    loose = [p for p in entries if not p.is_dir()]
    if not entries:
        raise DataError(
            f"image folder '{label}' is empty; put each class's images in a subfolder named after the class"
        )
    if not classes:
        n_images = sum(is_image_path(p) for p in loose)
        if n_images:
            raise DataError(
                f"image folder '{label}' holds {n_images} image files but no class subfolders; "
                "put each class's images in a subfolder named after the class"
            )
        raise DataError(
            f"image folder '{label}' has no class subfolders (and no images); "
            "give a folder with one subfolder of images per class"
        )
    if len(classes) == 1:
        raise DataError(
            f"image folder '{label}': found only one class folder '{classes[0].name}'; "
            "classification needs at least two"
        )
    return classes, loose


def _class_files(class_dir: Path) -> tuple[list[Path], Counter[str]]:
    """Image files under ``class_dir`` (absolute, sorted by relative path) and the other files' suffix counts."""
    images: list[Path] = []
    others: Counter[str] = Counter()
    for path in class_dir.rglob("*"):
        relative = path.relative_to(class_dir)
        if any(_skipped(part) for part in relative.parts) or not path.is_file():
            continue
        if is_image_path(path):
            images.append(path.absolute())
        else:
            others[_suffix(path)] += 1
    images.sort(key=lambda p: p.relative_to(class_dir.absolute()).as_posix())
    return images, others


def _warn_skipped(label: str, ignored: Counter[str], loose_images: int) -> None:
    if ignored:
        total = sum(ignored.values())
        kinds = ", ".join(f"{n} {suffix or 'other'}" for suffix, n in ignored.most_common())
        logger.warning("image folder '%s': ignored %d files that are not images (%s)", label, total, kinds)
    if loose_images:
        logger.warning(
            "image folder '%s': ignored %d image files lying outside the class subfolders", label, loose_images
        )


def _check_names(column: str, target: str) -> None:
    if column == target:
        raise ConfigError(f"the image column and the target are both named '{column}'; give them different names")


# --- tables -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageCheck:
    """What :func:`check_image_column` kept and dropped.

    Attributes:
        frame: The rows kept (original index), image paths made absolute or arrays normalised.
        dropped: ``(row position, path, reason)`` for each unusable image skipped; positions count from 0.
    """

    frame: pd.DataFrame
    dropped: list[tuple[int, str, str]] = field(default_factory=list)


def check_image_column(
    frame: pd.DataFrame,
    column: str,
    *,
    base: str | os.PathLike | None = None,
    max_bad_fraction: float = 0.02,
    name: str = "data",
) -> ImageCheck:
    """Check that every cell of an image column is a usable image, decoding each once (into :data:`STORE`).

    Paths are resolved against ``base`` (the table's folder; the working folder when None) and made absolute; arrays
    (and bytes) are normalised by :func:`decode_image`. Rows whose image is corrupt, unreadable or too large are
    dropped with one warning when they are at most ``max_bad_fraction`` of the rows.

    Raises:
        DataError: The column is absent, a cell is empty, a file does not exist, or too many images are unusable.
            Rows are counted from 1, as a user counts the data rows of a table.

    Examples:
        >>> frame = pd.DataFrame({"image": [np.zeros((2, 2)), np.ones((2, 2, 3))]})
        >>> [a.shape for a in check_image_column(frame, "image").frame["image"]]
        [(2, 2, 1), (2, 2, 3)]
    """
    if column not in frame.columns:
        raise DataError(f"{name}: no image column '{column}'; columns are {', '.join(map(str, frame.columns))}")
    cells = _resolve_cells(frame[column].tolist(), column, Path(base) if base is not None else Path.cwd(), name)
    images: list[Any] = []
    bad: list[tuple[int, str, str]] = []
    for position, cell in enumerate(cells):
        try:
            images.append(_checked(cell, f"{name} row {position + 1}"))
        except DataError as exc:
            images.append(None)
            bad.append((position, cell if isinstance(cell, str) else f"row {position + 1}", str(exc)))
    _judge_bad(bad, len(cells), max_bad_fraction, name)
    keep = np.ones(len(cells), dtype=bool)
    keep[[position for position, _, _ in bad]] = False
    out = frame.copy()
    out[column] = _object_column(images)
    return ImageCheck(frame=out[keep], dropped=bad)


def _resolve_cells(values: list[Any], column: str, base: Path, name: str) -> list[Any]:
    """Paths made absolute (every missing file reported at once, naming the first); other cells as they are."""
    cells: list[Any] = []
    missing: list[tuple[int, Any, str]] = []
    for position, value in enumerate(values):
        if _is_missing(value):
            raise DataError(
                f"{name} row {position + 1}: the image column '{column}' is empty; give an image path or drop the row"
            )
        if isinstance(value, (str, os.PathLike)):
            path = Path(value).expanduser()
            value = os.path.abspath(path if path.is_absolute() else base / path)
            if not os.path.isfile(value):
                missing.append((position, values[position], value))
        cells.append(value)
    if missing:
        position, given, looked = missing[0]
        more = f"; {len(missing) - 1} more rows name missing files" if len(missing) > 1 else ""
        hint = f" (are the paths relative to '{base}'?)" if len(missing) == len(values) else ""
        raise DataError(
            f"{name} row {position + 1}: image '{os.fspath(given)}' does not exist (looked in {looked}){more}{hint}"
        )
    return cells


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return bool(np.isnan(value))
    if isinstance(value, str):
        return not value.strip()
    return False


def _checked(cell: Any, label: str) -> Any:
    """Decode a cell once: a path through STORE (the path stays in the column), anything else normalised."""
    if isinstance(cell, str):
        STORE.get(cell)
        return cell
    return decode_image(cell, name=label)


def _judge_bad(bad: list[tuple[int, str, str]], n_rows: int, max_bad_fraction: float, name: str) -> None:
    if not bad:
        return
    listed = "; ".join(f"row {position + 1}: {reason}" for position, _, reason in bad[:_MAX_NAMED])
    more = f"; and {len(bad) - _MAX_NAMED} more" if len(bad) > _MAX_NAMED else ""
    if len(bad) <= max_bad_fraction * n_rows and len(bad) < n_rows:
        logger.warning(
            "%s: dropped %d of %d rows whose image cannot be used: %s%s", name, len(bad), n_rows, listed, more
        )
        return
    raise DataError(
        f"{name}: {len(bad)} of {n_rows} images cannot be used (more than {max_bad_fraction:.0%} of rows); "
        f"fix or remove them: {listed}{more}"
    )


def _object_column(images: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding each image as one cell (numpy would otherwise stack equal shapes)."""
    column = np.empty(len(images), dtype=object)
    for position, image in enumerate(images):
        column[position] = image
    return column


def arrays_to_frame(
    images: np.ndarray | Sequence[Any], y: Any = None, *, column: str = "image", target: str = "label"
) -> pd.DataFrame:
    """A frame with one image array per row from a stacked array or a list of arrays (sizes may differ).

    Args:
        images: An array ``(n, H, W)`` or ``(n, H, W, C)``, or a list of ``(H, W)`` / ``(H, W, C)`` arrays.
        y: Labels, one per image; added as column ``target`` when given.
        column: Name of the image column.
        target: Name of the label column.

    Raises:
        DataError: The shapes are not ones listed above, or ``y`` has another length.

    Examples:
        >>> frame = arrays_to_frame(np.zeros((3, 8, 8)), y=[0, 1, 0])
        >>> list(frame.columns), frame["image"][0].shape
        (['image', 'label'], (8, 8, 1))
    """
    _check_names(column, target)
    items = _split_images(images)
    decoded = [decode_image(_as_image_array(item, i), name=f"image {i}") for i, item in enumerate(items)]
    frame = pd.DataFrame({column: _object_column(decoded)})
    if y is not None:
        labels = y.to_numpy() if isinstance(y, (pd.Series, pd.Index)) else np.asarray(y)
        if labels.ndim != 1:
            raise DataError(f"y has shape {labels.shape}; give a 1-D sequence with one label per image")
        if len(labels) != len(decoded):
            raise DataError(f"y has {len(labels)} values but there are {len(decoded)} images; give one label per image")
        frame[target] = labels
    return frame


_ACCEPTED_SHAPES = "an array (n, H, W) or (n, H, W, C), or a list of (H, W) or (H, W, C) arrays"


def _split_images(images: Any) -> list[Any]:
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise DataError(f"images must be {_ACCEPTED_SHAPES}; got an array of shape {images.shape}")
        items: list[Any] = list(images)
    elif isinstance(images, (list, tuple)):
        items = list(images)
    else:
        raise DataError(f"images must be {_ACCEPTED_SHAPES}; got a {type(images).__name__}")
    if not items:
        raise DataError(f"images is empty; give {_ACCEPTED_SHAPES}")
    return items


def _as_image_array(item: Any, position: int) -> np.ndarray:
    array = np.asarray(item)
    if array.ndim not in (2, 3):
        raise DataError(f"image {position} has shape {array.shape}; images must be {_ACCEPTED_SHAPES}")
    return array


def parse_image_shape(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"28x28"``, ``"32x32x3"`` or ``(28, 28)`` as a tuple of 2 or 3 positive integers.

    Raises:
        ConfigError: Anything else.

    Examples:
        >>> parse_image_shape("28x28"), parse_image_shape("32 X 32 x 3"), parse_image_shape([8, 8])
        ((28, 28), (32, 32, 3), (8, 8))
    """
    parts: Iterable[Any]
    if isinstance(text, str):
        parts = text.lower().replace("*", "x").replace(",", "x").strip(" ()").split("x")
    elif isinstance(text, (tuple, list)):
        parts = text
    else:
        parts = []
    shape = tuple(_positive_int(part) for part in parts)
    if len(shape) not in (2, 3) or None in shape:
        raise ConfigError(
            f"image_shape {text!r} is not understood; "
            "write HEIGHTxWIDTH or HEIGHTxWIDTHxCHANNELS, e.g. 28x28 or 32x32x3"
        )
    return shape  # type: ignore[return-value]


def _positive_int(part: Any) -> int | None:
    if isinstance(part, (bool, np.bool_)):
        return None
    if isinstance(part, (int, np.integer)):
        return int(part) if part > 0 else None
    if isinstance(part, str) and part.strip().isdigit() and int(part) > 0:
        return int(part)
    return None


def pixels_to_frame(
    frame: pd.DataFrame, image_shape: str | Sequence[int], *, column: str = "image", exclude: Iterable[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Fold a table's pixel columns (every numeric column not excluded, in table order) into one image column.

    Values are taken as 0..255, or as 0..1 when the whole table's pixels are floats at most 1.0.

    Returns:
        The frame with the other columns kept (same index) and ``column`` holding uint8 ``(H, W, C)`` arrays, and the
        names of the pixel columns in order.

    Raises:
        DataError: The number of numeric columns is not the image's pixel count, or a pixel is missing.

    Examples:
        >>> table = pd.DataFrame({"label": ["a", "b"], "p0": [0, 255], "p1": [9, 9], "p2": [1, 2], "p3": [3, 4]})
        >>> images, pixels = pixels_to_frame(table, "2x2", exclude=["label"])
        >>> pixels, images["image"][1].ravel().tolist()
        (['p0', 'p1', 'p2', 'p3'], [255, 9, 2, 4])
    """
    shape = parse_image_shape(image_shape)
    excluded = [exclude] if isinstance(exclude, str) else list(exclude)
    pixels = [c for c in frame.columns if c not in excluded and pd.api.types.is_numeric_dtype(frame[c])]
    _check_pixel_count(shape, len(pixels), excluded)
    kept = [c for c in frame.columns if c not in pixels]
    if column in kept:
        raise DataError(f"the table already has a column '{column}'; choose another name for the image column")
    block = _pixel_block(frame[pixels], pixels)
    stacked = block.reshape(len(frame), *shape)
    images = [decode_image(stacked[i], name=f"row {i + 1}") for i in range(len(frame))]
    out = frame[kept].copy()
    out[column] = _object_column(images)
    return out, [str(c) for c in pixels]


def _check_pixel_count(shape: tuple[int, ...], have: int, excluded: list[str]) -> None:
    need = int(np.prod(shape))
    if have == need:
        return
    besides = f" besides {', '.join(repr(c) for c in excluded)}" if excluded else ""
    hint = "; list the other numeric columns in exclude" if have > need else ""
    raise DataError(
        f"image_shape {'x'.join(map(str, shape))} needs {need} pixel columns, "
        f"the table has {have} numeric columns{besides}{hint}"
    )


def _pixel_block(pixels: pd.DataFrame, names: list[Any]) -> np.ndarray:
    """The pixels as a uint8 (rows, pixels) block, scaled once for the whole table."""
    values = pixels.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.argwhere(np.isnan(values))
    if len(missing):
        row, col = missing[0]
        raise DataError(f"data row {row + 1}: pixel column '{names[col]}' is missing; fill or drop the row")
    floats = any(pd.api.types.is_float_dtype(pixels[c]) for c in pixels.columns)
    if floats and values.size and values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def image_stats(image: np.ndarray) -> dict[str, float]:
    """Size and tone of one image: height, width, channels, brightness (mean, 0..255) and contrast (std).

    Examples:
        >>> image_stats(np.full((2, 3, 1), 10, dtype=np.uint8))
        {'height': 2.0, 'width': 3.0, 'channels': 1.0, 'brightness': 10.0, 'contrast': 0.0}
    """
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3:
        array = decode_image(array)
    height, width, channels = array.shape
    return {
        "height": float(height),
        "width": float(width),
        "channels": float(channels),
        "brightness": float(array.mean()),
        "contrast": float(array.std()),
    }
