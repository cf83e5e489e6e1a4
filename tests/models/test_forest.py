"""Forests: a node budget bounds their size whatever the rows."""

from __future__ import annotations

import numpy as np
import pytest

from accelml.models import _forest
from accelml.models.extra_trees import ExtraTreesModel


def test_forest_stops_growing_at_the_node_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5))
    y = X[:, 0] + rng.normal(scale=0.1, size=2000)  # unpruned regression trees: about two nodes per row
    monkeypatch.setattr(_forest, "_MAX_NODES", 40_000)
    model = ExtraTreesModel(task="regression", params={"min_samples_leaf": 1}, n_jobs=1).fit(X, y)
    trees = model.estimator_.estimators_
    nodes = sum(t.tree_.node_count for t in trees)
    assert 2 <= len(trees) < 200
    assert nodes <= 40_000 * 1.2  # the first chunk's estimate, give or take the trees' spread
    assert np.corrcoef(model.predict(X), y)[0, 1] > 0.9  # still a working model


def test_small_forest_keeps_every_tree() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] > 0).astype(int)
    model = ExtraTreesModel(task="binary", params={"n_estimators": 50}, n_jobs=1).fit(X, y)
    assert len(model.estimator_.estimators_) == 50
