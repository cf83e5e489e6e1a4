"""Shared pieces of the PyTorch families: where to train, how many threads, the epoch loop (:mod:`.loop`) and
safetensors weights (:mod:`.io`).

Nothing here imports torch at import time; every function imports it when called, so that ``import accelml`` stays
fast and a machine without torch can still import (and skip) the families that need it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["autocast_dtype", "torch_device", "torch_threads"]


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
