"""Section "Recommendations" of a recommender's report: how good its lists are and what they look like.

It stands in for the "Performance" section of a model of tables: the validation metrics of the final blend's lists
against their length k (precision, recall, NDCG, MAP, hit rate and catalogue coverage, from
``extra["recommend"]["curves"]``), the same on test interactions when the report is given some, how much of the
catalogue the final model's lists reach and how much they lean on popular items, and the lists of a few example
users next to what they had in training.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from accelml.exceptions import DataError
from accelml.report.context import ReportContext
from accelml.report.figures import figure, figure_html, title
from accelml.report.page import Section, esc, key_figures, note, table_html
from accelml.report.recommend_data import HEAD_SHARE, head_items

__all__ = ["KS", "evaluate_lists", "list_reach", "recommend_section"]

KS = (1, 5, 10, 20)  # list lengths scored
LIST_K = 10  # length of the lists shown and measured for reach
MAX_EXAMPLES = 5
HISTORY_ITEMS = 10
MAX_USERS = 1000  # users whose lists are scored or measured (a seeded sample beyond that)
MAX_CELLS = 20_000_000  # users x items scored at most, so that a large catalogue keeps the memory bounded
_NAMES = {"precision": "precision", "recall": "recall", "ndcg": "NDCG", "map": "MAP", "hit_rate": "hit rate",
          "coverage": "coverage"}
_LIST_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


def _sample(values: np.ndarray, limit: int, n_items: int, seed: int = 0) -> np.ndarray:
    """Up to ``limit`` of ``values`` (fewer for a catalogue too large to score that many users against), seeded."""
    limit = min(limit, max(50, MAX_CELLS // max(n_items, 1)))
    if len(values) <= limit:
        return values
    return np.sort(np.random.default_rng(seed).choice(values, limit, replace=False))


def _lists(recommender: Any, users: np.ndarray, k: int) -> np.ndarray:
    """``(len(users), k)`` item indices of the final model's lists for user indices, ``-1`` for empty slots."""
    interactions = recommender.interactions
    ids = [interactions.users[u] for u in users]
    frame = recommender.recommend(ids, k=k)
    out = np.full((len(ids), k), -1, dtype=np.int64)
    if len(frame):
        position = {u: n for n, u in enumerate(ids)}
        rows = np.array([position[u] for u in frame["user"]])
        out[rows, frame["rank"].to_numpy() - 1] = interactions.item_index(frame["item"])
    return out


