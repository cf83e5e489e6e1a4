"""Recommendation: from a log of who interacted with what (USER and ITEM columns) to ordered lists of items.

With a rating target the feedback is explicit (ratings are predicted, and lists ranked); without one every row is an
interaction (a click, a purchase, a play). The outputs are scores of users against candidate items.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.tasks.base import Task

__all__ = ["Recommend"]


class Recommend(Task):
    """Top-k recommendation, with rating prediction when the target holds ratings.

    The default metric is NDCG@10 for implicit feedback; :meth:`metric_for` gives RMSE when there is a rating target.
    """

    key: ClassVar[str] = "recommend"
    output: ClassVar[str] = "scores"
    default_metric: ClassVar[str] = "ndcg@10"
    shap_units: ClassVar[str] = "rating units"

    @staticmethod
    def metric_for(explicit: bool) -> str:
        """The default metric: ``rmse`` with a rating target, else ``ndcg@10``.

        >>> Recommend.metric_for(True), Recommend.metric_for(False)
        ('rmse', 'ndcg@10')
        """
        return "rmse" if explicit else Recommend.default_metric

    def check_target(self, y: pd.Series) -> list[Any] | None:
        """A rating target holds numbers (stars, scores, counts); anything else is refused with the rows at fault."""
        self.encode(y, None)
        return None

    def encode(self, y: pd.Series, classes: list[Any] | None) -> np.ndarray:
        """Ratings as floats.

        >>> Recommend().encode(pd.Series(["4", "3.5"], name="rating"), None).tolist()
        [4.0, 3.5]
        >>> Recommend().encode(pd.Series([5, "great"], name="rating"), None)
        Traceback (most recent call last):
        ...
        accelml.exceptions.DataError: rating column 'rating' holds values that are not numbers (row 1: 'great'); give \
ratings as numbers, or leave the target out to learn from the interactions alone
        """
        if pd.api.types.is_bool_dtype(y.dtype):
            return y.to_numpy(dtype=np.float64)
        values = pd.to_numeric(y, errors="coerce")
        bad = values.isna() & y.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"rating column '{y.name}' holds values that are not numbers (row {row}: "
                            f"{y.iloc[row]!r}); give ratings as numbers, or leave the target out to learn from the "
                            "interactions alone")
        return values.to_numpy(dtype=np.float64)
