"""``POST /predict``: predictions for JSON records or a CSV body, with per-row warnings; for a model that reads
images, also uploaded image files or base64-encoded images in JSON (see :mod:`accelml.serve.images`); for a model
that reads text, each text within ``max_text_chars`` (see :mod:`accelml.serve.texts`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from accelml.serve.body import parse_csv, parse_json, read_body, records_frame
from accelml.serve.images import ImageRows, parse_image_csv, parse_image_json
from accelml.serve.recommend import check_rates_pairs
from accelml.serve.schemas import ErrorResponse, PredictResponse
from accelml.serve.texts import check_text_lengths
from accelml.serve.uploads import read_uploads

__all__ = ["predict_router"]

_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})
_MULTIPART = "multipart/form-data"
# Requests up to this many rows are predicted on the event loop: a few milliseconds of blocking cost less than the two
# thread hand-offs (which, on a busy machine, each wait for a time slice). Larger ones go to the thread pool, so that
# health checks and metrics scrapes are not held up behind them.
INLINE_ROWS = 64
INLINE_BYTES = 256 * 1024  # likewise, image request bodies up to this size are parsed on the event loop


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
            413: {"model": ErrorResponse, "description": "Body, row count, image count, image file or a text's length "
                                                         "over the limit."},
            415: {"model": ErrorResponse, "description": "Body neither JSON nor CSV (nor, for an image model, a "
                                                         "multipart upload)."},
            422: {"model": ErrorResponse, "description": "Malformed body, missing column, value of a wrong type, or an "
                                                         "image that is not valid base64, not readable or too large."},
        },
    )
    async def predict(
        request: Request,
        proba: Annotated[bool, Query(description="Also return class probabilities (classification only).")] = False,
    ) -> JSONResponse:
        """Predict each row (or image). Missing values and categories the model never saw are allowed: they are
        treated as missing and reported in that row's ``warnings``."""
        state = request.app.state
        service, metrics = state.service, state.metrics
        if service.recommender is not None:
            check_rates_pairs(service)
        media = _media_type(request, bool(service.image_columns))
        if service.image_columns:
            rows = await _image_rows(request, media, service)
            proba = proba or bool(rows.proba)
            if service.text_columns:
                check_text_lengths(records_frame(rows.records), service.text_columns, service.settings.max_text_chars)
        else:
            body = await read_body(request, service.settings.max_body_bytes)
            records = None
            if media in _CSV_TYPES:
                frame = parse_csv(body, service.settings.max_rows)
            else:
                records, asked = parse_json(body, service.settings.max_rows)
                frame = records_frame(records)
                proba = proba or bool(asked)
            check_text_lengths(frame, service.text_columns, service.settings.max_text_chars)
        if proba and not service.is_classifier:
            raise HTTPException(422, f"probabilities exist only for classification; this model does {service.task}, "
                                     "so leave out proba")
        request_id = request.state.request_id
        if service.image_columns:  # decoding images takes long enough to always leave the event loop
            result = await run_in_threadpool(service.predict_images, rows, proba=proba, request_id=request_id)
        elif len(frame) <= INLINE_ROWS:
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


def _media_type(request: Request, images: bool) -> str:
    """The request's media type, refusing (415) one this model cannot read."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media == _MULTIPART and not images:
        raise HTTPException(415, "this model reads no images, so it takes rows as application/json or text/csv, "
                                 "not multipart/form-data uploads")
    if media in _CSV_TYPES or media == "application/json" or media.endswith("+json") or media == _MULTIPART:
        return media
    raise HTTPException(415, f"unsupported Content-Type {media!r}; send application/json or text/csv"
                             + (", or upload images as multipart/form-data" if images else ""))


async def _image_rows(request: Request, media: str, service: Any) -> ImageRows:
    """The rows of a request to a model that reads images: uploaded files, or base64 in JSON or CSV (a large body
    is parsed off the event loop)."""
    settings, columns = service.settings, service.image_columns
    if media == _MULTIPART:
        return await read_uploads(request, columns, settings)
    body = await read_body(request, settings.image_body_bytes, "images")
    parse = parse_image_csv if media in _CSV_TYPES else parse_image_json
    if len(body) <= INLINE_BYTES:
        return parse(body, columns, settings)
    return await run_in_threadpool(parse, body, columns, settings)

