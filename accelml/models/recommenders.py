"""The recommend families: each wraps a core of :mod:`accelml.models.recsys` with its search space, what it needs
and how its fitted state is written (plain JSON and arrays, never pickle).

A family is *ranking* (scores every item for a user: top-k lists) or *rating* (predicts a user's rating of an item:
explicit feedback). The search (:mod:`accelml.search.recommend`) tries each family's opening configuration, tunes
the promising ones, and blends the best of each kind on validation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from accelml.budget import Deadline
from accelml.exceptions import ArtifactError
from accelml.models import recsys

__all__ = ["RECOMMENDERS", "Family", "TrainData", "dump_state", "fit_family", "restore_state"]

logger = logging.getLogger(__name__)

# Users x users cells that user-kNN may hold densely while fitting (20,000 users: 1.6 GB as float32)
USER_KNN_MAX_USERS = 20_000
# Items x items cells for the dense item-item families (item-kNN, RP3beta, item-kNN on ratings)
ITEM_ITEM_MAX_ITEMS = 30_000


@dataclass
class TrainData:
    """What a family is fitted on: the binary users x items matrix, the (merged) log, side attributes."""

    R: sp.csr_matrix
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None = None
    times: np.ndarray | None = None
    item_attrs: np.ndarray | None = None
    user_attrs: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return self.R.shape[0]

    @property
    def n_items(self) -> int:
        return self.R.shape[1]


@dataclass(frozen=True)
class Family:
    """One recommend family: its kind, its configurations (the opening one first, the rest the search may try) and
    a reason to skip it on data it cannot fit (``None``: it can)."""

    key: str
    kind: str  # "ranking" | "rating"
    make: Callable[[dict[str, Any], int], Any]
    space: dict[str, list[Any]]
    opening: dict[str, Any]
    skip: Callable[[TrainData], str | None] = lambda data: None
    requires: tuple[str, ...] = ()
    explicit_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    seconds_per_100k: float = 0.5  # about how long the opening takes on 100,000 interactions (2 CPU cores)
    iterative: bool = False  # stops at the deadline between iterations (a partial fit still gives a model)


def _too_many_items(limit: int) -> Callable[[TrainData], str | None]:
    def check(data: TrainData) -> str | None:
        if data.n_items > limit:
            return f"{data.n_items:,} items; it holds an items x items matrix, at most {limit:,}"
        return None

    return check


def _too_many_users(data: TrainData) -> str | None:
    if data.n_users > USER_KNN_MAX_USERS:
        return f"{data.n_users:,} users; it holds a users x users matrix, at most {USER_KNN_MAX_USERS:,}"
    return None


def _no_attributes(data: TrainData) -> str | None:
    has = any(a is not None and a.shape[1] for a in (data.item_attrs, data.user_attrs))
    return None if has else "no side table of user or item attributes"


RECOMMENDERS: dict[str, Family] = {f.key: f for f in [
    Family("popularity", "ranking", lambda p, seed: recsys.Popularity(**p),
           space={"half_life_days": [None, 30, 90, 365]}, opening={"half_life_days": None},
           seconds_per_100k=0.05),
    Family("ease", "ranking", lambda p, seed: recsys.EASE(**p),
           space={"lam": [50, 100, 200, 350, 500, 1000, 2000], "dropout": [0.0, 0.25, 0.5, 0.66]},
           opening={"lam": 350, "dropout": 0.5}, skip=_too_many_items(recsys.EASE_MAX_ITEMS)),
    Family("item_knn", "ranking", lambda p, seed: recsys.ItemKNN(**p),
           space={"neighbours": [20, 50, 100, 200, 400], "shrink": [0, 10, 50, 200]},
           opening={"neighbours": 100, "shrink": 10}, skip=_too_many_items(ITEM_ITEM_MAX_ITEMS)),
    Family("user_knn", "ranking", lambda p, seed: recsys.UserKNN(**p),
           space={"neighbours": [20, 50, 100, 200], "shrink": [0, 10, 50]},
           opening={"neighbours": 50, "shrink": 0}, skip=_too_many_users),
    Family("rp3beta", "ranking", lambda p, seed: recsys.RP3Beta(**p),
           space={"alpha": [0.5, 0.8, 1.0, 1.2], "beta": [0.0, 0.2, 0.3, 0.5, 0.7], "neighbours": [100, 200, 400]},
           opening={"alpha": 0.8, "beta": 0.3, "neighbours": 200}, skip=_too_many_items(ITEM_ITEM_MAX_ITEMS)),
    Family("als", "ranking", lambda p, seed: recsys.ImplicitALS(**p, seed=seed),
           space={"factors": [16, 32, 64, 128], "reg": [1.0, 5.0, 10.0, 20.0, 30.0, 50.0],
                  "alpha": [0.0, 1.0, 2.0, 5.0, 10.0], "iterations": [15]},
           opening={"factors": 32, "reg": 20.0, "alpha": 2.0, "iterations": 15}, seconds_per_100k=1.0,
           iterative=True),
    Family("bpr", "ranking", lambda p, seed: recsys.BPR(**p, seed=seed),
           space={"factors": [32, 64, 128], "learning_rate": [0.005, 0.01, 0.05], "reg": [0.001, 0.01, 0.1],
                  "epochs": [50, 100, 200]},
           opening={"factors": 64, "learning_rate": 0.01, "reg": 0.01, "epochs": 100}, requires=("implicit",),
           seconds_per_100k=8.0, iterative=True),
    Family("hybrid", "ranking", lambda p, seed: recsys.Attributes(**p), space={"weight": [1.0]},
           opening={"weight": 1.0}, skip=_no_attributes),
    Family("biases", "rating", lambda p, seed: recsys.Biases(**p),
           space={"reg_user": [2, 5, 10, 15, 25], "reg_item": [2, 5, 10, 25]},
           opening={"reg_user": 15, "reg_item": 10}, explicit_only=True, seconds_per_100k=0.05),
    Family("als_ratings", "rating", lambda p, seed: recsys.ALSRatings(**p, seed=seed),
           space={"factors": [10, 25, 50, 100], "reg": [0.05, 0.1, 0.2, 0.4], "iterations": [10, 15]},
           opening={"factors": 50, "reg": 0.1, "iterations": 10}, explicit_only=True, seconds_per_100k=6.0,
           iterative=True),
    Family("knn_ratings", "rating", lambda p, seed: recsys.ItemKNNRatings(**p),
           space={"k": [20, 40, 80], "shrink": [25, 100, 200], "damping": [0.0, 1.0]},
           opening={"k": 40, "shrink": 100, "damping": 0.0}, explicit_only=True,
           skip=_too_many_items(ITEM_ITEM_MAX_ITEMS)),
    Family("user_knn_ratings", "rating", lambda p, seed: recsys.ItemKNNRatings(**p),
           space={"k": [20, 40, 80], "shrink": [25, 100, 200], "damping": [0.0, 1.0]},
           opening={"k": 40, "shrink": 100, "damping": 0.0}, explicit_only=True, skip=_too_many_users,
           extra={"transpose": True}),
    Family("svdpp", "rating", lambda p, seed: recsys.FactorModel(**p, seed=seed),
           space={"factors": [16, 32, 64], "reg": [0.05, 0.1, 0.2, 0.3, 0.5], "learning_rate": [0.01, 0.02, 0.03],
                  "epochs": [40, 60, 100]},
           opening={"factors": 32, "reg": 0.2, "learning_rate": 0.02, "epochs": 60}, requires=("torch",),
           explicit_only=True, seconds_per_100k=9.0, iterative=True),
]}


def fit_family(family: Family, params: dict[str, Any], data: TrainData, *, seed: int = 0,
               deadline: Deadline | None = None) -> Any:
    """A fitted core of ``family`` with ``params`` on ``data`` (the deadline is passed to the iterative ones)."""
    deadline = deadline or Deadline.never()
    params = dict(params)
    if family.key == "popularity":
        half_life = params.pop("half_life_days", None)
        core = recsys.Popularity(half_life=None if half_life is None else half_life * 86_400.0)
        times = None
        if half_life is not None and data.times is not None:
            times = sp.csr_matrix((data.times - np.nanmin(data.times) + 1.0, (data.users, data.items)),
                                  shape=data.R.shape)
        return core.fit(data.R, times)
    core = family.make(params, seed)
    if family.kind == "ranking":
        if family.key == "hybrid":
            return core.fit(data.R, data.item_attrs, data.user_attrs)
        if family.key in ("als", "bpr"):
            return core.fit(data.R, deadline=deadline)
        return core.fit(data.R)
    users, items, n_users, n_items = data.users, data.items, data.n_users, data.n_items
    if family.extra.get("transpose"):
        users, items, n_users, n_items = items, users, n_items, n_users
    if family.key in ("als_ratings", "svdpp"):
        return core.fit(users, items, data.ratings, n_users, n_items, deadline=deadline)
    return core.fit(users, items, data.ratings, n_users, n_items)


def predict_family(family: Family, core: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Ratings of ``(users, items)`` index pairs by a fitted rating family."""
    if family.extra.get("transpose"):
        users, items = items, users
    return np.asarray(core.predict(users, items), dtype=np.float64)


