"""Text columns in monitoring: the profile's vocabulary, language and sentence vector, and how new texts drift."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from accelml.features.text_encoders import available_encoders
from accelml.monitor import DriftThresholds, build_profile, check_drift
from accelml.monitor import texts as text_monitor
from accelml.monitor.profile import with_text_embeddings
from accelml.monitor.texts import embedding_baseline, text_summary
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
from tests.conftest import shared_dataset

SCHEMA = Schema([ColumnSpec("message", ColumnRole.TEXT, "str"), ColumnSpec("n", ColumnRole.NUMERIC, "float64")],
                target="label", task="binary", classes=["ham", "spam"])
SPANISH = ("la película es muy buena pero el final es lento", "no me gusta nada esta historia de amor",
           "los actores son excelentes y la música también", "una obra maestra del cine español moderno")
needs_encoder = pytest.mark.skipif(not available_encoders(), reason="no sentence encoder installed (accelml[text])")


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    frame = pd.read_csv(shared_dataset("sms_spam/sms_spam.csv"))
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True).assign(n=lambda d: d["length"] * 1.0)


@pytest.fixture(scope="module")
def profile(sms: pd.DataFrame) -> dict:
    return build_profile(sms.iloc[:3000], SCHEMA, embed_seconds=0)  # no sentence vector: see the encoder tests


def _measures(report, column: str = "message") -> dict[str, dict]:
    return {m["measure"]: m for m in report.texts[column]["measures"]}


def test_profile_keeps_vocabulary_language_and_length(profile: dict) -> None:
    column = profile["columns"]["message"]
    assert column["kind"] == "text" and column["edges"]  # the length's bins, as before
    text = column["text"]
    assert text["n_texts"] == 3000 and text["n_words"] > 30_000
    assert text["vocabulary"][:3] == ["i", "to", "you"]  # most frequent first
    assert len(text["vocabulary"]) == len(set(text["vocabulary"])) <= text_monitor.VOCABULARY
    assert 0.03 < text["expected_oov"] < 0.1  # SMS spelling: many words are seen once
    assert 0.3 < text["english_share"] < 0.5
    assert (text["embedding"] is None) == bool(text["embedding_note"])  # a vector, or why there is none
    json.dumps(profile)  # plain JSON, as the artifact stores it


def test_vocabulary_is_capped_and_the_expected_rate_counts_what_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    values = pd.Series(["alpha beta", "alpha gamma", "alpha beta delta"] * 4)
    assert text_summary(values, embed_seconds=0)["expected_oov"] == 0.0
    monkeypatch.setattr(text_monitor, "VOCABULARY", 2)
    summary = text_summary(values, embed_seconds=0)
    assert summary["vocabulary"] == ["alpha", "beta"]
    assert summary["expected_oov"] == pytest.approx(8 / 28)  # gamma and delta, 4 times each, of 28 words


def test_texts_like_the_training_ones_do_not_drift(profile: dict, sms: pd.DataFrame) -> None:
    report = check_drift(profile, sms.iloc[3000:4000], SCHEMA)
    row = report.columns.set_index("column").loc["message"]
    assert row["status"] == "ok"
    measures = _measures(report)
    assert [m for m in measures if m != "embedding"] == ["length", "oov_rate", "english_share"]
    assert {m["status"] for m in measures.values()} == {"ok"}
    assert abs(measures["oov_rate"]["change"]) < 0.02  # the leave-one-out rate predicts new texts' rate
    assert row["unseen_share"] == measures["oov_rate"]["new"]


def test_another_language_drifts_on_vocabulary_and_language(profile: dict) -> None:
    new = pd.DataFrame({"message": list(SPANISH) * 50, "n": 50.0})
    report = check_drift(profile, new, SCHEMA)
    measures = _measures(report)
    assert measures["oov_rate"]["status"] == "drift" and measures["oov_rate"]["new"] > 0.5
    assert measures["english_share"]["status"] == "drift" and measures["english_share"]["new"] == 0.0
    assert report.columns.set_index("column").loc["message", "status"] == "drift"
    assert "message" in report.summary()


def test_long_texts_drift_on_length(profile: dict, sms: pd.DataFrame) -> None:
    new = sms.iloc[3000:3300].assign(message=lambda d: d["message"] * 8)
    measures = _measures(check_drift(profile, new, SCHEMA))
    assert measures["length"]["status"] == "drift" and measures["length"]["new"] > 5 * measures["length"]["train"]
    assert measures["oov_rate"]["status"] == "ok"


def test_few_new_texts_are_at_most_a_warning(profile: dict) -> None:
    report = check_drift(profile, pd.DataFrame({"message": list(SPANISH) * 5, "n": 1.0}), SCHEMA)
    assert {m["status"] for m in _measures(report).values()} <= {"ok", "warning"}


def test_thresholds_can_be_changed(profile: dict) -> None:
    new = pd.DataFrame({"message": list(SPANISH) * 50, "n": 50.0})
    report = check_drift(profile, new, SCHEMA, thresholds={"oov_drift": 0.99, "language_warning": 2.0,
                                                           "language_drift": 3.0})
    measures = _measures(report)
    assert (measures["oov_rate"]["status"], measures["english_share"]["status"]) == ("warning", "ok")
    assert DriftThresholds().text_embedding_drift > DriftThresholds().text_embedding_warning


def test_report_shows_the_text_measures(profile: dict) -> None:
    new = pd.DataFrame({"message": list(SPANISH) * 50, "n": 50.0})
    report = check_drift(profile, new, SCHEMA)
    data = report.to_dict()
    assert [m["measure"] for m in data["texts"]["message"]["measures"]][:3] == ["length", "oov_rate",
                                                                                "english_share"]
    json.dumps(data, allow_nan=False)
    html = report.to_html()
    assert "<h3>Text column message</h3>" in html
    for label in ("length (characters, mean)", "out-of-vocabulary words", "common English words"):
        assert label in html


def test_a_profile_without_the_text_part_still_compares_lengths(profile: dict, sms: pd.DataFrame) -> None:
    old = json.loads(json.dumps(profile))
    del old["columns"]["message"]["text"]
    report = check_drift(old, sms.iloc[3000:3500], SCHEMA)
    assert report.texts == {} and report.columns.set_index("column").loc["message", "status"] == "ok"


def test_without_an_encoder_the_embedding_is_skipped_with_a_note(monkeypatch: pytest.MonkeyPatch,
                                                                 sms: pd.DataFrame) -> None:
    import accelml.features.text_encoders as encoders

    monkeypatch.setattr(encoders, "available_encoders", lambda: [])
    baseline, note = embedding_baseline(["some words here"])
    assert baseline is None and note == "no sentence encoder is installed (install accelml[text])"
    profile = build_profile(sms.iloc[:500], SCHEMA, embed_seconds=None)
    assert with_text_embeddings(profile, sms.iloc[:500]) is profile
    report = check_drift(profile, sms.iloc[500:700], SCHEMA)
    assert "embedding" not in _measures(report)
    assert ("text column 'message': no embedding drift: the training profile has no mean sentence vector (no "
            "sentence encoder is installed (install accelml[text]))") in report.notes


@needs_encoder
def test_embedding_drift_with_an_encoder(sms: pd.DataFrame) -> None:
    sst = pd.read_csv(shared_dataset("sst2/sst2_dev.csv"))
    train = sms.iloc[:150]
    profile = build_profile(train, SCHEMA, embed_seconds=0)
    profile["columns"]["message"]["text"].update(embedding=None, embedding_note="left out at fit")
    filled = with_text_embeddings(profile, train)
    assert profile["columns"]["message"]["text"]["embedding"] is None  # the stored profile is left as it was
    baseline = filled["columns"]["message"]["text"]["embedding"]
    assert baseline["encoder"] in available_encoders() and baseline["n"] == 150 and len(baseline["mean"]) == 384
    assert 1 < baseline["dims"] < 384

    same = _measures(check_drift(filled, sms.iloc[150:270], SCHEMA))["embedding"]
    other = _measures(check_drift(filled, pd.DataFrame({"message": sst["sentence"].iloc[:120], "n": 1.0}),
                                  SCHEMA))["embedding"]
    assert same["status"] == "ok" and same["change"] < 0.1 and same["p_value"] > 0.01
    assert other["status"] == "drift" and other["change"] > 0.25 and other["p_value"] < 1e-6
    assert other["new"] > 3 * same["new"]  # the cosine distance of the mean vectors
