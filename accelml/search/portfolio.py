"""The opening portfolio: configurations chosen offline (``bench/build_portfolio.py``) because, ensembled, they did
best across the development datasets. Plain data in ``portfolio.json`` beside this file."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["load_portfolio"]

_PATH = Path(__file__).with_name("portfolio.json")


@lru_cache(maxsize=1)
def _read() -> tuple[tuple[str, str], ...]:
    if not _PATH.exists():
        return ()
    data = json.loads(_PATH.read_text())
    return tuple((c["model"], json.dumps(c["params"], sort_keys=True)) for c in data.get("configs", []))


def load_portfolio() -> list[tuple[str, dict[str, Any]]]:
    """``(model key, params)`` pairs in the order to try them (greatest expected gain first).

    >>> all(isinstance(key, str) and isinstance(params, dict) for key, params in load_portfolio())
    True
    """
    return [(key, json.loads(params)) for key, params in _read()]
