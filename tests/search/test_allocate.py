"""The tuning allocator: trials go to the families with the cheapest expected improvement."""

from __future__ import annotations

from collections import Counter

import pytest

from accelml.search.allocate import Allocator


def _run(alloc: Allocator, outcome, n: int = 60) -> Counter:
    """Choose and record ``n`` trials one at a time; ``outcome(key, i)`` gives (loss or None, cost)."""
    chosen: Counter = Counter()
    for i in range(n):
        key = alloc.choose()
        loss, cost = outcome(key, chosen[key])
        alloc.record(key, loss=loss, cost=cost)
        chosen[key] += 1
    return chosen


def test_a_family_that_keeps_improving_gets_most_trials() -> None:
    alloc = Allocator({"improving": (0.30, 1.0), "stalled": (0.30, 1.0)}, seed=0)

    def outcome(key: str, i: int) -> tuple[float, float]:
        return (0.30 - 0.001 * (i + 1), 1.0) if key == "improving" else (0.31, 1.0)

    chosen = _run(alloc, outcome)
    assert chosen["improving"] > 2 * chosen["stalled"]
    assert chosen["stalled"] >= 1  # the other keeps a chance


def test_time_goes_to_the_cheaper_family_per_second() -> None:
    # Equal losses and no improvement: the family whose trials cost a tenth gets the larger share of trials.
    alloc = Allocator({"cheap": (0.30, 0.1), "dear": (0.30, 1.0)}, seed=1)
    chosen = _run(alloc, lambda key, i: (0.31, 0.1 if key == "cheap" else 1.0))
    assert chosen["cheap"] > 3 * chosen["dear"]


def test_a_family_far_behind_is_rarely_tuned() -> None:
    alloc = Allocator({"best": (0.20, 1.0), "close": (0.21, 1.0), "far": (0.60, 1.0)}, seed=2)
    chosen = _run(alloc, lambda key, i: (0.7, 1.0))  # nothing improves
    assert chosen["far"] < chosen["close"] and chosen["far"] <= 0.1 * sum(chosen.values())


def test_failures_count_as_cost_without_improvement() -> None:
    alloc = Allocator({"broken": (0.30, 1.0), "fine": (0.30, 1.0)}, seed=3)
    chosen = _run(alloc, lambda key, i: (None, 1.0) if key == "broken" else (0.30 - 0.001 * (i + 1), 1.0))
    assert chosen["fine"] > 2 * chosen["broken"]
    assert alloc.best == pytest.approx(0.30 - 0.001 * chosen["fine"])


def test_trials_in_flight_count_as_spent() -> None:
    alloc = Allocator({"a": (0.30, 1.0), "b": (0.30, 1.0)}, seed=4)
    before = alloc.eci("a")
    for _ in range(5):
        alloc._families["a"].pending += 1  # as if five trials of it were running
    assert alloc.eci("a") > before


def test_same_seed_same_choices() -> None:
    def outcome(key: str, i: int) -> tuple[float, float]:
        return (0.3 - 0.002 * i if key == "x" else 0.32, 1.0)

    a = _run(Allocator({"x": (0.3, 1.0), "y": (0.31, 1.0), "z": (0.33, 1.0)}, seed=5), outcome)
    b = _run(Allocator({"x": (0.3, 1.0), "y": (0.31, 1.0), "z": (0.33, 1.0)}, seed=5), outcome)
    assert a == b


def test_needs_a_family() -> None:
    with pytest.raises(ValueError, match="at least one family"):
        Allocator({})


def test_a_retired_family_is_never_chosen_again() -> None:
    alloc = Allocator({"slow": (0.20, 1.0), "fast": (0.30, 1.0)}, seed=6)
    alloc.choose()
    alloc.retire("slow")
    assert alloc.active
    assert {alloc.choose() for _ in range(20)} == {"fast"}
    alloc.retire("fast")
    assert not alloc.active
    with pytest.raises(LookupError):
        alloc.choose()
