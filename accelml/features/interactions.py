"""The ``interactions`` input: a log of (user, item[, rating][, time]) rows as index arrays and sparse matrices.

:class:`Interactions` learns the id maps (any ids: integers or strings, compared by their text, so that ``42`` typed
on a command line finds the integer id 42), merges duplicated (user, item) pairs by a stated policy and encodes side
tables of user and item attributes as numeric matrices aligned with the ids. Its state is plain JSON plus arrays.

Example:
    >>> log = pd.DataFrame({"u": ["a", "b", "a", "a"], "i": [10, 10, 11, 10], "r": [4, 5, 3, 2]})
    >>> inter = Interactions("u", "i", rating="r").fit(log)
    >>> inter.users, inter.items, inter.duplicates_merged
    (['a', 'b'], ['10', '11'], 1)
    >>> enc = inter.encode(log)
    >>> enc.users.tolist(), enc.items.tolist(), enc.ratings.tolist()
    ([0, 0, 1], [0, 1, 0], [3.0, 3.0, 5.0])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from accelml.exceptions import DataError

__all__ = ["Encoded", "Interactions", "SideTable", "id_text"]

# Levels of a categorical attribute kept (the most frequent); the rest share an "other" level
MAX_LEVELS = 50
# Bins of a numeric attribute (by quantile), each a 0/1 column
NUMERIC_BINS = 5


def id_text(values: Any) -> np.ndarray:
    """Ids as text, the form they are compared in: whole floats lose their ``.0`` (ids read with missing values
    become floats), so ``42``, ``42.0`` and ``"42"`` are one id.

    >>> id_text(pd.Series([42.0, 7.0])).tolist(), id_text(["a", 3]).tolist()
    (['42', '7'], ['a', '3'])
    """
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_float_dtype(s.dtype):
        finite = s.dropna()
        if len(finite) and np.all(finite == np.round(finite)):
            s = s.astype("Int64")
    return s.astype(str).to_numpy(dtype=object)


@dataclass
class Encoded:
    """One log as the models see it: index arrays (``-1`` for an id unknown to the maps), ratings and times."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None
    times: np.ndarray | None

    def __len__(self) -> int:
        return len(self.users)

    def take(self, rows: np.ndarray) -> Encoded:
        return Encoded(self.users[rows], self.items[rows], None if self.ratings is None else self.ratings[rows],
                       None if self.times is None else self.times[rows])

    def matrix(self, n_users: int, n_items: int, values: np.ndarray | None = None) -> sp.csr_matrix:
        """Users x items CSR, 1 (or ``values``) per interaction; duplicates summed."""
        data = np.ones(len(self), dtype=np.float32) if values is None else np.asarray(values, dtype=np.float32)
        return sp.csr_matrix((data, (self.users, self.items)), shape=(n_users, n_items), dtype=np.float32)


@dataclass
class SideTable:
    """Attributes of users or items from a side table, as a 0/1 matrix aligned with the ids: binary columns as they
    are, categoricals one-hot (:data:`MAX_LEVELS` most frequent levels), numbers in :data:`NUMERIC_BINS` quantile
    bins; free text, ids and dates are left out. Rows of ids the side table lacks are all zero."""

    id_column: str
    columns: list[str] = field(default_factory=list)  # attribute names, one per matrix column
    skipped: list[str] = field(default_factory=list)

    def fit_transform(self, frame: pd.DataFrame, ids: list[str]) -> np.ndarray:
        """The attribute matrix of ``ids`` (``len(ids)`` x attributes, float32)."""
        if self.id_column not in frame.columns:
            raise DataError(f"the side table has no column '{self.id_column}' to join on; name the id column the "
                            f"same as in the interactions (its columns are: {', '.join(map(str, frame.columns[:20]))})")
        keys = id_text(frame[self.id_column])
        table = frame.assign(**{self.id_column: keys}).drop_duplicates(self.id_column).set_index(self.id_column)
        table = table.reindex(ids)
        blocks, names = [], []
        for name in table.columns:
            block, labels = _encode_attribute(table[name])
            if block is None:
                self.skipped.append(str(name))
                continue
            blocks.append(block)
            names += [f"{name}={label}" for label in labels]
        self.columns = names
        if not blocks:
            return np.zeros((len(ids), 0), dtype=np.float32)
        return np.hstack(blocks).astype(np.float32)


