"""The stacking layer: trained on out-of-fold outputs, predicted through the ensemble, saved and loaded."""

from __future__ import annotations

import numpy as np
import pytest

import accelml
from accelml.ensemble import build
from accelml.ensemble.predictor import stack_features
from accelml.ensemble.refit import refit_names
from accelml.metrics import get_metric
from tests.conftest import make_table

FAMILIES = ["lgbm", "linear", "knn"]


def _stacker(automl: accelml.AutoML):
    found = [t for t in automl.result_.trials if t.spec.stage == "stack"]
    return found[0] if found else None


@pytest.fixture(scope="module")
def table():
    return make_table("binary", n=300, seed=3)


@pytest.fixture(scope="module")
def stacked_only(table) -> accelml.AutoML:
    """A fit whose ensemble is forced to be the stacker alone (greedy selection told to pick it)."""
    original = build.greedy_weights

    def pick_the_stacker(predictions, loss, **kwargs):
        return {_stack_index[0]: 1.0}, loss(predictions[_stack_index[0]])

    _stack_index: list[int] = []

    def find_stacker(trials, folds, metric, constraints=None, **kwargs):
        candidates = sorted((t for t in trials if t.result.ok and t.models and t.oof is not None),
                            key=lambda t: (t.result.loss, t.result.spec.trial_id))
        _stack_index[:] = [i for i, t in enumerate(candidates) if t.result.spec.stage == "stack"]
        return original_build(trials, folds, metric, constraints, **kwargs)

    original_build = build.build_ensemble
    mp = pytest.MonkeyPatch()
    mp.setattr(build, "greedy_weights", pick_the_stacker)
    mp.setattr("accelml.run.build_ensemble", find_stacker)
    try:
        return accelml.AutoML(max_trials=6, time_limit=None, n_jobs=1, models=FAMILIES).fit(table, "y")
    finally:
        mp.undo()
        assert build.greedy_weights is original


def test_stacker_reads_the_best_model_of_each_family(stacked_only: accelml.AutoML) -> None:
    stacker = _stacker(stacked_only)
    assert stacker is not None and stacker.ok and stacker.n_folds == stacked_only.result_.n_splits
    inputs = stacker.extra["inputs"]
    ok = [t for t in stacked_only.result_.trials if t.ok and t.spec.stage != "stack"]
    assert len(inputs) == len({t.spec.model for t in ok}) >= 2  # one per family
    for name in inputs:
        family = name.rsplit("_", 1)[0]
        best = min((t for t in ok if t.spec.model == family), key=lambda t: (t.loss, t.spec.trial_id))
        assert name == best.spec.name


def test_a_stacked_ensemble_predicts_saves_and_loads(stacked_only: accelml.AutoML, table, tmp_path) -> None:
    members = stacked_only.result_.ensemble.members
    stacker = _stacker(stacked_only)
    assert [m.name for m in members if m.weight > 0] == [stacker.spec.name]
    assert [m.name for m in members[:-1]] == list(stacker.extra["inputs"])  # inputs first, at weight 0
    assert all(m.weight == 0 for m in members[:-1]) and members[-1].inputs == tuple(stacker.extra["inputs"])
    # with 5 folds the inputs of the families one model suits (kNN among them) are refit on all rows, as AutoGluon's
    # refit_full does, and so is the stacker, on its inputs' out-of-fold outputs for every row, as its fold models were
    assert stacked_only.result_.n_splits == 5
    assert [len(m.models) for m in members if m.model == "knn"] == [1]
    (refit,) = members[-1].models
    (pre,) = members[-1].preprocessors
    assert refit.booster_.num_feature() == pre.n_features_out_ + len(stacker.extra["inputs"])  # binary: one column each
    assert members[-1].name in refit_names(stacked_only.result_.ensemble, 5)

    X = table.drop(columns="y")
    proba = stacked_only.predict_proba(X)
    auc = get_metric("roc_auc", "binary")
    positive = (table["y"] == proba.columns[1]).to_numpy(dtype=int)
    assert auc.score_from_proba(positive, proba.to_numpy()) > 0.9
    with pytest.raises(ValueError, match="through its Ensemble"):
        members[-1].predict(X)

    stacked_only.save(tmp_path / "model")
    loaded = accelml.load(tmp_path / "model")
    assert [m.inputs for m in loaded.result_.ensemble.members] == [m.inputs for m in members]
    np.testing.assert_allclose(loaded.predict_proba(X).to_numpy(), proba.to_numpy(), rtol=1e-9)


