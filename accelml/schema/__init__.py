"""Column roles, task inference and the schema stored with every model."""

from __future__ import annotations

from accelml.schema.infer import infer_schema, infer_task
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
from accelml.schema.validate import coerce_training_frame, validate_frame

__all__ = [
    "ColumnRole",
    "ColumnSpec",
    "Schema",
    "coerce_training_frame",
    "infer_schema",
    "infer_task",
    "validate_frame",
]
