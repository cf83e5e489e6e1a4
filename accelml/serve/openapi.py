"""The prediction request as the model's schema defines it, so that ``/docs`` shows real columns and an example
(and, for a model that reads images, the image uploads and base64 JSON it takes; for one that reads text, the most
characters of a text)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from accelml.schema.schema import ColumnRole, Schema
from accelml.serve.settings import ServiceSettings
from accelml.tasks import get_task

__all__ = ["EXAMPLE_IMAGE", "request_body_docs"]

_JSON_TYPES: dict[ColumnRole, list[str]] = {
    ColumnRole.NUMERIC: ["number", "string", "null"],
    ColumnRole.CATEGORICAL: ["string", "number", "boolean", "null"],
    ColumnRole.BOOLEAN: ["boolean", "string", "number", "null"],
    ColumnRole.DATETIME: ["string", "null"],
    ColumnRole.TIME: ["string", "null"],
    ColumnRole.TEXT: ["string", "null"],
}
EXAMPLE_IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR42mP4DwABAQEAHLCMmQAAAABJRU5ErkJggg=="
"""A 1x1 white PNG, base64-encoded: the examples' image, so that "Try it out" in ``/docs`` sends a real one."""
_IMAGE_FIELD = {"type": "string", "format": "byte",
                "description": "image: the image file's bytes, base64-encoded (line breaks and a "
                               "data:image/...;base64, prefix allowed); never a path or URL"}


def _image_columns(schema: Schema) -> list[str]:
    return [c.name for c in schema.features if c.role is ColumnRole.IMAGE]


def _example(schema: Schema, sample: pd.DataFrame | None) -> dict[str, Any]:
    names = [c.name for c in schema.features]
    images = set(_image_columns(schema))
    if sample is None or not len(sample) or any(n not in sample.columns for n in names):
        return {n: EXAMPLE_IMAGE if n in images else None for n in names}
    row = sample.iloc[0]
    out = {}
    for name in names:
        if name in images:  # the training file's path means nothing to a client (and is not for it to see)
            out[name] = EXAMPLE_IMAGE
            continue
        value = row[name]
        value = value.item() if hasattr(value, "item") else value
        out[name] = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        if isinstance(out[name], pd.Timestamp):
            out[name] = out[name].isoformat()
    return out


def _field(role: ColumnRole, dtype: str, settings: ServiceSettings) -> dict[str, Any]:
    """One column of a record: its JSON types, and for text the most characters (longer texts get 413)."""
    if role is ColumnRole.TEXT:
        return {"type": _JSON_TYPES[role], "maxLength": settings.max_text_chars,
                "description": f"text of at most {settings.max_text_chars:,} characters (training dtype {dtype})"}
    return {"type": _JSON_TYPES[role], "description": f"{role.value} (training dtype {dtype})"}


def request_body_docs(schema: Schema, sample: pd.DataFrame | None, settings: ServiceSettings) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``POST /predict``: JSON records with the model's columns, or CSV text; for a
    model that reads images, also ``{"images": [...]}`` of base64-encoded files and multipart/form-data uploads."""
    properties = {c.name: _IMAGE_FIELD if c.role is ColumnRole.IMAGE else _field(c.role, c.dtype, settings)
                  for c in schema.features}
    record = {"type": "object", "properties": properties, "required": [c.name for c in schema.features],
              "additionalProperties": True}
    example = _example(schema, sample)
    csv_example = pd.DataFrame([example]).to_csv(index=False)
    proba = {"type": "boolean", "default": False,
             "description": "Also return class probabilities (classification only)."}
    classification = get_task(schema.task).classification
    texts = [c.name for c in schema.features if c.role is ColumnRole.TEXT]
    bound = (f"; each text ({', '.join(map(repr, texts))}) at most {settings.max_text_chars:,} characters" if texts
             else "")
    body = {
        "required": True,
        "description": (
            f"Rows to predict, at most {settings.max_rows:,} per request{bound}: JSON records (a null or absent value "
            "is missing; extra keys are ignored) or CSV text with a header line (Content-Type: text/csv; use "
            "?proba=true)."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "records": {"type": "array", "items": record, "maxItems": settings.max_rows},
                        "proba": proba,
                    },
                    "required": ["records"],
                },
                "example": {"records": [example], "proba": classification},
            },
            "text/csv": {"schema": {"type": "string"}, "example": csv_example},
        },
    }
    images = _image_columns(schema)
    return _with_images(body, schema, images, settings, proba, classification) if images else body


def _with_images(body: dict[str, Any], schema: Schema, images: list[str], settings: ServiceSettings,
                 proba: dict[str, Any], classification: bool) -> dict[str, Any]:
    """The request body of a model that reads images: multipart uploads first (what ``/docs`` offers to try), the
    image column base64-encoded in records and CSV, and (one image column) ``{"images": [...]}``."""
    others = {c.name: {"type": "string", "description": f"{c.role.value}: one value for every image, or one per "
                                                        "image in upload order"}
              for c in schema.features if c.role is not ColumnRole.IMAGE}
    fields = f"; the model's other columns as form fields ({', '.join(map(repr, others))})" if others else ""
    listed = ", or {\"images\": [...]} of base64 strings or {\"name\", \"data\"} objects" if len(images) == 1 else ""
    body["description"] = (
        f"Images to predict, at most {settings.max_images:,} per request, each file at most "
        f"{settings.max_image_bytes:,} bytes and {settings.max_image_pixels:,} pixels: multipart/form-data file "
        f"uploads (any field name{fields}), or base64-encoded in JSON: records whose column {images[0]!r} holds "
        f"the image{listed}. The response names each image (its file name, the name given, or its position). "
        "Paths and URLs are refused: the server reads only the bytes sent."
    )
    json_content = body["content"]["application/json"]
    if len(images) == 1:
        named = {"type": "object", "required": ["data"], "properties": {
            "name": {"type": "string", "description": "The image's name, returned in the response's names."},
            "data": _IMAGE_FIELD}}
        schema_json = json_content["schema"]
        schema_json["properties"]["images"] = {"type": "array", "items": {"oneOf": [_IMAGE_FIELD, named]},
                                               "maxItems": settings.max_images}
        del schema_json["required"]
        schema_json["oneOf"] = [{"required": ["records"]}, {"required": ["images"]}]
        if not others:
            json_content["example"] = {"images": [{"name": "example.png", "data": EXAMPLE_IMAGE}],
                                       "proba": classification}
    several = f"; with several image columns, the column's name ({', '.join(map(repr, images))})" \
        if len(images) > 1 else ""
    files = {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": settings.max_images,
             "description": f"The image files (any field name{several})."}
    multipart = {"schema": {"type": "object", "properties": {"files": files, **others, "proba": proba},
                            "required": ["files"]}}
    body["content"] = {"multipart/form-data": multipart, **body["content"]}
    return body
