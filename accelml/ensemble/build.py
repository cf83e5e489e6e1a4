"""Turn the search's trials into the final predictor."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.ensemble.calibrate import apply_temperature, fit_temperature
from accelml.ensemble.constraints import Constraints, measure_member
from accelml.ensemble.greedy import greedy_weights
from accelml.ensemble.predictor import Ensemble, Member
from accelml.ensemble.prune import Allowance, lighter_weights, measure_costs, with_inputs
from accelml.ensemble.refit import planned_models
from accelml.metrics import Metric
from accelml.search.evaluate import FittedTrial
from accelml.search.folds import FoldCache

__all__ = ["build_ensemble"]

logger = logging.getLogger(__name__)


def build_ensemble(
    trials: list[FittedTrial], folds: FoldCache, metric: Metric, constraints: Constraints | None = None, *,
    allowance: Allowance | None = None, refit: str = "free", deadline: Deadline | None = None, n_jobs: int = 1,
) -> tuple[Ensemble, float, np.ndarray, dict[str, dict[str, Any]], dict[str, Any] | None]:
    """Greedy ensemble selection over the kept trials' out-of-fold predictions.

    Where the metric reads probabilities, a temperature fitted on the out-of-fold output calibrates them (see
    :mod:`accelml.ensemble.calibrate`).

    Returns the ensemble, its validation score, its out-of-fold output for every row (zeros where a holdout split
    made no prediction; see ``folds.oof_rows``), and, under deployment ``constraints``, each candidate's measured
    latency and size and whether it meets them (the ensemble is then the best mix whose members together meet them),
    and, with an ``allowance`` (see :mod:`accelml.ensemble.prune`), what making it lighter weighed (None: nothing).
    ``refit`` is the refit mode that will follow (see :func:`~accelml.ensemble.refit.refit_mode`): it says how many
    models each member will predict with, on ``n_jobs`` threads.

    The ensemble only ever sees out-of-fold predictions, so its score is measured on rows no member trained on
    (though choosing the weights on them makes it slightly optimistic).
    """
    from accelml.exceptions import AccelMLError
    from accelml.models import MODELS

    candidates = [t for t in trials if t.result.ok and t.models and t.oof is not None]
    if constraints is not None and constraints.active:  # a stacker's cost is its inputs' too: not measured alone
        candidates = [t for t in candidates if not t.result.extra.get("inputs")]
    if not candidates:
        failures = "; ".join(f"{t.result.spec.name}: {t.result.error}" for t in trials if t.result.error)[:500]
        raise AccelMLError(
            "no model finished within the time limit; give a larger --time-limit"
            + (f" (failures: {failures})" if failures else "")
        )
    candidates.sort(key=lambda t: (t.result.loss, t.result.spec.trial_id))
    rows = folds.oof_rows

    def loss(pred: np.ndarray) -> float:  # pred: one entry per out-of-fold row
        return folds.validation.loss(metric, pred, aligned=True)

    # With repeated k-fold, the final model keeps the first repeat's fold models: every row was scored by the average
    # of all repeats, but predicting with a third of the models costs a third of the time for nearly the same bag.
    per_repeat = len(folds.first_repeat)

    def member(t: FittedTrial, weight: float) -> Member:
        kind = MODELS[t.result.spec.model].preprocessing
        models = t.models[:per_repeat]
        pre = [folds.get(k, kind).preprocessor for k in range(len(models))]
        inputs = tuple(t.result.extra.get("inputs", ()))
        return Member(t.result.spec.name, t.result.spec.model, weight, pre, models, inputs)

    costs: dict[str, dict[str, Any]] = {}
    feasible = None
    if constraints is not None and constraints.active:
        row = folds.X.iloc[:1]
        measured = [measure_member(member(t, 1.0), row, size=constraints.max_size_mb is not None) for t in candidates]
        for t, cost in zip(candidates, measured):
            costs[t.result.spec.name] = {**cost.to_dict(), "meets": constraints.meets(cost.latency_ms, cost.size_mb)}

        def feasible(chosen: frozenset[int]) -> bool:
            return constraints.meets(sum(measured[i].latency_ms for i in chosen), sum(measured[i].size_mb for i in chosen))

        if not any(feasible(frozenset({i})) for i in range(len(candidates))):
            fastest = min(measured, key=lambda c: c.latency_ms)
            smallest = min(measured, key=lambda c: c.size_mb)
            raise AccelMLError(
                f"no model meets {constraints.describe()}: the fastest takes {fastest.latency_ms:.1f} ms per row and "
                f"the smallest is {smallest.size_mb:.2f} MB; relax the limits or try refit_full (--refit-full)"
            )

    predictions = [t.oof[rows] for t in candidates]
    weights, ens_loss = greedy_weights(predictions, loss, feasible=feasible)
    lighter = None
    if allowance is not None and feasible is None:
        found = _lighten(candidates, predictions, weights, ens_loss, loss, member, folds, allowance, refit, deadline,
                         n_jobs)
        if found is not None:
            weights, ens_loss, lighter = found
    oof = sum(weight * candidates[index].oof for index, weight in weights.items())
    members = [member(candidates[index], weight) for index, weight in weights.items()]
    # the first-layer models a chosen stacker reads come along (weight 0 unless chosen too), and before it
    chosen = {m.name for m in members}
    by_name = {t.result.spec.name: t for t in candidates}
    for name in dict.fromkeys(n for m in members for n in m.inputs):
        if name not in chosen:
            members.append(member(by_name[name], 0.0))
    members.sort(key=lambda m: bool(m.inputs))
    temperature = 1.0
    if metric.needs_proba and oof.ndim == 2:  # probabilities the metric reads as values: calibrate them
        temperature, ens_loss = fit_temperature(oof[rows], loss)
        if temperature != 1.0:
            oof = oof.copy()
            oof[rows] = apply_temperature(oof[rows], temperature)
    score = -ens_loss if metric.greater_is_better else ens_loss
    logger.info("ensemble of %s (temperature %.3f): %s=%.5f", [m.name for m in members if m.weight > 0], temperature,
                metric.name, score)
    return Ensemble(members, temperature), float(score), oof, costs, lighter


def _planned_cost(member: Member, planned: int) -> float:
    """What ``member`` will cost to predict relative to one of its fold models: its ``planned`` models, and where it
    is refit, a model trained on ``k / (k - 1)`` times the rows for a tenth more rounds (on magic_telescope's 60 s
    ensemble the refit models took 1.2 to 2 times as long on 1,000 rows as a fold model)."""
    k = len(member.models)
    return 1.1 * k / (k - 1) if planned == 1 and k > 1 else float(planned)


def _lighten(candidates: list[FittedTrial], predictions: list[np.ndarray], weights: dict[int, float], full_loss: float,
             loss: Any, member: Any, folds: FoldCache, allowance: Allowance, refit: str, deadline: Deadline | None,
             n_jobs: int) -> tuple[dict[int, float], float, dict[str, Any]] | None:
    """:func:`~accelml.ensemble.prune.lighter_weights` for the greedy ``weights``, each member's cost measured: the
    weights and loss to use and what was weighed; None where the ensemble fits the allowance, or where the search's
    estimate of the measurement itself is over a tenth of the time left (then it is not measured)."""
    names = [t.result.spec.name for t in candidates]
    inputs = [tuple(t.result.extra.get("inputs", ())) for t in candidates]
    pool = with_inputs(weights, names, inputs)
    # about three times each member's first fold model on 1,000 rows (the search timed all its fold models)
    estimate = sum(3 * candidates[i].result.predict_time / max(len(candidates[i].models), 1) for i in pool)
    if deadline is not None and estimate > 0.1 * deadline.remaining():
        logger.info("not weighing the ensemble's prediction cost: about %.1f s to time it, %.1f s left", estimate,
                    deadline.remaining())
        return None
    members = sorted((member(candidates[i], 1.0) for i in pool), key=lambda m: bool(m.inputs))
    for m in members:
        m.models[0].set_threads(n_jobs)  # as the final ensemble will predict
    read = {name for m in members for name in m.inputs}
    costs, shared = measure_costs(members, folds.X, lambda m: _planned_cost(m, planned_models(m, refit, read)))
    found = lighter_weights(predictions, names, inputs, costs, shared, loss, weights, full_loss, allowance)
    if found is None:
        return None
    new_weights, new_loss, record = found
    record["costs"] = {**{name: cost.to_dict() for name, cost in costs.items()}, "preprocessing": shared.to_dict()}
    if record["pruned"]:
        logger.info("lighter ensemble without %s: 1,000 rows %.3f -> %.3f s, one row %.2f -> %.2f ms",
                    record["dropped"], record["batch_s"], record["batch_s_after"], record["row_ms"],
                    record["row_ms_after"])
    return new_weights, new_loss, record
