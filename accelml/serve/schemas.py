"""Response bodies as pydantic models, for the OpenAPI documentation at ``/docs``.

The endpoints build plain dicts (faster than validating every response); these models describe what they hold.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ErrorResponse", "HealthResponse", "PredictResponse", "RowWarning"]


class RowWarning(BaseModel):
    column: str = Field(description="The column the warning is about.")
    kind: str = Field(description="missing, unseen_category or unknown_value.")
    message: str


class PredictResponse(BaseModel):
    predictions: list[Any] = Field(description="One class label (classification) or value (regression) per row.")
    probabilities: list[dict[str, float]] | None = Field(
        None, description="With proba: one {class label: probability} object per row."
    )
    probability: list[float] | None = Field(
        None, description="Binary: each row's probability of the positive class (the second of the model's classes)."
    )
    threshold: float | None = Field(
        None, description="Binary: the probability from which the positive class is predicted (tuned when the model "
                          "was fitted; 0.5 for a model fitted without one)."
    )
    warnings: list[list[RowWarning]] = Field(description="Per row, what the prediction could not use (often none).")
    n_rows: int
    names: list[str] | None = Field(
        None, description="For a model that reads images: each row's image name (the uploaded file's name, the name "
                          "given in JSON, or the image's position from 0)."
    )
    request_id: str


class ErrorResponse(BaseModel):
    error: str = Field(description="What is wrong and how to fix it.")
    request_id: str | None = None


class HealthResponse(BaseModel):
    status: str
    task: str
    model: str | None
    uptime_s: float
    accelml_version: str
