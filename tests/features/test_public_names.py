"""accelml.features exports its public names, sorted (its docstring examples run as doctests: pytest collects
``accelml/`` with ``--doctest-modules``)."""

from __future__ import annotations

import accelml.features


def test_public_names_are_sorted_and_exported() -> None:
    names = accelml.features.__all__
    assert names == sorted(names) and "Preprocessor" in names
    assert all(hasattr(accelml.features, name) for name in names)
