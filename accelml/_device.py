"""The accelerators this process can use, looked up only when a family that uses one is searched, and where and with
how many threads PyTorch runs (torch is imported only inside the functions)."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["autocast_dtype", "gpu_count", "torch_device", "torch_threads"]


@functools.lru_cache(maxsize=1)
def gpu_count() -> int:
    """CUDA GPUs PyTorch sees here; 0 without torch (which is imported only when installed, on the first call).

    >>> gpu_count() >= 0
    True
    """
    if importlib.util.find_spec("torch") is None or not _nvidia_driver():
        return 0  # no NVIDIA driver: no CUDA device, known without importing torch (seconds on a short limit)
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _nvidia_driver() -> bool:
    """Whether an NVIDIA driver is loaded (its device files or /proc entry exist); torch reports no CUDA device
    without one. ``ACCELML_ASSUME_GPU=1`` skips the check (containers that hide the device files)."""
    import os
    import sys
    from pathlib import Path

    if os.environ.get("ACCELML_ASSUME_GPU") == "1" or "torch" in sys.modules:
        return True
    return Path("/proc/driver/nvidia/version").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def torch_device() -> str:
    """``"cuda"`` when PyTorch sees a CUDA GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def autocast_dtype(device: str) -> Any:
    """The mixed-precision type on ``device``: bfloat16 where the GPU supports it (no loss scaling needed), float16
    otherwise (trained with a gradient scaler); ``None`` on the CPU, where training stays in float32."""
    import torch

    if device != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, then restore the previous count (it is process-global)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
