"""``GET /health``: the server is up and its model is loaded."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from accelml._version import __version__
from accelml.serve.schemas import HealthResponse

__all__ = ["router"]

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness and readiness", response_model=HealthResponse)
async def health(request: Request) -> dict[str, Any]:
    """``ok`` once the model is loaded (the app is only created with a loaded model)."""
    service = request.app.state.service
    return {"status": "ok", "task": service.task, "model": service.source,
            "uptime_s": round(time.time() - service.started, 3), "accelml_version": __version__}
