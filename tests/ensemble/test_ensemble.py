"""Greedy ensemble selection."""

from __future__ import annotations

import numpy as np

from accelml.ensemble.greedy import greedy_weights


def test_greedy_picks_complementary_members_and_never_worsens() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    good_a = y + rng.normal(scale=0.5, size=500)
    good_b = y + rng.normal(scale=0.5, size=500)
    bad = rng.normal(size=500)

    def mse(p: np.ndarray) -> float:
        return float(np.mean((p - y) ** 2))

    weights, loss = greedy_weights([bad, good_a, good_b], mse)
    assert set(weights) == {1, 2}
    assert abs(sum(weights.values()) - 1.0) < 1e-12
    assert loss < min(mse(good_a), mse(good_b))


def test_single_candidate() -> None:
    y = np.arange(5.0)
    weights, loss = greedy_weights([y + 1], lambda p: float(np.mean((p - y) ** 2)))
    assert weights == {0: 1.0} and loss == 1.0
