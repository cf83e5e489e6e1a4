"""The network and the augmentation of the ``cnn`` family: a small convolutional network described by plain JSON,
and an augmentation policy applied on whole batches in torch (no torchvision).

The network takes images as uint8 or as floats in ``[0, 1]`` (augmented training batches), resizes them to the
resolution its architecture names, normalises them by the training images' per-channel mean and standard deviation,
and returns class logits. The augmentation runs on the training batches only, with per-image random parameters drawn
from its own seeded generator: one ``affine_grid`` + ``grid_sample`` for shift, rotation, scale and flip, then
brightness/contrast jitter, cutout and mixup (soft targets).

This module imports torch at the top: import it only where torch is needed (inside a family's methods).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AugmentPolicy", "AugmentedBatches", "Augmenter", "ConvNet", "stage_widths"]

_MAX_WIDTH = 512
_FLATTEN_SIDE = 7  # the flatten head's feature map at most, so its weights stay few at any resolution
_STEM_STRIDE_ABOVE = 64  # px: a larger input is halved by the stem, so the first stage never works above 64 x 64 px


def stage_widths(arch: dict[str, Any]) -> list[int]:
    """Channels of each stage: ``width`` times ``growth`` per stage, rounded to a multiple of 8 (at least 8).

    >>> stage_widths({"stages": 3, "width": 32, "growth": 2.0})
    [32, 64, 128]
    >>> stage_widths({"stages": 3, "width": 24, "growth": 1.5})
    [24, 40, 56]
    """
    return [int(min(_MAX_WIDTH, max(8, 8 * math.floor(arch["width"] * arch["growth"] ** i / 8 + 0.5))))
            for i in range(int(arch["stages"]))]


class ConvNet(nn.Module):
    """The module described by ``arch`` (plain JSON): ``channels``, ``n_out``, ``resolution`` (px), ``mean`` and
    ``std`` (per channel, of ``[0, 1]`` pixels), ``stages``, ``width``, ``growth``, ``blocks`` per stage, ``block``
    (plain / residual / separable), ``kernel``, ``norm`` (batch / none), ``pool`` between stages (max / avg /
    stride), ``head_pool`` (global avg / max / both, or ``flatten``: the last feature map, averaged down to at most
    7 x 7, kept whole) and ``dropout`` before the classifier.

    A stem convolution (stride 2 above 64 px) lifts the input to the first stage's width; the normalisation constants
    are buffers rebuilt from ``arch``, so the safetensors file holds only learned tensors.
    """

    def __init__(self, arch: dict[str, Any]) -> None:
        super().__init__()
        self.resolution = int(arch["resolution"])
        self.register_buffer("mean", torch.tensor(arch["mean"], dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(arch["std"], dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        widths, k, norm = stage_widths(arch), int(arch["kernel"]), str(arch["norm"])
        stride = 2 if self.resolution > _STEM_STRIDE_ABOVE else 1
        layers: list[nn.Module] = [_conv_norm_relu(int(arch["channels"]), widths[0], 3, stride, norm)]
        c_in = widths[0]
        for i, width in enumerate(widths):
            for b in range(int(arch["blocks"])):
                down = i > 0 and b == 0
                if down and arch["pool"] != "stride":
                    layers.append((nn.MaxPool2d if arch["pool"] == "max" else nn.AvgPool2d)(2, ceil_mode=True))
                layers.append(_block(str(arch["block"]), c_in, width, k, 2 if down and arch["pool"] == "stride" else 1,
                                     norm))
                c_in = width
        self.features = nn.Sequential(*layers)
        self.head_pool = str(arch["head_pool"])
        self.dropout = nn.Dropout(float(arch["dropout"]))
        n_in = c_in * (2 if self.head_pool == "avgmax" else 1)
        if self.head_pool == "flatten":  # every position its own weights: where a stroke is matters (digits)
            side = self.resolution
            for _ in range(len(widths) - 1 + (stride == 2)):  # each halving (pool, strided or stem) rounds up
                side = (side + 1) // 2
            self.grid = min(side, _FLATTEN_SIDE)
            n_in = c_in * self.grid * self.grid
        self.classifier = nn.Linear(n_in, int(arch["n_out"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.resolution)
        # (channels-last tensors trained about a quarter faster on the CPU, but torch 2.13's CPU backward crashed the
        # process on some residual, strided networks: not worth a run)
        h = self.features((x - self.mean) / self.std)
        if self.head_pool == "avg":
            h = h.mean(dim=(2, 3))
        elif self.head_pool == "max":
            h = h.amax(dim=(2, 3))
        elif self.head_pool == "flatten":
            h = (h if h.shape[-1] == self.grid else F.adaptive_avg_pool2d(h, self.grid)).flatten(1)
        else:
            h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.classifier(self.dropout(h))


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def _conv(c_in: int, c_out: int, k: int, stride: int, norm: str, groups: int = 1) -> nn.Conv2d:
    # a convolution followed by batch normalisation needs no bias of its own
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=norm != "batch")


def _conv_norm_relu(c_in: int, c_out: int, k: int, stride: int, norm: str) -> nn.Sequential:
    return nn.Sequential(_conv(c_in, c_out, k, stride, norm), _norm(norm, c_out), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    """Two convolutions and a shortcut (a 1x1 convolution where the shape changes), as in ResNet's basic block."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c_in, c_out, k, stride, norm), _norm(norm, c_out), nn.ReLU(inplace=True),
                                  _conv(c_out, c_out, k, 1, norm), _norm(norm, c_out))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(_conv(c_in, c_out, 1, stride, norm), _norm(norm, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


def _block(kind: str, c_in: int, c_out: int, k: int, stride: int, norm: str) -> nn.Module:
    if kind == "plain":
        return _conv_norm_relu(c_in, c_out, k, stride, norm)
    if kind == "residual":
        return _Residual(c_in, c_out, k, stride, norm)
    # depthwise-separable: a per-channel k x k convolution, then a 1x1 one that mixes channels
    return nn.Sequential(_conv(c_in, c_in, k, stride, norm, groups=c_in), _norm(norm, c_in), nn.ReLU(inplace=True),
                         _conv_norm_relu(c_in, c_out, 1, 1, norm))


# ----------------------------------------------------------------------------------------------------- augmentation
@dataclass(frozen=True)
class AugmentPolicy:
    """What the training batches go through: ``translate`` (shift, a fraction of the side, whole pixels), ``flip``
    (horizontal, half the images), ``rotate`` (degrees either way), ``scale`` (zoom factor within ``1 ± scale``),
    ``jitter`` (brightness and contrast strength), ``cutout`` (side of the square blanked, a fraction of the image's)
    and ``mixup`` (the Beta distribution's alpha; 0 is off).

    >>> AugmentPolicy(translate=0.1, rotate=10, cutout=0.25).describe()
    'shift 10 %, rotate 10°, cutout 25 %, no flips'
    >>> AugmentPolicy().describe()
    'none'
    """

    translate: float = 0.0
    flip: bool = False
    rotate: float = 0.0
    scale: float = 0.0
    jitter: float = 0.0
    cutout: float = 0.0
    mixup: float = 0.0

    @classmethod
    def of(cls, params: dict[str, Any]) -> AugmentPolicy:
        """The policy named by a configuration's parameters (those it lacks are off)."""
        return cls(**{name: type(value)(params[name]) for name, value in asdict(cls()).items() if name in params})

    @property
    def geometric(self) -> bool:
        return self.translate > 0 or self.flip or self.rotate > 0 or self.scale > 0

    def is_identity(self) -> bool:
        return self == AugmentPolicy()

    def describe(self) -> str:
        if self.is_identity():
            return "none"
        parts = [f"shift {self.translate:.0%}".replace("%", " %")] if self.translate > 0 else []
        parts += [f"rotate {self.rotate:.0f}°"] if self.rotate > 0 else []
        parts += [f"scale ±{self.scale:.0%}".replace("%", " %")] if self.scale > 0 else []
        parts += [f"colour jitter {self.jitter:.2g}"] if self.jitter > 0 else []
        parts += [f"cutout {self.cutout:.0%}".replace("%", " %")] if self.cutout > 0 else []
        parts += [f"mixup {self.mixup:.2g}"] if self.mixup > 0 else []
        return ", ".join(parts + ["flips" if self.flip else "no flips"])


class Augmenter:
    """Applies ``policy`` to float batches in ``[0, 1]``; its random parameters come from its own generator (seeded),
    one set per image, so the same seed gives the same batches whatever else draws random numbers.

    Cutout fills with ``fill`` (per channel; the training mean, which normalises to 0). Returns ``(images, target)``:
    the class indices unchanged, or soft targets ``(n, n_classes)`` summing to 1 with mixup.
    """

    def __init__(self, policy: AugmentPolicy, n_classes: int, fill: list[float] | None = None, seed: int = 0) -> None:
        self.policy, self.n_classes = policy, int(n_classes)
        self.fill = fill
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.policy
        if p.geometric:
            x = self._affine(x)
        if p.jitter > 0:
            x = self._jitter(x)
        if p.cutout > 0:
            x = self._cutout(x)
        if p.mixup > 0:
            return self._mixup(x, y)
        return x, y

    def _uniform(self, low: float, high: float, n: int, like: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.rng.uniform(low, high, n).astype(np.float32)).to(like.device)

    def _affine(self, x: torch.Tensor) -> torch.Tensor:
        p, n, size = self.policy, x.shape[0], x.shape[-1]
        angle = self._uniform(-math.radians(p.rotate), math.radians(p.rotate), n, x)
        zoom = self._uniform(1.0 - p.scale, 1.0 + p.scale, n, x)
        flip = torch.ones(n, device=x.device)
        if p.flip:
            flip = torch.from_numpy(np.where(self.rng.random(n) < 0.5, -1.0, 1.0).astype(np.float32)).to(x.device)
        most = round(p.translate * size)
        # whole-pixel shifts (2 / size in the grid's coordinates) sample the pixels exactly, as a padded crop does
        shift = torch.from_numpy(self.rng.integers(-most, most + 1, (n, 2)).astype(np.float32)).to(x.device)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # the grid maps each output pixel to where it is read in the input: zoom in = read a smaller area
        theta = torch.stack([torch.stack([cos * flip, -sin, 2 * shift[:, 0] / size], dim=1),
                             torch.stack([sin * flip, cos, 2 * shift[:, 1] / size], dim=1)], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        n, strength = x.shape[0], self.policy.jitter
        contrast = self._uniform(1.0 - strength, 1.0 + strength, n, x).view(n, 1, 1, 1)
        brightness = self._uniform(-strength / 2, strength / 2, n, x).view(n, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return ((x - mean) * contrast + mean + brightness).clamp(0.0, 1.0)

    def _cutout(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        side = max(1, round(self.policy.cutout * min(h, w)))
        top = torch.from_numpy(self.rng.integers(0, h, n) - side // 2).to(x.device).view(n, 1, 1)
        left = torch.from_numpy(self.rng.integers(0, w, n) - side // 2).to(x.device).view(n, 1, 1)
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        inside = ((rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)).unsqueeze(1)
        fill = torch.tensor(self.fill if self.fill is not None else [0.0] * x.shape[1], device=x.device,
                            dtype=x.dtype).view(1, -1, 1, 1)
        return torch.where(inside, fill, x)

    def _mixup(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        lam = torch.from_numpy(self.rng.beta(self.policy.mixup, self.policy.mixup, n).astype(np.float32))
        lam = lam.to(x.device)
        other = torch.from_numpy(self.rng.permutation(n)).to(x.device)
        onehot = F.one_hot(y.long(), self.n_classes).float()
        mixed = lam.view(n, 1, 1, 1) * x + (1 - lam.view(n, 1, 1, 1)) * x[other]
        return mixed, lam.view(n, 1) * onehot + (1 - lam.view(n, 1)) * onehot[other]


class AugmentedBatches:
    """Training batches of uint8 images (kept on the CPU) turned into floats in ``[0, 1]`` on ``device`` batch by
    batch, then through ``augment``; ``len()`` is that of the wrapped batches (the loop's schedule counts on it)."""

    def __init__(self, batches: Any, augment: Augmenter | None, device: str = "cpu") -> None:
        self.batches, self.augment, self.device = batches, augment, device

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, y in self.batches:
            x = images.to(self.device, non_blocking=True).float().div_(255.0)
            y = y.to(self.device, non_blocking=True)
            yield self.augment(x, y) if self.augment is not None else (x, y)
