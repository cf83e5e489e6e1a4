"""The accelerators this process can use, looked up only when a family that uses one is searched."""

from __future__ import annotations

import functools
import importlib.util

__all__ = ["gpu_count"]


@functools.lru_cache(maxsize=1)
def gpu_count() -> int:
    """CUDA GPUs PyTorch sees here; 0 without torch (which is imported only when installed, on the first call).

    >>> gpu_count() >= 0
    True
    """
    if importlib.util.find_spec("torch") is None:
        return 0
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
