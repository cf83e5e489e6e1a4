"""The server's optional libraries, checked together so that a missing one gives the install command, not a trace."""

from __future__ import annotations

import importlib.util

from accelml.exceptions import AccelMLError

__all__ = ["SERVE_MODULES", "require_serve"]

SERVE_MODULES = ("fastapi", "uvicorn", "prometheus_client")


def require_serve() -> None:
    """Raise with the install command when a library of the ``serve`` extra is missing."""
    missing = [name for name in SERVE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise AccelMLError(
            f"serving a model needs {', '.join(missing)}; install it with `pip install 'accelml[serve]'`"
        )