def evaluate_lists(recommender: Any, frame: pd.DataFrame, ks: tuple[int, ...] = KS,
                   max_users: int = MAX_USERS) -> dict[str, Any]:
    """The final model's lists scored on test interactions, as validation scored them: each known user's test items
    are relevant, and the lists leave out what the user had in training.

    Args:
        recommender: The fitted :class:`~accelml.ensemble.recommender.Recommender`.
        frame: Test interactions with the training log's user and item columns (and its rating column, for RMSE).
        ks: List lengths to score.
        max_users: Users scored at most (a seeded sample beyond that).

    Returns:
        ``curves`` (metric → {k: value}), ``rmse`` and ``mae`` of predicted ratings (explicit feedback, when the
        ratings are there), and the counts: ``n_rows``, ``n_users`` scored, ``n_relevant``, rows of
        ``unknown_users``, ``unknown_items`` and ``repeats`` (pairs already in training), which are not scored.

    Raises:
        DataError: ``frame`` lacks the user or item column, or has no row to score.
    """
    from accelml.metrics.ranking import mae, ranking_metrics, rmse

    interactions = recommender.interactions
    for column, what in ((interactions.user, "user"), (interactions.item, "item")):
        if column not in frame.columns:
            raise DataError(f"the test data has no {what} column '{column}' to score the lists against")
    frame = frame.dropna(subset=[interactions.user, interactions.item])
    if frame.empty:
        raise DataError("the test data has no row with both a user and an item")
    users, items = interactions.user_index(frame[interactions.user]), interactions.item_index(frame[interactions.item])
    history = np.diff(recommender.seen.indptr)
    known_user = users >= 0
    known_user[known_user] = history[users[known_user]] > 0
    usable = known_user & (items >= 0)
    repeat = np.zeros(len(frame), dtype=bool)
    repeat[usable] = np.asarray(recommender.seen[users[usable], items[usable]]).ravel() > 0
    usable &= ~repeat
    out: dict[str, Any] = {"n_rows": len(frame), "unknown_users": int((~known_user).sum()),
                           "unknown_items": int((known_user & (items < 0)).sum()), "repeats": int(repeat.sum()),
                           "curves": {}, "n_users": 0, "n_relevant": 0}
    scored = _sample(np.unique(users[usable]), max_users, interactions.n_items)
    if len(scored):
        position = np.full(interactions.n_users, -1)
        position[scored] = np.arange(len(scored))
        keep = usable & (position[np.maximum(users, 0)] >= 0)
        relevant = sp.csr_matrix((np.ones(int(keep.sum())), (position[users[keep]], items[keep])),
                                 shape=(len(scored), interactions.n_items))
        recs = _lists(recommender, scored, max(ks))
        for k in ks:
            for name, value in ranking_metrics(recs, relevant, k, interactions.n_items).items():
                out["curves"].setdefault(name.split("@")[0], {})[str(k)] = value
        out.update(n_users=len(scored), n_relevant=int(keep.sum()))
    rating = interactions.rating
    if rating and rating in frame.columns and getattr(recommender, "explicit", False):
        truth = pd.to_numeric(frame[rating], errors="coerce").to_numpy(dtype=np.float64)
        present = np.isfinite(truth)
        if present.any():
            rated = frame[present]
            predicted = recommender.predict_ratings(rated[interactions.user], rated[interactions.item])
            out["rmse"], out["mae"] = rmse(truth[present], predicted), mae(truth[present], predicted)
            out["n_rated"] = int(present.sum())
    if not out["curves"] and "rmse" not in out:
        raise DataError(f"none of the {len(frame):,} test rows can be scored: their users or items are not in the "
                        "training data, or they repeat training interactions")
    return out


def list_reach(recommender: Any, k: int = LIST_K, max_users: int = MAX_USERS) -> dict[str, Any]:
    """How far the final model's top-``k`` lists reach: the share of the catalogue in any list (over up to
    ``max_users`` users with interactions, a seeded sample beyond that), and the share of list slots taken by the most
    popular :data:`~accelml.report.recommend_data.HEAD_SHARE` of items, against their share of the interactions."""
    users = _sample(np.flatnonzero(np.diff(recommender.seen.indptr) > 0), max_users, recommender.interactions.n_items)
    recs = _lists(recommender, users, k)
    filled = recs[recs >= 0]
    head = head_items(recommender.popularity)
    popularity = np.asarray(recommender.popularity, dtype=np.float64)
    return {"n_users": len(users), "k": k,
            "coverage": len(np.unique(filled)) / max(recommender.interactions.n_items, 1),
            "head_share_lists": float(np.isin(filled, head).mean()) if len(filled) else math.nan,
            "head_share_training": float(popularity[head].sum() / max(popularity.sum(), 1.0))}


