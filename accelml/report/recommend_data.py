"""Section "Interactions" of a recommender's report: the size of the log and its columns, the ratings (explicit
feedback), the long tail of item popularity, and the problems found before training.

It stands in for the "Data" section of a model of tables (see :func:`accelml.report.overview.data_section`); the
counts come from the fitted recommender (every training interaction, duplicates merged), not from the sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accelml.report.context import ReportContext
from accelml.report.figures import figure, figure_html, title
from accelml.report.issues import issues_html
from accelml.report.page import Section, key_figures, note, table_html

__all__ = ["HEAD_SHARE", "head_items", "interactions_section", "popularity_counts", "recommend_heading"]

HEAD_SHARE = 0.1  # "the most popular items": this share of the items with interactions
MAX_RATING_BARS = 25  # more distinct ratings are drawn as a histogram


def recommend_heading(result: Any) -> tuple[str, str]:
    """The report's title and subtitle for a recommender."""
    info = result.extra.get("recommend", {})
    feedback = "ratings" if info.get("explicit") else "implicit feedback"
    title_text = f"accelml report: recommending '{info.get('item', 'items')}' to '{info.get('user', 'users')}'"
    subtitle = (f"{result.n_rows:,} interactions ({info.get('n_users', 0):,} users, {info.get('n_items', 0):,} "
                f"items), {feedback}; optimised {result.metric.name}; validation {result.metric.name} "
                f"{result.val_score:.4f}")
    return title_text, subtitle


def popularity_counts(recommender: Any) -> np.ndarray:
    """Training interactions of each item (users who chose it), most popular first, items without any left out."""
    counts = np.sort(np.asarray(recommender.popularity, dtype=np.float64))[::-1]
    return counts[counts > 0]


def head_items(popularity: np.ndarray, share: float = HEAD_SHARE) -> np.ndarray:
    """Indices of the most popular ``share`` of the items with interactions (at least one item; ties broken by index).

    >>> head_items(np.array([5.0, 0.0, 9.0, 1.0, 2.0]), 0.5).tolist()
    [2, 0]
    """
    popularity = np.asarray(popularity, dtype=np.float64)
    active = int(np.count_nonzero(popularity > 0))
    n = max(1, int(np.ceil(share * active)))
    return np.argsort(-popularity, kind="stable")[:n]


def _roles(ctx: ReportContext) -> str:
    info, schema = ctx.result.extra.get("recommend", {}), ctx.result.schema
    rows = [["user", info.get("user"), "who interacted"], ["item", info.get("item"), "with what"]]
    if schema.target:
        rows.append(["rating (target)", schema.target, "how much they liked it: predicted, and ranks the lists"])
    if info.get("time"):
        rows.append(["time", info["time"], "when: orders the validation split"])
    ignored = schema.extra.get("ignored") or []
    if ignored:
        rows.append(["not used", ", ".join(map(str, ignored)), "other columns of the log"])
    return "<h3>Columns</h3>" + table_html(rows, ["role", "column", "use"])


def _ratings_chart(values: np.ndarray, counts: np.ndarray) -> str:
    fig, ax = figure(width=5.6, height=3.4)
    if len(values) <= MAX_RATING_BARS:
        width = 0.8 * (float(np.min(np.diff(values))) if len(values) > 1 else 1.0)
        ax.bar(values, counts, width=width, color="#3557b7", alpha=0.85)
        ax.set_xticks(values, labels=[f"{v:g}" for v in values])
    else:
        ax.hist(values, bins=30, weights=counts, color="#3557b7", alpha=0.85)
    ax.set_xlabel("rating")
    ax.set_ylabel("interactions")
    title(ax, "Rating distribution")
    return figure_html(fig, "rating distribution: training interactions per rating value")


def _ratings(ctx: ReportContext) -> str:
    """Bars of the training ratings (explicit feedback only): from the stored profile, else the mean rating of each
    (user, item) pair the recommender keeps."""
    stored = (ctx.result.extra.get("profile") or {}).get("ratings")
    if stored:
        values = np.array([float(v) for v in stored], dtype=np.float64)
        counts = np.array(list(stored.values()), dtype=np.float64)
    else:
        matrix = getattr(ctx.result.ensemble, "ratings", None)
        if matrix is None or not matrix.nnz:
            return ""
        values, counts = np.unique(np.round(matrix.data.astype(np.float64), 1), return_counts=True)
    order = np.argsort(values)
    values, counts = values[order], counts[order]
    total = counts.sum()
    mean = float(values @ counts / total)
    tiles = key_figures([("mean rating", f"{mean:.2f}"), ("most common", f"{values[np.argmax(counts)]:g}"),
                         ("lowest to highest", f"{values[0]:g} to {values[-1]:g}")])
    return ("<h3>Ratings</h3>" + tiles + f'<div class="charts">{_ratings_chart(values, counts)}</div>'
            + note(f"All {int(total):,} training ratings; a pair rated more than once counts once, with its mean."))