def _encode_attribute(s: pd.Series) -> tuple[np.ndarray | None, list[str]]:
    values = s.dropna()
    if values.empty or values.nunique() < 2:
        return None, []
    if pd.api.types.is_bool_dtype(s.dtype) or (pd.api.types.is_numeric_dtype(s.dtype)
                                               and set(values.unique().tolist()) <= {0, 1}):
        return s.fillna(0).to_numpy(dtype=np.float32)[:, None], ["1"]
    if pd.api.types.is_numeric_dtype(s.dtype):
        edges = np.unique(np.quantile(values, np.linspace(0, 1, NUMERIC_BINS + 1)[1:-1]))
        bins = np.where(s.isna(), -1, np.searchsorted(edges, s.fillna(0).to_numpy(), side="right"))
        labels = [f"bin{b}" for b in range(len(edges) + 1)]
        return (bins[:, None] == np.arange(len(labels))[None, :]).astype(np.float32), labels
    text = values.astype(str)
    if text.nunique() > max(2, 0.5 * len(text)):  # titles, urls, free text: not an attribute to group by
        return None, []
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or _dates(text):  # a release date is not a category
        return None, []
    levels = text.value_counts().index[:MAX_LEVELS].tolist()
    cells = s.astype(str).where(s.notna(), None).to_numpy(dtype=object)
    return np.stack([cells == level for level in levels], axis=1).astype(np.float32), [str(v) for v in levels]


def _dates(text: pd.Series) -> bool:
    """Whether most of a sample of texts read as dates (``01-Jan-1995``, ``2020-03-01``)."""
    import warnings

    sample = text.head(200)
    if not sample.str.contains(r"\d", regex=True).mean() > 0.9:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


class Interactions:
    """The ``interactions`` input: id maps of the users and items of a log, and how its rows are merged.

    Duplicated (user, item) pairs are merged into one interaction: with a rating target the ratings are averaged
    (and the latest time kept), without one the pair counts once; :attr:`duplicates_merged` says how many rows were
    merged away, and the fit log says so.
    """

    kind = "interactions"

    def __init__(self, user: str, item: str, *, rating: str | None = None, time: str | None = None):
        self.user, self.item, self.rating, self.time = user, item, rating, time
        self.users: list[str] = []
        self.items: list[str] = []
        self.duplicates_merged = 0
        self._user_index = self._item_index = _Lookup([])

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, *, extra_users: Any = (), extra_items: Any = ()) -> Interactions:
        """Learn the ids of ``frame`` (and of ``extra_users``/``extra_items``: ids only a side table holds, which the
        attribute-based family can still recommend to or recommend), sorted for reproducibility."""
        for column in (self.user, self.item):
            if column not in frame.columns:
                raise DataError(f"the interactions have no column '{column}'")
        self._set_ids(_distinct(frame[self.user], extra_users), _distinct(frame[self.item], extra_items))
        users, items = self.user_index(frame[self.user]), self.item_index(frame[self.item])
        pairs = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=(self.n_users, self.n_items))
        self.duplicates_merged = int(len(users) - pairs.nnz)  # the CSR sums duplicates: a sort in C++, fast
        return self

    def _set_ids(self, users: list[str], items: list[str]) -> None:
        self.users, self.items = users, items
        self._user_index, self._item_index = _Lookup(users), _Lookup(items)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    # ------------------------------------------------------------------ encode
    def user_index(self, ids: Any) -> np.ndarray:
        """Row indices of user ids; ``-1`` for users the model never saw."""
        return self._user_index(ids)

    def item_index(self, ids: Any) -> np.ndarray:
        """Column indices of item ids; ``-1`` for items the model never saw."""
        return self._item_index(ids)

    def encode(self, frame: pd.DataFrame, *, merge: bool = True) -> Encoded:
        """The log as index arrays, ratings (floats) and times (seconds), duplicated pairs merged when ``merge``."""
        users, items = self.user_index(frame[self.user]), self.item_index(frame[self.item])
        ratings = None if self.rating is None else pd.to_numeric(frame[self.rating]).to_numpy(dtype=np.float64)
        times = None if self.time is None else _seconds(frame[self.time])
        enc = Encoded(users, items, ratings, times)
        return _merge(enc) if merge else enc

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "user": self.user, "item": self.item, "rating": self.rating, "time": self.time,
                "users": self.users, "items": self.items, "duplicates_merged": self.duplicates_merged}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Interactions:
        out = cls(d["user"], d["item"], rating=d.get("rating"), time=d.get("time"))
        out._set_ids([str(u) for u in d["users"]], [str(i) for i in d["items"]])
        out.duplicates_merged = int(d.get("duplicates_merged", 0))
        return out


