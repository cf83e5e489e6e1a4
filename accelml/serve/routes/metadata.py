"""``GET /metadata``: what the model is, what it expects, and how it was chosen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

__all__ = ["router"]

router = APIRouter(tags=["model"])


@router.get("/metadata", summary="Model schema, task, metric, versions and leaderboard")
async def metadata(request: Request) -> dict[str, Any]:
    """Computed once when the server starts (see :func:`accelml.serve.metadata.describe_model`)."""
    return request.app.state.metadata
