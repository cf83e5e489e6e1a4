"""Everything the report's sections draw from, computed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from accelml.explain import Explanation
from accelml.report.evaluation import Evaluation

__all__ = ["ReportContext"]


@dataclass
class ReportContext:
    """A fitted model's result, leaderboard, explanation and evaluation, for the sections to render."""

    automl: Any
    result: Any  # accelml.result.FitResult
    board: pd.DataFrame
    explanation: Explanation | None
    explanation_error: str | None
    evaluation: Evaluation | None

    @property
    def task(self) -> str:
        return self.result.schema.task

    @property
    def metric(self) -> Any:
        return self.result.metric
