"""``accelml serve``: an HTTP server for a saved model (predict, health, metadata, metrics, drift monitoring)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from accelml.cli.display import stdout_console

__all__ = ["DEFAULT_LOG_PATH", "serve"]

DEFAULT_LOG_PATH = Path("accelml-predictions.sqlite")


def serve(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit`.", show_default=False)],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on; 0.0.0.0 for all.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", min=0.001, help="Largest request body, in MB.")] = 1.0,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Most rows per prediction request.")] = 10_000,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log predictions.")] = False,
    log_path: Annotated[Path, typer.Option("--log-path", help="SQLite file that logs every predicted row.")]
    = DEFAULT_LOG_PATH,
    log_rows: Annotated[int, typer.Option("--log-rows", min=1, help="Rows the prediction log keeps.")] = 100_000,
    window: Annotated[int, typer.Option("--window", min=1, help="Recent rows kept for /monitor.")] = 1000,
    max_image_mb: Annotated[float, typer.Option("--max-image-mb", min=0.001,
                                                help="Largest image file accepted, in MB.")] = 10.0,
    max_image_pixels: Annotated[int, typer.Option("--max-image-pixels", min=1,
                                                  help="Most pixels per image, checked before decoding.")]
    = 40_000_000,
    max_images: Annotated[int, typer.Option("--max-images", min=1, help="Most images per prediction request.")] = 64,
    max_text_chars: Annotated[int, typer.Option("--max-text-chars", min=1,
                                                help="Most characters of one text (models that read text).")]
    = 100_000,
    max_k: Annotated[int, typer.Option("--max-k", min=1, help="Most items in one list (recommenders' /recommend).")]
    = 100,
    max_users: Annotated[int, typer.Option("--max-users", min=1,
                                           help="Most users per POST /recommend request (recommenders).")] = 1000,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log one line per request.")]
    = True,
) -> None:
    """Serve the model in MODEL_DIR over HTTP: POST /predict, GET /health, /metadata, /metrics, /monitor, /docs; for a
    recommender also GET and POST /recommend."""
    from accelml.export.artifact import read_manifest
    from accelml.serve.server import run_server

    read_manifest(model_dir)  # a clear error before anything else
    console = stdout_console()
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    logged = "off" if no_log else escape(str(log_path))
    console.print(f"Serving [bold]{escape(str(model_dir))}[/bold] at {url} (docs: {url}/docs, "
                  f"prediction log: {logged}); Ctrl+C stops it")
    run_server(
        model_dir,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        max_body_bytes=int(max_body_mb * 1_000_000),
        max_rows=max_rows,
        prediction_log=None if no_log else str(log_path),
        log_rows=log_rows,
        window=window,
        max_image_bytes=int(max_image_mb * 1_000_000),
        max_image_pixels=max_image_pixels,
        max_images=max_images,
        max_text_chars=max_text_chars,
        max_k=max_k,
        max_users=max_users,
    )
