"""Lighter ensembles: drop members whose prediction cost outweighs what they add to the validation score.

Greedy ensemble selection keeps every member that lowers the out-of-fold loss at all, however little and whatever it
costs to predict. Under a time limit the default weighs that: when the ensemble, as it will be after the refit,
predicts 1,000 rows in more than the bag's share of the limit (:data:`~accelml.ensemble.refit.BAG_BATCH_SHARE`, 20 ms
at 60 s) or one row in more than :data:`ROW_MS`, selection is run again among its members with those allowances (then
twice and four times them) as a budget, and the lightest result whose validation loss is within :data:`TOLERANCE`
of the full ensemble's replaces it. On magic_telescope at 60 s the full ensemble (CatBoost, three LightGBMs, extra
trees and a stacker on three of them) took 54 ms per 1,000 rows; without the extra trees and the stacker, 27 ms, for a
validation AUC of 0.94046 instead of 0.94104 (test 0.94684 instead of 0.94778; AutoGluon medium 0.9468, FLAML 0.93738).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from accelml.ensemble.greedy import greedy_weights
from accelml.ensemble.predictor import Member
from accelml.ensemble.refit import BAG_BATCH_SHARE

__all__ = ["ROW_MS", "TOLERANCE", "Allowance", "PredictionCost", "lighter_weights", "measure_costs", "with_inputs"]

ROW_MS = 5.0  # one row, in process
TOLERANCE = 1e-3  # of the validation loss: what the benchmark calls a tie
_SCALES = (1, 2, 4)  # the allowances tried, lightest first


@dataclass(frozen=True)
class Allowance:
    """What the default ensemble may cost to predict before it is made lighter."""

    batch_s: float  # 1,000 rows
    row_ms: float = ROW_MS  # one row

    @classmethod
    def for_limit(cls, time_limit: float | None) -> Allowance | None:
        """The allowance of a fit limited to ``time_limit`` seconds; None (no pruning) without a limit.

        >>> Allowance.for_limit(60), Allowance.for_limit(None)
        (Allowance(batch_s=0.02, row_ms=5.0), None)
        """
        return cls(round(BAG_BATCH_SHARE * time_limit, 6)) if time_limit else None


@dataclass(frozen=True)
class PredictionCost:
    """What a member costs to predict as it will be after the refit (or what preprocessing costs), in a 1,000-row
    batch and for one row. (Not :class:`~accelml.ensemble.constraints.MemberCost`: latency and size on disk.)"""

    batch_s: float  # 1,000 rows
    row_ms: float  # one row

    def to_dict(self) -> dict[str, float]:
        return {"batch_s": round(self.batch_s, 5), "row_ms": round(self.row_ms, 3)}


def with_inputs(chosen: Iterable[int], names: Sequence[str], inputs: Sequence[Sequence[str]]) -> set[int]:
    """``chosen`` (indices into ``names``) and, for each stacker among them, the members it reads, and theirs.

    >>> sorted(with_inputs({2}, ["a", "b", "stack"], [(), (), ("a", "b")]))
    [0, 1, 2]
    """
    index = {name: i for i, name in enumerate(names)}
    out, todo = set(), list(chosen)
    while todo:
        i = todo.pop()
        if i not in out:
            out.add(i)
            todo.extend(index[name] for name in inputs[i])
    return out


def measure_costs(members: Sequence[Member], X: pd.DataFrame,
                  planned: Callable[[Member], float]) -> tuple[dict[str, PredictionCost], PredictionCost]:
    """Each member's cost, timed with its first fold model on 1,000 rows of ``X`` (best of two after a warm-up) and
    on one row (best of three), times what its ``planned`` models will cost relative to that one; and, apart, the cost of their
    preprocessors, which members of one kind share. ``members`` come inputs first: a stacked member is timed on its
    inputs' outputs."""
    batch = X.iloc[np.resize(np.arange(len(X)), 1000)]
    batch_s, shared_batch = _time_members(members, batch, planned, repeats=2)
    row_s, shared_row = _time_members(members, batch.iloc[:1], planned, repeats=3)
    costs = {m.name: PredictionCost(batch_s[m.name], row_s[m.name] * 1000) for m in members}
    return costs, PredictionCost(shared_batch, shared_row * 1000)


