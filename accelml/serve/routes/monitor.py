"""``GET /monitor``: drift of the recent request rows against the training profile."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

__all__ = ["router"]

router = APIRouter(tags=["monitor"])


@router.get("/monitor", summary="Drift status of recent requests", response_model=None)
async def monitor(request: Request, format: Literal["json", "html"] = "json") -> Any:
    """Per-column PSI and chi-square test, missing and unseen rates, and prediction drift, over the rolling window of
    recent request rows; ``status`` is ``ok``, ``warning``, ``drift`` or ``no_data``. ``?format=html`` gives the
    report section as a page."""
    service = request.app.state.service
    if format == "html":
        report = await run_in_threadpool(service.drift_report)
        body = report.to_html() if report is not None else "<p>No prediction requests yet.</p>"
        return HTMLResponse(f"<!doctype html><html><head><meta charset=\"utf-8\"><title>accelml drift</title>"
                            f"</head><body>{body}</body></html>")
    return await run_in_threadpool(service.drift)
