"""Checks every registered model family must pass, for every task it declares and on the input kind it is fed: the
registry's entries are tested the moment they are added (a family whose libraries are not installed is skipped)."""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest
from sklearn.base import clone

from accelml.budget import Deadline
from accelml.exceptions import NotFittedError
from accelml.features import INPUTS
from accelml.models import MODELS
from accelml.tasks import TASKS


def _installed(key: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in MODELS[key].requires)


def _family(key: str) -> object:
    marks = [] if _installed(key) else [pytest.mark.skip(reason=f"{key}: {', '.join(MODELS[key].requires)} missing")]
    return pytest.param(key, marks=marks, id=key)


KEYS = [_family(key) for key in sorted(MODELS)]
# every family x every task it declares x its input kind
CASES = [pytest.param(key, task, marks=_family(key).marks, id=f"{key}-{task}-{MODELS[key].preprocessing}")
         for key in sorted(MODELS) for task in MODELS[key].tasks]


def data(task: str, n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    X[:, 4] = rng.integers(0, 4, n)  # a categorical code column
    if task == "binary":
        y = (X[:, 0] + (X[:, 4] == 1) > 0.3).astype(np.int64)
    elif task == "multiclass":
        y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5]).astype(np.int64)
    else:
        y = 2.0 * X[:, 0] + X[:, 4] + 0.1 * rng.normal(size=n)
    return X, y, [4]


def images(task: str, n: int = 240, seed: int = 0, size: int = 12) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """uint8 images (n, 1, size, size) of noise with a bright square whose corner tells the class."""
    rng = np.random.default_rng(seed)
    k = 2 if task == "binary" else 3
    y = rng.integers(0, k, n).astype(np.int64)
    X = rng.integers(0, 60, size=(n, 1, size, size)).astype(np.uint8)
    half = size // 2
    for i, label in enumerate(y):
        top, left = (0, 0) if label == 0 else (half, half) if label == 1 else (0, half)
        X[i, 0, top : top + half, left : left + half] += 150
    return X, y, []


_GOOD, _BAD, _OTHER = ["good", "great", "lovely", "superb"], ["bad", "awful", "dull", "poor"], ["red", "blue", "green"]
_FILLER = ["the", "film", "was", "a", "story", "and", "cast", "plot", "it", "of"]


def texts(task: str, n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Short texts (an object array ``(n, 1)``) whose words tell the class (or, for regression, the value)."""
    rng = np.random.default_rng(seed)
    k = 2 if task == "binary" else 3
    label = rng.integers(0, k, n)
    rows, values = [], []
    for c in label:
        cue = [_BAD, _GOOD, _OTHER][c]
        words = list(rng.choice(_FILLER, rng.integers(3, 8))) + list(rng.choice(cue, rng.integers(1, 3)))
        rng.shuffle(words)
        rows.append(" ".join(words))
        values.append(sum(w in _GOOD for w in words) - sum(w in _BAD for w in words) + 0.1 * rng.normal())
    y = np.asarray(values) if task == "regression" else label.astype(np.int64)
    return np.array(rows, dtype=object)[:, None], y, []


def inputs(cls: type, task: str, n: int = 240) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The data a family is fed: images for the image networks, texts for the text families, a table's matrix for
    every other input kind."""
    if cls.preprocessing == "image":
        return images(task, n)
    return texts(task, n) if cls.preprocessing == "text" else data(task, n)


def prepared(cls: type, X: np.ndarray) -> np.ndarray:
    X = X.copy()
    if cls.preprocessing == "tree":
        X[::17, 1] = np.nan  # tree families take missing values natively
    return X


@pytest.mark.parametrize("key", KEYS)
def test_declares_space_and_defaults(key: str) -> None:
    cls = MODELS[key]
    assert cls.key == key
    assert cls.preprocessing in INPUTS, f"{key} is fed an unregistered input kind {cls.preprocessing!r}"
    assert cls.tasks and set(cls.tasks) <= set(TASKS), f"{key} declares unknown tasks {cls.tasks}"
    assert cls.fidelity in ("folds", "epochs") and cls.device in ("cpu", "gpu")
    assert cls.space, f"{key} declares no search space"
    for name in cls.space:
        assert name in cls.defaults, f"{key}: dimension {name} has no default"


@pytest.mark.parametrize("key", KEYS)
def test_clone_keeps_params(key: str) -> None:
    model = MODELS[key](task="regression", params={"a": 1}, n_jobs=1, seed=3)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 5), dtype=np.float32))