def _time_members(members: Sequence[Member], rows: pd.DataFrame, planned: Callable[[Member], float],
                  repeats: int) -> tuple[dict[str, float], float]:
    """Seconds each member's first fold model takes on ``rows`` (its preprocessor's output given), times its
    ``planned`` models, and the seconds of the distinct preprocessors together."""
    transformed: dict[int, np.ndarray] = {}
    outputs: dict[str, np.ndarray] = {}
    seconds, shared = {}, 0.0
    for member in members:
        pre = member.preprocessors[0]
        if id(pre) not in transformed:
            transformed[id(pre)], took = _best(functools.partial(pre.transform, rows), repeats)
            shared += took
        one = Member(member.name, member.model, 1.0, [pre], member.models[:1], member.inputs)
        outputs[member.name], took = _best(functools.partial(one.predict, rows, dict(transformed), outputs), repeats)
        seconds[member.name] = took * planned(member)
    return seconds, shared


def _best(call: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """``call``'s result and its best time in seconds over ``repeats`` calls after one more to warm up."""
    out, best = call(), np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - started)
    return out, float(best)


def lighter_weights(
    predictions: Sequence[np.ndarray],
    names: Sequence[str],
    inputs: Sequence[Sequence[str]],
    costs: dict[str, PredictionCost],
    shared: PredictionCost,
    loss: Callable[[np.ndarray], float],
    weights: dict[int, float],
    full_loss: float,
    allowance: Allowance,
    tolerance: float = TOLERANCE,
) -> tuple[dict[int, float], float, dict[str, Any]] | None:
    """The lightest re-selection among the members of ``weights`` (indices into ``predictions``, whose members are
    ``names``, each reading its ``inputs``, each costing its ``costs`` plus, all together, the ``shared``
    preprocessing) that fits the allowance (or twice, four times it) with a loss within
    ``tolerance`` of ``full_loss``, relative: its weights, its loss and what was weighed (``pruned`` False, and
    ``weights`` unchanged, where no lighter one is close enough); None where the ensemble already fits the allowance.

    Example:
        >>> y = np.array([0.0, 1.0, 2.0, 3.0])
        >>> preds = [y + 0.5, y + 0.49, y - 3.0]  # a and b nearly the same, b dear to predict
        >>> costs = {"a": PredictionCost(0.001, 0.1), "b": PredictionCost(0.5, 1.0), "c": PredictionCost(0.001, 0.1)}
        >>> mse = lambda p: float(np.mean((p - y) ** 2))
        >>> full = mse((preds[0] + preds[1]) / 2)
        >>> w, l, record = lighter_weights(preds, "abc", [(), (), ()], costs, PredictionCost(0.001, 0.1), mse,
        ...                                {0: 0.5, 1: 0.5}, full, Allowance(0.02), tolerance=0.05)
        >>> w, record["dropped"], record["batch_s"], record["batch_s_after"]
        ({0: 1.0}, ['b'], 0.502, 0.002)
    """
    def closure(chosen: frozenset[int] | set[int]) -> set[int]:
        return with_inputs(chosen, names, inputs)

    def cost(chosen: frozenset[int] | set[int]) -> tuple[float, float]:
        members = [costs[names[i]] for i in closure(chosen)] + [shared]
        return sum(c.batch_s for c in members), sum(c.row_ms for c in members)

    batch_s, row_ms = cost(set(weights))
    record: dict[str, Any] = {"allowance_batch_s": allowance.batch_s, "allowance_row_ms": allowance.row_ms,
                              "batch_s": round(batch_s, 5), "row_ms": round(row_ms, 3)}
    if batch_s <= allowance.batch_s and row_ms <= allowance.row_ms:
        return None
    pool = sorted(closure(set(weights)))
    limit = full_loss + tolerance * max(abs(full_loss), 1e-12)
    for scale in _SCALES:
        def fits(chosen: frozenset[int], scale: int = scale) -> bool:
            b, r = cost({pool[k] for k in chosen})
            return b <= scale * allowance.batch_s and r <= scale * allowance.row_ms

        if not any(fits(frozenset({k})) for k in range(len(pool))):
            continue
        found, found_loss = greedy_weights([predictions[i] for i in pool], loss, feasible=fits)
        if found_loss > limit:
            continue
        chosen = {pool[k]: w for k, w in found.items()}
        kept = closure(set(chosen))
        if kept == set(pool):  # every member still there: nothing lighter than the full ensemble
            break
        after_batch, after_row = cost(set(chosen))
        record.update(pruned=True, scale=scale, loss_before=full_loss, loss_after=found_loss,
                      batch_s_after=round(after_batch, 5), row_ms_after=round(after_row, 3),
                      dropped=[names[i] for i in pool if i not in kept])
        return chosen, found_loss, record
    record.update(pruned=False, dropped=[])
    return {i: w for i, w in weights.items()}, full_loss, record
