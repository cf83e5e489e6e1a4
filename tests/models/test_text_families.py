"""The text families: TF-IDF models tuning their own vocabulary, and MiniLM fine-tuning (saved as the layers it
changed, checked against the pinned encoder at load)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.budget import Deadline
from accelml.exceptions import ArtifactError
from accelml.features.text_encoders import available_encoders
from accelml.models import MODELS

SST2 = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sst2" / "sst2_dev.csv"
needs_minilm = pytest.mark.skipif("minilm" not in available_encoders() or not all(
    __import__("importlib").util.find_spec(m) for m in MODELS["minilm"].requires), reason="accelml[text] missing")


def _sst2(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(SST2).iloc[:n]
    return frame[["sentence"]].to_numpy(dtype=object), frame["label"].to_numpy()


def test_tfidf_linear_learns_sentiment_and_names_its_terms(tmp_path) -> None:
    X, y = _sst2(872)
    model = MODELS["tfidf_linear"](task="binary", params={"char_ngrams": "none", "min_df": 1}, seed=0)
    model.fit(X[:700], y[:700])
    accuracy = float(np.mean(model.predict(X[700:]) == y[700:]))
    assert accuracy > 0.6
    terms = model.informative_terms(30)
    positive = {t["term"] for t in terms if t["class"] == 1}
    negative = {t["term"] for t in terms if t["class"] == 0}
    assert positive & {"best", "fun", "good", "great", "funny", "beautiful", "love", "entertaining"}
    assert negative & {"bad", "worst", "dull", "boring", "too", "mess", "no", "nothing"}
    model.save(tmp_path)
    saved = json.loads((tmp_path / "tfidf.json").read_text())
    assert saved["params"]["word_ngrams"] == 2 and saved["blocks"][0]["analyzer"] == "word"
    restored = MODELS["tfidf_linear"].load(tmp_path)
    np.testing.assert_allclose(restored.predict_proba(X[700:]), model.predict_proba(X[700:]), atol=1e-6)


def test_tfidf_settings_change_the_vocabulary() -> None:
    X, y = _sst2(300)
    small = MODELS["tfidf_linear"](task="binary", params={"char_ngrams": "none", "word_ngrams": 1,
                                                          "max_features": 200}, seed=0).fit(X, y)
    large = MODELS["tfidf_linear"](task="binary", params={"char_ngrams": "3-5", "word_ngrams": 2}, seed=0).fit(X, y)
    assert small.tfidf_.n_features_ == 200
    assert large.tfidf_.n_features_ > 2_000
    assert any(t.startswith("'") for t in large.tfidf_.terms())  # character n-grams are quoted


def test_tfidf_lgbm_reads_texts(tmp_path) -> None:
    X, y = _sst2(600)
    model = MODELS["tfidf_lgbm"](task="binary", params={"n_estimators": 100}, seed=0)
    model.fit(X[:500], y[:500], eval_set=(X[500:], y[500:]))
    assert model.predict_proba(X[500:]).shape == (100, 2)
    model.save(tmp_path)
    np.testing.assert_allclose(MODELS["tfidf_lgbm"].load(tmp_path).predict_proba(X[500:]),
                               model.predict_proba(X[500:]), atol=1e-9)


@needs_minilm
def test_minilm_saves_only_the_layers_it_trained_and_checks_the_encoder(tmp_path) -> None:
    from safetensors.numpy import load_file

    X, y = _sst2(200)
    model = MODELS["minilm"](task="binary", params={"layers": 2, "max_epochs": 1, "max_length": 32}, seed=0)
    model.fit(X[:160], y[:160], eval_set=(X[160:], y[160:]), deadline=Deadline.after(60))
    assert model.steps_ > 0 and model.texts_seen_ >= 160
    proba = model.predict_proba(X[160:])
    model.save(tmp_path)
    keys = set(load_file(str(tmp_path / "minilm.safetensors")))
    assert keys and all(k.startswith(("head.", "encoder.encoder.layer.4.", "encoder.encoder.layer.5.")) for k in keys)
    assert any(k.startswith("encoder.encoder.layer.4.") for k in keys)
    restored = MODELS["minilm"].load(tmp_path)
    np.testing.assert_allclose(restored.predict_proba(X[160:]), proba, atol=1e-4)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["encoder"]["sha256"] = "f" * 64
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="sha256"):
        MODELS["minilm"].load(tmp_path)


@needs_minilm
def test_minilm_is_not_started_without_time_for_useful_steps() -> None:
    cls = MODELS["minilm"]
    assert cls.min_fit_seconds(50_000) > 40  # 2,000 texts at about 40 a second on a CPU
    assert cls.min_fit_seconds(50_000, gpu=True) < 10
    assert cls.min_fit_seconds(100) < cls.min_fit_seconds(50_000)
    # long documents (movie reviews, 700+ words) train several times slower: a 60 s run has no time for them
    from accelml.schema.schema import ColumnRole, ColumnSpec, Schema

    schema = Schema([ColumnSpec("text", ColumnRole.TEXT, "object")], target="y", task="binary")
    reviews = pd.DataFrame({"text": [" ".join(["word"] * 700)] * 50})
    assert cls.min_fit_seconds(1_600, X=reviews, schema=schema) > 4 * cls.min_fit_seconds(1_600) - 20
    assert cls.min_fit_seconds(1_600, X=reviews, schema=schema) > 60
