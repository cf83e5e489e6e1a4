"""Word-level explanations of one text by occlusion: on a spam filter trained on real SMS messages, spam words push a
message towards spam, every variant is predicted in one batch, and any model with predict_proba or predict works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml import AutoML
from accelml.exceptions import ConfigError
from accelml.explain import TextExplanation, explain_text
from accelml.features.text_encoders import available_encoders

SMS = Path("/work/shared/datasets/sms_spam/sms_spam.csv")
pytestmark = pytest.mark.skipif(not SMS.exists(), reason="the SMS spam data set is not on this machine")
SPAM = "WINNER!! You have won a FREE prize. Call 09061701461 to claim your cash now"


def _sms(spam: int, ham: int) -> pd.DataFrame:
    """The first ``spam`` spam and ``ham`` ham messages, shuffled (seeded)."""
    data = pd.read_csv(SMS)
    rows = pd.concat([data[data["label"] == "spam"].head(spam), data[data["label"] == "ham"].head(ham)])
    return rows.sample(frac=1, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def spam_filter() -> AutoML:
    """TF-IDF logistic regression on 300 messages, with the two numeric columns beside the text (a few seconds)."""
    return AutoML(time_limit=20, models=["tfidf_linear"], seed=0, n_jobs=1, max_trials=3).fit(_sms(100, 200),
                                                                                              target="label")


def _row(message: str) -> dict[str, object]:
    return {"message": message, "length": len(message), "punct": sum(not c.isalnum() and c != " " for c in message)}


def _effect(explanation: TextExplanation, word: str) -> float:
    words = explanation.words
    return float(words.loc[words["word"].str.lower().str.strip(".!,") == word, "effect"].iloc[0])


def test_spam_words_push_a_spam_message_towards_spam(spam_filter: AutoML) -> None:
    explanation = spam_filter.explain_text(_row(SPAM))
    assert explanation.column == "message" and explanation.label == "spam" and explanation.output == "P(spam)"
    assert explanation.prediction > 0.5
    assert _effect(explanation, "free") > 0 and _effect(explanation, "prize") > 0 and _effect(explanation, "claim") > 0
    assert len(explanation.words) == len(SPAM.split()) and set(explanation.words["n_words"]) == {1}
    assert explanation.words["effect"].is_monotonic_decreasing
    top = set(explanation.words["word"].head(5).str.lower().str.strip(".!,"))
    assert top & {"free", "prize", "claim", "call", "winner"}, explanation.words
    assert "P(spam)" in str(explanation) and "FREE" in str(explanation)


def test_effect_is_the_drop_in_probability_without_the_word(spam_filter: AutoML) -> None:
    explanation = explain_text(spam_filter, pd.Series(_row(SPAM)))
    free = explanation.words[explanation.words["word"] == "FREE"].iloc[0]
    without = SPAM.replace("FREE ", "")
    p = spam_filter.predict_proba(pd.DataFrame([_row(SPAM), {**_row(SPAM), "message": without}]))["spam"]
    assert free["position"] == SPAM.split().index("FREE")
    assert free["effect"] == pytest.approx(p[0] - p[1], abs=1e-9)
    assert explanation.prediction == pytest.approx(p[0], abs=1e-9)

    ham = explain_text(spam_filter, pd.DataFrame([_row(SPAM)]), "message", label="ham")
    assert ham.output == "P(ham)" and ham.prediction == pytest.approx(1 - explanation.prediction)
    # two classes: what one gains the other loses
    assert _effect(ham, "free") == pytest.approx(-_effect(explanation, "free"))


class _Counting:
    """Any model: forwards predict_proba and records the size of each call."""

    def __init__(self, automl: AutoML) -> None:
        self.automl, self.calls = automl, []

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(frame))
        return self.automl.predict_proba(frame).to_numpy()

    @property
    def classes_(self) -> np.ndarray:
        return self.automl.classes_


def test_every_variant_is_predicted_in_one_batch_by_any_model(spam_filter: AutoML) -> None:
    counting = _Counting(spam_filter)
    explanation = explain_text(counting, _row(SPAM))  # no schema: the row's longest text is the column
    assert counting.calls == [1 + len(SPAM.split())]
    direct = explain_text(spam_filter, _row(SPAM))
    pd.testing.assert_frame_equal(explanation.words, direct.words)


def test_long_texts_are_occluded_in_spans_of_consecutive_words(spam_filter: AutoML) -> None:
    text = " ".join([SPAM] * 3)  # 42 words
    counting = _Counting(spam_filter)
    explanation = explain_text(counting, _row(text), "message", max_words=5)
    words = explanation.words.sort_values("position")
    assert counting.calls == [1 + 5] and explanation.words_per_span == 9
    assert words["position"].tolist() == [0, 9, 18, 27, 36] and words["n_words"].tolist() == [9, 9, 9, 9, 6]
    assert " ".join(words["word"]) == text


def test_regression_explains_the_predicted_value() -> None:
    class WordCounter:  # predicts the number of words
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return np.array([len(str(t).split()) for t in frame["note"]], dtype=float)

    explanation = explain_text(WordCounter(), {"note": "three short words", "n": 1})
    assert explanation.output == "prediction" and explanation.label is None and explanation.prediction == 3.0
    assert explanation.words["effect"].tolist() == [1.0, 1.0, 1.0]
    assert explanation.words["word"].tolist() == ["three", "short", "words"]  # ties keep the text's order


def test_empty_text_has_no_words(spam_filter: AutoML) -> None:
    explanation = explain_text(spam_filter, _row(""))
    assert explanation.words.empty and 0 <= explanation.prediction <= 1
    assert "no words" in str(explanation)


def test_bad_arguments_are_clear_errors(spam_filter: AutoML) -> None:
    with pytest.raises(ConfigError, match="one row"):
        explain_text(spam_filter, pd.DataFrame([_row(SPAM), _row(SPAM)]))
    with pytest.raises(ConfigError, match="'subject' is not in the row"):
        explain_text(spam_filter, _row(SPAM), "subject")
    with pytest.raises(ConfigError, match="label 'eggs' is not a class"):
        explain_text(spam_filter, _row(SPAM), label="eggs")
    with pytest.raises(ConfigError, match="max_words"):
        explain_text(spam_filter, _row(SPAM), max_words=0)
    with pytest.raises(ConfigError, match="row must be"):
        explain_text(spam_filter, SPAM)


@pytest.mark.skipif(not available_encoders(), reason="no sentence encoder is installed")
def test_a_sentence_vector_model_is_explained_too() -> None:
    data = _sms(60, 100)[["label", "message"]]
    automl = AutoML(time_limit=30, models=["linear_sentence"], seed=0, n_jobs=1, max_trials=1, n_splits=2)
    explanation = automl.fit(data, target="label").explain_text({"message": SPAM}, label="spam")
    assert len(explanation.words) == len(SPAM.split()) and np.isfinite(explanation.words["effect"]).all()
    assert explanation.prediction > 0.5 and explanation.words["effect"].abs().max() > 0
