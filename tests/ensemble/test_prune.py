"""Lighter ensembles: members whose prediction cost outweighs what they add are dropped (accelml.ensemble.prune)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import accelml
from accelml.ensemble import build
from accelml.ensemble.prune import Allowance, PredictionCost, lighter_weights, measure_costs
from accelml.ensemble.refit import planned_models
from tests.conftest import make_table

Y = np.linspace(0.0, 3.0, 40)


def _mse(p: np.ndarray) -> float:
    return float(np.mean((p - Y) ** 2))


def _lighter(preds, names, inputs, costs, weights, allowance=None, tolerance=0.05):
    allowance = allowance or Allowance(0.02)
    full = _mse(sum(w * preds[i] for i, w in weights.items()))
    return lighter_weights(preds, names, inputs, costs, PredictionCost(0.0, 0.0), _mse, weights, full, allowance,
                           tolerance=tolerance)


def test_a_dear_member_that_adds_little_is_dropped_and_a_fitting_ensemble_is_left_alone() -> None:
    preds = [Y + 0.3, Y + 0.29, Y + 5.0]  # the dear one barely better
    costs = {"cheap": PredictionCost(0.005, 0.5), "dear": PredictionCost(0.5, 0.5), "other": PredictionCost(0.005, 0.5)}
    weights, loss, record = _lighter(preds, ["cheap", "dear", "other"], [(), (), ()], costs, {0: 0.5, 1: 0.5})
    assert weights == {0: 1.0} and record["dropped"] == ["dear"] and record["pruned"]
    assert record["batch_s"] == 0.505 and record["batch_s_after"] == 0.005 and loss == _mse(preds[0])
    # the same ensemble within the allowance: nothing weighed
    assert _lighter(preds, ["cheap", "dear", "other"], [(), (), ()], costs, {0: 0.5, 1: 0.5},
                    allowance=Allowance(1.0)) is None
    # one row over its allowance counts as much as 1,000 rows over theirs
    slow_row = {**costs, "dear": PredictionCost(0.005, 50.0)}
    assert _lighter(preds, ["cheap", "dear", "other"], [(), (), ()], slow_row, {0: 0.5, 1: 0.5})[2]["dropped"] == [
        "dear"]


def test_nothing_is_dropped_when_the_lighter_mix_loses_too_much() -> None:
    preds = [Y + 0.3, Y - 0.3]  # their average is exact: either alone is far worse
    costs = {"a": PredictionCost(0.015, 0.5), "b": PredictionCost(0.015, 0.5)}
    weights, loss, record = _lighter(preds, ["a", "b"], [(), ()], costs, {0: 0.5, 1: 0.5}, tolerance=1e-3)
    assert weights == {0: 0.5, 1: 0.5} and not record["pruned"] and record["dropped"] == []
    assert loss == pytest.approx(0.0)


def test_a_stacker_goes_with_a_dear_input_and_counts_its_inputs_cost() -> None:
    preds = [Y + 0.2, Y - 0.21, Y + 0.01]  # the stacker (2) reads a (dear) and b
    costs = {"a": PredictionCost(0.5, 0.5), "b": PredictionCost(0.005, 0.5), "stack": PredictionCost(0.001, 0.1)}
    inputs = [(), (), ("a", "b")]
    weights, _, record = _lighter(preds, ["a", "b", "stack"], inputs, costs, {2: 1.0}, tolerance=1000.0)
    assert record["batch_s"] == 0.506  # the stacker alone costs its inputs too
    assert weights == {1: 1.0} and sorted(record["dropped"]) == ["a", "stack"]


def test_planned_models_follow_the_refit_mode() -> None:
    from accelml.ensemble.predictor import Member

    def member(family: str, inputs: tuple[str, ...] = ()) -> Member:
        return Member("stack_" + family if inputs else family, family, 1.0, [None] * 5, [None] * 5, inputs)

    assert planned_models(member("lgbm"), "families", set()) == 1
    assert planned_models(member("mlp"), "families", set()) == 5  # networks keep their fold models
    assert planned_models(member("lgbm"), "chosen", {"lgbm"}) == 5  # a stacker reads its fold models
    assert planned_models(member("lgbm", ("lgbm",)), "families", {"lgbm"}) == 1  # a stacker, refit on its inputs'
    assert planned_models(member("lgbm", ("lgbm",)), "chosen", {"lgbm"}) == 5  # out-of-fold outputs or not
    assert planned_models(member("lgbm"), "free", set()) == 5 and planned_models(member("knn"), "free", set()) == 1


@pytest.fixture(scope="module")
def table():
    frame = make_table("regression", n=400, seed=5)
    frame["y"] += 2.0 * np.sin(3 * frame["x1"])  # a bend the linear model misses and the trees find
    return frame


def _fit(table, **kwargs) -> accelml.AutoML:
    return accelml.AutoML(time_limit=30, max_trials=6, n_jobs=1, workers=1, models=["lgbm", "linear"], n_splits=5,
                          stacking=False, **kwargs).fit(table, "y")


def test_a_fit_drops_what_costs_too_much_says_so_and_keeps_it_with_prune_off(table, monkeypatch, tmp_path) -> None:
    measured: dict[str, list[str]] = {}

    def costs(members, X, planned):  # linear models cheap, trees dear: deterministic, unlike timings
        measured["names"] = [m.name for m in members]
        return ({m.name: PredictionCost(0.001 if m.model == "linear" else 1.0, 0.1) for m in members},
                PredictionCost(0.0, 0.0))

    monkeypatch.setattr(build, "measure_costs", costs)
    monkeypatch.setattr(build, "lighter_weights", functools.partial(lighter_weights, tolerance=10.0))
    full = _fit(table, prune=False)
    kept = {m.name: m.model for m in full.result_.ensemble.members if m.weight > 0}
    assert "lighter" not in full.result_.extra and "names" not in measured
    assert set(kept.values()) == {"lgbm", "linear"}  # the full ensemble mixes both

    light = _fit(table)
    record = light.result_.extra["lighter"]
    assert sorted(measured["names"]) == sorted(kept)
    assert record["pruned"] and sorted(record["dropped"]) == sorted(n for n, f in kept.items() if f == "lgbm")
    assert {m.model for m in light.result_.ensemble.members if m.weight > 0} == {"linear"}
    assert record["loss_after"] >= record["loss_before"]
    # the artifact and the report say what was dropped, and the model predicts
    light.save(tmp_path / "model")
    loaded = accelml.load(tmp_path / "model")
    assert loaded.result_.extra["lighter"]["dropped"] == record["dropped"]
    html = light.report(tmp_path / "report.html").read_text()
    assert "prune=False" in html and record["dropped"][0] in html
    assert np.isfinite(loaded.predict(table.drop(columns=["y"]))).all()


def test_member_costs_are_timed_per_planned_model(table) -> None:
    model = _fit(table, prune=False)
    members = [m for m in model.result_.ensemble.members if m.weight > 0]
    X = table.drop(columns=["y"])
    costs, shared = measure_costs(members, X, lambda m: 1)
    assert set(costs) == {m.name for m in members} and shared.batch_s > 0 and shared.row_ms > 0
    assert all(c.batch_s > 0 and c.row_ms > 0 for c in costs.values())
    none, _ = measure_costs(members, X, lambda m: 0)  # a member that will not predict costs nothing
    assert all(c.batch_s == 0 and c.row_ms == 0 for c in none.values())


def test_a_refit_member_is_costed_as_a_model_on_more_rows_for_more_rounds() -> None:
    from accelml.ensemble.predictor import Member

    five = Member("lgbm", "lgbm", 1.0, [None] * 5, [None] * 5)
    assert build._planned_cost(five, 1) == pytest.approx(1.1 * 5 / 4)  # refit: 5/4 of the rows, a tenth more rounds
    assert build._planned_cost(five, 5) == 5.0  # keeps its fold models
    assert build._planned_cost(Member("lgbm", "lgbm", 1.0, [None], [None]), 1) == 1.0  # a holdout's one model
