"""Recommendation metrics: top-k lists and their ranking metrics against hand-computed examples, and a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from accelml.exceptions import ConfigError, DataError
from accelml.metrics import ranking
from accelml.metrics.ranking import mae, ranking_metrics, rmse, top_k


def _relevant(sets: list[set[int]], n_items: int) -> sparse.csr_matrix:
    dense = np.zeros((len(sets), n_items))
    for user, items in enumerate(sets):
        dense[user, list(items)] = 1.0
    return sparse.csr_matrix(dense)


# ---------------------------------------------------------------------------------------------------------- top_k


def test_top_k_orders_by_score_and_breaks_ties_by_lower_index() -> None:
    scores = np.array([
        [2.0, 5.0, 5.0, 1.0, 5.0],  # three items tied at the top
        [1.0, 2.0, 1.0, 0.0, 1.0],  # one clear best, then a tie of three that straddles the cut at k = 3
        [3.0, 1.0, 3.0, 3.0, 0.0],
    ])
    assert top_k(scores, 2).tolist() == [[1, 2], [1, 0], [0, 2]]
    assert top_k(scores, 3).tolist() == [[1, 2, 4], [1, 0, 2], [0, 2, 3]]
    assert top_k(scores, 4).tolist() == [[1, 2, 4, 0], [1, 0, 2, 4], [0, 2, 3, 1]]


def test_top_k_never_returns_excluded_items() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5],
                       [0.1, 0.2, 0.3, 0.4, 0.5]])
    # user 0 saw items 0 and 2; user 1 saw item 4; a stored zero (user 1, item 3) excludes nothing
    seen = sparse.csr_matrix((np.array([1.0, 1.0, 1.0, 0.0]), (np.array([0, 0, 1, 1]), np.array([0, 2, 4, 3]))),
                             shape=(2, 5))
    before = seen.copy()
    assert top_k(scores, 2, exclude=seen).tolist() == [[1, 3], [3, 2]]
    assert top_k(scores, 2).tolist() == [[0, 1], [4, 3]]
    assert (seen != before).nnz == 0 and seen.nnz == 4  # the caller's matrix is left as it was
    # a dense boolean mask works as well
    assert top_k(scores, 2, exclude=seen.toarray() != 0).tolist() == [[1, 3], [3, 2]]


def test_top_k_pads_with_minus_one_when_k_exceeds_the_eligible_items() -> None:
    scores = np.array([[0.2, 0.9, 0.5],
                       [0.3, -np.inf, 0.1]])  # -inf: never recommended
    assert top_k(scores, 5).tolist() == [[1, 2, 0, -1, -1], [0, 2, -1, -1, -1]]
    seen = sparse.csr_matrix(np.array([[1, 1, 1], [0, 0, 1]]))  # user 0 has seen the whole catalogue
    assert top_k(scores, 2, exclude=seen).tolist() == [[-1, -1], [0, -1]]
    assert top_k(np.zeros((0, 3)), 2).shape == (0, 2)


def test_top_k_accepts_integer_and_float32_scores() -> None:
    assert top_k(np.array([[1, 3, 2]]), 2).tolist() == [[1, 2]]
    out = top_k(np.array([[0.5, 0.25, 0.75]], dtype=np.float32), 3)
    assert out.tolist() == [[2, 0, 1]] and out.dtype == np.int64


def test_top_k_matches_a_full_sort_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking, "_BLOCK_CELLS", 64)  # blocks of 2 users: the block boundaries are exercised
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(37, 30)).astype(float)  # many ties
    seen = sparse.random(37, 30, density=0.3, random_state=1, format="csr")
    for exclude in (None, seen):
        masked = scores.copy()
        if exclude is not None:
            masked[exclude.toarray() != 0] = -np.inf
        for k in (1, 7, 30, 40):
            expected = np.full((37, k), -1)
            for user, row in enumerate(masked):
                order = [i for i in np.lexsort((np.arange(30), -row)) if row[i] > -np.inf][:k]  # score, then index
                expected[user, : len(order)] = order
            assert np.array_equal(top_k(scores, k, exclude=exclude), expected), (k, exclude is None)


def test_top_k_errors() -> None:
    with pytest.raises(ConfigError, match="k must be a positive integer; got 0"):
        top_k(np.ones((2, 3)), 0)
    with pytest.raises(DataError, match=r"NaN \(first in user row 1\)"):
        top_k(np.array([[1.0, 2.0], [np.nan, 1.0]]), 1)
    with pytest.raises(DataError, match=r"exclude has shape \(2, 2\); expected \(2, 3\)"):
        top_k(np.ones((2, 3)), 1, exclude=sparse.eye(2, format="csr"))
    with pytest.raises(DataError, match="users x items"):
        top_k(np.ones(3), 1)


# ------------------------------------------------------------------------------------------------ ranking_metrics


def test_ranking_metrics_by_hand() -> None:
    recs = np.array([[0, 1, 2],
                     [3, 4, 0],
                     [5, 1, -1]])  # user 2: a list with an empty slot
    relevant = _relevant([{1, 4}, {0, 3, 4, 5}, set()], n_items=8)
    got = ranking_metrics(recs, relevant, k=3, n_items=8)
    # user 0: hits [0, 1, 0], |R| = 2;  user 1: hits [1, 1, 1], |R| = 4;  user 2: no relevant item, not counted
    # precision: (1/3 + 3/3) / 2 = 2/3
    # recall:    (1/2 + 3/4) / 2 = 0.625
    # ndcg:      user 0: DCG = 1/log2(3) = 0.63093, IDCG over min(3, 2) = 2 hits = 1 + 1/log2(3) = 1.63093 -> 0.38685
    #            user 1: 3 hits in a row, IDCG over min(3, 4) = 3 -> 1;  mean (0.38685 + 1) / 2 = 0.69343
    # map:       user 0: precision at the hit (position 2) = 1/2, over min(3, 2) = 2 -> 0.25
    #            user 1: (1/1 + 2/2 + 3/3) / min(3, 4) = 1;  mean 0.625
    # hit rate:  both evaluated users have a hit -> 1
    # coverage:  items {0, 1, 2, 3, 4, 5} of 8, user 2's item 5 included -> 0.75
    ndcg_user0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert got == pytest.approx({
        "precision@3": 2 / 3, "recall@3": 0.625, "ndcg@3": (ndcg_user0 + 1) / 2, "map@3": 0.625,
        "hit_rate@3": 1.0, "coverage@3": 0.75,
    })
    assert list(got) == ["precision@3", "recall@3", "ndcg@3", "map@3", "hit_rate@3", "coverage@3"]
    assert all(type(value) is float for value in got.values())
    assert round(got["ndcg@3"], 5) == 0.69343


def test_ranking_metrics_with_misses_and_late_hits() -> None:
    recs = np.array([[4, 0, 3, 1],
                     [0, 1, 2, 3]])
    relevant = _relevant([{1, 3}, {4}], n_items=5)
    got = ranking_metrics(recs, relevant, k=4, n_items=5)
    # user 0: hits [0, 0, 1, 1], |R| = 2;  user 1: hits [0, 0, 0, 0], |R| = 1
    # precision: (2/4 + 0) / 2 = 0.25;  recall: (2/2 + 0) / 2 = 0.5;  hit rate: 1/2
    # ndcg user 0: DCG = 1/log2(4) + 1/log2(5) = 0.5 + 0.43068 = 0.93068; IDCG = 1 + 0.63093 = 1.63093 -> 0.57064
    # map user 0: (1/3 + 2/4) / min(4, 2) = 0.41667;  user 1: 0
    # coverage: every item of 5 -> 1
    ndcg_user0 = (0.5 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert got == pytest.approx({
        "precision@4": 0.25, "recall@4": 0.5, "ndcg@4": ndcg_user0 / 2, "map@4": (1 / 3 + 2 / 4) / 2 / 2,
        "hit_rate@4": 0.5, "coverage@4": 1.0,
    })
    assert round(ndcg_user0, 5) == 0.57064


def test_ranking_metrics_when_k_exceeds_the_catalogue() -> None:
    scores = np.array([[0.1, 0.5, 0.9]])
    recs = top_k(scores, 5)  # [[2, 1, 0, -1, -1]]
    got = ranking_metrics(recs, _relevant([{1}], n_items=3), k=5, n_items=3)
    # hits [0, 1, 0, 0, 0], |R| = 1: precision 1/5 (empty slots are misses); recall 1;
    # ndcg (1/log2(3)) / 1 = 0.63093; map (1/2) / min(5, 1) = 0.5; coverage 3/3
    assert got == pytest.approx({
        "precision@5": 0.2, "recall@5": 1.0, "ndcg@5": 1 / math.log2(3), "map@5": 0.5,
        "hit_rate@5": 1.0, "coverage@5": 1.0,
    })


def test_ranking_metrics_on_lists_from_tied_scores_and_excluded_items() -> None:
    # user 0: items 1, 2 and 3 tie; seen item 0 is excluded, so the list is [1, 2] (lower indices win the tie)
    # user 1: nothing excluded; items 0 and 4 tie at the top -> [0, 4]
    scores = np.array([[9.0, 4.0, 4.0, 4.0, 1.0],
                       [7.0, 2.0, 3.0, 1.0, 7.0]])
    seen = _relevant([{0}, set()], n_items=5)
    recs = top_k(scores, 2, exclude=seen)
    assert recs.tolist() == [[1, 2], [0, 4]]
    got = ranking_metrics(recs, _relevant([{2, 4}, {4}], n_items=5), k=2, n_items=5)
    # user 0: hits [0, 1], |R| = 2: precision 1/2, recall 1/2, ndcg 0.63093 / 1.63093 = 0.38685, map (1/2) / 2 = 0.25
    # user 1: hits [0, 1], |R| = 1: precision 1/2, recall 1, ndcg 0.63093 / 1 = 0.63093, map (1/2) / 1 = 0.5
    # coverage: items {0, 1, 2, 4} of 5 = 0.8
    d = 1 / math.log2(3)
    assert got == pytest.approx({
        "precision@2": 0.5, "recall@2": 0.75, "ndcg@2": (d / (1 + d) + d) / 2, "map@2": 0.375,
        "hit_rate@2": 1.0, "coverage@2": 0.8,
    })
    # without the exclusion user 0 is recommended the seen item 0 and scores less
    assert ranking_metrics(top_k(scores, 2), _relevant([{2, 4}, {4}], 5), k=2, n_items=5)["precision@2"] == 0.25


def test_ranking_metrics_reads_the_first_k_columns_and_pads_short_lists() -> None:
    relevant = _relevant([{3}], n_items=4)
    # k = 2 reads [0, 1]: no hit, although item 3 comes third
    assert ranking_metrics(np.array([[0, 1, 3]]), relevant, k=2, n_items=4)["hit_rate@2"] == 0.0
    # a list of 1 scored at k = 3: [3, -1, -1] -> precision 1/3, ndcg 1
    got = ranking_metrics(np.array([[3]]), relevant, k=3, n_items=4)
    assert got["precision@3"] == pytest.approx(1 / 3) and got["ndcg@3"] == 1.0 and got["coverage@3"] == 0.25


def test_ranking_metrics_skip_users_without_relevant_items() -> None:
    recs = np.array([[0, 1], [2, 3]])
    # a stored zero is not relevant: user 1 has no relevant item
    relevant = sparse.csr_matrix((np.array([1.0, 0.0]), (np.array([0, 1]), np.array([1, 2]))), shape=(2, 4))
    got = ranking_metrics(recs, relevant, k=2, n_items=4)
    # only user 0 counts: hits [0, 1]
    assert got["precision@2"] == 0.5 and got["recall@2"] == 1.0 and got["coverage@2"] == 1.0
    nobody = ranking_metrics(recs, sparse.csr_matrix((2, 4)), k=2, n_items=4)
    assert all(math.isnan(nobody[name]) for name in ("precision@2", "recall@2", "ndcg@2", "map@2", "hit_rate@2"))
    assert nobody["coverage@2"] == 1.0


def _loop_metrics(recs: np.ndarray, sets: list[set[int]], k: int, n_items: int) -> dict[str, float]:
    """The textbook definitions, one user at a time."""
    rows = []
    for items, rel in zip(recs[:, :k].tolist(), sets):
        if not rel:
            continue
        hits = [1.0 if item in rel else 0.0 for item in items]
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(rel))))
        ap = sum(h * sum(hits[: i + 1]) / (i + 1) for i, h in enumerate(hits)) / min(k, len(rel))
        rows.append((sum(hits) / k, sum(hits) / len(rel), dcg / idcg, ap, float(any(hits))))
    means = np.mean(rows, axis=0)
    shown = {item for items in recs[:, :k].tolist() for item in items if item >= 0}
    names = ["precision", "recall", "ndcg", "map", "hit_rate"]
    return {**{f"{n}@{k}": float(v) for n, v in zip(names, means)}, f"coverage@{k}": len(shown) / n_items}


def test_ranking_metrics_match_a_plain_loop() -> None:
    rng = np.random.default_rng(3)
    n_users, n_items = 60, 25
    sets = [set(rng.choice(n_items, size=rng.integers(0, 6), replace=False).tolist()) for _ in range(n_users)]
    seen = sparse.random(n_users, n_items, density=0.2, random_state=4, format="csr")
    recs = top_k(rng.random((n_users, n_items)), 10, exclude=seen)
    for k in (1, 5, 10):
        assert ranking_metrics(recs, _relevant(sets, n_items), k=k, n_items=n_items) == pytest.approx(
            _loop_metrics(recs, sets, k, n_items))


def test_ranking_metrics_errors() -> None:
    relevant = _relevant([{0}, {1}], n_items=3)
    with pytest.raises(DataError, match="item 3 \\(user row 1\\) is outside the catalogue of 3 items"):
        ranking_metrics(np.array([[0, 1], [2, 3]]), relevant, k=2, n_items=3)
    with pytest.raises(DataError, match="user row 0 recommends item 1 more than once"):
        ranking_metrics(np.array([[1, 1], [0, -1]]), relevant, k=2, n_items=3)
    with pytest.raises(DataError, match=r"relevant has shape \(2, 3\); expected \(2, 4\)"):
        ranking_metrics(np.array([[0, 1], [2, 3]]), relevant, k=2, n_items=4)
    with pytest.raises(DataError, match="integer item indices"):
        ranking_metrics(np.array([[0.0, 1.0], [2.0, 1.0]]), relevant, k=2, n_items=3)
    with pytest.raises(ConfigError, match="n_items must be a positive integer"):
        ranking_metrics(np.array([[0], [1]]), relevant, k=1, n_items=0)
    with pytest.raises(ConfigError, match="k must be a positive integer; got True"):
        ranking_metrics(np.array([[0], [1]]), relevant, k=True, n_items=3)


# ------------------------------------------------------------------------------------------------- rating errors


def test_rmse_and_mae_by_hand() -> None:
    y, yhat = [4, 2, 5, 1], [3.5, 2.0, 3.0, 2.0]
    # errors 0.5, 0, 2, -1: squares 0.25 + 0 + 4 + 1 = 5.25 over 4 -> rmse sqrt(1.3125); abs 3.5 / 4 -> mae 0.875
    assert rmse(y, yhat) == pytest.approx(math.sqrt(1.3125))
    assert mae(y, yhat) == 0.875
    assert rmse(np.array([[3.0]]), [3.0]) == 0.0


def test_rating_errors_reject_bad_input() -> None:
    with pytest.raises(DataError, match="same, non-zero length; got 2 and 3"):
        rmse([1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="same, non-zero length; got 0 and 0"):
        mae([], [])
    with pytest.raises(DataError, match="predictions hold 1 missing value"):
        mae([1.0, 2.0], [1.0, np.nan])


def test_ranking_metrics_by_name_for_any_k() -> None:
    import pickle

    from accelml.metrics import get_metric

    recs = np.array([[0, 2], [1, 3]])
    relevant = np.array([[0, 0, 1, 0], [0, 0, 0, 1]])
    metric = get_metric("NDCG@2", "recommend")
    assert metric.name == "ndcg@2" and metric.greater_is_better
    assert metric.score(relevant, recs) == ranking_metrics(recs, relevant, 2, 4)["ndcg@2"]
    assert pickle.loads(pickle.dumps(metric)) == metric
    assert get_metric(None, "recommend").name == "ndcg@10"
    with pytest.raises(ConfigError, match="unknown metric 'ndcg@0'"):
        get_metric("ndcg@0", "recommend")
    with pytest.raises(ConfigError, match="not binary"):
        get_metric("precision@10", "binary")
