"""The HTTP model server (the ``serve`` extra): ``create_app(model_dir)`` gives a FastAPI app.

Nothing here imports FastAPI until :func:`create_app` is called, so ``import accelml.serve`` stays light and fails
only with an install hint.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from accelml.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'accelml.serve' has no attribute {name!r}")
