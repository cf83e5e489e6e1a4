"""The prediction request as the model's schema defines it, so that ``/docs`` shows real columns and an example."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from accelml.schema.schema import ColumnRole, Schema
from accelml.tasks import get_task

__all__ = ["request_body_docs"]

_JSON_TYPES: dict[ColumnRole, list[str]] = {
    ColumnRole.NUMERIC: ["number", "string", "null"],
    ColumnRole.CATEGORICAL: ["string", "number", "boolean", "null"],
    ColumnRole.BOOLEAN: ["boolean", "string", "number", "null"],
    ColumnRole.DATETIME: ["string", "null"],
    ColumnRole.TIME: ["string", "null"],
    ColumnRole.TEXT: ["string", "null"],
}


def _example(schema: Schema, sample: pd.DataFrame | None) -> dict[str, Any]:
    names = [c.name for c in schema.features]
    if sample is None or not len(sample) or any(n not in sample.columns for n in names):
        return {n: None for n in names}
    row = sample.iloc[0]
    out = {}
    for name in names:
        value = row[name]
        value = value.item() if hasattr(value, "item") else value
        out[name] = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        if isinstance(out[name], pd.Timestamp):
            out[name] = out[name].isoformat()
    return out


def request_body_docs(schema: Schema, sample: pd.DataFrame | None, max_rows: int) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``POST /predict``: JSON records with the model's columns, or CSV text."""
    properties = {c.name: {"type": _JSON_TYPES[c.role], "description": f"{c.role.value} (training dtype {c.dtype})"}
                  for c in schema.features}
    record = {"type": "object", "properties": properties, "required": [c.name for c in schema.features],
              "additionalProperties": True}
    example = _example(schema, sample)
    csv_example = pd.DataFrame([example]).to_csv(index=False)
    return {
        "required": True,
        "description": (
            f"Rows to predict, at most {max_rows:,} per request: JSON records (a null or absent value is missing; "
            "extra keys are ignored) or CSV text with a header line (Content-Type: text/csv; use ?proba=true)."
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "records": {"type": "array", "items": record, "maxItems": max_rows},
                        "proba": {"type": "boolean", "default": False,
                                  "description": "Also return class probabilities (classification only)."},
                    },
                    "required": ["records"],
                },
                "example": {"records": [example], "proba": get_task(schema.task).classification},
            },
            "text/csv": {"schema": {"type": "string"}, "example": csv_example},
        },
    }
