"""Network weights on disk as safetensors: a flat map of named arrays that loading can never execute.

``torch.load`` (pickle) is never used; the architecture that gives the tensors their meaning is stored by the family
as plain JSON next to the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_weights", "save_weights"]


def save_weights(module: Any, path: Path) -> None:
    """Write ``module``'s state dict (parameters and buffers) to ``path``, as contiguous CPU tensors."""
    from safetensors.torch import save_file

    state = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
    save_file(state, str(path))


def load_weights(module: Any, path: Path) -> Any:
    """Load the tensors of ``path`` into ``module`` (which must have the same architecture); returns the module.

    Raises:
        RuntimeError: a tensor is missing, unexpected or of another shape (the file does not match the architecture).
    """
    from safetensors.torch import load_file

    module.load_state_dict(load_file(str(path), device="cpu"), strict=True)
    return module