# ------------------------------------------------------------------ metrics against k
def _curves_chart(validation: dict[str, dict[str, float]], test: dict[str, dict[str, float]] | None) -> str:
    fig, (left, right) = figure(ncols=2, width=10.0, height=3.8)
    colours = dict(zip(_LIST_METRICS, ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"), strict=True))
    for curves, style, suffix in ((validation, "-", ""), (test or {}, "--", " (test)")):
        for name in _LIST_METRICS:
            if name in curves:
                ks = sorted(curves[name], key=int)
                left.plot([int(k) for k in ks], [curves[name][k] for k in ks], style, marker="o", markersize=4,
                          color=colours[name], label=_NAMES[name] + suffix)
        if "coverage" in curves:
            ks = sorted(curves["coverage"], key=int)
            right.plot([int(k) for k in ks], [curves["coverage"][k] for k in ks], style, marker="o", markersize=4,
                       color="#3557b7", label="validation" if not suffix else "test")
    ks = sorted({int(k) for values in validation.values() for k in values})
    for ax in (left, right):
        ax.set_xlabel("list length k")
        ax.set_xticks(ks)
        ax.set_ylim(bottom=0)
    left.set_ylabel("mean over users")
    left.legend(loc="best", fontsize=8)
    title(left, "List metrics at k")
    right.set_ylabel("share of the catalogue in any list")
    right.legend(loc="best", fontsize=8)
    title(right, "Catalogue coverage at k")
    return figure_html(fig, "metrics at k: precision, recall, NDCG, MAP and hit rate of the lists, and coverage")


def _curves_table(curves: dict[str, dict[str, float]], test: dict[str, dict[str, float]] | None) -> str:
    ks = sorted({k for values in curves.values() for k in values}, key=int)
    rows = []
    for name in (*_LIST_METRICS, "coverage"):
        for source, label in ((curves, ""), (test or {}, " (test)")):
            if name in source:
                rows.append([_NAMES[name] + label, *[float(source[name].get(k, math.nan)) for k in ks]])
    return table_html(rows, ["metric", *[f"@{k}" for k in ks]], numeric=range(1, len(ks) + 1), digits=3)


def _metrics(ctx: ReportContext, test: dict[str, Any] | None) -> str:
    info = ctx.result.extra.get("recommend", {})
    curves = info.get("curves") or {}
    scores = dict(info.get("scores") or {})
    tiles = [(f"test {name}", f"{value:.4f}") for name in scores
             if test is not None and (value := _test_value(test, name)) is not None]
    tiles += [(f"validation {name}", f"{value:.4f}") for name, value in scores.items()]
    test_curves = (test or {}).get("curves") or None
    if "coverage" in curves and str(LIST_K) in curves["coverage"]:
        tiles.append((f"catalogue coverage@{LIST_K}", f"{curves['coverage'][str(LIST_K)]:.1%}"))
    body = key_figures(tiles)
    if not curves:
        return body + "<p>The search recorded no list metrics (no ranking member finished).</p>"
    body += (f'<div class="charts">{_curves_chart(curves, test_curves)}</div>'
             + _curves_table(curves, test_curves))
    text = ("Validation: the final blend's lists for the users of the first validation split, scored against the "
            "items each user had held out (lists leave out what the user had in training). Precision@k: the share of "
            "the k items that were held out; recall@k: the share of the held-out items in the list; NDCG and MAP also "
            "reward hits near the top; hit rate: the share of users with at least one hit. Coverage@k: the share of "
            "the catalogue that appears in anyone's list.")
    if test is not None:
        text += _test_text(test)
    return body + note(text)


def _test_value(test: dict[str, Any], name: str) -> float | None:
    """The test value of a metric named as the search names it (``rmse``, ``ndcg@10``), when it was measured."""
    if "@" not in name:
        return test.get(name)
    base, _, k = name.partition("@")
    return test["curves"].get(base, {}).get(k)


def _test_text(test: dict[str, Any]) -> str:
    text = (f" Test (dashed): {test['n_users']:,} users' lists scored against their {test['n_relevant']:,} test "
            f"interactions, of {test['n_rows']:,} test rows")
    skipped = [(test["unknown_users"], "have a user without training interactions"),
               (test["unknown_items"], "have an item the model never saw"),
               (test["repeats"], "repeat a training interaction")]
    parts = [f"{n:,} {why}" for n, why in skipped if n]
    text += f" ({'; '.join(parts)}: not scored)." if parts else "."
    if "rmse" in test:
        text += f" Ratings: RMSE {test['rmse']:.4f} and MAE {test['mae']:.4f} over {test['n_rated']:,} rated rows."
    return text


def _test_metrics(ctx: ReportContext) -> dict[str, Any] | None:
    if ctx.test_data is None:
        return None
    from accelml.data import read_table

    return evaluate_lists(ctx.result.ensemble, read_table(ctx.test_data))


# ------------------------------------------------------------------ reach and examples
def _reach(ctx: ReportContext) -> str:
    reach = list_reach(ctx.result.ensemble)
    tiles = key_figures([
        (f"catalogue in the top-{reach['k']} lists", f"{reach['coverage']:.1%}"),
        (f"list slots on the top {HEAD_SHARE:.0%} of items", f"{reach['head_share_lists']:.1%}"),
        ("their share of training interactions", f"{reach['head_share_training']:.1%}"),
    ])
    lean = ("lean towards popular items more than the users did" if reach["head_share_lists"]
            > reach["head_share_training"] else "lean on popular items no more than the users did")
    return ("<h3>What the lists reach</h3>" + tiles + note(
        f"The final model's top-{reach['k']} lists for {reach['n_users']:,} users with training interactions: the "
        f"share of the catalogue that appears in any list, and the share of list slots that go to the most popular "
        f"{HEAD_SHARE:.0%} of items, against the share of the training interactions those items have: these lists "
        f"{lean}."))


def _history(recommender: Any, user: int) -> tuple[list[list[Any]], list[str], str]:
    """The user's training items: highest-rated first with ratings, else most popular first."""
    items = np.asarray(recommender.interactions.items, dtype=object)
    popularity = np.asarray(recommender.popularity)
    ratings = getattr(recommender, "ratings", None)
    if ratings is not None:
        row = ratings[user]
        indices, values = row.indices, row.data.astype(np.float64)
        order = np.lexsort((-popularity[indices], -values))[:HISTORY_ITEMS]
        return ([[items[i], f"{v:g}", int(popularity[i])] for i, v in zip(indices[order], values[order],
                                                                            strict=True)],
                ["item", "rating", "users"], "highest-rated first")
    indices = recommender.seen[user].indices
    order = np.argsort(-popularity[indices], kind="stable")[:HISTORY_ITEMS]
    return [[items[i], int(popularity[i])] for i in indices[order]], ["item", "users"], "most popular first"


def _recommend(ctx: ReportContext) -> Any:
    """The automl's ``recommend`` (what users call), or the recommender's when the report has only the result."""
    recommend = getattr(ctx.automl, "recommend", None)
    return recommend if callable(recommend) else ctx.result.ensemble.recommend


def _examples(ctx: ReportContext) -> str:
    recommender = ctx.result.ensemble
    users = list((ctx.result.extra.get("recommend") or {}).get("example_users") or [])[:MAX_EXAMPLES]
    if not users:
        return ""
    recommend = _recommend(ctx)
    popularity = np.asarray(recommender.popularity)
    parts, order_text = [], ""
    for user in users:
        index = int(recommender.interactions.user_index([user])[0])
        lists = recommend([user], k=LIST_K)
        rows = [[int(r.rank), r.item, float(r.score), int(popularity[i]) if (i := int(
            recommender.interactions.item_index([r.item])[0])) >= 0 else 0] for r in lists.itertuples()]
        source = str(lists["source"].iloc[0]) if len(lists) else "-"
        history, header, order_text = (_history(recommender, index) if index >= 0 else ([], ["item"], ""))
        n_history = int(recommender.seen[index].nnz) if index >= 0 else 0
        parts.append(
            f"<h3>User {esc(user)}</h3>"
            f'<div class="term-tables"><div><p><b>In training</b> ({n_history:,} items, up to {HISTORY_ITEMS} shown)'
            f"</p>{table_html(history, header, numeric=range(1, len(header)))}</div>"
            f"<div><p><b>Recommended</b> ({esc(source)})</p>"
            f"{table_html(rows, ['rank', 'item', 'score', 'users'], numeric=[0, 2, 3], digits=3)}</div></div>")
    return ("<h3>Example lists</h3>" + "".join(parts) + note(
        f"A few users with training interactions: what they had ({order_text}) and the final model's top "
        f"{LIST_K}, which leaves out what they already had. 'users': how many training users chose the item. Items "
        "are shown by their ids."))


def recommend_section(ctx: ReportContext) -> Section:
    """Metrics of the lists against k (validation, and test when given), their reach, and example lists."""
    test = _test_metrics(ctx)
    return Section("recommendations", "Recommendations", _metrics(ctx, test) + _reach(ctx) + _examples(ctx))
