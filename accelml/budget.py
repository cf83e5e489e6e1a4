"""The one deadline object that flows from the facade down into every model's training loop."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Deadline"]


@dataclass(frozen=True)
class Deadline:
    """A point in monotonic time after which work must stop.

    Layers hand their children a slice with :meth:`child`; a child never ends after its parent.

    Example:
        >>> d = Deadline.after(10.0)
        >>> 9.0 < d.remaining() <= 10.0
        True
        >>> d.child(2.0).remaining() <= 2.0
        True
        >>> Deadline.never().expired()
        False
    """

    end: float
    start: float = field(default_factory=time.monotonic)

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        """A deadline ``seconds`` from now; ``None`` means no deadline."""
        now = time.monotonic()
        return cls(end=float("inf") if seconds is None else now + max(0.0, float(seconds)), start=now)

    @classmethod
    def never(cls) -> Deadline:
        return cls.after(None)

    def remaining(self) -> float:
        """Seconds left (never negative; ``inf`` for no deadline)."""
        return max(0.0, self.end - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def expired(self, margin: float = 0.0) -> bool:
        """True once fewer than ``margin`` seconds are left."""
        return self.remaining() <= margin

    def child(self, seconds: float | None = None, *, reserve: float = 0.0) -> Deadline:
        """A slice of at most ``seconds`` that ends ``reserve`` seconds before this deadline."""
        end = self.end - reserve
        if seconds is not None:
            end = min(end, time.monotonic() + seconds)
        return Deadline(end=end)
