"""The outermost layer of the server: a request id, timing and counting, and the last line against unhandled errors.

A plain ASGI middleware, not Starlette's ``BaseHTTPMiddleware``, which costs a task and a queue per request.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from accelml.serve.metrics import ServiceMetrics

__all__ = ["REQUEST_ID_HEADER", "ObserveRequests"]

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
INTERNAL_ERROR = "internal server error; the server log has the details"


class ObserveRequests:
    """Give every request an id (the client's ``X-Request-ID`` when it is sane), time and count it, and turn an
    unhandled exception into a generic 500 whose body never shows the traceback (the log gets it)."""

    def __init__(self, app: Any, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False
        began = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error in %s %s (request %s)", scope.get("method"), scope.get("path"),
                             request_id)
            status = 500
            if not started:
                body = json.dumps({"error": INTERNAL_ERROR, "request_id": request_id}).encode()
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()),
                                        (b"x-request-id", request_id.encode())]})
                await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.observe(scope.get("path", ""), scope.get("method", ""), status, time.perf_counter() - began)


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SAFE_ID.match(text):
                return text
            break
    return uuid.uuid4().hex
