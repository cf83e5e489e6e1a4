"""Run the app under uvicorn: in this process for one worker, through an import string for several."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

from accelml.exceptions import ConfigError
from accelml.serve._deps import require_serve

__all__ = ["CONFIG_ENV", "app_from_env", "check_port", "run_server"]

logger = logging.getLogger(__name__)

CONFIG_ENV = "ACCELML_SERVE_CONFIG"  # how the settings reach worker processes, which import the app by name


def app_from_env() -> Any:
    """The app described by ``$ACCELML_SERVE_CONFIG`` (JSON: ``model`` and :func:`create_app`'s keywords)."""
    from accelml.serve.app import create_app

    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise ConfigError(f"{CONFIG_ENV} is not set; start the server with `accelml serve MODEL_DIR`")
    config = json.loads(raw)
    return create_app(config.pop("model"), **config)


def check_port(host: str, port: int) -> None:
    """Fail early, with the option to change, when ``host:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") \
                from None


def run_server(model_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
               access_log: bool = True, **settings: Any) -> None:
    """Serve the model folder until interrupted.

    With several workers each process keeps its own metrics and monitoring window (Prometheus sees each worker it
    scrapes); they share the prediction log file.

    Args:
        model_dir: A model folder written by :meth:`accelml.AutoML.save`.
        host: Interface to listen on (``0.0.0.0`` for every interface).
        port: TCP port.
        workers: Worker processes.
        access_log: Log one line per request.
        **settings: Keywords of :func:`accelml.serve.create_app` (limits, prediction log, window).
    """
    require_serve()
    import uvicorn

    from accelml.serve.app import create_app
    from accelml.serve.settings import ServiceSettings

    if workers < 1:
        raise ConfigError(f"--workers must be at least 1; got {workers}")
    check_port(host, port)
    options = {"host": host, "port": port, "access_log": access_log, "log_level": "info"}
    if workers == 1:  # load here, so that a bad model folder is reported before the server starts
        uvicorn.run(create_app(model_dir, **settings), **options)
        return
    from accelml.export.artifact import read_manifest

    read_manifest(Path(model_dir))
    ServiceSettings(**settings)
    os.environ[CONFIG_ENV] = json.dumps({"model": str(model_dir), **settings})
    uvicorn.run("accelml.serve.server:app_from_env", factory=True, workers=workers, **options)
