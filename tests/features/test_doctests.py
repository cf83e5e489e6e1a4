"""Every docstring example in accelml.features runs."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import accelml.features

MODULES = sorted(m.name for m in pkgutil.iter_modules(accelml.features.__path__, "accelml.features."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_names_are_sorted_and_exported() -> None:
    assert accelml.features.__all__ == sorted(accelml.features.__all__) == ["Preprocessor"]
