"""Metrics: every registry entry against scikit-learn on every task it supports, plus resolution and its errors."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import pickle
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from sklearn import metrics as skm

import accelml.metrics
from accelml.exceptions import ConfigError, DataError
from accelml.metrics import Metric, choice_reason, default_metric, get_metric, list_metrics, make_metric
from accelml.metrics.registry import METRICS

K = 3


@dataclasses.dataclass(frozen=True)
class Case:
    y: np.ndarray
    pred: np.ndarray  # (n, K) probabilities for classification, values for regression


def _proba(rng: np.random.Generator, y: np.ndarray, k: int) -> np.ndarray:
    # Informative but imperfect probabilities: the true class gets a boost before normalising.
    raw = rng.random((y.size, k))
    raw[np.arange(y.size), y] += rng.random(y.size)
    return raw / raw.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    rng = np.random.default_rng(0)
    y_bin = rng.permutation(np.array([0, 1] * 20))
    y_multi = rng.permutation(np.repeat(np.arange(K), 15))
    y_reg = rng.uniform(1.0, 50.0, 40)
    return {
        "binary": Case(y_bin, _proba(rng, y_bin, 2)),
        "multiclass": Case(y_multi, _proba(rng, y_multi, K)),
        "regression": Case(y_reg, y_reg * rng.uniform(0.7, 1.3, 40)),
    }


# Reference values straight from scikit-learn: (y_true, proba) for classification, (y_true, y_pred) for regression.
Ref = Callable[[np.ndarray, np.ndarray], float]
_BINARY: dict[str, Ref] = {
    "roc_auc": lambda y, p: skm.roc_auc_score(y, p[:, 1]),
    "pr_auc": lambda y, p: skm.average_precision_score(y, p[:, 1]),
    "log_loss": lambda y, p: skm.log_loss(y, p, labels=[0, 1]),
    "accuracy": lambda y, p: skm.accuracy_score(y, p.argmax(1)),
    "balanced_accuracy": lambda y, p: skm.balanced_accuracy_score(y, p.argmax(1)),
    "f1": lambda y, p: skm.f1_score(y, p.argmax(1)),
    "f1_macro": lambda y, p: skm.f1_score(y, p.argmax(1), average="macro"),
    "f1_weighted": lambda y, p: skm.f1_score(y, p.argmax(1), average="weighted"),
    "precision": lambda y, p: skm.precision_score(y, p.argmax(1)),
    "recall": lambda y, p: skm.recall_score(y, p.argmax(1)),
    "mcc": lambda y, p: skm.matthews_corrcoef(y, p.argmax(1)),
}
_MULTICLASS: dict[str, Ref] = {
    **_BINARY,
    "roc_auc": lambda y, p: skm.roc_auc_score(y, p, multi_class="ovr", labels=list(range(K))),
    "pr_auc": lambda y, p: skm.average_precision_score(y, p, average="macro"),
    "log_loss": lambda y, p: skm.log_loss(y, p, labels=list(range(K))),
    "f1": lambda y, p: skm.f1_score(y, p.argmax(1), average="macro"),
    "precision": lambda y, p: skm.precision_score(y, p.argmax(1), average="macro"),
    "recall": lambda y, p: skm.recall_score(y, p.argmax(1), average="macro"),
}
_REGRESSION: dict[str, Ref] = {
    "rmse": lambda y, p: np.sqrt(skm.mean_squared_error(y, p)),
    "mse": skm.mean_squared_error,
    "mae": skm.mean_absolute_error,
    "median_ae": skm.median_absolute_error,
    "r2": skm.r2_score,
    "mape": skm.mean_absolute_percentage_error,
    "rmsle": lambda y, p: np.sqrt(skm.mean_squared_log_error(y, p)),
}
REFERENCE: dict[str, dict[str, Ref]] = {"binary": _BINARY, "multiclass": _MULTICLASS, "regression": _REGRESSION}

# The table tasks' metrics, checked against scikit-learn (the recommend task's are in test_ranking_metrics.py)
PAIRS = [(name, task) for name, metric in sorted(METRICS.items()) for task in sorted(metric.tasks) if task in REFERENCE]


def test_reference_covers_every_registered_pair() -> None:
    registered = set(PAIRS)
    referenced = {(name, task) for task, refs in REFERENCE.items() for name in refs}
    assert registered == referenced


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_matches_sklearn(cases: dict[str, Case], name: str, task: str) -> None:
    case = cases[task]
    metric = get_metric(name, task)
    expected = REFERENCE[task][name](case.y, case.pred)
    assert metric.score_from_proba(case.y, case.pred) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("name", "task"), PAIRS)
def test_loss_is_lower_is_better(cases: dict[str, Case], name: str, task: str) -> None:
    case = cases[task]
    metric = get_metric(name, task)
    score = metric.score_from_proba(case.y, case.pred)
    proba_or_values = case.pred if metric.needs_proba or task == "regression" else case.pred.argmax(1)
    assert metric.loss(case.y, proba_or_values) == pytest.approx(-score if metric.greater_is_better else score)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_registry_entries_are_well_formed_and_picklable(name: str) -> None:
    metric = METRICS[name]
    assert metric.name == name and metric.description
    for task in metric.tasks:
        bound = get_metric(name, task)
        assert pickle.loads(pickle.dumps(bound)) == bound


def test_direction_of_well_known_metrics() -> None:
    assert METRICS["roc_auc"].greater_is_better and METRICS["r2"].greater_is_better
    assert not METRICS["log_loss"].greater_is_better and not METRICS["rmse"].greater_is_better
    assert not any(name.startswith("neg_") for name in METRICS)


def test_binary_label_metrics_use_argmax_of_proba(cases: dict[str, Case]) -> None:
    case = cases["binary"]
    labels = case.pred.argmax(1)
    for name in list_metrics("binary"):
        metric = get_metric(name, "binary")
        if not metric.needs_proba:
            assert metric.score_from_proba(case.y, case.pred) == metric.score(case.y, labels)


def test_binary_proba_metrics_accept_positive_column_alone(cases: dict[str, Case]) -> None:
    case = cases["binary"]
    for name in ("roc_auc", "pr_auc", "log_loss"):
        metric = get_metric(name, "binary")
        assert metric.score(case.y, case.pred[:, 1]) == pytest.approx(metric.score(case.y, case.pred))


def test_multiclass_with_a_class_absent_from_y_true(cases: dict[str, Case]) -> None:
    case = cases["multiclass"]
    keep = case.y != 1
    y, proba = case.y[keep], case.pred[keep]
    present = [0, 2]
    # One-vs-rest macro over the classes that are present: class 1 has no positives, so it has no AUC to average.
    expected_auc = np.mean([skm.roc_auc_score(y == k, proba[:, k]) for k in present])
    expected_ap = np.mean([skm.average_precision_score(y == k, proba[:, k]) for k in present])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_metric("roc_auc", "multiclass").score(y, proba) == pytest.approx(expected_auc)
        assert get_metric("pr_auc", "multiclass").score(y, proba) == pytest.approx(expected_ap)
        assert get_metric("log_loss", "multiclass").score(y, proba) == pytest.approx(
            skm.log_loss(y, proba, labels=list(range(K)))
        )
    assert np.isfinite(get_metric("f1", "multiclass").score_from_proba(y, proba))


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_ranking_metrics_are_nan_when_y_true_has_one_class(task: str) -> None:
    k = 2 if task == "binary" else K
    proba = np.full((4, k), 1.0 / k)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(get_metric("roc_auc", task).score(np.ones(4, dtype=int), proba))
        assert np.isnan(get_metric("pr_auc", task).score(np.ones(4, dtype=int), proba))


def test_log_loss_clips_certain_wrong_predictions() -> None:
    value = get_metric("log_loss", "binary").score(np.array([0, 1]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert np.isfinite(value) and value > 1.0


def test_f1_is_bound_to_the_task() -> None:
    # Multiclass labels that happen to be only 0/1 must still be macro-averaged, not read as binary.
    y, pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    assert get_metric("f1", "multiclass").score(y, pred) == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert get_metric("f1", "binary").score(y, pred) == pytest.approx(skm.f1_score(y, pred))
    rebound = get_metric(get_metric("f1", "binary"), "multiclass")
    assert rebound.score(y, pred) == pytest.approx(skm.f1_score(y, pred, average="macro"))


def test_rmsle_rejects_negatives() -> None:
    metric = get_metric("rmsle", "regression")
    with pytest.raises(DataError, match="rmsle.*y_true"):
        metric.score(np.array([-1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(DataError, match="rmsle.*y_pred"):
        metric.score(np.array([1.0, 2.0]), np.array([1.0, -0.5]))


@pytest.mark.parametrize(("task", "name"), [("binary", "roc_auc"), ("multiclass", "log_loss"), ("regression", "rmse")])
def test_defaults(task: str, name: str) -> None:
    assert default_metric(task).name == name
    assert get_metric(None, task) == default_metric(task)


def test_unknown_task() -> None:
    with pytest.raises(ConfigError, match="unknown task 'ranking'"):
        default_metric("ranking")
    with pytest.raises(ConfigError, match="unknown task"):
        get_metric("accuracy", "ranking")


def test_lookup_is_case_insensitive() -> None:
    assert get_metric("ROC_AUC", "binary").name == "roc_auc"
    assert get_metric(" Balanced-Accuracy ", "multiclass").name == "balanced_accuracy"


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as info:
        get_metric("acc", "binary")
    message = str(info.value)
    assert "unknown metric 'acc'; did you mean 'accuracy'?" in message
    assert f"Valid metrics for binary: {', '.join(list_metrics('binary'))}" in message
    with pytest.raises(ConfigError, match="did you mean 'rmse'"):
        get_metric("rsme", "regression")


def test_metric_for_the_wrong_task() -> None:
    with pytest.raises(ConfigError, match="'rmse' is defined for recommend, regression, not binary") as info:
        get_metric("rmse", "binary")
    assert "accuracy" in str(info.value)
    with pytest.raises(ConfigError, match="not regression"):
        get_metric("roc_auc", "regression")


def test_plain_callable_becomes_a_custom_metric(cases: dict[str, Case]) -> None:
    def hits(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.sum(np.asarray(y_true) == np.asarray(y_pred)))

    metric = get_metric(hits, "multiclass")
    assert (metric.name, metric.greater_is_better, metric.needs_proba) == ("hits", True, False)
    case = cases["multiclass"]
    assert metric.score_from_proba(case.y, case.pred) == hits(case.y, case.pred.argmax(1))
    assert metric.loss(case.y, case.pred.argmax(1)) == -hits(case.y, case.pred.argmax(1))


def test_make_metric_with_lower_is_better(cases: dict[str, Case]) -> None:
    def max_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.max(np.abs(y_true - y_pred)))

    metric = make_metric(max_error, name="worst", greater_is_better=False, tasks="regression")
    assert get_metric(metric, "regression") is metric
    case = cases["regression"]
    expected = float(np.max(np.abs(case.y - case.pred)))
    assert metric.score(case.y, case.pred) == expected == metric.loss(case.y, case.pred)
    with pytest.raises(ConfigError, match="'worst' is defined for regression, not binary"):
        get_metric(metric, "binary")


def test_make_metric_defaults_and_errors() -> None:
    assert make_metric(lambda y, p: 0.0, needs_proba=True).tasks == {"binary", "multiclass"}
    assert make_metric(lambda y, p: 0.0).tasks == {"binary", "multiclass", "regression"}
    with pytest.raises(ConfigError, match="tasks"):
        make_metric(lambda y, p: 0.0, tasks=["ranking"])
    with pytest.raises(ConfigError, match="callable"):
        make_metric("accuracy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="regression"):
        make_metric(lambda y, p: 0.0, needs_proba=True, tasks=["regression"])
    with pytest.raises(ConfigError, match="name, a Metric or a callable"):
        get_metric(3, "binary")  # type: ignore[arg-type]


def test_metric_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        METRICS["accuracy"].name = "acc"  # type: ignore[misc]


def test_list_metrics() -> None:
    every = list_metrics()
    assert every == sorted(METRICS) and len(every) == 24
    assert list_metrics("regression") == ["mae", "mape", "median_ae", "mse", "r2", "rmse", "rmsle"]
    assert list_metrics("recommend") == ["coverage@10", "hit_rate@10", "mae", "map@10", "ndcg@10", "precision@10",
                                         "recall@10", "rmse"]
    assert set(list_metrics("binary")) == set(list_metrics("multiclass")) == set(every) - set(
        list_metrics("regression")) - set(list_metrics("recommend"))


def test_choice_reason() -> None:
    auto = choice_reason(default_metric("multiclass"), "multiclass", user_given=False)
    assert auto == (
        "log_loss: chosen automatically for multiclass because it rewards well-calibrated probabilities for every class"
    )
    assert choice_reason(get_metric("accuracy", "binary"), "binary", user_given=True) == "accuracy: given by the user"
    custom = make_metric(lambda y, p: 0.0, name="mine")
    assert choice_reason(custom, "binary", user_given=False) == "mine: chosen automatically for binary"


def test_public_api_is_sorted() -> None:
    assert accelml.metrics.__all__ == sorted(accelml.metrics.__all__)
    assert set(accelml.metrics.__all__) == {
        "Metric",
        "choice_reason",
        "default_metric",
        "get_metric",
        "list_metrics",
        "make_metric",
    }
    assert isinstance(default_metric("binary"), Metric)


@pytest.mark.parametrize(
    "module", ["__init__", "metric", "classification", "regression", "registry", "choice"]
)
def test_docstring_examples_run(module: str) -> None:
    name = "accelml.metrics" if module == "__init__" else f"accelml.metrics.{module}"
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
