"""Images given as arrays, held in memory under string references, so that a table column can name them.

Every table step (schema inference, checks, fingerprints, profiles, samples) works on a column of strings; an image
column holds file paths, or ``array:<digest>`` references to arrays registered here. The digest is of the pixels, so
the same image registered twice is held once.

Example:
    >>> import numpy as np
    >>> refs = register_arrays([np.zeros((2, 2), dtype=np.uint8), np.zeros((2, 2), dtype=np.uint8)])
    >>> refs[0] == refs[1], refs[0].startswith(PREFIX), get_array(refs[0]).shape
    (True, True, (2, 2))
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from accelml.exceptions import DataError

__all__ = ["PREFIX", "clear_arrays", "get_array", "is_array_ref", "register_arrays"]

PREFIX = "array:"
_ARRAYS: dict[str, np.ndarray] = {}


def register_arrays(images: Iterable[np.ndarray]) -> list[str]:
    """Hold each uint8 image in memory; returns one reference per image, in order."""
    refs = []
    for image in images:
        image = np.ascontiguousarray(image)
        digest = hashlib.blake2b(image.tobytes(), digest_size=12)
        digest.update(repr(image.shape).encode())
        ref = PREFIX + digest.hexdigest()
        _ARRAYS.setdefault(ref, image)
        refs.append(ref)
    return refs


def is_array_ref(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def get_array(ref: str) -> np.ndarray:
    """The image registered under ``ref``.

    Raises:
        DataError: no image is held under it (arrays live as long as the process; pass the arrays again).
    """
    try:
        return _ARRAYS[ref]
    except KeyError:
        raise DataError(f"no image is held in memory under '{ref}'; arrays are kept only by the process that was "
                        "given them: pass the images again (as arrays or files)") from None


def clear_arrays() -> int:
    """Release every image held in memory; returns how many there were."""
    n = len(_ARRAYS)
    _ARRAYS.clear()
    return n
