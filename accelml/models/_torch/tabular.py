"""The network of ``torch_mlp``: categorical embeddings, then plain or pre-norm residual blocks, then a head.

This module imports torch at the top: import it only where torch is needed (inside a family's methods).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["TabularMLP"]


class TabularMLP(nn.Module):
    """The module described by ``arch`` (plain JSON: ``n_numeric``, ``cards``, ``dims``, ``n_out``, ``depth``,
    ``width``, ``block`` plain/residual, ``norm`` batch/layer/none, ``dropout``), so that the saved architecture and
    the safetensors weights rebuild it exactly."""

    def __init__(self, arch: dict[str, Any]) -> None:
        super().__init__()
        width, depth, drop = int(arch["width"]), int(arch["depth"]), float(arch["dropout"])
        self.residual = arch["block"] == "residual"
        norm = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "none": lambda _: nn.Identity()}[arch["norm"]]
        n_in = int(arch["n_numeric"]) + sum(arch["dims"])
        self.embeddings = nn.ModuleList(nn.Embedding(c + 1, d) for c, d in zip(arch["cards"], arch["dims"]))
        if self.residual:
            self.stem: nn.Module = nn.Linear(n_in, width)
            self.blocks = nn.ModuleList(nn.Sequential(norm(width), nn.Linear(width, width), nn.ReLU(), nn.Dropout(drop),
                                                      nn.Linear(width, width)) for _ in range(depth))
            self.head: nn.Module = nn.Sequential(norm(width), nn.ReLU(), nn.Linear(width, arch["n_out"]))
        else:
            self.stem = nn.Identity()
            self.blocks = nn.ModuleList(
                nn.Sequential(nn.Linear(n_in if i == 0 else width, width), norm(width), nn.ReLU(), nn.Dropout(drop))
                for i in range(depth))
            self.head = nn.Linear(width, arch["n_out"])

    def forward(self, numeric: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        parts = [numeric, *(emb(codes[:, i]) for i, emb in enumerate(self.embeddings))]
        h = self.stem(torch.cat(parts, dim=1))
        for block in self.blocks:
            h = h + block(h) if self.residual else block(h)
        return self.head(h)
