"""Doctest collection for the library (``pytest`` collects ``accelml/`` with ``--doctest-modules``).

A module that needs an optional extra is not collected when a library of that extra is missing, so that a plain
``pip install accelml`` plus pytest still runs every other docstring example.
"""

from __future__ import annotations

import importlib.util

# path relative to this folder -> the libraries it needs (the extra in pyproject.toml)
OPTIONAL: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "prometheus_client"),  # accelml[serve]
    "report": ("matplotlib",),  # accelml[report]
    "export/onnx.py": ("onnx", "onnxruntime", "onnxmltools", "skl2onnx"),  # accelml[onnx]
    "models/torch_mlp.py": ("torch",),
    "models/_torch": ("torch",),
}


def _missing(modules: tuple[str, ...]) -> bool:
    return any(importlib.util.find_spec(name) is None for name in modules)


collect_ignore = sorted(path for path, modules in OPTIONAL.items() if _missing(modules))
