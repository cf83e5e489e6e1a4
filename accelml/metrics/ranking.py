"""Metrics for recommendations: top-k lists from a score matrix, the ranking metrics of those lists, and the rating
errors, on NumPy arrays and vectorised over users.

A recommendation list is one row of item indices, best first; ``-1`` marks an empty slot (a user with fewer eligible
items than k, or k larger than the catalogue). Relevance is binary: an item is relevant to a user when the user's row
of ``relevant`` stores a nonzero value for it. The list metrics are averaged over the users with at least one relevant
item (the others have nothing to find); coverage looks at every user's list.

Example:
    >>> scores = np.array([[0.9, 0.1, 0.5, 0.3],
    ...                    [0.2, 0.8, 0.4, 0.6]])
    >>> recs = top_k(scores, 2)
    >>> recs.tolist()
    [[0, 2], [1, 3]]
    >>> relevant = np.array([[0, 0, 1, 0],
    ...                      [0, 0, 0, 1]])
    >>> ranking_metrics(recs, relevant, k=2, n_items=4)["precision@2"]
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accelml.exceptions import ConfigError, DataError

__all__ = ["mae", "ranking_metrics", "rmse", "top_k"]

# Score cells handled at once by top_k (users x items): bounds its temporary copies to a few tens of MB however large
# the score matrix, while keeping blocks big enough that the per-block Python overhead does not show
_BLOCK_CELLS = 1 << 21


def top_k(scores: np.ndarray, k: int, exclude: Any = None) -> np.ndarray:
    """The ``k`` best items of each user: item indices by descending score, shape ``(n_users, k)``.

    Items stored (with a nonzero value) in ``exclude``, typically the items each user saw in training, are never
    returned; neither are items scored ``-inf``. Where a user has fewer than ``k`` eligible items (or ``k`` exceeds
    the catalogue) the list ends in ``-1``. Equal scores are ordered by item index, lowest first, so the lists are the
    same from run to run, including which of several tied items makes the cut at position ``k``.

    Args:
        scores: ``(n_users, n_items)`` scores, higher is better; NaN is an error.
        k: the length of each list, at least 1.
        exclude: ``None`` or a ``(n_users, n_items)`` matrix (``scipy.sparse`` or anything it converts) whose nonzero
            entries are items never to recommend to that user.

    Returns:
        ``(n_users, k)`` int64 item indices, ``-1`` for empty slots.

    Raises:
        ConfigError: ``k`` is not a positive integer.
        DataError: ``scores`` is not two-dimensional or holds NaN; ``exclude`` has another shape.

    Example:
        >>> from scipy import sparse
        >>> scores = np.array([[1.0, 3.0, 3.0, 2.0],
        ...                    [5.0, 4.0, 0.0, 1.0]])
        >>> top_k(scores, 3).tolist()  # the tie between items 1 and 2 goes to the lower index
        [[1, 2, 3], [0, 1, 3]]
        >>> seen = sparse.csr_matrix(np.array([[0, 1, 0, 0], [1, 1, 1, 0]]))
        >>> top_k(scores, 3, exclude=seen).tolist()  # user 1 has one unseen item left
        [[2, 3, 0], [3, -1, -1]]
    """
    k = _check_k(k)
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise DataError(f"scores must be a (users x items) matrix; got an array of shape {scores.shape}")
    n_users, n_items = scores.shape
    excluded = None if exclude is None else _csr_entries(exclude, scores.shape, "exclude")
    out = np.full((n_users, k), -1, dtype=np.int64)
    width = min(k, n_items)
    if width == 0 or n_users == 0:
        return out
    dtype = scores.dtype if np.issubdtype(scores.dtype, np.floating) else np.float64
    step = max(1, _BLOCK_CELLS // n_items)
    for lo in range(0, n_users, step):
        hi = min(n_users, lo + step)
        block = np.array(scores[lo:hi], dtype=dtype)  # a copy: exclusions are written into it
        if np.isnan(block).any():
            user = lo + int(np.flatnonzero(np.isnan(block).any(axis=1))[0])
            raise DataError(f"scores hold NaN (first in user row {user}); score every item, or give -inf to an item "
                            f"that must never be recommended")
        if excluded is not None:
            indptr, rows, cols = excluded
            segment = slice(indptr[lo], indptr[hi])  # CSR rows are contiguous: this block's entries
            block[rows[segment] - lo, cols[segment]] = -np.inf
        out[lo:hi, :width] = _block_top(block, width)
    return out


def _block_top(block: np.ndarray, width: int) -> np.ndarray:
    """``top_k`` on one block of users, for ``width <= n_items``.

    ``np.argpartition`` alone would pick an arbitrary subset of the items tied at the cut; instead the cut's score is
    found by partitioning, every item above it is taken, and the tied items fill the remaining places lowest index
    first. A stable sort of the ``width`` picked items (in index order) then orders ties by index too.
    """
    n_rows, n_items = block.shape
    if width < n_items:
        cut = np.partition(block, n_items - width, axis=1)[:, n_items - width][:, None]  # the width-th best score
        above = block > cut
        tied = block == cut
        room = width - above.sum(axis=1, keepdims=True)
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
        items = np.nonzero(chosen)[1].reshape(n_rows, width)  # row-major: each row's items in index order
    else:
        items = np.tile(np.arange(n_items), (n_rows, 1))
    picked = np.take_along_axis(block, items, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")
    items = np.take_along_axis(items, order, axis=1)
    items[np.take_along_axis(picked, order, axis=1) == -np.inf] = -1
    return items


def ranking_metrics(recommended: np.ndarray, relevant: Any, k: int, n_items: int) -> dict[str, float]:
    """Precision, recall, NDCG, MAP, hit rate and catalogue coverage of top-k lists, named with k (``ndcg@10``).

    For a user with relevant set R and hits h_1..h_k (1 where the item at position i is in R):

    - ``precision@k`` = sum(h) / k (k, not the list's length: empty slots count as misses);
    - ``recall@k`` = sum(h) / |R|;
    - ``ndcg@k`` = DCG / IDCG with DCG = sum_i h_i / log2(i + 1) and IDCG the DCG of min(k, |R|) hits in a row;
    - ``map@k`` = sum_i h_i * precision@i / min(k, |R|) (average precision truncated at k);
    - ``hit_rate@k`` = 1 when any h_i is 1;

    each averaged over the users with at least one relevant item (NaN when there are none). ``coverage@k`` is the
    share of the ``n_items`` items that appear in at least one user's list, over every user.

    Args:
        recommended: ``(n_users, m)`` item indices, best first, ``-1`` for an empty slot; the first ``k`` columns
            are read (fewer than ``k`` count as padded with empty slots). An item may appear once per list.
        relevant: ``(n_users, n_items)`` matrix (``scipy.sparse`` or anything it converts) whose nonzero entries
            are each user's relevant (held-out) items.
        k: the list length to score, at least 1.
        n_items: the catalogue's size.

    Returns:
        ``{"precision@k", "recall@k", "ndcg@k", "map@k", "hit_rate@k", "coverage@k"}`` (k written out) as floats.

    Raises:
        ConfigError: ``k`` or ``n_items`` is not a positive integer.
        DataError: the shapes disagree, an item index is out of range, or a list repeats an item.

    Example:
        >>> recs = np.array([[2, 0, 1]])  # one user, hits at positions 1 and 3 of 3
        >>> metrics = ranking_metrics(recs, np.array([[0, 1, 1, 0]]), k=3, n_items=4)
        >>> {name: round(value, 4) for name, value in metrics.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'precision@3': 0.6667, 'recall@3': 1.0, 'ndcg@3': 0.9197, 'map@3': 0.8333, 'hit_rate@3': 1.0,
         'coverage@3': 0.75}
    """
    k = _check_k(k)
    n_items = _check_positive(n_items, "n_items")
    recs = np.asarray(recommended)
    if recs.ndim != 2 or not (np.issubdtype(recs.dtype, np.integer) or recs.size == 0):
        raise DataError(f"recommended must be a (users x k) matrix of integer item indices; got {recs.dtype} "
                        f"of shape {recs.shape}")
    n_users = recs.shape[0]
    recs = recs[:, :k].astype(np.int64)
    if recs.shape[1] < k:
        recs = np.hstack([recs, np.full((n_users, k - recs.shape[1]), -1, dtype=np.int64)])
    _check_lists(recs, n_items)

    _, rows, cols = _csr_entries(relevant, (n_users, n_items), "relevant")
    keys = np.unique(rows * n_items + cols)  # sorted (user, item) pairs, duplicates merged
    n_relevant = np.bincount(keys // n_items, minlength=n_users)
    wanted = np.arange(n_users, dtype=np.int64)[:, None] * n_items + recs
    found = np.zeros(recs.shape, dtype=bool)
    if len(keys):
        found = keys[np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)] == wanted
    hits = (found & (recs >= 0))[n_relevant > 0].astype(np.float64)
    n_relevant = n_relevant[n_relevant > 0]

    metrics = dict.fromkeys(["precision", "recall", "ndcg", "map", "hit_rate"], float("nan"))
    if len(n_relevant):
        positions = np.arange(1, k + 1)
        discounts = 1.0 / np.log2(positions + 1)
        n_ideal = np.minimum(k, n_relevant)
        n_hits = hits.sum(axis=1)
        metrics["precision"] = float(np.mean(n_hits / k))
        metrics["recall"] = float(np.mean(n_hits / n_relevant))
        metrics["ndcg"] = float(np.mean(hits @ discounts / np.cumsum(discounts)[n_ideal - 1]))
        metrics["map"] = float(np.mean((np.cumsum(hits, axis=1) / positions * hits).sum(axis=1) / n_ideal))
        metrics["hit_rate"] = float(np.mean(n_hits > 0))
    metrics["coverage"] = float(len(np.unique(recs[recs >= 0])) / n_items)
    return {f"{name}@{k}": value for name, value in metrics.items()}


def rmse(y: Any, yhat: Any) -> float:
    """Root mean squared error of predicted ratings, in the ratings' units.

    Example:
        >>> rmse([4.0, 2.0, 5.0], [3.0, 2.0, 3.0])  # sqrt((1 + 0 + 4) / 3)
        1.2909944487358056
    """
    y, yhat = _ratings(y, yhat)
    return float(np.sqrt(np.mean((y - yhat) ** 2)))


def mae(y: Any, yhat: Any) -> float:
    """Mean absolute error of predicted ratings.

    Example:
        >>> mae([4.0, 2.0, 5.0], [3.0, 2.0, 3.0])  # (1 + 0 + 2) / 3
        1.0
    """
    y, yhat = _ratings(y, yhat)
    return float(np.mean(np.abs(y - yhat)))


def _ratings(y: Any, yhat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both rating vectors as float64, checked: the same non-zero length and no missing values."""
    y, yhat = np.asarray(y, dtype=np.float64).ravel(), np.asarray(yhat, dtype=np.float64).ravel()
    if len(y) != len(yhat) or not len(y):
        raise DataError(f"ratings and predictions must have the same, non-zero length; got {len(y)} and {len(yhat)}")
    for name, values in (("ratings", y), ("predictions", yhat)):
        if np.isnan(values).any():
            raise DataError(f"the {name} hold {int(np.isnan(values).sum())} missing value(s); drop or fill them first")
    return y, yhat


def _check_k(k: Any) -> int:
    return _check_positive(k, "k")


def _check_positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _check_lists(recs: np.ndarray, n_items: int) -> None:
    """Item indices in range (``-1`` for empty slots) and no item twice in a list."""
    bad = (recs < -1) | (recs >= n_items)
    if bad.any():
        user, slot = np.argwhere(bad)[0]
        raise DataError(f"recommended item {recs[user, slot]} (user row {user}) is outside the catalogue of "
                        f"{n_items} items; use item indices 0..{n_items - 1}, or -1 for an empty slot")
    ordered = np.sort(recs, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    if repeated.any():
        user, slot = np.argwhere(repeated)[0]
        raise DataError(f"the list of user row {user} recommends item {ordered[user, slot + 1]} more than once; "
                        f"each list must hold distinct items")


def _csr_entries(matrix: Any, shape: tuple[int, int], name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nonzero entries of a (users x items) matrix, row by row: ``(indptr, rows, cols)``, where ``indptr[u]`` is
    where user ``u``'s entries start in ``rows`` and ``cols``. Stored zeros are dropped; the input is not modified."""
    from scipy import sparse

    csr = sparse.csr_matrix(matrix)
    if csr.shape != tuple(shape):
        raise DataError(f"{name} has shape {csr.shape}; expected {tuple(shape)} (users x items)")
    counts = np.diff(csr.indptr)
    keep = csr.data != 0
    rows = np.repeat(np.arange(shape[0], dtype=np.int64), counts)[keep]
    cols = csr.indices.astype(np.int64)[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=shape[0]))])
    return indptr, rows, cols
