"""Every recommend family's fitted state is written as JSON and arrays and read back to the same answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from accelml.exceptions import ArtifactError
from accelml.models.recommenders import RECOMMENDERS, TrainData, dump_state, fit_family, predict_family, restore_state

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "movielens_100k" / "ratings.csv"


@pytest.fixture(scope="module")
def data() -> TrainData:
    df = pd.read_csv(DATA).head(3000)
    users = pd.factorize(df["user_id"], sort=True)[0]
    items = pd.factorize(df["item_id"], sort=True)[0]
    R = sp.csr_matrix((np.ones(len(df), np.float32), (users, items)), shape=(users.max() + 1, items.max() + 1))
    attrs = (np.random.default_rng(0).random((R.shape[1], 4)) > 0.5).astype(np.float32)
    return TrainData(R, users, items, df["rating"].to_numpy(float), df["timestamp"].to_numpy(float), attrs, None)


@pytest.mark.parametrize("key", sorted(RECOMMENDERS))
def test_state_round_trip(key: str, data: TrainData) -> None:
    family = RECOMMENDERS[key]
    if any(importlib.util.find_spec(m) is None for m in family.requires):
        pytest.skip(f"{key} needs {family.requires}")
    params = {**family.opening, **({"epochs": 20} if key in ("svdpp", "bpr") else {})}
    core = fit_family(family, params, data, seed=0)
    meta, arrays = dump_state(core)
    import json

    back = restore_state(json.loads(json.dumps(meta)), arrays)
    users = np.arange(10)
    if family.kind == "ranking":
        np.testing.assert_allclose(back.score(data.R, users), core.score(data.R, users), rtol=1e-6)
    else:
        items = data.items[:10]
        np.testing.assert_allclose(predict_family(family, back, users, items),
                                   predict_family(family, core, users, items), rtol=1e-6)


def test_unknown_class_is_refused() -> None:
    with pytest.raises(ArtifactError, match="unknown recommender class"):
        restore_state({"class": "os.system", "values": {}, "arrays": [], "sparse": [], "children": {}}, {})
