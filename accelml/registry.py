"""Explicit, lazily resolved registries: one line per entry, nothing registered by import side effects."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from accelml.exceptions import ConfigError

__all__ = ["Registry"]


class Registry(Mapping[str, Any]):
    """Maps short snake_case keys to ``"module:attribute"`` paths, imported on first use.

    Example:
        >>> reg = Registry("thing", {"ordered": "collections:OrderedDict"})
        >>> reg["ordered"].__name__
        'OrderedDict'
        >>> reg.get_entry("orderd")
        Traceback (most recent call last):
        ...
        accelml.exceptions.ConfigError: unknown thing 'orderd'; did you mean 'ordered'? Valid: ordered
    """

    def __init__(self, kind: str, entries: Mapping[str, str]):
        self.kind = kind
        self._paths = dict(entries)
        self._loaded: dict[str, Any] = {}

    def get_entry(self, key: str) -> Any:
        if key not in self._paths:
            close = difflib.get_close_matches(key, list(self._paths), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ";"
            raise ConfigError(f"unknown {self.kind} '{key}'{hint} Valid: {', '.join(sorted(self._paths))}")
        if key not in self._loaded:
            module, _, attr = self._paths[key].partition(":")
            self._loaded[key] = getattr(importlib.import_module(module), attr)
        return self._loaded[key]

    def __getitem__(self, key: str) -> Any:
        return self.get_entry(key)

    def __contains__(self, key: object) -> bool:
        return key in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)
