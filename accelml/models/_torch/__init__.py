"""Shared pieces of the PyTorch families: where to train, how many threads, the epoch loop (:mod:`.loop`) and
safetensors weights (:mod:`.io`).

Nothing here imports torch at import time; every function imports it when called, so that ``import accelml`` stays
fast and a machine without torch can still import (and skip) the families that need it.
"""

from __future__ import annotations

from accelml._device import autocast_dtype, torch_device, torch_threads

__all__ = ["autocast_dtype", "torch_device", "torch_threads"]
