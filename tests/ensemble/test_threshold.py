"""Tuning a binary decision threshold (ensemble/threshold.py, metrics/counted.py) and a run's plan for it
(ensemble/decision.py, metrics/threshold_options.py): counted metrics against the registry's, plateaus, objectives,
options and the stored record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accelml.ensemble.decision import decision_record, threshold_plan
from accelml.ensemble.threshold import GRID, Objective, best_index, class_indices, score_decisions, tune_threshold
from accelml.exceptions import ConfigError
from accelml.metrics import get_metric, list_metrics, make_metric
from accelml.metrics.counted import COUNTED, confusion
from accelml.metrics.threshold_options import normalize_costs, normalize_threshold


def _calibrated(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from them, so that the best threshold for a cost matrix is known."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-1.0, 1.5, size=n)))
    return p, (rng.random(n) < p).astype(np.int64)


# ----------------------------------------------------------------------------------------------- counting
def test_confusion_counts_match_a_plain_count() -> None:
    p, y = _calibrated(500, seed=1)
    tp, fp, fn, tn = confusion(p, y, GRID)
    for i in (0, 57, 99, 150, 198):
        predicted = p >= GRID[i]
        assert (tp[i], fp[i]) == ((predicted & (y == 1)).sum(), (predicted & (y == 0)).sum())
        assert (fn[i], tn[i]) == ((~predicted & (y == 1)).sum(), (~predicted & (y == 0)).sum())


def test_every_binary_label_metric_of_the_registry_is_counted_as_the_registry_scores_it() -> None:
    labels = [name for name in list_metrics("binary") if not get_metric(name, "binary").needs_proba]
    assert set(labels) == set(COUNTED)
    p, y = _calibrated(700, seed=2)
    for name in labels:
        metric = get_metric(name, "binary")
        counted = Objective(name).values(p, y)
        for i in (3, 60, 99, 140, 190):
            expected = metric.score(y, (p >= GRID[i]).astype(np.int64))
            assert counted[i] == pytest.approx(expected, abs=1e-12), (name, GRID[i])


# ----------------------------------------------------------------------------------------------- choosing
def test_a_plateau_gives_its_middle_and_a_best_half_gives_half() -> None:
    grid = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert grid[best_index(np.array([0, 1, 1, 1, 0, 0.0]), grid, True)] == 0.3
    assert grid[best_index(np.array([1, 1, 1, 1, 1, 1.0]), grid, True)] == 0.5  # a flat curve keeps 0.5
    # two equally good runs: the one nearer 0.5 wins; lower is better for a cost
    assert grid[best_index(np.array([0, 5, 5, 5, 5, 0.0]), grid, False)] == 0.6
    assert best_index(np.full(6, np.nan), grid, True) is None


def test_f1_by_hand() -> None:
    # positive where p >= t: for t in (0.2, 0.3] four of the four positives and two negatives: F1 = 8 / 10
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8])
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    curve = tune_threshold(p, y, Objective("f1"))
    assert curve.threshold == 0.25  # the middle of (0.2, 0.3] on the grid
    assert curve.value == pytest.approx(0.8)
    assert curve.default_value == pytest.approx(4 / 7)  # at 0.5: 0.6 and 0.7 right, 0.8 wrong, 0.3 and 0.35 missed


def test_costs_move_the_threshold_to_where_theory_puts_it() -> None:
    p, y = _calibrated(20_000, seed=3)
    dear_misses = Objective("cost", greater_is_better=False, costs={"false_positive": 1, "false_negative": 5})
    dear_alarms = Objective("cost", greater_is_better=False, costs={"false_positive": 5, "false_negative": 1})
    low, high = tune_threshold(p, y, dear_misses), tune_threshold(p, y, dear_alarms)
    assert abs(low.threshold - 1 / 6) < 0.06 and abs(high.threshold - 5 / 6) < 0.06  # c_fp / (c_fp + c_fn)
    assert low.value < low.default_value and high.value < high.default_value


def test_precision_at_recall_keeps_the_recall_and_is_missing_where_it_is_not_reached() -> None:
    p, y = _calibrated(3000, seed=4)
    curve = tune_threshold(p, y, Objective("precision_at_recall", min_recall=0.9))
    predicted = p >= curve.threshold
    assert (predicted & (y == 1)).sum() / (y == 1).sum() >= 0.9
    assert curve.threshold < 0.5
    assert np.isnan(curve.values[-1]) and np.isfinite(curve.values[0])  # at 0.995 nearly nothing is found


def test_a_custom_label_metric_is_tuned_like_the_counted_one() -> None:
    p, y = _calibrated(800, seed=5)
    custom = make_metric(lambda t, q: get_metric("f1", "binary").score(t, q), name="my_f1")
    assert tune_threshold(p, y, Objective("my_f1", metric=custom)).threshold == tune_threshold(
        p, y, Objective("f1")).threshold


# ----------------------------------------------------------------------------------------------- deciding
def test_class_indices_positive_at_the_threshold_itself_and_argmax_without_one() -> None:
    proba = np.array([[0.7, 0.3], [0.69, 0.31], [0.5, 0.5], [0.2, 0.8]])
    assert class_indices(proba, 0.31).tolist() == [0, 1, 1, 1]
    assert class_indices(proba, None).tolist() == [0, 0, 0, 1]
    three = np.array([[0.2, 0.3, 0.5]])
    assert class_indices(three, 0.1).tolist() == [2]  # a threshold means nothing with three classes


def test_a_label_metric_scores_the_decided_labels() -> None:
    proba = np.array([[0.7, 0.3], [0.6, 0.4], [0.9, 0.1]])
    y = np.array([1, 1, 0])
    accuracy = get_metric("accuracy", "binary")
    assert score_decisions(accuracy, y, proba, None) == pytest.approx(1 / 3)
    assert score_decisions(accuracy, y, proba, 0.25) == pytest.approx(1.0)
    auc = get_metric("roc_auc", "binary")
    assert score_decisions(auc, y, proba, 0.25) == auc.score_from_proba(y, proba)


# ----------------------------------------------------------------------------------------------- options and plans
@pytest.mark.parametrize(("value", "expected"), [
    ("auto", "auto"), ("F1", "f1"), ("balanced-accuracy", "balanced_accuracy"), (0.3, 0.3), ("0.25", 0.25),
    ("precision_at_recall=0.90", "precision_at_recall=0.9"), ("precision_at_recall:0.8", "precision_at_recall=0.8"),
])
def test_threshold_values(value: object, expected: object) -> None:
    assert normalize_threshold(value) == expected


@pytest.mark.parametrize(("value", "fragment"), [
    (1.5, "between 0 and 1"), (0, "between 0 and 1"), (None, "threshold must be"), ("roc_auc", "unknown threshold"),
    ("precision", "precision_at_recall=0.8"), ("recall", "threshold='f1'"),
    ("precision_at_recall", "give the recall"), ("precision_at_recall=2", "give the recall"),
])
def test_bad_thresholds_say_what_to_give(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match="threshold") as error:
        normalize_threshold(value)
    assert fragment in str(error.value)


@pytest.mark.parametrize(("value", "fragment"), [
    ({"false_positives": 1}, "unknown cell 'false_positives'"), ({"fn": -1}, "at least 0"), ({"fn": "five"}, "false_negative must be"),
    ({"fn": float("inf")}, "finite"), ({"fp": 0, "fn": 0}, "no error costs more"), ([1, 5], "must map cells"),
    ({"fn": 1, "false_negative": 2}, "given twice"),
])
def test_bad_costs_say_what_to_give(value: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match="costs") as error:
        normalize_costs(value)
    assert fragment in str(error.value)


def test_plans_by_option_metric_and_task() -> None:
    auc, f1, precision = (get_metric(name, "binary") for name in ("roc_auc", "f1", "precision"))
    costs = {"false_negative": 5.0}
    assert threshold_plan("auto", None, auc, "binary") is None  # probabilities: 0.5 stays
    assert threshold_plan("auto", None, precision, "binary") is None  # tuning would predict nothing positive
    assert threshold_plan("auto", None, f1, "binary").objective.key == "f1"
    tuned = threshold_plan("auto", costs, f1, "binary")
    assert tuned.objective.key == "cost" and [o.key for o in tuned.curves] == ["cost", "f1"]
    assert threshold_plan("balanced_accuracy", None, auc, "binary").objective.key == "balanced_accuracy"
    fixed = threshold_plan(0.3, costs, auc, "binary")
    assert fixed.objective is None and fixed.fixed == 0.3 and [o.key for o in fixed.curves] == ["cost"]
    assert threshold_plan("auto", None, get_metric("accuracy", "multiclass"), "multiclass") is None
    for threshold, given in (("f1", None), ("auto", costs), (0.4, None)):
        with pytest.raises(ConfigError, match="binary task; this task is multiclass"):
            threshold_plan(threshold, given, get_metric("accuracy", "multiclass"), "multiclass")


def test_the_record_is_strict_json_and_says_what_tuning_gained() -> None:
    p, y = _calibrated(1000, seed=6)
    plan = threshold_plan("precision_at_recall=0.95", None, get_metric("f1", "binary"), "binary")
    record = decision_record(plan, np.column_stack([1 - p, p]), y)
    json.dumps(record, allow_nan=False)
    assert record["tuned"] and record["threshold"] < 0.5 and record["objective"] == "precision at recall >= 0.95"
    assert list(record["curves"]) == ["precision at recall >= 0.95", "f1"]
    assert record["curves"]["precision at recall >= 0.95"]["values"][-1] is None  # not reached at 0.995
    assert len(record["grid"]) == len(record["curves"]["f1"]["values"]) == len(GRID)
