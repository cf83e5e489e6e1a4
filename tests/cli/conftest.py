"""Every CLI test runs without the debug variable and leaves the accelml loggers as it found them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_helpers import restored_logging

from accelml.cli.errors import DEBUG_ENV


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with restored_logging():
        yield
