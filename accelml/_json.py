"""Strict JSON for the files accelml writes: non-finite floats become null and NumPy scalars plain numbers."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_json", "json_default"]


def finite_json(value: Any) -> Any:
    """``value`` with non-finite floats as null (recursively), so that it is strict JSON.

    >>> finite_json({"a": float("nan"), "b": [1.5, float("inf")], "c": (1, "x")})
    {'a': None, 'b': [1.5, None], 'c': [1, 'x']}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def json_default(value: Any) -> Any:
    """The ``default=`` of :func:`json.dumps`: a NumPy scalar as its Python number, anything else as its text.

    >>> import json
    >>> import numpy as np
    >>> from pathlib import PurePosixPath
    >>> json.dumps({"n": np.int64(3), "x": np.float32(0.5), "path": PurePosixPath("model/manifest.json")},
    ...            default=json_default)
    '{"n": 3, "x": 0.5, "path": "model/manifest.json"}'
    """
    import numpy as np  # only when a value is not plain JSON: importing this module stays free

    if isinstance(value, np.generic):
        return value.item()
    return str(value)