def _distinct(values: pd.Series, extra: Any) -> list[str]:
    """The distinct ids of a column and of ``extra``, as text: integer ids in numeric order, others sorted as text."""
    extra = pd.Series(list(extra), dtype=object)
    if pd.api.types.is_integer_dtype(values.dtype) and all(isinstance(v, (int, np.integer)) for v in extra):
        ids = np.sort(pd.unique(np.concatenate([values.to_numpy(np.int64), extra.to_numpy(np.int64)])))
        return [str(v) for v in ids]
    return [str(v) for v in np.sort(pd.unique(np.concatenate([id_text(values.drop_duplicates()), id_text(extra)])))]


class _Lookup:
    """Index of ids (``-1`` for unknown), vectorised: integer columns are looked up as integers when every known id
    is an integer's text, anything else by its text (:func:`id_text`)."""

    def __init__(self, ids: list[str]):
        self.text = pd.Index(ids, dtype=object)
        whole = all(i.lstrip("-").isdigit() for i in ids)
        self.numbers = pd.Index(np.array([int(i) for i in ids], dtype=np.int64)) if whole and ids else None

    def __call__(self, ids: Any) -> np.ndarray:
        values = ids if isinstance(ids, pd.Series) else pd.Series(list(ids) if not isinstance(ids, np.ndarray)
                                                                  else ids)
        if self.numbers is not None and pd.api.types.is_integer_dtype(values.dtype):
            return self.numbers.get_indexer(values.to_numpy(np.int64)).astype(np.int64)
        return self.text.get_indexer(id_text(values)).astype(np.int64)


def _seconds(s: pd.Series) -> np.ndarray:
    """Times as float seconds: datetimes since the epoch, numbers as they are (a Unix timestamp, a day count)."""
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.to_numeric(s).to_numpy(dtype=np.float64)
    stamps = pd.to_datetime(s, errors="coerce", utc=True)
    if stamps.isna().all() and s.notna().any():
        raise DataError(f"time column '{s.name}' holds neither dates nor numbers")
    return (stamps.astype("int64") / 1e9).to_numpy(dtype=np.float64)


def _pairs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group of equal keys, groups numbered in first-seen order, and each group's first row. By sorting,
    which on ten million keys is several times faster than hashing them."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]] if len(key) else np.zeros(0, bool)
    first = order[new]  # each group's first row (stable sort: the earliest), groups in key order
    by_first = np.argsort(first, kind="stable")
    rank = np.empty(len(first), dtype=np.int64)
    rank[by_first] = np.arange(len(first))
    group = np.empty(len(key), dtype=np.int64)
    group[order] = rank[np.cumsum(new) - 1]
    return group, first[by_first]


def _merge(enc: Encoded) -> Encoded:
    """One row per (user, item): the mean rating and the latest time of the pair's rows. Without times the pairs
    come out ordered by user and item (merged in a sparse matrix, fast on millions of rows), with times in
    first-seen order."""
    if enc.times is None and len(enc):
        shape = (int(enc.users.max()) + 1, int(enc.items.max()) + 1)
        counts = sp.csr_matrix((np.ones(len(enc), np.float64), (enc.users, enc.items)), shape=shape)
        if counts.nnz == len(enc):
            return enc
        users = np.repeat(np.arange(shape[0]), np.diff(counts.indptr))
        ratings = None
        if enc.ratings is not None:  # the same coordinates give the same canonical order of stored entries
            sums = sp.csr_matrix((enc.ratings, (enc.users, enc.items)), shape=shape)
            ratings = sums.data / counts.data
        return Encoded(users, counts.indices.astype(np.int64), ratings, None)
    key = enc.users.astype(np.int64) * (int(enc.items.max(initial=0)) + 2) + enc.items
    group, rows = _pairs(key)
    if len(rows) == len(key):
        return enc
    ratings = times = None
    if enc.ratings is not None:
        ratings = np.bincount(group, enc.ratings, len(rows)) / np.bincount(group, minlength=len(rows))
    if enc.times is not None:
        times = np.full(len(rows), -np.inf)
        np.maximum.at(times, group, enc.times)
    return Encoded(enc.users[rows], enc.items[rows], ratings, times)
