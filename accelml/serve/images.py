"""Images in prediction requests: base64 in JSON or CSV, checked against the limits, then decoded in bounded batches.

A request to a model that reads images becomes :class:`ImageRows`: per image column, the raw bytes of each row's
image with a name (the upload's file name, the name given, or the image's position), and the row's other columns.
Only bytes sent in the request are ever decoded: a string that looks like a path or URL is refused, because the
server must not read files named by a client. Every problem is an ``HTTPException`` naming the image: 413 for too
many images or an image file over ``max_image_bytes``, 422 for bad base64; an image that is corrupt or has too many
pixels is a :class:`~accelml.exceptions.DataError` (422) from :func:`~accelml.data.images.decode_image`.

Example:
    >>> import base64
    >>> from accelml.serve.settings import ServiceSettings
    >>> rows = parse_image_json(b'{"images": [{"name": "a.png", "data": "iVBORw=="}]}', ["image"], ServiceSettings())
    >>> rows.names, rows.columns["image"][0].data[:4]
    (['a.png'], b'\\x89PNG')
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from fastapi import HTTPException

from accelml.serve.body import check_proba, check_records, load_json, parse_csv
from accelml.serve.settings import ServiceSettings

__all__ = ["DECODED_BYTES", "ImageRows", "RequestImage", "decode_base64", "decoded_frames", "image_rows",
           "parse_image_csv", "parse_image_json", "too_many_images"]

DECODED_BYTES = 256 * 1024**2
"""Decoded pixels held at once while predicting one request: the images are decoded and predicted in batches of
about this size, so that a few small files declaring many pixels each cannot make the server hold gigabytes."""

_PATH_LENGTH = 4096  # a string this short holding a character base64 never uses (. : \ ~) is a path or a URL
_NOT_BASE64 = ".:\\~"
_TINY = 64  # base64 of fewer than 48 bytes, too few for an image file: with a slash, it is a path ("/etc/passwd")
_BASE64_HINT = "send the image file's bytes, base64-encoded"


@dataclass(frozen=True)
class RequestImage:
    """One image of a request, not yet decoded.

    Attributes:
        name: The upload's file name, the name the client gave, or the image's position (from 0).
        label: How error messages call it: ``image 'cat.jpg'``, ``image 2`` or ``row 2``.
        data: The image file's bytes.
    """

    name: str
    label: str
    data: bytes


@dataclass(frozen=True)
class ImageRows:
    """The rows of an image request.

    Attributes:
        columns: Per image column of the model, one image per row.
        records: Per row, the values of the model's other columns.
        proba: The request's ``proba`` flag, when it has one.
    """

    columns: dict[str, list[RequestImage]]
    records: list[dict[str, Any]] = field(default_factory=list)
    proba: bool | None = None

    def __len__(self) -> int:
        return len(self.records)

    @property
    def names(self) -> list[str]:
        """Each row's image name (of the first image column)."""
        return [image.name for image in next(iter(self.columns.values()))]

    def logged_records(self) -> list[dict[str, Any]]:
        """The rows as the monitoring window and the prediction log keep them: each image replaced by its name."""
        return [{**record, **{column: images[i].name for column, images in self.columns.items()}}
                for i, record in enumerate(self.records)]


def image_rows(columns: dict[str, list[RequestImage]], records: list[dict[str, Any]] | None, settings: ServiceSettings,
               proba: bool | None = None) -> ImageRows:
    """Rows from images and their other columns, refusing (413) more images than ``settings.max_images``."""
    n = len(next(iter(columns.values())))
    total = sum(len(images) for images in columns.values())
    if n == 0:
        raise HTTPException(422, f"the request has no images to predict; {_BASE64_HINT}, or upload the files")
    if total > settings.max_images:
        raise HTTPException(413, too_many_images(total, settings.max_images))
    return ImageRows(columns=columns, records=records if records is not None else [{} for _ in range(n)], proba=proba)


def too_many_images(n: int, limit: int, at_least: bool = False) -> str:
    """The 413 message for ``n`` images (or more than ``n`` when ``at_least``) over the limit."""
    return (f"request has {'more than ' if at_least else ''}{n:,} images; the limit is {limit:,} images per request, "
            "so split it")


def parse_image_json(body: bytes, columns: list[str], settings: ServiceSettings) -> ImageRows:
    """``{"images": [...], "proba": ...}`` (a model with one image column) or ``{"records": [...]}`` whose image
    columns hold base64 strings (or ``{"name", "data"}`` objects); a bare list is a list of records."""
    data = load_json(body)
    if not isinstance(data, dict):
        return _from_records(data, columns, settings, check=True)
    unknown = sorted(set(data) - {"images", "records", "proba"})
    if unknown:
        raise HTTPException(422, f"unknown field(s) {', '.join(map(repr, unknown))} in the request; expected "
                                 "'images' or 'records', and optionally 'proba'")
    if ("images" in data) == ("records" in data):
        raise HTTPException(422, f"send either {{\"images\": [...]}} (each image file base64-encoded) or "
                                 f"{{\"records\": [...]}} (rows whose column {columns[0]!r} holds a base64-encoded "
                                 f"image){', not both' if 'images' in data else ''}")
    proba = check_proba(data.get("proba"))
    if "records" in data:
        return replace(_from_records(data["records"], columns, settings, check=True), proba=proba)
    if len(columns) > 1:
        raise HTTPException(422, f"the model reads {len(columns)} image columns ({', '.join(map(repr, columns))}); "
                                 "send {\"records\": [...]} with one base64-encoded image per column")
    items = data["images"]
    if not isinstance(items, list):
        raise HTTPException(422, f"'images' must be a list of base64 strings or {{\"name\", \"data\"}} objects, "
                                 f"got {type(items).__name__}")
    if len(items) > settings.max_images:  # before decoding any of them
        raise HTTPException(413, too_many_images(len(items), settings.max_images))
    images = [_payload(item, str(i), f"image {i}", settings.max_image_bytes) for i, item in enumerate(items)]
    return image_rows({columns[0]: images}, None, settings, proba)


