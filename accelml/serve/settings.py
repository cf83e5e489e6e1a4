"""The server's settings: one frozen record, checked once, stored on the app."""

from __future__ import annotations

import math
from dataclasses import dataclass

from accelml.exceptions import ConfigError
from accelml.features.text_input import MAX_CHARS

__all__ = ["ServiceSettings"]


@dataclass(frozen=True)
class ServiceSettings:
    """Limits and monitoring options of one model server.

    Attributes:
        max_body_bytes: Largest request body of rows accepted (413 beyond).
        max_rows: Most rows in one prediction request (413 beyond).
        prediction_log: SQLite file that logs every predicted row, or ``None`` for no log.
        log_rows: Rows the prediction log keeps (the oldest are deleted).
        window: Recent request rows kept in memory for ``GET /monitor``.
        max_image_bytes: Largest image file accepted, in bytes (413 beyond, naming the image).
        max_image_pixels: Most pixels (width times height) of one image, read from its header before it is decoded,
            so that a small file cannot expand to gigabytes (422 beyond, naming the image).
        max_images: Most images in one prediction request (413 beyond).
        max_text_chars: Most characters of one text (a value of a text column) in a prediction request (413 beyond,
            naming the column and the row); by default the length training texts are cut at
            (:data:`~accelml.features.text_input.MAX_CHARS`). The texts per request are bounded by ``max_rows``.
        max_k: Most items in one list of a recommender (``k`` of ``/recommend``; 422 beyond).
        max_users: Most users in one ``POST /recommend`` request (413 beyond): each gets up to ``max_k`` items, so a
            user weighs more than a row of ``/predict``.

    Example:
        >>> ServiceSettings(max_rows=0)
        Traceback (most recent call last):
        ...
        accelml.exceptions.ConfigError: max_rows must be a positive whole number; got 0
        >>> f"{ServiceSettings(max_images=2, max_image_bytes=3_000).image_body_bytes:,}"
        '1,008,000'
    """

    max_body_bytes: int = 1_000_000
    max_rows: int = 10_000
    prediction_log: str | None = None
    log_rows: int = 100_000
    window: int = 1000
    max_image_bytes: int = 10_000_000
    max_image_pixels: int = 40_000_000
    max_images: int = 64
    max_text_chars: int = MAX_CHARS
    max_k: int = 100
    max_users: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_rows", "log_rows", "window", "max_image_bytes", "max_image_pixels",
                     "max_images", "max_text_chars", "max_k", "max_users"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive whole number; got {value!r}")

    @property
    def image_body_bytes(self) -> int:
        """Largest body of a request to a model that reads images: ``max_images`` images of ``max_image_bytes``
        each, base64-encoded (4 characters per 3 bytes), plus ``max_body_bytes`` for the other columns and the
        JSON or multipart framing."""
        return math.ceil(self.max_images * self.max_image_bytes * 4 / 3) + self.max_body_bytes