def test_a_stacker_is_refit_only_with_its_inputs_out_of_fold_outputs(stacked_only: accelml.AutoML, table) -> None:
    from accelml.budget import Deadline
    from accelml.ensemble.predictor import Ensemble, Member
    from accelml.ensemble.refit import refit_full
    from accelml.schema.validate import coerce_training_frame
    from accelml.tasks import encode_target

    stacker = _stacker(stacked_only)
    trials = {t.spec.name: t for t in stacked_only.result_.trials}
    assert all(trials[name].ok for name in stacker.extra["inputs"])
    schema = stacked_only.result_.schema
    X, y = coerce_training_frame(table, schema), encode_target(table["y"], schema)
    # the fitted stacker's members, its own model repeated as if it were five fold models
    members = stacked_only.result_.ensemble.members
    top = members[-1]
    folds = Member(top.name, top.model, top.weight, top.preprocessors * 5, top.models * 5, top.inputs)
    ensemble = Ensemble(members[:-1] + [folds])
    rng = np.random.default_rng(0)
    oof = {name: rng.random(len(y)) for name in top.inputs}

    def stacker_models(**kw) -> int:
        out = refit_full(ensemble, X, y, schema, Deadline.after(60), n_jobs=1, seed=0, **kw)
        return len(out.members[-1].models)

    assert stacker_models(mode="families") == 5  # no out-of-fold outputs given
    assert stacker_models(mode="families", stack_oof={top.inputs[0]: oof[top.inputs[0]]}) == 5  # not all of them
    assert stacker_models(mode="chosen", stack_oof=oof) == 5  # its inputs keep their fold models: so does it
    assert stacker_models(mode="families", stack_oof=oof) == 1
    assert stacker_models(mode="asked", stack_oof=oof) == 1


def test_no_stacker_when_switched_off_on_a_holdout_or_under_constraints(table) -> None:
    def fit(**kw):
        return accelml.AutoML(max_trials=4, time_limit=None, n_jobs=1, models=FAMILIES, **kw).fit(table, "y")

    assert _stacker(fit()) is not None
    assert _stacker(fit(stacking=False)) is None
    assert _stacker(fit(n_splits=1)) is None  # the training rows have no out-of-fold outputs to learn from
    assert _stacker(fit(max_latency_ms=10_000)) is None


def test_stack_features_are_finite_log_odds_and_values() -> None:
    binary = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    multi = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    out = stack_features([binary])
    assert out.shape == (3, 1) and np.isfinite(out).all() and out[0, 0] < 0 < out[1, 0] and out[2, 0] == 0
    assert stack_features([multi]).shape == (2, 3) and np.isfinite(stack_features([multi])).all()
    assert stack_features([np.array([1.5, 2.5]), np.array([3.0, 4.0])]).tolist() == [[1.5, 3.0], [2.5, 4.0]]


def test_the_stacker_trains_the_first_repeat_of_repeated_folds(table) -> None:
    from accelml.ensemble.stack import _StackedFolds
    from accelml.profiling import check_data
    from accelml.schema import infer_schema
    from accelml.schema.validate import coerce_training_frame
    from accelml.search.folds import FoldCache
    from accelml.tasks import encode_target, get_task
    from accelml.validation import make_validation

    schema = infer_schema(table, "y")
    frame, _ = check_data(table, schema)
    schema.classes = get_task(schema.task).labels(frame["y"])
    X, y = coerce_training_frame(frame, schema), encode_target(frame["y"], schema)
    folds = FoldCache(X, make_validation(y, schema.task, seed=0, n_splits=4, n_repeats=2), schema, seed=0)
    stacked = _StackedFolds(folds, np.zeros((len(y), 1)))
    assert len(folds.splits) == 8 and stacked.splits == folds.splits[:4]
    assert np.array_equal(np.sort(np.concatenate([val for _, val in stacked.splits])), np.arange(len(y)))