def parse_image_csv(body: bytes, columns: list[str], settings: ServiceSettings) -> ImageRows:
    """A CSV body (read like :func:`~accelml.serve.body.parse_csv`) whose image columns hold base64 strings."""
    frame = parse_csv(body, settings.max_rows)
    plain = frame.astype(object).where(frame.notna(), None)
    return _from_records(plain.to_dict("records"), columns, settings, check=False)


def _from_records(data: Any, columns: list[str], settings: ServiceSettings, *, check: bool) -> ImageRows:
    records = check_records(data, settings.max_rows, skip=columns) if check else data
    if len(records) * len(columns) > settings.max_images:
        raise HTTPException(413, too_many_images(len(records) * len(columns), settings.max_images))
    images: dict[str, list[RequestImage]] = {column: [] for column in columns}
    others = []
    for i, record in enumerate(records):
        for column in columns:
            label = f"row {i}" + (f" column {column!r}" if len(columns) > 1 else "")
            value = record.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise HTTPException(422, f"{label} has no image in column {column!r}; {_BASE64_HINT}")
            images[column].append(_payload(value, str(i), label, settings.max_image_bytes))
        others.append({k: v for k, v in record.items() if k not in images})
    return image_rows(images, others, settings)


def _payload(value: Any, position: str, label: str, max_bytes: int) -> RequestImage:
    """An image given in JSON: a base64 string (or data URL), or ``{"name": ..., "data": ...}``."""
    name = position
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"name", "data"})
        given = value.get("name")
        if unknown or not isinstance(value.get("data"), str) or not isinstance(given, (str, type(None))):
            raise HTTPException(422, f"{label} must be {{\"name\": \"cat.jpg\", \"data\": \"<base64>\"}} (name "
                                     f"optional); got keys {', '.join(map(repr, sorted(value)))}")
        if given:
            name, label = given, f"image {given!r}"
        value = value["data"]
    if not isinstance(value, str):
        raise HTTPException(422, f"{label} must be a base64 string or a {{\"name\", \"data\"}} object, got "
                                 f"{type(value).__name__}")
    return RequestImage(name=name, label=label, data=decode_base64(value, label, max_bytes))


def decode_base64(text: str, label: str, max_bytes: int) -> bytes:
    """The bytes of a base64 string or ``data:...;base64,`` URL (line breaks, URL-safe letters and missing padding
    allowed), refusing paths and URLs (422) and files over ``max_bytes`` (413, before decoding).

    Example:
        >>> decode_base64("data:text/plain;base64,aGk", "x", 10)
        b'hi'
    """
    if text[:5].lower() == "data:":
        header, comma, text = text.partition(",")
        if not comma or not header.lower().endswith(";base64"):
            raise HTTPException(422, f"{label}: a data URL must be base64-encoded, like "
                                     "data:image/png;base64,iVBORw0KGgo...")
    elif len(text) <= _PATH_LENGTH and (any(c in text for c in _NOT_BASE64) or (len(text) < _TINY and "/" in text)):
        raise HTTPException(422, f"{label}: {text[:80]!r} looks like a path or URL; send the image's bytes, "
                                 "base64-encoded, not a path (the server never reads files or URLs named by a client)")
    if any(c in text for c in " \n\r\t"):  # line breaks from tools that wrap base64 at 76 characters
        text = "".join(text.split())
    if "-" in text or "_" in text:
        text = text.translate(_URL_SAFE)
    text += "=" * (-len(text) % 4)
    size = len(text) // 4 * 3 - text[-2:].count("=")
    if size > max_bytes:
        raise HTTPException(413, f"{label} is {size:,} bytes; the limit is {max_bytes:,} bytes per image, so resize "
                                 "or recompress it")
    if size <= 0:
        raise HTTPException(422, f"{label} is empty; {_BASE64_HINT}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(422, f"{label}: is not valid base64 ({exc}); {_BASE64_HINT}") from None


_URL_SAFE = str.maketrans("-_", "+/")


def decoded_frames(rows: ImageRows, max_pixels: int, budget: int | None = None) -> Iterator[pd.DataFrame]:
    """The rows as frames to predict, in order: each image decoded (refused when its header declares more than
    ``max_pixels`` pixels, or when it is not a readable image), a frame yielded whenever its decoded pixels reach
    ``budget`` bytes (default :data:`DECODED_BYTES`).

    Raises:
        DataError: An image is corrupt, truncated or has too many pixels; the message names it.
    """
    from accelml.data.images import decode_image

    budget = DECODED_BYTES if budget is None else budget
    start, held = 0, 0
    arrays: dict[str, list[np.ndarray]] = {column: [] for column in rows.columns}
    for i in range(len(rows)):
        for column, images in rows.columns.items():
            image = images[i]
            array = decode_image(image.data, name=image.label, max_pixels=max_pixels)
            arrays[column].append(array)
            held += array.nbytes
        if held >= budget or i == len(rows) - 1:
            yield _frame(rows.records[start : i + 1], arrays)
            start, held = i + 1, 0
            arrays = {column: [] for column in rows.columns}


def _frame(records: list[dict[str, Any]], arrays: dict[str, list[np.ndarray]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, index=pd.RangeIndex(len(records)))
    for column, images in arrays.items():
        cells = np.empty(len(images), dtype=object)  # filled one by one: numpy would stack same-shaped images
        for i, image in enumerate(images):
            cells[i] = image
        frame[column] = cells
    return frame
