"""Drift on real data (adult census): one education level against the rest is drift; a random half is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accelml.data import read_table
from accelml.monitor import build_profile, check_drift
from accelml.schema import infer_schema

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
ADULT = DATASETS / "adult" / "adult_train.csv"


@pytest.fixture(scope="module")
def adult():
    if not ADULT.exists():
        pytest.skip(f"{ADULT} is not available (../shared/datasets is absent)")
    frame = read_table(ADULT)
    return frame, infer_schema(frame, "class")


def test_one_education_level_against_the_rest_is_drift(adult):
    frame, schema = adult
    level = frame["education"].str.strip() == "Bachelors"
    assert 1000 < level.sum() < len(frame) / 2
    report = check_drift(build_profile(frame[~level], schema), frame[level], schema)
    assert report.status == "drift"
    drifted = report.columns_with("drift")
    assert drifted[:2] == ["education", "education-num"]
    education = report.columns.set_index("column").loc["education"]
    assert education["unseen_share"] == 1.0 and education["p_value"] < 1e-10


def test_a_random_half_against_the_other_half_is_not(adult):
    frame, schema = adult
    half = np.random.default_rng(0).random(len(frame)) < 0.5
    report = check_drift(build_profile(frame[half], schema), frame[~half], schema)
    assert report.status == "ok", report.columns
    assert report.columns["psi"].max() < 0.02
