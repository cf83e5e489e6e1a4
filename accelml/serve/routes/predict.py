"""``POST /predict``: predictions for JSON records or a CSV body, with per-row warnings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from accelml.serve.body import parse_csv, parse_json, read_body, records_frame
from accelml.serve.schemas import ErrorResponse, PredictResponse

__all__ = ["predict_router"]

_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})
# Requests up to this many rows are predicted on the event loop: a few milliseconds of blocking cost less than the two
# thread hand-offs (which, on a busy machine, each wait for a time slice). Larger ones go to the thread pool, so that
# health checks and metrics scrapes are not held up behind them.
INLINE_ROWS = 64


def predict_router(request_body: dict[str, Any]) -> APIRouter:
    """The router, with the request body documented from the model's schema (see :mod:`accelml.serve.openapi`)."""
    router = APIRouter(tags=["predict"])

    @router.post(
        "/predict",
        summary="Predict rows",
        response_model=None,
        openapi_extra={"requestBody": request_body},
        responses={
            200: {"model": PredictResponse, "description": "Predictions, in the order of the rows sent."},
            413: {"model": ErrorResponse, "description": "Body or row count over the limit."},
            415: {"model": ErrorResponse, "description": "Body neither JSON nor CSV."},
            422: {"model": ErrorResponse, "description": "Malformed body, missing column or value of a wrong type."},
        },
    )
    async def predict(
        request: Request,
        proba: Annotated[bool, Query(description="Also return class probabilities (classification only).")] = False,
    ) -> JSONResponse:
        """Predict each row. Missing values and categories the model never saw are allowed: they are treated as
        missing and reported in that row's ``warnings``."""
        state = request.app.state
        service, metrics = state.service, state.metrics
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media not in _CSV_TYPES and media != "application/json" and not media.endswith("+json"):
            raise HTTPException(415, f"unsupported Content-Type {media!r}; send application/json or text/csv")
        body = await read_body(request, service.settings.max_body_bytes)
        records = None
        if media in _CSV_TYPES:
            frame = parse_csv(body, service.settings.max_rows)
        else:
            records, asked = parse_json(body, service.settings.max_rows)
            frame = records_frame(records)
            proba = proba or bool(asked)
        if proba and not service.is_classifier:
            raise HTTPException(422, "probabilities exist only for classification; this model does regression, "
                                     "so leave out proba")
        request_id = request.state.request_id
        if len(frame) <= INLINE_ROWS:
            result = service.predict(frame, proba=proba, request_id=request_id, records=records)
        else:
            result = await run_in_threadpool(service.predict, frame, proba=proba, request_id=request_id,
                                             records=records)
        metrics.rows.inc(result["n_rows"])
        for row in result["warnings"]:
            for warning in row:
                metrics.row_warnings.labels(warning["kind"]).inc()
        metrics.window_rows.set(len(service.window))
        result["request_id"] = request_id
        return JSONResponse(result)

    return router