# ------------------------------------------------------------------------------------------------ state
# The classes a saved state may name: loading builds only these (no import by name from the file)
_CLASSES = {cls.__name__: cls for cls in (
    recsys.Popularity, recsys.EASE, recsys.ItemKNN, recsys.UserKNN, recsys.RP3Beta, recsys.ImplicitALS, recsys.BPR,
    recsys.Attributes, recsys.Biases, recsys.ALSRatings, recsys.ItemKNNRatings, recsys.FactorModel)}


def dump_state(core: Any, prefix: str = "") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A fitted core as JSON (its class, parameters and scalars) and named arrays (dense, or the three arrays and the
    shape of a sparse matrix); nested cores (the biases of ALS) are dumped under their attribute's name."""
    meta: dict[str, Any] = {"class": type(core).__name__, "values": {}, "arrays": [], "sparse": [], "children": {}}
    arrays: dict[str, np.ndarray] = {}
    for name, value in vars(core).items():
        key = f"{prefix}{name}"
        if isinstance(value, np.ndarray):
            meta["arrays"].append(name)
            arrays[key] = value
        elif sp.issparse(value):
            value = sp.csr_matrix(value)
            meta["sparse"].append(name)
            arrays[f"{key}.data"], arrays[f"{key}.indices"] = value.data, value.indices
            arrays[f"{key}.indptr"], arrays[f"{key}.shape"] = value.indptr, np.array(value.shape)
        elif type(value).__name__ in _CLASSES:
            meta["children"][name], child = dump_state(value, prefix=f"{key}.")
            arrays.update(child)
        else:
            meta["values"][name] = list(value) if isinstance(value, tuple) else value
    return meta, arrays


def restore_state(meta: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str = "") -> Any:
    """The core :func:`dump_state` wrote; only the recommend cores' classes are built."""
    cls = _CLASSES.get(meta.get("class", ""))
    if cls is None:
        raise ArtifactError(f"unknown recommender class {meta.get('class')!r} in the artifact")
    core = cls.__new__(cls)
    for name, value in meta["values"].items():
        setattr(core, name, tuple(value) if name == "range_" else value)
    for name in meta["arrays"]:
        setattr(core, name, arrays[f"{prefix}{name}"])
    for name in meta["sparse"]:
        key = f"{prefix}{name}"
        shape = tuple(int(v) for v in arrays[f"{key}.shape"])
        setattr(core, name, sp.csr_matrix((arrays[f"{key}.data"], arrays[f"{key}.indices"],
                                           arrays[f"{key}.indptr"]), shape=shape))
    for name, child in meta["children"].items():
        setattr(core, name, restore_state(child, arrays, prefix=f"{prefix}{name}."))
    return core
