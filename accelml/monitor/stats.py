"""Distribution summaries and the two tests drift is judged by: PSI and a chi-square test on bin counts.

Every distribution here is a vector of bin fractions whose last bin holds the missing values, so a column that starts
arriving empty shifts its distribution like any other change.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "EPSILON",
    "N_BINS",
    "TOP_CATEGORIES",
    "category_bins",
    "category_summary",
    "chi_square",
    "numeric_bins",
    "numeric_summary",
    "psi",
]

N_BINS = 10  # quantile bins of a numeric column
TOP_CATEGORIES = 50  # categories kept by name; the rest share one 'other' bin
EPSILON = 1e-4  # floor of a bin fraction, so that an empty bin does not make PSI infinite


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two vectors of bin fractions.

    Below 0.1 is usually read as no real change, 0.1-0.25 as a moderate shift and above 0.25 as a large one.

    >>> round(psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])), 6)
    0.0
    >>> round(psi(np.array([0.5, 0.5]), np.array([0.9, 0.1])), 3)
    0.879
    """
    e = np.clip(np.asarray(expected, dtype=np.float64), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), EPSILON, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def chi_square(expected: np.ndarray, counts: np.ndarray, n_reference: int | None = None) -> tuple[float, float]:
    """Chi-square test that bin ``counts`` follow the reference fractions ``expected``: (statistic, p-value).

    With ``n_reference`` (the rows the fractions were measured on) it is the two-sample test of homogeneity, which
    accounts for the reference's own sampling noise; without, a goodness-of-fit test against exact fractions. Bins
    expected to hold fewer than 5 rows are pooled into one, where the test's approximation would not hold.

    >>> chi_square(np.array([0.5, 0.5]), np.array([50, 50]))
    (0.0, 1.0)
    >>> [round(v, 4) for v in chi_square(np.array([0.5, 0.5]), np.array([60, 40]), n_reference=100)]
    [2.0202, 0.1552]
    """
    from scipy.stats import chi2

    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    if n == 0 or len(counts) < 2:
        return 0.0, 1.0
    e = np.asarray(expected, dtype=np.float64)
    if n_reference:
        table = np.vstack([e / e.sum() * n_reference, counts])
    else:
        table = np.clip(e, EPSILON, None)[None, :] / np.clip(e, EPSILON, None).sum() * n
    pooled = table.sum(axis=0) if n_reference else table[0]
    small = pooled * (n / pooled.sum() if n_reference else 1.0) < 5
    if small.any():
        table = np.column_stack([table[:, ~small], table[:, small].sum(axis=1)])
        counts = np.append(counts[~small], counts[small].sum())
    if table.shape[1] < 2:
        return 0.0, 1.0
    if n_reference:
        share = table.sum(axis=0) / table.sum()
        fitted = table.sum(axis=1, keepdims=True) * share[None, :]
        keep = share > 0
        statistic = float(np.sum((table[:, keep] - fitted[:, keep]) ** 2 / fitted[:, keep]))
        dof = int(keep.sum()) - 1
    else:
        statistic = float(np.sum((counts - table[0]) ** 2 / table[0]))
        dof = len(counts) - 1
    if dof < 1:
        return 0.0, 1.0
    return statistic, float(chi2.sf(statistic, df=dof))


def _fractions(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * len(counts)


def numeric_summary(x: np.ndarray) -> dict[str, Any]:
    """Quantile bin edges (``N_BINS`` bins, ties merged), bin fractions with a trailing missing bin, mean and std.

    >>> s = numeric_summary(np.array([0.0, 0.0, 0.0, 5.0, np.nan]))
    >>> s["edges"], s["fractions"], s["missing_rate"], s["mean"]
    ([0.0, 0.5, 2.0, 3.5], [0.6, 0.0, 0.0, 0.0, 0.2, 0.2], 0.2, 1.25)
    """
    present = x[~np.isnan(x)]
    missing_rate = (x.size - present.size) / x.size if x.size else 0.0
    if present.size == 0:
        return {"edges": [], "fractions": [0.0, 1.0] if x.size else [0.0, 0.0], "missing_rate": missing_rate,
                "mean": None, "std": None, "min": None, "max": None}
    inner = np.quantile(present, np.linspace(0, 1, N_BINS + 1)[1:-1])
    edges = [float(v) for v in np.unique(np.round(inner, 12))]
    summary = {"edges": edges, "missing_rate": missing_rate, "mean": float(present.mean()),
               "std": float(present.std()), "min": float(present.min()), "max": float(present.max())}
    summary["fractions"] = _fractions(numeric_bins(edges, x))
    return summary


def numeric_bins(edges: list[float], x: np.ndarray) -> np.ndarray:
    """Counts per bin (``v <= edges[0]``, ..., ``v > edges[-1]``), then the count of missing values.

    >>> numeric_bins([1.0, 2.0], np.array([0.5, 1.0, 1.5, 9.0, np.nan])).tolist()
    [2, 1, 1, 1]
    """
    missing = np.isnan(x)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), x[~missing], side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return np.append(counts, np.count_nonzero(missing))


def category_summary(keys: np.ndarray) -> dict[str, Any]:
    """The ``TOP_CATEGORIES`` most frequent categories with their fractions, then 'other' and missing fractions.

    >>> s = category_summary(np.array(["a", "b", "a", None], dtype=object))
    >>> s["categories"], s["fractions"], s["n_categories"]
    (['a', 'b'], [0.5, 0.25, 0.0, 0.25], 2)
    """
    import pandas as pd

    counts = pd.Series(keys, dtype=object).value_counts(dropna=True, sort=False)
    order = sorted(zip(counts.index.tolist(), counts.tolist(), strict=True), key=lambda vc: (-vc[1], str(vc[0])))
    categories = [str(v) for v, _ in order[:TOP_CATEGORIES]]
    summary: dict[str, Any] = {"categories": categories, "n_categories": len(order)}
    summary["fractions"] = _fractions(category_bins(categories, keys))
    summary["missing_rate"] = summary["fractions"][-1]
    return summary


def category_bins(categories: list[str], keys: np.ndarray) -> np.ndarray:
    """Counts per category, then the count of other (present but not listed) values, then of missing ones.

    >>> category_bins(["a", "b"], np.array(["a", "c", None, "a"], dtype=object)).tolist()
    [2, 0, 1, 1]
    """
    import pandas as pd

    missing = pd.isna(keys)
    idx = pd.Index(categories, dtype=object).get_indexer(keys[~missing])
    idx = np.where(idx < 0, len(categories), idx)
    counts = np.bincount(idx, minlength=len(categories) + 1)
    return np.append(counts, np.count_nonzero(missing))
