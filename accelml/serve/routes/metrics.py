"""``GET /metrics``: Prometheus text exposition of this server's counters and histograms."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

__all__ = ["router"]

router = APIRouter(tags=["service"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Requests by endpoint and status, latency histogram, errors by kind, rows predicted and per-row warnings."""
    content, media_type = request.app.state.metrics.render()
    return Response(content, media_type=media_type)
