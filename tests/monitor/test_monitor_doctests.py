"""Every docstring example in accelml.monitor and accelml.serve runs; the public names are sorted."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import accelml.monitor
import accelml.serve
from accelml.serve._deps import SERVE_MODULES

MONITOR = sorted(m.name for m in pkgutil.iter_modules(accelml.monitor.__path__, "accelml.monitor."))
SERVE = sorted(m.name for m in pkgutil.iter_modules(accelml.serve.__path__, "accelml.serve.") if not m.ispkg)


@pytest.mark.parametrize("name", MONITOR + SERVE)
def test_docstring_examples(name: str) -> None:
    if name.startswith("accelml.serve.") and any(importlib.util.find_spec(m) is None for m in SERVE_MODULES):
        pytest.skip("the serve extra is not installed (pip install 'accelml[serve]')")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_names_are_sorted() -> None:
    assert accelml.monitor.__all__ == sorted(accelml.monitor.__all__)
    assert all(hasattr(accelml.monitor, name) for name in accelml.monitor.__all__)
    assert accelml.serve.__all__ == ["create_app"]
