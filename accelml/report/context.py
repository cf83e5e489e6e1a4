"""Everything the report's sections draw from, computed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from accelml.explain import Explanation
from accelml.report.evaluation import Evaluation
from accelml.tasks import get_task

__all__ = ["ReportContext", "image_column", "images_only"]


@dataclass
class ReportContext:
    """A fitted model's result, leaderboard, explanation and evaluation, for the sections to render."""

    automl: Any
    result: Any  # accelml.result.FitResult
    board: pd.DataFrame
    explanation: Explanation | None
    explanation_error: str | None
    evaluation: Evaluation | None
    test_data: Any = None  # what the user gave as test data (a recommender's sections evaluate it themselves)

    @property
    def task(self) -> str:
        return self.result.schema.task

    @property
    def recommends(self) -> bool:
        """Whether the model is a recommender: then its own sections stand in for the table sections."""
        return get_task(self.result.schema.task).recommends

    @property
    def metric(self) -> Any:
        return self.result.metric

    @property
    def image_column(self) -> str | None:
        """The first IMAGE feature column (the one image networks read), or ``None`` for a model of tables."""
        return image_column(self.result.schema)

    @property
    def images_only(self) -> bool:
        """Whether every feature is an image: then tables-only explanations (importance, dependence) say nothing."""
        return images_only(self.result.schema)


def image_column(schema: Any) -> str | None:
    """The schema's first IMAGE feature column, or ``None``."""
    from accelml.schema.schema import ColumnRole

    return next((c.name for c in schema.features if c.role is ColumnRole.IMAGE), None)


def images_only(schema: Any) -> bool:
    """Whether the schema has features and every one is an IMAGE column."""
    from accelml.schema.schema import ColumnRole

    return bool(schema.features) and all(c.role is ColumnRole.IMAGE for c in schema.features)
