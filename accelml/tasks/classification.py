"""Classification: binary and multiclass. Models output class probabilities ``(n, K)``; labels are decoded from them."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.tasks.base import Task, nunique, plain_sorted, require_two_values

__all__ = ["Binary", "Classification", "Multiclass"]


class Classification(Task):
    """What binary and multiclass share: class indices in, probabilities out, stratified folds."""

    output: ClassVar[str] = "proba"
    stratified: ClassVar[bool] = True
    shap_units: ClassVar[str] = "log-odds"

    def check_target(self, y: pd.Series) -> list[Any] | None:
        return plain_sorted(require_two_values(y).unique())

    def labels(self, y: pd.Series) -> list[Any] | None:
        """The distinct non-missing labels, sorted.

        >>> Multiclass().labels(pd.Series([1.0, 0.0, None, 1.0]))
        [0, 1]
        """
        return plain_sorted(y.dropna().unique())

    def encode(self, y: pd.Series, classes: list[Any] | None) -> np.ndarray:
        """Class indices in ``classes`` order.

        >>> Binary().encode(pd.Series(["no", "yes", "no"]), ["no", "yes"]).tolist()
        [0, 1, 0]
        """
        lookup = {label: i for i, label in enumerate(classes or [])}
        return np.array([lookup[_plain(v)] for v in y], dtype=np.int64)

    def n_outputs(self, classes: list[Any] | None) -> int:
        return len(classes or [])

    def decode(self, outputs: np.ndarray, classes: list[Any] | None) -> np.ndarray:
        """The most probable class's label for each row.

        >>> Binary().decode(np.array([[0.9, 0.1], [0.2, 0.8]]), ["no", "yes"]).tolist()
        ['no', 'yes']
        """
        return np.asarray(classes)[np.argmax(outputs, axis=1)]


class Binary(Classification):
    key: ClassVar[str] = "binary"
    default_metric: ClassVar[str] = "roc_auc"
    two_classes: ClassVar[bool] = True

    def check_target(self, y: pd.Series) -> list[Any] | None:
        n_unique = nunique(require_two_values(y))
        if n_unique != 2:
            raise DataError(f"task 'binary' needs exactly 2 classes but target column '{y.name}' has {n_unique}; "
                            "use task='multiclass'")
        return super().check_target(y)


class Multiclass(Classification):
    key: ClassVar[str] = "multiclass"
    default_metric: ClassVar[str] = "log_loss"


def _plain(value: Any) -> Any:
    """A numpy scalar as the plain Python value stored in JSON."""
    return value.item() if isinstance(value, np.generic) else value
