from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from accelml.features.base import EncoderContext
from accelml.features.text import MAX_TERMS, TextEncoder

from .conftest import make_frame


def _encoder(kind: str) -> TextEncoder:
    return TextEncoder("t", EncoderContext(kind, "binary", 2))


@pytest.mark.parametrize("kind", ["tree", "dense"])
def test_matches_scikit_learns_tfidf_and_restores_without_refitting(kind: str) -> None:
    train, new = make_frame(300, seed=1)["text"], make_frame(50, seed=2)["text"]
    enc = _encoder(kind)
    fitted = enc.fit_transform(train)
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=MAX_TERMS[kind])
    expected = reference.fit_transform(train.fillna("")).toarray()
    n_terms = len(reference.vocabulary_)
    assert enc.state_["vocabulary"] == {t: int(i) for t, i in reference.vocabulary_.items()}
    assert np.allclose(fitted[:, :n_terms], expected)
    assert np.allclose(enc.transform(new)[:, :n_terms], reference.transform(new.fillna("")).toarray())
    assert np.array_equal(enc.transform(train), fitted)
    restored = _encoder(kind)
    restored.set_state(json.loads(json.dumps(enc.get_state())))
    assert np.array_equal(restored.transform(new), enc.transform(new))


def test_tree_adds_length_and_word_count_and_caps_terms() -> None:
    words = [f"w{i}" for i in range(400)]
    docs = pd.Series([" ".join(words[i : i + 5]) for i in range(395)] + [None])
    enc = _encoder("tree").fit(docs)
    assert len(enc.feature_names_) == MAX_TERMS["tree"] + 2
    assert enc.feature_names_[-2:] == ["t__n_chars", "t__n_words"]
    out = enc.transform(pd.Series(["hello big world", None]))
    assert out[0, -2:].tolist() == [15.0, 3.0] and out[1, -2:].tolist() == [0.0, 0.0]
    assert len(_encoder("dense").fit(docs).feature_names_) == MAX_TERMS["dense"]


def test_rows_have_unit_norm_or_are_zero() -> None:
    enc = _encoder("dense").fit(make_frame(200)["text"])
    out = enc.transform(pd.Series(["red car", "", None, "unknown words only"]))
    assert np.allclose(np.linalg.norm(out, axis=1), [1.0, 0.0, 0.0, 0.0])


def test_no_shared_terms_gives_no_tfidf_columns() -> None:
    for docs in (pd.Series(["alpha", "beta", None]), pd.Series([None, None]), pd.Series(["one doc"])):
        enc = _encoder("dense").fit(docs)
        assert enc.feature_names_ == [] and enc.transform(docs).shape == (len(docs), 0)
        assert _encoder("tree").fit(docs).transform(docs).shape == (len(docs), 2)
