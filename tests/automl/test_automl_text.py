"""Text classification end to end on small real text: the text families compete and are ensembled, validation keeps
repeated texts together, a text column inside a table is read next to the other columns, the artifact round trip
(no pickle, the encoder checked), and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import accelml
from accelml.cli import app
from accelml.features.text_encoders import available_encoders
from accelml.schema import ColumnRole

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
needs_encoder = pytest.mark.skipif("minilm" not in available_encoders(), reason="accelml[text] is not installed")


def _sst2() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(SHARED / "sst2" / "sst2_dev.csv")
    return frame.iloc[:600].reset_index(drop=True), frame.iloc[600:].reset_index(drop=True)


def _sms(n: int = 700) -> pd.DataFrame:
    return pd.read_csv(SHARED / "sms_spam" / "sms_spam.csv").iloc[:n]


@pytest.fixture(scope="module")
def sentiment() -> accelml.AutoML:
    train, _ = _sst2()
    models = ["tfidf_linear", "linear"] + (["linear_sentence"] if available_encoders() else [])
    return accelml.AutoML(time_limit=40, models=models, n_jobs=1, seed=0, max_trials=6).fit(train, "label")


def test_text_families_learn_sentiment_and_are_ensembled(sentiment: accelml.AutoML) -> None:
    _, test = _sst2()
    assert [c.role for c in sentiment.schema_.features] == [ColumnRole.TEXT]
    assert sentiment.schema_.extra["prose"] == ["sentence"]
    board = sentiment.leaderboard()
    assert "tfidf_linear" in set(board["family"])
    accuracy = float(np.mean(sentiment.predict(test) == test["label"]))
    assert accuracy > 0.65
    if available_encoders():  # frozen MiniLM vectors beat TF-IDF on 600 sentences
        families = set(board["family"])
        assert "linear_sentence" in families


def test_the_artifact_round_trip_predicts_the_same_without_pickle(sentiment: accelml.AutoML, tmp_path) -> None:
    _, test = _sst2()
    folder = sentiment.save(tmp_path / "model")
    assert not [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    restored = accelml.load(folder)
    np.testing.assert_allclose(restored.predict_proba(test), sentiment.predict_proba(test), atol=1e-6)
    # new texts with junk, blanks and a missing value are read under the same policy
    odd = pd.DataFrame({"sentence": ["a\x00 wonderful\x1b film", "", None, "x" * 200_000]})
    assert len(restored.predict(odd)) == 4


def test_repeated_texts_are_validated_apart() -> None:
    sms = _sms(1_500)
    fitted = accelml.AutoML(time_limit=20, models=["tfidf_linear"], n_jobs=1, seed=0, max_trials=2).fit(
        sms[["label", "message"]], "label")
    description = fitted.result_.extra["validation"]["description"]
    assert description == "one holdout split grouped by 'message'"


def test_short_texts_in_a_table_stay_with_the_table() -> None:
    """Titanic's names are text, but not prose: the text families and their validation do not apply."""
    titanic = pd.read_csv(SHARED / "titanic" / "titanic_train.csv")
    fitted = accelml.AutoML(time_limit=20, models=["lgbm", "tfidf_linear"], n_jobs=1, seed=0, max_trials=3,
                            n_splits=3).fit(titanic, "Survived")
    assert fitted.schema_.column("Name").role is ColumnRole.TEXT
    assert fitted.schema_.extra["prose"] == []
    assert set(fitted.leaderboard()["family"]) <= {"lgbm", "ensemble"}


@needs_encoder
def test_a_text_column_inside_a_table_is_encoded_next_to_the_others(tmp_path) -> None:
    sms = _sms(600)
    sms["category"] = np.where(sms["length"] > 100, "long", "short")
    fitted = accelml.AutoML(time_limit=40, models=["lgbm_sentence"], n_jobs=1, seed=0, max_trials=2,
                            roles={"message": "text"}).fit(sms, "label")
    names = fitted.result_.ensemble.members[0].preprocessors[0].feature_names_
    assert sum(n.startswith("message__minilm") for n in names) == 384
    assert {"length", "punct", "category"} <= {n.split("__")[0] for n in names}
    assert set(fitted.predict(sms.iloc[:20])) <= {"ham", "spam"}


@needs_encoder
def test_fine_tuning_runs_within_its_budget_and_saves_safetensors(tmp_path) -> None:
    train, test = _sst2()
    fitted = accelml.AutoML(time_limit=60, models=["minilm"], n_jobs=2, seed=0, max_trials=1,
                            n_splits=1).fit(train.iloc[:300], "label")
    assert fitted.result_.fit_seconds < 60 * 1.05 + 5
    folder = fitted.save(tmp_path / "model")
    assert list(folder.rglob("minilm.safetensors"))
    restored = accelml.load(folder)
    np.testing.assert_allclose(restored.predict_proba(test.iloc[:20]), fitted.predict_proba(test.iloc[:20]),
                               atol=1e-4)


def test_the_command_line_fits_and_predicts_text(tmp_path) -> None:
    train, test = _sst2()
    train.to_csv(tmp_path / "train.csv", index=False)
    test.drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    runner = CliRunner()
    fit = runner.invoke(app, ["fit", str(tmp_path / "train.csv"), "--target", "label", "--time-limit", "20",
                              "--models", "tfidf_linear", "--out", str(tmp_path / "model"), "--max-trials", "2"])
    assert fit.exit_code == 0, fit.output
    out = tmp_path / "predictions.csv"
    predict = runner.invoke(app, ["predict", str(tmp_path / "model"), str(tmp_path / "new.csv"), "--out", str(out)])
    assert predict.exit_code == 0, predict.output
    assert len(pd.read_csv(out)) == len(test)
