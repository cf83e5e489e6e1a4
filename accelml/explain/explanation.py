"""The :class:`Explanation` record: plain DataFrames, printable."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Explanation"]


@dataclass
class Explanation:
    """What :func:`accelml.explain.explain` found, one DataFrame per method.

    Attributes:
        importance: One row per feature, most important first: ``feature``, ``importance_mean`` and
            ``importance_std``: how much worse the metric gets (in its own units, as a loss increase) when the
            feature's values are shuffled.
        shap: One row per feature, largest first: ``feature`` and ``mean_abs_shap``, the mean absolute SHAP value of
            the ensemble's tree members (weighted by their ensemble weight) in ``shap_units``; ``None`` when the
            ensemble has no tree member.
        partial_dependence: Long format: ``feature``, ``value`` (a grid point), ``output`` (a class label or the
            target's name) and ``mean_prediction`` (probability of that class, or the predicted value).
        metric: The metric name the importance is measured in.
        greater_is_better: The metric's direction.
        shap_units: What the SHAP values measure, e.g. ``"log-odds"``.
        n_rows: Rows the explanation was computed on.
        source: Where those rows came from, in words.
        top: Rows shown by :meth:`to_frames` and ``str``.
    """

    importance: pd.DataFrame
    shap: pd.DataFrame | None
    partial_dependence: pd.DataFrame
    metric: str
    greater_is_better: bool
    shap_units: str
    n_rows: int
    source: str
    top: int = 10

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The ``top`` features of each table (partial dependence in full), keyed by table name.

        Example:
            >>> e = Explanation(pd.DataFrame({"feature": ["a", "b"], "importance_mean": [0.2, 0.1],
            ...                               "importance_std": [0.0, 0.0]}), None, pd.DataFrame(), "accuracy",
            ...                 True, "", 10, "rows", top=1)
            >>> list(e.to_frames()["importance"]["feature"])
            ['a']
        """
        frames = {"importance": self.importance.head(self.top)}
        if self.shap is not None:
            frames["shap"] = self.shap.head(self.top)
        frames["partial_dependence"] = self.partial_dependence
        return frames

    @property
    def top_features(self) -> list[str]:
        """Feature names, most important first (permutation importance), at most ``top``."""
        return list(self.importance["feature"].head(self.top))

    def __str__(self) -> str:
        parts = [
            (f"Permutation importance ({self.metric} loss increase when a feature is shuffled; "
             f"{self.n_rows} rows of {self.source}):"),
            self.importance.head(self.top).to_string(index=False),
        ]
        if self.shap is not None:
            parts += [f"\nMean |SHAP| of the tree members ({self.shap_units}):",
                      self.shap.head(self.top).to_string(index=False)]
        if not self.partial_dependence.empty:
            summary = self.partial_dependence.groupby(["feature", "output"], sort=False)["mean_prediction"].agg(
                ["min", "max"]
            )
            parts += ["\nPartial dependence (range of the mean prediction over each feature's grid):",
                      summary.to_string()]
        return "\n".join(parts)
