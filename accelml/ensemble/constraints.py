"""Deployment constraints on the final model: single-row prediction latency and size on disk."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from accelml.ensemble.predictor import Member

__all__ = ["Constraints", "MemberCost", "measure_member"]


@dataclass(frozen=True)
class Constraints:
    """Limits the final model must meet; ``None`` means no limit."""

    max_latency_ms: float | None = None  # one row, end to end (preprocessing included), on this machine
    max_size_mb: float | None = None  # model files on disk

    @property
    def active(self) -> bool:
        return self.max_latency_ms is not None or self.max_size_mb is not None

    def meets(self, latency_ms: float, size_mb: float) -> bool:
        return (self.max_latency_ms is None or latency_ms <= self.max_latency_ms) and (
            self.max_size_mb is None or size_mb <= self.max_size_mb
        )

    def describe(self) -> str:
        parts = []
        if self.max_latency_ms is not None:
            parts.append(f"max_latency_ms={self.max_latency_ms:g}")
        if self.max_size_mb is not None:
            parts.append(f"max_size_mb={self.max_size_mb:g}")
        return ", ".join(parts)


@dataclass(frozen=True)
class MemberCost:
    latency_ms: float
    size_mb: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def measure_member(member: Member, row: pd.DataFrame, *, size: bool = True, repeats: int = 3) -> MemberCost:
    """Single-row latency (best of ``repeats``) and, when asked, the bytes its files take in an artifact."""
    latency = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        member.predict(row)
        latency = min(latency, (time.perf_counter() - started) * 1000)
    size_mb = 0.0
    if size:
        with tempfile.TemporaryDirectory() as tmp:
            for k, (pre, model) in enumerate(zip(member.preprocessors, member.models)):
                fold = Path(tmp) / f"fold_{k}"
                fold.mkdir()
                (fold / "preprocessor.json").write_text(json.dumps(pre.to_dict()))
                model.save(fold)
            size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
    return MemberCost(latency, size_mb)
