"""Immutable records of what the search tried and what happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["TrialResult", "TrialSpec"]


@dataclass(frozen=True)
class TrialSpec:
    """One configuration to evaluate: a model family and its parameters, and why it was proposed."""

    trial_id: int
    model: str
    params: dict[str, Any]
    stage: str  # 'baseline' | 'portfolio' | 'default' | 'tuning' | 'stack' (a second layer on other trials' outputs)

    @property
    def name(self) -> str:
        return f"{'stack_' if self.stage == 'stack' else ''}{self.model}_{self.trial_id}"


@dataclass(frozen=True)
class TrialResult:
    """What evaluating a :class:`TrialSpec` gave: the validation score on out-of-fold predictions and its costs."""

    spec: TrialSpec
    status: str  # 'ok' | 'failed' | 'timeout' | 'pruned'
    score: float = float("nan")  # raw metric value on out-of-fold predictions
    loss: float = float("inf")  # lower is better (the search minimises this)
    fit_time: float = 0.0  # seconds, all folds
    predict_time: float = 0.0  # seconds per 1,000 rows, all fold models together
    n_folds: int = 0
    stopped_by_deadline: bool = False
    sampled_rows: int | None = None  # set when memory forced training on a sample
    error: str | None = None
    finished_at: float = 0.0  # seconds since the search began
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spec"] = asdict(self.spec)
        return d
