"""The artifact folder: round trip, manifest, hash and version checks, no silent overwrite, no pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest

import accelml
from accelml.exceptions import ArtifactError, ConfigError
from accelml.export.artifact import model_libraries
from tests.conftest import make_table


@pytest.fixture(scope="module")
def fitted() -> accelml.AutoML:
    # every family once, so each one's files go through the round trip
    table = make_table("multiclass", n=300, seed=1)
    return accelml.AutoML(time_limit=60, max_trials=8, n_jobs=1, n_splits=3).fit(table, target="y")


def test_round_trip_gives_identical_predictions(fitted, tmp_path) -> None:
    table = make_table("multiclass", n=50, seed=9)
    fitted.save(tmp_path / "m")
    loaded = accelml.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(table).to_numpy(), fitted.predict_proba(table).to_numpy())
    assert list(loaded.predict(table)) == list(fitted.predict(table))
    assert loaded.leaderboard().equals(fitted.leaderboard())


def test_manifest_contents(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["accelml_version"] == accelml.__version__
    families = [m["model"] for m in manifest["ensemble"]["members"]]
    assert list(manifest["libraries"]) == model_libraries(families)  # those the model is read with, and no others
    assert {"numpy", "scikit-learn"} <= set(manifest["libraries"]) and all(manifest["libraries"].values())
    assert manifest["task"] == "multiclass" and manifest["metric"]["name"] == "log_loss"
    assert manifest["schema"]["target"] == "y"
    assert manifest["leaderboard"][0]["model"]
    assert manifest["config"]["max_trials"] == 8
    files = [p for p in path.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert sorted(p.relative_to(path).as_posix() for p in files) == sorted(manifest["files"])
    suffixes = {p.suffix for p in files}
    assert not suffixes & {".pkl", ".pickle", ".joblib"}


def test_all_families_round_trip(tmp_path) -> None:
    from accelml.models import MODELS

    table = make_table("binary", n=200, seed=2)
    for key in sorted(MODELS):
        # the image and text families' round trip: tests/automl (a table without prose is none of theirs)
        if MODELS[key].preprocessing in ("image", "embed", "text", "sentence"):
            with pytest.raises(ConfigError, match="can learn from this data"):
                accelml.AutoML(max_trials=1, time_limit=None, models=[key]).fit(table, target="y")
            continue
        automl = accelml.AutoML(max_trials=2, time_limit=None, n_jobs=1, models=[key], n_splits=2).fit(table, target="y")
        loaded = accelml.load(automl.save(tmp_path / key))
        np.testing.assert_allclose(
            loaded.predict_proba(table).to_numpy(), automl.predict_proba(table).to_numpy(), rtol=1e-6, atol=1e-7
        )


def test_refuses_to_overwrite_without_force(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "m")
    with pytest.raises(ArtifactError, match="already exists"):
        fitted.save(path)
    fitted.save(path, force=True)
    assert accelml.load(path).task_ == "multiclass"
    other = tmp_path / "notes"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(ArtifactError, match="not an accelml model"):
        fitted.save(other, force=True)
    assert (other / "precious.txt").read_text() == "keep me"


def test_tampered_file_is_named(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    victim = next(f for f in manifest["files"] if f.endswith("preprocessor.json"))
    (path / victim).write_text((path / victim).read_text().replace("0", "1", 1))
    with pytest.raises(ArtifactError, match=victim.replace(".", r"\.")):
        accelml.load(path)


def test_missing_file_and_bad_folder(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    victim = next(iter(manifest["files"]))
    (path / victim).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        accelml.load(path)
    with pytest.raises(ArtifactError, match="does not exist"):
        accelml.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        accelml.load(tmp_path / "empty")


def test_library_major_version_mismatch_is_refused(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "m")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    family = manifest["ensemble"]["members"][0]["model"]
    library = model_libraries([family])[-1]  # the family's own library (scikit-learn for its families)
    other_major = f"{int(manifest['libraries'][library].split('.')[0]) + 1}.0.0"
    manifest["libraries"][library] = other_major
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=f"{library} {other_major}"):
        accelml.load(path)


def test_libraries_of_families_not_in_the_model_are_not_checked(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "m")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    used = set(model_libraries(m["model"] for m in manifest["ensemble"]["members"]))
    unused = next(name for name in ("lightgbm", "xgboost", "catboost", "skops", "torch") if name not in used)
    manifest["libraries"][unused] = "0.1.0"  # an older manifest listed every family's library
    manifest_path.write_text(json.dumps(manifest))
    assert accelml.load(path).task_ == "multiclass"


def test_training_sample_and_out_of_fold_output_travel(fitted, tmp_path) -> None:
    result = fitted.result_
    assert result.sample is not None and len(result.sample) == result.n_rows  # under 2,000 rows: all of them
    assert "y" in result.sample.columns
    assert result.sample_oof.shape == (len(result.sample), len(fitted.classes_))
    np.testing.assert_allclose(result.sample_oof.sum(axis=1), 1.0, atol=1e-6)
    loaded = accelml.load(fitted.save(tmp_path / "m")).result_
    assert loaded.sample.equals(result.sample)
    np.testing.assert_array_equal(loaded.sample_oof, result.sample_oof)
