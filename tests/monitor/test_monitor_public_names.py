"""accelml.monitor and accelml.serve export their public names, sorted (their docstring examples run as doctests:
pytest collects ``accelml/`` with ``--doctest-modules``, and ``accelml/conftest.py`` leaves out ``serve`` when the
serve extra is missing)."""

from __future__ import annotations

import accelml.monitor
import accelml.serve


def test_public_names_are_sorted() -> None:
    assert accelml.monitor.__all__ == sorted(accelml.monitor.__all__)
    assert all(hasattr(accelml.monitor, name) for name in accelml.monitor.__all__)
    assert accelml.serve.__all__ == ["create_app"]
