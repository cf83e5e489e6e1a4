"""The server's settings: one frozen record, checked once, stored on the app."""

from __future__ import annotations

from dataclasses import dataclass

from accelml.exceptions import ConfigError

__all__ = ["ServiceSettings"]


@dataclass(frozen=True)
class ServiceSettings:
    """Limits and monitoring options of one model server.

    Attributes:
        max_body_bytes: Largest request body accepted (413 beyond).
        max_rows: Most rows in one prediction request (413 beyond).
        prediction_log: SQLite file that logs every predicted row, or ``None`` for no log.
        log_rows: Rows the prediction log keeps (the oldest are deleted).
        window: Recent request rows kept in memory for ``GET /monitor``.

    Example:
        >>> ServiceSettings(max_rows=0)
        Traceback (most recent call last):
        ...
        accelml.exceptions.ConfigError: max_rows must be a positive whole number; got 0
    """

    max_body_bytes: int = 1_000_000
    max_rows: int = 10_000
    prediction_log: str | None = None
    log_rows: int = 100_000
    window: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_rows", "log_rows", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive whole number; got {value!r}")