def _long_tail_chart(counts: np.ndarray, head: int, head_share: float) -> str:
    fig, (left, right) = figure(ncols=2, width=10.0, height=3.8)
    ranks = np.arange(1, len(counts) + 1)
    left.plot(ranks, counts, color="#3557b7", linewidth=1.6)
    left.fill_between(ranks[:head], counts[:head], color="#d62728", alpha=0.25,
                      label=f"top {HEAD_SHARE:.0%} of items")
    left.set_yscale("log")
    left.set_xlabel("items, most popular first")
    left.set_ylabel("interactions per item (log scale)")
    left.legend(loc="upper right", fontsize=8)
    title(left, "Interactions per item")
    share = np.cumsum(counts) / counts.sum()
    right.plot(ranks / len(counts), share, color="#3557b7", linewidth=1.6)
    right.plot([0, 1], [0, 1], linestyle="--", color="#999999", linewidth=1.0, label="every item equally popular")
    right.scatter([head / len(counts)], [head_share], color="#d62728", zorder=3,
                  label=f"top {HEAD_SHARE:.0%} of items: {head_share:.0%} of interactions")
    right.set_xlabel("share of items, most popular first")
    right.set_ylabel("share of interactions")
    right.set_xlim(0, 1)
    right.set_ylim(0, 1.02)
    right.legend(loc="lower right", fontsize=8)
    title(right, "Cumulative share of interactions")
    return figure_html(fig, "long tail of item popularity: interactions per item, most popular first (log scale)")


def _long_tail(ctx: ReportContext) -> str:
    recommender = ctx.result.ensemble
    counts = popularity_counts(recommender)
    if not len(counts):
        return ""
    head = len(head_items(recommender.popularity))
    head_share = float(counts[:head].sum() / counts.sum())
    without = int(np.count_nonzero(np.asarray(recommender.popularity) <= 0))
    tiles = key_figures([
        (f"interactions on the top {HEAD_SHARE:.0%} of items", f"{head_share:.1%}"),
        ("median interactions per item", f"{np.median(counts):,.0f}"),
        ("items with one interaction", f"{np.mean(counts == 1):.1%}"),
        ("most popular item", f"{int(counts[0]):,} interactions"),
    ])
    text = (f"The {len(counts):,} items with training interactions, most popular first (an interaction: one user with "
            f"the item, repeats merged). The top {HEAD_SHARE:.0%} ({head:,} items) take {head_share:.1%} of the "
            "interactions; a long, thin tail means few interactions to learn most items from, and lists that lean "
            "towards the head.")
    if without:
        text += f" {without:,} items known only from the item table have no interaction and are not drawn."
    return ("<h3>Item popularity</h3>" + tiles + f'<div class="charts">{_long_tail_chart(counts, head, head_share)}'
            "</div>" + note(text))


def interactions_section(ctx: ReportContext) -> Section:
    """The log's size and columns, the rating distribution, the long tail of item popularity and the data issues."""
    result = ctx.result
    info = result.extra.get("recommend", {})
    recommender = result.ensemble
    n_users, n_items = recommender.interactions.n_users, recommender.interactions.n_items
    per_user = np.diff(recommender.seen.indptr)
    per_user = per_user[per_user > 0]
    tiles = key_figures([
        ("interactions", f"{result.n_rows:,}"),
        ("users", f"{n_users:,}"),
        ("items", f"{n_items:,}"),
        ("density", f"{result.n_rows / max(n_users * n_items, 1):.2%}"),
        ("median per user", f"{np.median(per_user):,.0f}" if len(per_user) else "-"),
        ("feedback", "ratings" if info.get("explicit") else "implicit"),
    ])
    merged = info.get("duplicates_merged") or 0
    text = ("Rows with a missing user, item or rating are dropped before training. Density: the share of all "
            "(user, item) pairs with an interaction.")
    if merged:
        text += f" {merged:,} rows repeated a (user, item) pair and were merged."
    body = (tiles + _roles(ctx) + _ratings(ctx) + _long_tail(ctx) + issues_html(result.issues) + note(text))
    return Section("data", "Interactions", body)
