"""The final recommender: the id maps, every user's training items, the blended members, and what answers users
and items it never saw. What :class:`~accelml.result.FitResult` holds for the recommend task in place of a table
ensemble; saved as JSON and ``.npz`` arrays (read with ``allow_pickle=False``).

Users it can answer, in order: users with interactions get the blend's lists (``source = "personal"``); users known
only from a side table of user attributes get what users with the same attributes chose (``"attributes"``); anyone
else gets the most popular items (``"popular"``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from accelml.exceptions import ArtifactError, ConfigError
from accelml.features.interactions import Interactions, id_text
from accelml.metrics.ranking import top_k
from accelml.models.recommenders import RECOMMENDERS, dump_state, predict_family, restore_state
from accelml.models.recsys import Attributes, normalise_scores
from accelml.search.recommend import Member

__all__ = ["MAX_K", "Recommender"]

logger = logging.getLogger(__name__)

MAX_K = 1000  # the longest list one call returns
_BATCH_CELLS = 1 << 22  # users x items scores held at once while recommending (16 MB of float32)
# Ratings an unknown user or item falls back on are shrunk to the global mean with this many pseudo-ratings
_SHRINK = 5.0


class Recommender:
    """Blended recommend members over the id maps of :class:`~accelml.features.interactions.Interactions`."""

    kind = "recommender"
    temperature = 1.0

    def __init__(self, interactions: Interactions, members: list[Member], seen: sp.csr_matrix, *,
                 ratings: sp.csr_matrix | None = None, item_attrs: np.ndarray | None = None,
                 user_attrs: np.ndarray | None = None, attributes: dict[str, list[str]] | None = None):
        self.interactions = interactions
        self.members = members
        self.seen = sp.csr_matrix(seen, dtype=np.float32)
        self.seen.data[:] = 1.0
        self.ratings = ratings  # users x items mean ratings (explicit feedback), for the fallbacks and the report
        self.item_attrs, self.user_attrs = item_attrs, user_attrs
        self.attributes = attributes or {}
        self.popularity = np.asarray(self.seen.sum(axis=0)).ravel().astype(np.float32)
        self._fallbacks()
        self.content = Attributes().fit(self.seen, item_attrs, user_attrs) if self._has_attributes() else None

    def _has_attributes(self) -> bool:
        return any(a is not None and a.shape[1] for a in (self.item_attrs, self.user_attrs))

    def _fallbacks(self) -> None:
        if self.ratings is None:
            self.mu, self.user_mean, self.item_mean = 0.0, None, None
            self.rating_range = (-np.inf, np.inf)
            return
        R = self.ratings
        self.mu = float(R.data.mean()) if R.nnz else 0.0
        self.rating_range = (float(R.data.min()), float(R.data.max())) if R.nnz else (-np.inf, np.inf)
        n_u, n_i = np.diff(R.indptr), np.asarray((R != 0).sum(axis=0)).ravel()
        self.user_mean = (np.asarray(R.sum(axis=1)).ravel() + _SHRINK * self.mu) / (n_u + _SHRINK)
        self.item_mean = (np.asarray(R.sum(axis=0)).ravel() + _SHRINK * self.mu) / (n_i + _SHRINK)

    # ------------------------------------------------------------------ views
    @property
    def explicit(self) -> bool:
        return any(m.kind == "rating" for m in self.members)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    # ------------------------------------------------------------------ ratings
    def predict_ratings(self, users: Any, items: Any) -> np.ndarray:
        """Ratings of (user, item) id pairs; a pair with an unknown user or item gets the known side's mean rating
        (shrunk to the global mean), or the global mean."""
        rating = [m for m in self.members if m.kind == "rating"]
        if not rating:
            raise ConfigError("this model learned from interactions without ratings, so it predicts no ratings; use "
                              "recommend() for lists, or fit with a rating target")
        u, i = self.interactions.user_index(users), self.interactions.item_index(items)
        known = (u >= 0) & (i >= 0)
        known[known] &= (np.diff(self.seen.indptr)[u[known]] > 0) & (self.popularity[i[known]] > 0)
        out = np.full(len(u), self.mu)
        if known.any():
            out[known] = np.clip(sum(m.weight * predict_family(RECOMMENDERS[m.family], m.core, u[known], i[known])
                                     for m in rating), *self.rating_range)
        user_only, item_only = (u >= 0) & ~known & (i < 0), (i >= 0) & ~known & (u < 0)
        out[user_only] = self.user_mean[u[user_only]]
        out[item_only] = self.item_mean[i[item_only]]
        both = (u >= 0) & (i >= 0) & ~known  # known ids without interactions (from a side table)
        out[both] = 0.5 * (self.user_mean[u[both]] + self.item_mean[i[both]])
        if (~known).any():
            logger.info("%d of %d pairs have a user or item without ratings: given mean ratings", (~known).sum(),
                        len(u))
        return out

    # ------------------------------------------------------------------ lists
    def scores(self, users: np.ndarray) -> np.ndarray:
        """Blended, per-user normalised scores of every item for user indices that have interactions."""
        ranking = [m for m in self.members if m.kind == "ranking"]
        if not ranking:  # a ratings-only blend ranks by predicted rating
            items = np.arange(self.interactions.n_items)
            rating = [m for m in self.members if m.kind == "rating"]
            return np.stack([sum(m.weight * predict_family(RECOMMENDERS[m.family], m.core, np.full(len(items), u),
                                                           items) for m in rating)
                             for u in users]).astype(np.float32)
        total = np.zeros((len(users), self.interactions.n_items), dtype=np.float32)
        for m in ranking:
            total += m.weight * normalise_scores(np.asarray(m.core.score(self.seen, users), dtype=np.float32))
        return total

    def recommend(self, users: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The top ``k`` items of each user: columns ``user``, ``rank`` (1 first), ``item``, ``score`` and
        ``source`` (``personal``, ``attributes`` or ``popular``: how the list was made)."""
        k = _check_k(k)
        ids = list(users) if not isinstance(users, (str, int, np.integer)) else [users]
        index = self.interactions.user_index(ids)
        active = index >= 0
        active[active] = np.diff(self.seen.indptr)[index[active]] > 0
        rows = np.zeros((len(ids), min(k, self.interactions.n_items)), dtype=np.int64)
        values = np.zeros(rows.shape, dtype=np.float64)
        source = np.full(len(ids), "popular", dtype=object)
        batch = max(1, _BATCH_CELLS // max(self.interactions.n_items, 1))  # users scored at once
        for start in range(0, int(active.sum()), batch):
            which = np.flatnonzero(active)[start:start + batch]
            scores = self.scores(index[which])
            exclude = self.seen[index[which]] if exclude_seen else None
            recs = top_k(scores, k, exclude=exclude)
            rows[which], values[which] = recs, np.take_along_axis(scores, np.maximum(recs, 0), axis=1)
            source[which] = "personal"
        cold = np.flatnonzero(~active)
        if len(cold):  # the most popular items, or what users with the same attributes chose
            popular = top_k(self.popularity[None, :].astype(np.float64), k)[0]
            rows[cold], values[cold] = popular, self.popularity[np.maximum(popular, 0)]
            if self.content is not None and self.user_attrs is not None and self.user_attrs.shape[1]:
                known = cold[index[cold] >= 0]
                known = known[self.user_attrs[index[known]].sum(axis=1) > 0]
                for start in range(0, len(known), batch):
                    which = known[start:start + batch]
                    scores = self.content.score_attributes(self.user_attrs[index[which]])
                    recs = top_k(scores, k)
                    rows[which], values[which] = recs, np.take_along_axis(scores, np.maximum(recs, 0), axis=1)
                    source[which] = "attributes"
        items = np.asarray(self.interactions.items, dtype=object)
        width = rows.shape[1]
        frame = pd.DataFrame({
            "user": np.repeat(np.asarray(ids, dtype=object), width),
            "rank": np.tile(np.arange(1, width + 1), len(ids)),
            "item": np.where(rows.ravel() >= 0, items[np.maximum(rows.ravel(), 0)], None),
            "score": values.ravel(),
            "source": np.repeat(source, width),
        })
        return frame[frame["item"].notna()].reset_index(drop=True)

    def similar_items(self, item: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` items most often chosen by the users who chose ``item`` (cosine of their users), or, for an
        item without interactions, those with the most similar attributes: columns ``item``, ``rank``,
        ``similar_item``, ``score``, ``source``."""
        k = _check_k(k)
        i = int(self.interactions.item_index([item])[0])
        if i < 0:
            raise ConfigError(f"item {item!r} is not in the catalogue this model knows ({self.interactions.n_items:,} "
                              "items); give an item id from the training data or the item table")
        column = self.seen[:, [i]].T.tocsr()
        if column.nnz:
            co = np.asarray((column @ self.seen).todense()).ravel()
            scores, source = co / (np.sqrt(self.popularity[i] * np.maximum(self.popularity, 1.0)) + 1e-9), "co-choice"
        elif self.content is not None and self.content.item_attrs_.shape[1]:
            scores, source = self.content.item_attrs_ @ self.content.item_attrs_[i], "attributes"
        else:
            scores, source = self.popularity.astype(np.float64), "popular"
        scores = np.asarray(scores, dtype=np.float64)
        scores[i] = -np.inf
        recs = top_k(scores[None, :], k)[0]
        recs = recs[recs >= 0]
        items = np.asarray(self.interactions.items, dtype=object)
        return pd.DataFrame({"item": [id_text([item])[0]] * len(recs), "rank": np.arange(1, len(recs) + 1),
                             "similar_item": items[recs], "score": scores[recs], "source": source})

    def latency(self, users: Any, repeats: int = 1) -> tuple[float, float]:
        """Milliseconds per user for a batch of ``users`` and for one user (the median of ``repeats``)."""
        users = list(users)
        started = time.perf_counter()
        self.recommend(users)
        batch = (time.perf_counter() - started) * 1000 / max(len(users), 1)
        one = []
        for _ in range(max(repeats, 1)):
            started = time.perf_counter()
            self.recommend(users[:1])
            one.append((time.perf_counter() - started) * 1000)
        return batch, float(np.median(one))

    # ------------------------------------------------------------------ files
    def save(self, folder: Path) -> dict[str, Any]:
        """Write the recommender's files under ``folder``; the manifest entry that :meth:`load` reads back."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "interactions.json").write_text(json.dumps(self.interactions.to_dict()))
        arrays = {**_sparse("seen", self.seen)}
        if self.ratings is not None:
            arrays.update(_sparse("ratings", self.ratings))
        for name in ("item_attrs", "user_attrs"):
            if getattr(self, name) is not None:
                arrays[name] = np.asarray(getattr(self, name), dtype=np.float32)
        np.savez(folder / "data.npz", **arrays)
        members = []
        for m in self.members:
            meta, arrays = dump_state(m.core)
            np.savez(folder / f"{m.name}.npz", **arrays)
            members.append({"name": m.name, "model": m.family, "kind": m.kind, "params": m.params,
                            "weight": m.weight, "refit": m.refit, "state": meta, "file": f"{m.name}.npz"})
        return {"kind": self.kind, "members": members, "attributes": self.attributes, "temperature": 1.0}

    @classmethod
    def load(cls, folder: Path, entry: dict[str, Any]) -> Recommender:
        """The recommender :meth:`save` wrote (its files' hashes are checked by the artifact loader first)."""
        interactions = Interactions.from_dict(json.loads((folder / "interactions.json").read_text()))
        with np.load(folder / "data.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        members = []
        for m in entry["members"]:
            if m["model"] not in RECOMMENDERS:
                raise ArtifactError(f"unknown recommend family {m['model']!r} in the artifact")
            with np.load(folder / m["file"], allow_pickle=False) as state:
                core = restore_state(m["state"], {k: state[k] for k in state.files})
            members.append(Member(m["name"], m["model"], m["kind"], m["params"], m["weight"], core, m["refit"]))
        return cls(interactions, members, _from_sparse("seen", arrays),
                   ratings=_from_sparse("ratings", arrays) if "ratings.data" in arrays else None,
                   item_attrs=arrays.get("item_attrs"), user_attrs=arrays.get("user_attrs"),
                   attributes=entry.get("attributes"))


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= MAX_K:
        raise ConfigError(f"k must be a whole number from 1 to {MAX_K}; got {k!r}")
    return int(k)


def _sparse(name: str, matrix: sp.spmatrix) -> dict[str, np.ndarray]:
    m = sp.csr_matrix(matrix)
    return {f"{name}.data": m.data, f"{name}.indices": m.indices, f"{name}.indptr": m.indptr,
            f"{name}.shape": np.array(m.shape)}


def _from_sparse(name: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(v) for v in arrays[f"{name}.shape"])
    return sp.csr_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape)
