"""Extremely randomized trees (scikit-learn), grown in deadline-checked chunks."""

from __future__ import annotations

from typing import Any, ClassVar

from accelml.models._forest import ForestModel

__all__ = ["ExtraTreesModel"]


class ExtraTreesModel(ForestModel):
    key: ClassVar[str] = "extra_trees"
    opening_rank: ClassVar[int] = 50
    relative_cost: ClassVar[float] = 0.8
    defaults: ClassVar[dict[str, Any]] = {**ForestModel.defaults, "max_features": 0.6}

    def _classes(self) -> tuple[type, type]:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        return ExtraTreesClassifier, ExtraTreesRegressor
