"""Shared code of the two scikit-learn forests: grown in chunks of trees so that the deadline can stop them.

Forest state is stored with skops and loaded with an explicit list of trusted scikit-learn types (never pickle).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from accelml.models.base import CategoricalInfo, Model
from accelml.space import Categorical, Dim, Float, Int

_CHUNK = 16
# Nodes one forest may hold (all its trees): an unpruned tree has about two nodes per training row, and 200 of them
# on 12,000 regression rows took 340 MB per fold model (california housing: a 1.7 GB artifact, 1 s per 1,000 rows).
_MAX_NODES = 1_500_000
_THREADED_ROWS = 20_000  # rows from which a forest predicts through scikit-learn (its joblib threads)
_WALK_ROWS = 16  # rows up to which prediction walks every tree at once (see ForestModel._tree_mean)
_MISSING = -1e9  # trees route missing values to one side: a value below every real one


class ForestModel(Model):
    preprocessing: ClassVar[str] = "tree"
    refit_many_folds: ClassVar[bool] = True  # see Model.refit_many_folds
    one_fold_suffices: ClassVar[bool] = True  # see Model.one_fold_suffices
    requires: ClassVar[tuple[str, ...]] = ("sklearn", "skops")  # skops writes and reads its files
    memory_factor: ClassVar[float] = 6.0  # every tree holds its own sample of the rows
    onnx_export: ClassVar[str | None] = "sklearn_forest"
    relative_cost: ClassVar[float] = 1.2
    space: ClassVar[dict[str, Dim]] = {
        "max_features": Float(0.1, 1.0),
        "min_samples_leaf": Int(1, 20, log=True),
        "max_depth": Categorical((None, 8, 16, 32)),
        "criterion_kind": Categorical(("default", "alt")),
    }
    defaults: ClassVar[dict[str, Any]] = {
        "n_estimators": 200,
        "max_features": 0.4,
        "min_samples_leaf": 2,
        "max_depth": None,
        "criterion_kind": "default",
    }

    def _classes(self) -> tuple[type, type]:
        raise NotImplementedError

    def _estimator(self, p: dict[str, Any]) -> Any:
        classifier, regressor = self._classes()
        if self.is_classifier:
            criterion = "gini" if p["criterion_kind"] == "default" else "entropy"
            cls = classifier
        else:
            criterion = "squared_error"  # the alternatives are an alias of it (friedman_mse) or far slower
            cls = regressor
        return cls(
            n_estimators=0,
            warm_start=True,
            criterion=criterion,
            max_features=p["max_features"],
            min_samples_leaf=p["min_samples_leaf"],
            max_depth=p["max_depth"],
            n_jobs=self.n_jobs,
            random_state=self.seed,
        )

    def fit(self, X, y, *, deadline=None, eval_set=None, categorical: CategoricalInfo | None = None):
        self._start_fit(X, y)
        p = self._params()
        deadline = self._deadline(deadline)
        est = self._estimator(p)
        X = _fill(X)
        target = int(p["n_estimators"])
        chunk = max(2, self.n_jobs)  # measure the cost of a tree first, then size chunks to the time left
        while est.n_estimators < target:
            started = time.monotonic()
            before = est.n_estimators
            est.n_estimators = min(target, before + chunk)
            est.fit(X, y)
            if deadline.expired() and est.n_estimators < target:
                self.stopped_by_deadline_ = True
                break
            if before == 0:  # the first chunk says how large a tree grows on these rows
                nodes = np.mean([tree.tree_.node_count for tree in est.estimators_]) * self._node_size()
                target = min(target, max(est.n_estimators, int(_MAX_NODES // nodes)))
            # Next chunk: as many trees as fit in a third of the time left, so a stop comes at most one chunk late.
            per_tree = max((time.monotonic() - started) / (est.n_estimators - before), 1e-4)
            chunk = max(self.n_jobs, min(_CHUNK * 16, int(0.3 * min(deadline.remaining(), 3600.0) / per_tree)))
        self.estimator_ = est
        self._flat = self._stores_shares = None  # see _flat_trees and _leaf_values
        return self

    def _node_size(self) -> float:
        """A node's bytes relative to a regression tree's (about 64): a classifier's node holds a value per class,
        so 50 classes made nodes 7 times larger (20,000 rows: a 600 MB forest that took seconds to send, save and
        predict), and the node budget shrinks accordingly. One and two outputs count the same.

        >>> model = ForestModel(task="multiclass")
        >>> model.n_classes_ = 50
        >>> round(model._node_size(), 2), ForestModel(task="binary")._node_size()
        (7.12, 1.0)
        """
        values = getattr(self, "n_classes_", 0)
        return (56 + 8 * values) / 64 if values > 2 else 1.0

    def used_inputs(self) -> np.ndarray | None:
        self._check_fitted()
        features = np.concatenate([tree.tree_.feature for tree in self.estimator_.estimators_])
        return np.unique(features[features >= 0])

    def _apply_threads(self) -> None:
        self.estimator_.set_params(n_jobs=self.n_jobs)

    def _predict_raw(self, X):
        if X.shape[0] >= _THREADED_ROWS:  # threads pay only on large batches (joblib's start-up costs more below)
            self.estimator_.set_params(n_jobs=self.n_jobs)
            predicted = (self.estimator_.predict_proba if self.is_classifier else self.estimator_.predict)(_fill(X))
        else:  # the trees one after another, without joblib's and scikit-learn's per-tree overhead
            predicted = self._tree_mean(_fill(X))
        if not self.is_classifier:
            return predicted
        out = np.zeros((X.shape[0], self.n_classes_))
        out[:, np.asarray(self.estimator_.classes_, dtype=int)] = predicted
        return out

    def _tree_mean(self, X: np.ndarray) -> np.ndarray:
        """The forest's prediction, as scikit-learn computes it (each tree's class shares or value, added in tree
        order, divided by the number of trees), from the trees' arrays: on one row a 200-tree forest took 7 ms through
        ``predict_proba``, nearly all of it per-tree overhead. A few rows walk every tree at once, level by level;
        more rows go tree by tree, on ``n_jobs`` threads (magic_telescope's 180-tree extra trees, 1,000 rows on two
        threads: 33 -> 20 ms)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        trees = [e.tree_ for e in self.estimator_.estimators_]
        if X.shape[0] <= _WALK_ROWS:
            flat = self._flat_trees()
            node = np.broadcast_to(flat["roots"], (X.shape[0], len(flat["roots"]))).copy()
            rows = np.arange(X.shape[0])[:, None]
            for _ in range(flat["depth"]):  # a leaf's children are itself: it stays put
                node = flat["children"][node, (X[rows, flat["feature"][node]] > flat["threshold"][node]).view(np.int8)]
            total = np.cumsum(flat["value"][node], axis=1)[:, -1]  # tree after tree, as scikit-learn adds them up
        else:  # the trees shared out between threads (a tree's walk releases the GIL), added up here in tree order
            def leaves(part: list[Any]) -> list[np.ndarray]:
                return [self._leaf_values(tree.value[tree.apply(X)]) for tree in part]

            threads = min(self.n_jobs, len(trees))
            if threads > 1:
                size = -(-len(trees) // threads)
                parts = list(_pool(threads).map(leaves, [trees[k: k + size] for k in range(0, len(trees), size)]))
            else:
                parts = [leaves(trees)]
            total = np.zeros((X.shape[0], len(self.estimator_.classes_) if self.is_classifier else 1))
            for values in (v for part in parts for v in part):
                total += values
        total /= len(trees)
        return total if self.is_classifier else total[:, 0]

    def _leaf_values(self, value: np.ndarray) -> np.ndarray:
        """Leaf values ``(n, 1, k)`` as a tree predicts them, ``(n, k)``: class shares or the value. scikit-learn stores
        shares (from 1.4; counts before, which its prediction divided by their sum, as here)."""
        if not self.is_classifier:
            return value[:, 0, :1]
        shares = value[:, 0, : len(self.estimator_.classes_)]
        if getattr(self, "_stores_shares", None) is None:  # the same for every tree of this scikit-learn
            first = self.estimator_.estimators_[0].tree_.value[:, 0, : shares.shape[1]]
            self._stores_shares = bool(np.all(np.abs(first.sum(axis=1) - 1.0) < 1e-9))
        if self._stores_shares:
            return shares
        total = shares.sum(axis=1)[:, None]
        total[total == 0.0] = 1.0
        return shares / total

    def _flat_trees(self) -> dict[str, np.ndarray]:
        """Every tree's nodes in one set of arrays (children renumbered, a leaf's feature 0 so that it can be read),
        built on first use."""
        if getattr(self, "_flat", None) is None:
            trees = [e.tree_ for e in self.estimator_.estimators_]
            starts = np.cumsum([0] + [t.node_count for t in trees[:-1]])
            self._flat = {  # about 32 bytes a node besides the values, built only for a few rows
                "roots": starts.astype(np.intp),
                "feature": np.concatenate([np.maximum(t.feature, 0) for t in trees]).astype(np.intp),
                "threshold": np.concatenate([t.threshold for t in trees]),
                # each node's (left, right) child; a leaf's are itself
                "children": np.concatenate([
                    np.column_stack([np.where(t.children_left >= 0, t.children_left, own),
                                     np.where(t.children_right >= 0, t.children_right, own)]) + s
                    for t, s in zip(trees, starts) for own in [np.arange(t.node_count)]]).astype(np.intp),
                "depth": max(t.max_depth for t in trees),
                "value": self._leaf_values(np.concatenate([t.value for t in trees])),
            }
        return self._flat

    def _save_state(self, folder: Path) -> dict[str, Any]:
        import skops.io as sio

        sio.dump(self.estimator_, folder / "forest.skops")
        return {"files": ["forest.skops"]}

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        import skops.io as sio

        path = folder / "forest.skops"
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = [t for t in untrusted if t not in TRUSTED_TYPES]
        if unexpected:
            from accelml.exceptions import ArtifactError

            raise ArtifactError(f"{path} contains types accelml does not trust: {', '.join(unexpected)}")
        est = sio.load(path, trusted=untrusted)
        self.estimator_ = est
        self._flat = self._stores_shares = None  # see _flat_trees and _leaf_values
        self._apply_threads()


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` threads, made once per size and kept (starting threads per call cost more than a
    1,000-row batch's share of a tree walk)."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="accelml-forest")
        return _POOLS[threads]


def _fill(X: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(X), _MISSING, X).astype(np.float32, copy=False)


TRUSTED_TYPES = frozenset(
    {
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.RandomForestRegressor",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.ensemble._forest.ExtraTreesRegressor",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._classes.ExtraTreeClassifier",
        "sklearn.tree._classes.ExtraTreeRegressor",
        "sklearn.tree._tree.Tree",
        "numpy.int64",
        "numpy.float64",
        "numpy.dtype",
        "builtins.slice",
    }
)
