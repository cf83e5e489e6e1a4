"""Error responses: always ``{"error": message, "request_id": id}`` with the right status, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from accelml.exceptions import DataError

__all__ = ["error_response", "install_error_handlers"]

logger = logging.getLogger(__name__)


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON body every error shares."""
    request_id = getattr(request.state, "request_id", None)
    return JSONResponse({"error": message, "request_id": request_id}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404:
        message = f"no endpoint at {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
    return error_response(request, exc.status_code, message, getattr(exc, "headers", None))


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
    return f"{where}: {error.get('msg', 'invalid value')}" if where else str(error.get("msg", "invalid value"))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(_describe(e) for e in exc.errors()[:5])
    return error_response(request, 422, f"invalid request: {problems}")


async def _data_error(request: Request, exc: DataError) -> JSONResponse:
    # Errors the client can fix (a missing column, a value of the wrong type): the message names them.
    logger.info("rejected request %s: %s", getattr(request.state, "request_id", "-"), exc)
    return error_response(request, 422, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; unexpected exceptions are caught by :class:`~accelml.serve.middleware.ObserveRequests`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _data_error)  # type: ignore[arg-type]
