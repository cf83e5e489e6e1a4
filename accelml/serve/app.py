"""The app factory: load the model once, then assemble the routers, the error handlers and the middleware."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from accelml.serve._deps import require_serve

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


def _load(model: Any) -> tuple[Any, str | None, dict[str, Any] | None]:
    """The fitted AutoML, where it came from, and its manifest (for a folder)."""
    from accelml.automl import AutoML, load
    from accelml.exceptions import NotFittedError

    if isinstance(model, AutoML):
        if not hasattr(model, "result_"):
            raise NotFittedError("this AutoML is not fitted yet; fit it (or accelml.load a model) before serving it")
        return model, None, None
    from accelml.export.artifact import read_manifest

    path = Path(model)
    manifest = read_manifest(path)
    return load(path), str(path), manifest


def create_app(
    model: Any,
    *,
    max_body_bytes: int = 1_000_000,
    max_rows: int = 10_000,
    prediction_log: str | Path | None = None,
    log_rows: int = 100_000,
    window: int = 1000,
    max_image_bytes: int = 10_000_000,
    max_image_pixels: int = 40_000_000,
    max_images: int = 64,
    max_text_chars: int = 100_000,
    max_k: int = 100,
    max_users: int = 1000,
) -> Any:
    """A FastAPI app that serves one model.

    Endpoints: ``POST /predict``, ``GET /health``, ``GET /metadata``, ``GET /metrics`` (Prometheus), ``GET /monitor``
    (drift of recent requests) and the OpenAPI documentation at ``/docs``. A recommender (a model fitted with user
    and item roles) also answers ``GET /recommend?user=ID&k=10`` and ``POST /recommend`` (see
    :mod:`accelml.serve.recommend`), and its ``POST /predict`` rates (user, item) rows.

    Args:
        model: A model folder written by :meth:`accelml.AutoML.save`, or a fitted :class:`accelml.AutoML`.
        max_body_bytes: Largest request body accepted; larger ones get 413.
        max_rows: Most rows per prediction request; more get 413.
        prediction_log: SQLite file logging every predicted row, or ``None`` for no log.
        log_rows: Rows the prediction log keeps (oldest deleted first).
        window: Recent request rows kept for ``GET /monitor``.
        max_image_bytes: Largest image file accepted (a model that reads images); larger ones get 413.
        max_image_pixels: Most pixels of one image, read from its header before decoding; more get 422.
        max_images: Most images per prediction request; more get 413. A request to a model that reads images may be
            as large as ``max_images`` base64-encoded images of ``max_image_bytes``, plus ``max_body_bytes``.
        max_text_chars: Most characters of one text (a model that reads text); longer ones get 413 naming the column
            and row. The default is the length training texts are cut at.
        max_k: Most items in one list of a recommender (``k`` of ``/recommend``); more get 422.
        max_users: Most users in one ``POST /recommend`` request; more get 413.

    Raises:
        AccelMLError: The ``serve`` extra is not installed (the message gives the install command).
        ArtifactError: The folder is not a loadable model.
        ConfigError: A limit is not a positive whole number, or the prediction log cannot be opened.

    Example:
        >>> from fastapi.testclient import TestClient  # doctest: +SKIP
        >>> client = TestClient(create_app("model/"))  # doctest: +SKIP
        >>> client.post("/predict", json={"records": [{"x": 1.0}]}).json()["predictions"]  # doctest: +SKIP
        ['yes']
    """
    require_serve()
    from fastapi import FastAPI

    from accelml._version import __version__
    from accelml.serve.errors import install_error_handlers
    from accelml.serve.metadata import describe_model
    from accelml.serve.metrics import ServiceMetrics
    from accelml.serve.middleware import ObserveRequests
    from accelml.serve.openapi import request_body_docs
    from accelml.serve.routes import health, metadata, metrics, monitor
    from accelml.serve.routes.predict import predict_router
    from accelml.serve.service import ModelService
    from accelml.serve.settings import ServiceSettings

    settings = ServiceSettings(max_body_bytes=max_body_bytes, max_rows=max_rows, log_rows=log_rows, window=window,
                               prediction_log=str(prediction_log) if prediction_log is not None else None,
                               max_image_bytes=max_image_bytes, max_image_pixels=max_image_pixels,
                               max_images=max_images, max_text_chars=max_text_chars, max_k=max_k,
                               max_users=max_users)
    automl, source, manifest = _load(model)
    service = ModelService(automl, settings, source=source, manifest=manifest)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        service.close()

    schema = service.schema
    rec = service.recommender
    what = (f"A recommender of {rec.interactions.item!r} for {rec.interactions.user!r}" if rec is not None else
            f"A {schema.task} model predicting {schema.target!r} from {len(schema.features)} columns")
    app = FastAPI(
        title="accelml model server",
        version=__version__,
        description=what + (f" ({source})" if source else "") + ".",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.metrics = ServiceMetrics()
    app.state.metadata = describe_model(service)
    if rec is not None:
        from accelml.serve.recommend import pairs_body_docs, recommend_router

        app.include_router(predict_router(pairs_body_docs(rec, settings)))
        app.include_router(recommend_router(settings))
    else:
        app.include_router(predict_router(request_body_docs(schema, service.result.sample, settings)))
    for module in (health, metadata, metrics, monitor):
        app.include_router(module.router)
    install_error_handlers(app)
    app.add_middleware(ObserveRequests, metrics=app.state.metrics)
    logger.info("serving %s (%s, %d features)", source or "an in-memory model", schema.task, len(schema.features))
    return app
