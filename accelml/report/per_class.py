"""Precision, recall and F1 of each class, as an HTML table: the one per-class view the data-kind sections share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from accelml.report.evaluation import Evaluation
from accelml.report.page import note, table_html

__all__ = ["per_class_metrics", "per_class_table"]


def per_class_metrics(ev: Evaluation, classes: Sequence[Any]) -> list[list[Any]]:
    """``[class, precision, recall, F1, support]`` for each class, predicting the most probable class.

    >>> ev = Evaluation(np.array([0, 0, 1, 1]), np.array([[.9, .1], [.4, .6], [.2, .8], [.3, .7]]), False, "", 0.0)
    >>> per_class_metrics(ev, ["ham", "spam"])
    [['ham', 1.0, 0.5, 0.6666666666666666, 2], ['spam', 0.6666666666666666, 1.0, 0.8, 2]]
    """
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        ev.y, np.asarray(ev.outputs).argmax(axis=1), labels=list(range(len(classes))), zero_division=0)
    return [[str(c), float(p), float(r), float(f), int(s)]
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)]


def per_class_table(ev: Evaluation, classes: Sequence[Any], noun: str = "rows") -> str:
    """A heading, the table of :func:`per_class_metrics` and a note on what the numbers mean; ``noun`` names the rows
    (``"texts"``, ``"images"``)."""
    return ("<h3>Precision and recall of each class</h3>"
            + table_html(per_class_metrics(ev, classes), ["class", "precision", "recall", "F1", noun],
                         numeric=[1, 2, 3, 4], digits=3)
            + note(f"On {ev.label}. Precision: of the {noun} predicted as the class, the share that are; recall: of "
                   f"the {noun} of the class, the share found. The confusion matrix is in the performance section."))
