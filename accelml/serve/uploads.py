"""``multipart/form-data`` prediction requests: image files uploaded under any field name, and text fields for the
model's other columns (one value for every image, or one per image in upload order).

The body is parsed as it streams in, within the image body limit, at most ``max_images`` files (larger files are
spooled to disk by the parser, not held in memory). Each file is then read whole, refused (413) beyond
``max_image_bytes``.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from accelml.data.read import NA_STRINGS
from accelml.serve.body import body_chunks
from accelml.serve.images import ImageRows, RequestImage, image_rows, too_many_images
from accelml.serve.settings import ServiceSettings

__all__ = ["read_uploads"]

_MAX_FIELDS = 1000
_NA = frozenset(NA_STRINGS)
_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
_HINT = "upload each image as a file, e.g. curl -F files=@cat.jpg"


async def read_uploads(request: Request, columns: list[str], settings: ServiceSettings) -> ImageRows:
    """The images and other columns of a multipart request to a model whose image columns are ``columns``."""
    from starlette import formparsers

    if formparsers.multipart is None:
        raise HTTPException(415, "this server cannot read uploads without python-multipart (install it with "
                                 "`pip install 'accelml[serve]'`); send the images base64-encoded in JSON instead")
    parser = formparsers.MultiPartParser(request.headers, body_chunks(request, settings.image_body_bytes, "images"),
                                         max_files=settings.max_images, max_fields=_MAX_FIELDS)
    try:
        form = await parser.parse()
    except formparsers.MultiPartException as exc:
        if str(exc).startswith("Too many files"):  # the parser stops at max_files, before reading the rest
            raise HTTPException(413, too_many_images(settings.max_images, settings.max_images, at_least=True)) \
                from None
        raise HTTPException(422, f"cannot read the multipart/form-data body ({exc}); {_HINT}") from None
    files: list[tuple[str, RequestImage]] = []
    fields: dict[str, list[str]] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
            else:
                files.append((key, await _read(value, len(files), settings.max_image_bytes)))
    finally:
        await form.close()
    return _rows(files, fields, columns, settings)


async def _read(upload: Any, position: int, max_bytes: int) -> RequestImage:
    name = upload.filename or str(position)
    label = f"image {upload.filename!r}" if upload.filename else f"image {position}"
    if upload.size is not None and upload.size > max_bytes:
        raise HTTPException(413, f"{label} is {upload.size:,} bytes; the limit is {max_bytes:,} bytes per image, so "
                                 "resize or recompress it")
    return RequestImage(name=name, label=label, data=await upload.read())


def _rows(files: list[tuple[str, RequestImage]], fields: dict[str, list[str]], columns: list[str],
          settings: ServiceSettings) -> ImageRows:
    if not files:
        raise HTTPException(422, f"the multipart/form-data body holds no file; {_HINT}")
    proba = _flag(fields.pop("proba", None))
    texts = [c for c in columns if c in fields]
    if texts:
        raise HTTPException(422, f"form field {texts[0]!r} holds text; upload the image as a file")
    if len(columns) == 1:
        images = {columns[0]: [image for _, image in files]}
    else:
        images = {c: [image for key, image in files if key == c] for c in columns}
        if {key for key, _ in files} != set(columns) or len({len(v) for v in images.values()}) > 1:
            raise HTTPException(422, f"the model reads {len(columns)} image columns; upload the same number of files "
                                     f"under each of the field names {', '.join(map(repr, columns))}")
    n = len(images[columns[0]])
    records: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, values in fields.items():
        if len(values) not in (1, n):
            raise HTTPException(422, f"form field {name!r} appears {len(values)} times for {n} images; give it once "
                                     "(for every image) or once per image, in upload order")
        for i, record in enumerate(records):
            value = values[i if len(values) == n else 0]
            record[name] = None if value in _NA else value
    return image_rows(images, records, settings, proba)


def _flag(values: list[str] | None) -> bool | None:
    if values is None:
        return None
    value = values[-1].strip().lower()
    if value not in _FLAGS:
        raise HTTPException(422, f"form field 'proba' must be true or false, got {values[-1]!r}")
    return _FLAGS[value]