@pytest.mark.parametrize(("key", "task"), CASES)
def test_fit_predict_shapes(key: str, task: str, tmp_path) -> None:
    cls = MODELS[key]
    X, y, cats = inputs(cls, task)
    X = prepared(cls, X)
    model = cls(task=task, n_jobs=1, seed=0)
    model.fit(X[:180], y[:180], eval_set=(X[180:], y[180:]), categorical=(cats, [4] * len(cats)))
    test = X[180:]
    if task == "regression":
        pred = model.predict(test)
        assert pred.shape == (60,)
        assert np.corrcoef(pred, y[180:])[0, 1] > 0.5, "the model learned nothing"
    else:
        proba = model.predict_proba(test)
        k = int(y.max()) + 1
        assert proba.shape == (60, k)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        assert (proba >= 0).all()
        assert set(np.unique(model.predict(test))) <= set(range(k))
        assert np.mean(model.predict(test) == y[180:]) > 1.0 / k + 0.1, "no better than chance"
    # the artifact round trip gives the same predictions
    model.save(tmp_path)
    restored = cls.load(tmp_path)
    if task == "regression":
        np.testing.assert_allclose(restored.predict(test), model.predict(test), rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(restored.predict_proba(test), model.predict_proba(test), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", KEYS)
def test_regression_stays_within_the_training_targets(key: str, tmp_path) -> None:
    cls = MODELS[key]
    if "regression" not in cls.tasks:
        pytest.skip(f"{key} does not learn regression")
    X, y, cats = inputs(cls, "regression")
    X = prepared(cls, X)
    model = cls(task="regression", n_jobs=1, seed=0).fit(X, y, categorical=(cats, [4] * len(cats)))
    far = np.repeat(X[:1], 2, axis=0)
    if cls.preprocessing == "text":  # far more cue words than any training text
        far[:, 0] = [" ".join(["good"] * 60), " ".join(["bad"] * 60)]
    else:
        far[:, 0] = [50.0, -50.0]  # 20 standard deviations out: a linear model would predict about ±100
    pred = model.predict(far)
    assert y.min() <= pred.min() and pred.max() <= y.max()
    model.save(tmp_path)
    np.testing.assert_allclose(cls.load(tmp_path).predict(far), pred, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", KEYS)
def test_deadline_is_honoured_inside_training(key: str) -> None:
    """A fit with a 2-second deadline returns within a small margin even when asked for far more work."""
    cls = MODELS[key]
    if "binary" not in cls.tasks:
        pytest.skip(f"{key} does not learn binary classification")
    rng = np.random.default_rng(1)
    n = 40_000
    X = rng.normal(size=(n, 20)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=n) > 0).astype(np.int64)
    if cls.preprocessing == "image":  # 30,000 images of 32 x 32 pixels
        X, y, _ = images("binary", n, size=32)
    if cls.preprocessing == "text":  # 30,000 short texts; the encoder is loaded first (its import is declared apart)
        X, y, _ = texts("binary", n)
        if key == "minilm":
            from accelml.features.text_encoders import load_encoder

            load_encoder("minilm")
    heavy = {
        "lgbm": {"n_estimators": 100_000, "learning_rate": 0.001, "num_leaves": 255, "min_child_samples": 2},
        "xgb": {"n_estimators": 100_000, "learning_rate": 0.001, "max_depth": 10},
        "catboost": {"n_estimators": 100_000, "learning_rate": 0.001, "depth": 10},
        "rf": {"n_estimators": 5_000},
        "extra_trees": {"n_estimators": 5_000},
        "mlp": {"width": 512, "layers": 3, "max_epochs": 10_000, "patience": 10_000},
        "torch_mlp": {"max_epochs": 10_000, "patience": 10_000},
        "cnn": {"max_epochs": 10_000, "patience": 10_000},
        "efficientnet": {"head_epochs": 10_000, "patience": 10_000},
        "minilm": {"max_epochs": 5},
        "tfidf_lgbm": {"n_estimators": 100_000, "learning_rate": 0.001, "num_leaves": 255, "min_child_samples": 2},
    }.get(key, {})
    model = cls(task="binary", params=heavy, n_jobs=2, seed=0)
    start = time.monotonic()
    model.fit(X[:30_000], y[:30_000], deadline=Deadline.after(2.0), eval_set=(X[30_000:], y[30_000:]))
    elapsed = time.monotonic() - start
    assert elapsed < 2.0 + 1.5, f"{key} overran a 2 s deadline: {elapsed:.2f} s"
    assert model.predict_proba(X[:10]).shape == (10, 2)
    if heavy:
        assert model.stopped_by_deadline_


def test_catboost_scores_fewer_borders_for_many_classes() -> None:
    pytest.importorskip("catboost")
    X, y, cats = data("multiclass")
    model = MODELS["catboost"](task="multiclass", params={"n_estimators": 20}, n_jobs=1, seed=0)
    model.fit(X, y, categorical=(cats, [4]))
    assert model.estimator_.get_all_params()["border_count"] == 64
    given = MODELS["catboost"](task="multiclass", params={"n_estimators": 20, "border_count": 128}, n_jobs=1, seed=0)
    assert given.fit(X, y, categorical=(cats, [4])).estimator_.get_all_params()["border_count"] == 128
    binary = MODELS["catboost"](task="binary", params={"n_estimators": 20}, n_jobs=1, seed=0)
    X2, y2, _ = data("binary")
    assert binary.fit(X2, y2, categorical=(cats, [4])).estimator_.get_all_params()["border_count"] == 254


def test_lgbm_scores_a_large_batch_through_many_trees_on_every_thread(tmp_path, monkeypatch) -> None:
    """Threads follow the work, rows x trees, not only the matrix's size: a 1,000-row batch through a 26-class model
    uses every thread, one row stays on one; the numbers are the same either way, and after a save and load."""
    pytest.importorskip("lightgbm")
    from accelml.models import lgbm

    X, y, cats = data("multiclass", n=600)
    model = MODELS["lgbm"](task="multiclass", params={"n_estimators": 40, "min_child_samples": 5}, n_jobs=2, seed=0)
    model.fit(X, y, categorical=(cats, [4]))
    trees = model.trees_used()
    assert trees == model.rounds_used_ * 3
    batch = np.repeat(X, lgbm._PARALLEL_TREE_VISITS // (trees * len(X)) + 1, axis=0)
    assert model._predict_threads(batch) == 2 and model._predict_threads(X[:1]) == 1
    parallel = model.predict_proba(batch)
    with monkeypatch.context() as m:
        m.setattr(lgbm, "_PARALLEL_TREE_VISITS", 10**12)
        assert model._predict_threads(batch) == 1
        one_thread = model.predict_proba(batch)
    np.testing.assert_array_equal(parallel, one_thread)
    model.save(tmp_path)
    loaded = type(model).load(tmp_path)
    assert loaded.trees_used() == trees
    np.testing.assert_allclose(loaded.predict_proba(batch), one_thread, rtol=1e-12)
