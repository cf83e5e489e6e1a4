"""The ``accelml`` command line: ``fit``, ``predict``, ``leaderboard``, ``info`` and ``demo``.

Each command lives in its own module as a thin wrapper over the library; :mod:`accelml.cli.app` assembles them.
"""

from __future__ import annotations

from accelml.cli.app import app, main

__all__ = ["app", "main"]
