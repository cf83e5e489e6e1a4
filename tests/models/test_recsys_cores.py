"""The recommender cores (issue 16, before the recommend task wraps them): each learns from a small real rating log
better than a trivial rule, and the top-k scorers recommend what co-occurs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.budget import Deadline
from accelml.models.recsys import (
    EASE,
    ALSRatings,
    Biases,
    FactorModel,
    ItemKNN,
    ItemKNNRatings,
    Popularity,
    RP3Beta,
    interaction_matrix,
)

RATINGS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "movielens_100k" / "ratings.csv"


@pytest.fixture(scope="module")
def log() -> tuple[np.ndarray, ...]:
    df = pd.read_csv(RATINGS)  # all 100,000 ratings: on a sparse sample the neighbours and factors overfit
    users = df.user_id.astype("category").cat.codes.to_numpy()
    items = df.item_id.astype("category").cat.codes.to_numpy()
    test = np.random.default_rng(0).random(len(df)) < 0.1
    return users, items, df.rating.to_numpy(dtype=float), test


def _rmse(model, log) -> float:
    users, items, r, test = log
    U, I = users.max() + 1, items.max() + 1
    model.fit(users[~test], items[~test], r[~test], U, I)
    return float(np.sqrt(np.mean((model.predict(users[test], items[test]) - r[test]) ** 2)))


def test_rating_models_beat_the_mean_and_the_biases(log) -> None:
    _, _, r, test = log
    mean = float(np.sqrt(np.mean((r[test] - r[~test].mean()) ** 2)))
    biases = _rmse(Biases(), log)
    assert biases < mean - 0.05
    assert _rmse(ItemKNNRatings(40, 100.0), log) < biases
    assert _rmse(ALSRatings(50, 0.1, 8), log) < biases


def test_scorers_recommend_what_co_occurs() -> None:
    # users 0-2 all chose items 0 and 1; user 3 chose item 0 only: item 1 should top its list (item 2 is rare)
    R = interaction_matrix(np.array([0, 0, 1, 1, 2, 2, 2, 3, 4]), np.array([0, 1, 0, 1, 0, 1, 3, 0, 2]), 5, 4)
    for model in (EASE(1.0), ItemKNN(10, 0.0), RP3Beta(1.0, 0.0)):
        scores = model.fit(R).score(R, np.array([3]))
        assert int(np.argmax(np.where(R[3].toarray()[0] > 0, -np.inf, scores[0]))) == 1, type(model).__name__
    assert EASE(1.0).fit(R).weights_.diagonal().tolist() == [0.0] * 4
    assert np.argmax(Popularity().fit(R).score(R, np.array([0]))[0]) == 0
    assert EASE.fits(5_000) and not EASE.fits(10**6)


def test_factor_model_honours_its_deadline(log) -> None:
    pytest.importorskip("torch")
    users, items, r, _ = log
    start = time.monotonic()
    model = FactorModel(16, epochs=100_000).fit(users, items, r, users.max() + 1, items.max() + 1,
                                                deadline=Deadline.after(1.0))
    assert time.monotonic() - start < 3.0
    assert 0 < model.epochs_ < 100_000
    assert model.predict(users[:5], items[:5]).shape == (5,)
