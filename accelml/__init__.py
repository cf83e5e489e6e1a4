"""accelml: AutoML, accelerated.

Heavy libraries are imported only when used, so ``import accelml`` stays fast.
"""

from __future__ import annotations

import os
from typing import Any

# OpenMP threads that spin while waiting starve each other on a busy machine: LightGBM with 2 threads on a loaded
# 2-core machine took 11 s instead of 0.2 s. Sleeping waits avoid that; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# But waits that always sleep make every barrier a system call: GNU OpenMP's (LightGBM's, XGBoost's) threads spin a
# short while first (about 0.1 ms; 3 ms unset, none when passive). California housing, 15,480 rows x 19 columns, a
# 274-round LightGBM with 195 leaves on 2 threads: 12.4 s passive, 0.7 s with this, on a quiet machine and 3.0 s
# instead of 3.8 s beside two busy processes (1 thread: 0.9 s).
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from accelml._version import __version__

__all__ = ["AutoClassifier", "AutoML", "AutoRegressor", "__version__", "load"]

_LAZY = {
    "AutoML": "accelml.automl",
    "AutoClassifier": "accelml.sklearn_api",
    "AutoRegressor": "accelml.sklearn_api",
    "load": "accelml.automl",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'accelml' has no attribute {name!r}")
