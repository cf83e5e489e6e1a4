"""Random forest (scikit-learn), grown in deadline-checked chunks."""

from __future__ import annotations

from typing import ClassVar

from accelml.models._forest import ForestModel

__all__ = ["RandomForestModel"]


class RandomForestModel(ForestModel):
    key: ClassVar[str] = "rf"
    opening_rank: ClassVar[int] = 80

    def _classes(self) -> tuple[type, type]:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        return RandomForestClassifier, RandomForestRegressor
