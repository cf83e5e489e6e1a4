"""Monitoring a recommender: new interactions (a table with the user and item columns) against the training log.

Four measures, each with a status:

* ``new_users`` and ``new_items``: the share of rows whose user (item) the model never saw, against the share that
  new rows *like* the training ones would show (the Good-Turing estimate: training interactions of users, or items,
  seen once, over all interactions). Users the model never saw get the most popular items; items it never saw are
  never recommended. The status comes from the points above that expected share, once a one-sided binomial test
  tells them from chance.
* ``item_popularity``: how the rows with known items spread over the catalogue, against the training profile's
  ``item_share``: the most popular items each in a bin of their own (those the new rows should hold at least 5 times),
  the rest of the profile's items in groups of equal training share, and one bin for the items the profile does not
  list; judged like any other column, by PSI and a chi-square test (a shift of attention towards a few items, or
  from the head to the tail, shows here). The total variation distance says what share of the interactions moved.
* ``rating``: the distribution of the ratings over the training rating values (explicit feedback, when the new rows
  hold ratings), by PSI and a chi-square test.

The measures fill one :class:`~accelml.monitor.report.DriftReport`: one row per column (user, item, rating) in its
table, and the measures one by one, with the items whose share moved most, under ``interactions``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.monitor.drift import _performance
from accelml.monitor.report import DriftReport
from accelml.monitor.stats import EPSILON, chi_square, psi
from accelml.monitor.thresholds import DriftThresholds, psi_status, resolve_thresholds, worst_status

__all__ = ["check_interactions", "expected_new_share", "popularity_drift", "popularity_groups", "rating_drift"]

MIN_EXPECTED = 5  # rows a popularity bin should expect among the new rows (the chi-square test's rule of thumb)
MAX_HEAD = 50  # items with a bin of their own, at most
TAIL_GROUPS = 8  # groups of the profile's other items, at most
HEAD_SHARE = 0.1  # "the most popular items": this share of the catalogue
MOVERS = 10  # items listed with the largest change of share


def expected_new_share(per_id: np.ndarray) -> float:
    """The share of new interactions whose id training never saw, for interactions like the training ones: ids seen
    once over all interactions (Good-Turing).

    >>> expected_new_share(np.array([1, 1, 2, 6]))
    0.2
    """
    counts = np.asarray(per_id)
    total = counts.sum()
    return float(np.count_nonzero(counts == 1) / total) if total else 0.0


def _share_status(observed: float, expected: float, n_unknown: int, n: int, warning: float, drift: float,
                  limits: DriftThresholds) -> str:
    """``drift`` (a warning under ``min_rows`` rows) or ``warning`` when ``observed`` passes ``expected`` by the
    limits and a one-sided binomial test tells it from chance."""
    from scipy.stats import binomtest

    excess = observed - expected
    if not n or excess < warning:
        return "ok"
    chance = min(max(expected, EPSILON), 1 - EPSILON)
    if binomtest(n_unknown, n, chance, alternative="greater").pvalue >= limits.p_value:  # not told from chance
        return "ok"
    return "drift" if excess >= drift and n >= limits.min_rows else "warning"


def _id_measure(name: str, unknown: np.ndarray, present: np.ndarray, expected: float, warning: float, drift: float,
                limits: DriftThresholds) -> dict[str, Any]:
    n = int(present.sum())
    n_unknown = int((unknown & present).sum())
    share = n_unknown / n if n else math.nan
    status = _share_status(share, expected, n_unknown, n, warning, drift, limits) if n else "ok"
    return {"measure": name, "train": expected, "new": share, "psi": math.nan, "p_value": math.nan,
            "change": share - expected if n else math.nan, "status": status, "rows": n_unknown}


def popularity_groups(item_share: Mapping[str, float], n: int, *, min_expected: float = MIN_EXPECTED,
                      max_head: int = MAX_HEAD, tail_groups: int = TAIL_GROUPS) -> list[list[str]]:
    """Bins of item ids for comparing ``n`` new interactions with the training shares: the most popular items one by
    one while ``n`` rows should hold each at least ``min_expected`` times (at most ``max_head``), then the other listed
    items, most popular first, in up to ``tail_groups`` groups of about equal training share that each expect
    ``min_expected`` rows. Items not listed make the last bin, left implicit.

    >>> shares = {"a": 0.3, "b": 0.2, "c": 0.1, "d": 0.1, "e": 0.05, "f": 0.05}
    >>> popularity_groups(shares, 40)
    [['a'], ['b'], ['c', 'd'], ['e', 'f']]
    """
    ranked = sorted(item_share.items(), key=lambda kv: (-kv[1], kv[0]))
    head = [[item] for item, share in ranked[:max_head] if share * n >= min_expected]
    rest = ranked[len(head):]
    total = sum(share for _, share in rest)
    k = int(min(tail_groups, total * n // min_expected)) if rest else 0
    if k < 1:
        return head + ([[item for item, _ in rest]] if rest and total * n >= min_expected else [])
    bounds = np.cumsum([share for _, share in rest]) - np.array([share for _, share in rest])  # share before each
    group = np.minimum((bounds / total * k).astype(int), k - 1)
    tail = [[item for (item, _), g in zip(rest, group, strict=True) if g == j] for j in range(k)]
    return head + [items for items in tail if items]


def popularity_drift(item_share: Mapping[str, float], items: Sequence[str], limits: DriftThresholds,
                     n_reference: int | None = None, n_items: int | None = None) -> dict[str, Any]:
    """New interactions' items (ids of known items, as text) against the training ``item_share``.

    Returns:
        The ``item_popularity`` measure (``train`` and ``new``: the share of interactions on the most popular
        :data:`HEAD_SHARE` of ``n_items`` items, at most the listed ones; ``psi``, ``p_value``, ``change``: the total
        variation distance over the bins, ``status``) with ``bins``, ``statistic`` and ``movers``: the :data:`MOVERS`
        items of ``item_share`` whose share changed most (``item``, ``train``, ``new``).

    Example:
        >>> shares = {str(i): 0.1 for i in range(10)}
        >>> same = popularity_drift(shares, [str(i % 10) for i in range(500)], DriftThresholds())
        >>> same["status"], round(same["change"], 3)
        ('ok', 0.0)
        >>> popularity_drift(shares, ["9"] * 500, DriftThresholds())["status"]
        'drift'
    """
    n = len(items)
    groups = popularity_groups(item_share, n)
    position = {item: g for g, members in enumerate(groups) for item in members}
    other = max(0.0, 1.0 - sum(item_share.values()))
    expected = np.array([sum(item_share[i] for i in members) for members in groups] + [other])
    counts = np.bincount([position.get(str(i), len(groups)) for i in items], minlength=len(groups) + 1)
    actual = counts / max(n, 1)
    value = psi(expected, actual)
    statistic, p_value = chi_square(expected, counts, n_reference)
    tvd = 0.5 * float(np.abs(actual - expected / max(expected.sum(), EPSILON)).sum())
    ranked = sorted(item_share, key=lambda i: (-item_share[i], i))
    head = ranked[: max(1, math.ceil(HEAD_SHARE * (n_items or len(ranked))))]
    new_counts = pd.Series(list(items), dtype=object).value_counts()
    new_share = (new_counts / max(n, 1)).to_dict()
    changed = sorted(item_share, key=lambda i: (-abs(new_share.get(i, 0.0) - item_share[i]), i))[:MOVERS]
    return {"measure": "item_popularity", "train": float(sum(item_share[i] for i in head)),
            "new": float(sum(new_share.get(i, 0.0) for i in head)), "psi": value, "p_value": p_value,
            "change": tvd, "status": psi_status(value, p_value, limits, n), "statistic": statistic,
            "bins": len(groups) + 1, "head_items": len(head), "rows": n,
            "movers": [{"item": i, "train": item_share.get(i, 0.0), "new": new_share.get(i, 0.0)} for i in changed]}


def rating_drift(stored: Mapping[str, int], ratings: np.ndarray, limits: DriftThresholds) -> dict[str, Any]:
    """New ratings against the training counts of each rating value (``{"4.0": 1024, ...}``); values training never
    had share one more bin.

    >>> train = {"1.0": 100, "5.0": 100}
    >>> rating_drift(train, np.array([1.0, 5.0] * 100), DriftThresholds())["status"]
    'ok'
    >>> rating_drift(train, np.array([5.0] * 200), DriftThresholds())["status"]
    'drift'
    """
    values = [float(v) for v in stored]
    counts_train = np.array(list(stored.values()), dtype=np.float64)
    keys = {f"{v:g}": k for k, v in enumerate(values)}
    index = [keys.get(f"{float(np.round(r, 1)):g}", len(values)) for r in ratings]
    counts = np.bincount(index, minlength=len(values) + 1)
    expected = np.append(counts_train, 0.0) / counts_train.sum()
    value = psi(expected, counts / max(len(ratings), 1))
    statistic, p_value = chi_square(expected, counts, int(counts_train.sum()))
    mean_train = float(np.dot(values, counts_train) / counts_train.sum())
    mean_new = float(np.mean(ratings)) if len(ratings) else math.nan
    return {"measure": "rating", "train": mean_train, "new": mean_new, "psi": value, "p_value": p_value,
            "change": mean_new - mean_train, "status": psi_status(value, p_value, limits, len(ratings)),
            "statistic": statistic, "rows": len(ratings),
            "shares": {f"{v:g}": [float(c / counts_train.sum()), float(counts[k] / max(len(ratings), 1))]
                       for k, (v, c) in enumerate(zip(values, counts_train, strict=True))}}


def _row(column: str, role: str, measure: dict[str, Any] | None, missing: float, unseen: float, errors: int,
         status: str) -> dict[str, Any]:
    m = measure or {}
    return {"column": column, "role": role, "psi": m.get("psi", math.nan), "statistic": m.get("statistic", math.nan),
            "p_value": m.get("p_value", math.nan), "missing_train": 0.0, "missing_new": missing,
            "missing_change": missing, "unseen_share": unseen, "type_errors": errors, "status": status}


def check_interactions(result: Any, new_frame: Any, *, labels: str | None = None,
                       thresholds: DriftThresholds | Mapping[str, Any] | None = None) -> DriftReport:
    """New interactions against a recommender's training log: new users and items, item popularity and ratings.

    Args:
        result: The recommender's ``accelml.result.FitResult`` (or a fitted :class:`accelml.AutoML`).
        new_frame: New interactions (a DataFrame or a table file) with the training log's user and item columns and,
            for explicit feedback, its rating column when the ratings are known.
        labels: The rating column, to score the model's predicted ratings on the new rows against its validation
            score (explicit feedback only).
        thresholds: See :class:`~accelml.monitor.thresholds.DriftThresholds` (``new_users_*``, ``new_items_*`` and
            the PSI limits apply).

    Returns:
        A :class:`~accelml.monitor.report.DriftReport`; its ``interactions`` holds the measures one by one.

    Raises:
        DataError: The new data has no rows, ``labels`` names no column, or the model learned without ratings.
    """
    from accelml.data import read_table

    result = getattr(result, "result_", result)
    limits = resolve_thresholds(thresholds)
    frame = new_frame if isinstance(new_frame, pd.DataFrame) else read_table(new_frame)
    n = len(frame)
    if n == 0:
        raise DataError("the new data has no rows to compare with the training interactions")
    recommender = result.ensemble
    inter = recommender.interactions
    profile = (result.extra or {}).get("profile") or {}
    notes = [f"only {n} new rows (fewer than {limits.min_rows}): nothing is called drift, at most a warning"] \
        if n < limits.min_rows else []
    rows, measures, missing_columns = [], [], []
    known_items: np.ndarray | None = None
    for column, role in ((inter.user, "user"), (inter.item, "item")):
        if column not in frame.columns:
            missing_columns.append(column)
            rows.append({**_row(column, role, None, math.nan, math.nan, 0, "missing"), "missing_train": 0.0})
            continue
        present = frame[column].notna().to_numpy()
        index = (inter.user_index if role == "user" else inter.item_index)(frame[column])
        per_id = np.diff(recommender.seen.indptr) if role == "user" else np.asarray(recommender.popularity)
        warning, drift = ((limits.new_users_warning, limits.new_users_drift) if role == "user"
                          else (limits.new_items_warning, limits.new_items_drift))
        measure = _id_measure(f"new_{role}s", index < 0, present, expected_new_share(per_id), warning, drift, limits)
        measures.append(measure)
        status, popularity = measure["status"], None
        if role == "item":
            known_items = present & (index >= 0)
            items = [inter.items[i] for i in index[known_items]]
            if profile.get("item_share") and items:
                popularity = popularity_drift(profile["item_share"], items, limits, profile.get("n_interactions"),
                                              inter.n_items)
                measures.append(popularity)
                status = worst_status(status, popularity["status"])
        missing = float(1 - present.mean())
        if missing >= limits.missing_warning:
            status = worst_status(status, "warning")
        rows.append(_row(column, role, popularity, missing, measure["new"], 0, status))
    rating = inter.rating
    if rating and rating in frame.columns and profile.get("ratings"):
        values = pd.to_numeric(frame[rating], errors="coerce").to_numpy(dtype=np.float64)
        bad = int((np.isnan(values) & frame[rating].notna().to_numpy()).sum())
        rated = values[np.isfinite(values)]
        measure = rating_drift(profile["ratings"], rated, limits) if len(rated) else None
        if measure is not None:
            measures.append(measure)
        status = worst_status(measure["status"] if measure else "ok", "warning" if bad else "ok")
        rows.append(_row(rating, "rating", measure, float(1 - len(rated) / n), math.nan, bad, status))
    elif rating and not profile.get("ratings"):
        notes.append("no rating drift: the training profile keeps no rating distribution (more than 50 values)")
    performance = _rating_performance(result, frame, labels, limits, n) if labels is not None else None
    statuses = [r["status"] for r in rows] + ([performance["status"]] if performance else [])
    if missing_columns:
        statuses.append("drift")
    status = worst_status(*("drift" if s == "missing" else s for s in statuses))
    columns = pd.DataFrame(rows, columns=["column", "role", "psi", "statistic", "p_value", "missing_train",
                                          "missing_new", "missing_change", "unseen_share", "type_errors", "status"])
    detail = {"n_rows": n, "user": inter.user, "item": inter.item, "rating": rating,
              "known_item_rows": int(known_items.sum()) if known_items is not None else 0, "measures": measures}
    return DriftReport(status=status, n_rows=n, columns=columns, performance=performance,
                       schema_breaks={"missing_columns": missing_columns,
                                      "type_errors": {r["column"]: r["type_errors"] for r in rows if r["type_errors"]}},
                       thresholds=limits, notes=notes, interactions=detail)


def _rating_performance(result: Any, frame: pd.DataFrame, labels: str, limits: DriftThresholds,
                        n: int) -> dict[str, Any]:
    """The model's rating metric on the labelled new rows against its validation score."""
    recommender = result.ensemble
    if not getattr(recommender, "explicit", False):
        raise DataError("this recommender learned from interactions without ratings, so it predicts no ratings to "
                        "score against labels; leave --labels out")
    if labels not in frame.columns:
        raise DataError(f"the new data has no label column {labels!r}; its columns are "
                        f"{', '.join(map(repr, list(frame.columns)[:20]))}")
    inter = recommender.interactions
    metric = result.metric if result.metric.name in ("rmse", "mae") else "rmse"
    name = metric if isinstance(metric, str) else metric.name
    reference = (result.extra.get("recommend", {}).get("scores") or {}).get(name)
    labelled = pd.to_numeric(frame[labels], errors="coerce")
    predictions = recommender.predict_ratings(frame[inter.user], frame[inter.item])
    return _performance({}, result.schema, predictions, labelled, metric, reference, limits, n)
