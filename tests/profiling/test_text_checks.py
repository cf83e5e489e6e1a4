"""Bad text input: each case one clear line in the data checks (or an error naming the column), never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import accelml
from accelml.cli import app
from accelml.exceptions import DataError
from accelml.features.text_input import MAX_CHARS, clean_texts
from accelml.profiling import ISSUE_KINDS, DataIssue, check_data
from accelml.schema import ColumnRole, infer_schema
from accelml.schema.infer import infer_role
from tests.conftest import restored_logging, shared_dataset

N = 120
WORDS = "good bad great awful film plot cast story music ending slow fun".split()


def _reviews(n: int = N, seed: int = 0) -> pd.DataFrame:
    """Short reviews whose words give the label away, a number, and the label."""
    rng = np.random.default_rng(seed)
    label = rng.choice(["pos", "neg"], n)
    review = [f"{'great fun' if y == 'pos' else 'awful slow'} {' '.join(rng.choice(WORDS, 5))} {i}"
              for i, y in enumerate(label)]
    return pd.DataFrame({"review": review, "x": rng.normal(size=n), "label": label})


def _check(df: pd.DataFrame, **roles: str) -> tuple[list[DataIssue], accelml.schema.Schema]:
    schema = infer_schema(df, "label", roles=roles or None)
    _, issues = check_data(df, schema)
    for issue in issues:
        assert issue.kind in ISSUE_KINDS
    return issues, schema


def _only(issues: list[DataIssue], kind: str) -> DataIssue:
    found = [i for i in issues if i.kind == kind]
    assert len(found) == 1, issues
    return found[0]


def test_clean_text_column_has_no_text_issues() -> None:
    issues, schema = _check(_reviews())
    assert schema.column("review").role is ColumnRole.TEXT
    assert issues == []


# --- a column without text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [[None] * N, [""] * N, [" ", "", "   ", None] * (N // 4), ["\x00\x01", "  ", None] * (N // 3)],
    ids=["missing", "empty", "blank", "junk-only"],
)
def test_empty_text_column_is_dropped_with_a_warning(values: list) -> None:
    df = _reviews().assign(review=values)
    issues, schema = _check(df, review="text")
    issue = _only(issues, "empty_text")
    assert (issue.severity, issue.column, issue.action, issue.count) == ("warning", "review", "dropped_column", N)
    assert issue.message == f"text column 'review' has no text (all {N} values are missing or blank); it is not used " \
                            "as a feature"
    spec = schema.column("review")
    assert spec.role is ColumnRole.CONSTANT and not spec.user_role
    assert [c.name for c in schema.features] == ["x"]


def test_empty_text_column_that_is_the_only_feature_is_an_error() -> None:
    df = _reviews().assign(review=[" "] * N).drop(columns="x")
    with pytest.raises(DataError, match=r"^text column 'review' has no text .* it is the only feature"):
        _check(df, review="text")


def test_fit_without_the_empty_text_column() -> None:
    df = _reviews().assign(review=[None, "  "] * (N // 2))
    model = accelml.AutoML(time_limit=15, max_trials=2, models=["linear"], seed=0, roles={"review": "text"})
    model.fit(df, target="label")
    assert "empty_text" in [i.kind for i in model.issues_]
    assert model.predict(df.head(3)).shape == (3,)
    assert model.predict(df.head(3).drop(columns="review")).shape == (3,)  # the dropped column is not needed


def test_fit_on_an_empty_text_column_alone_is_one_clear_error() -> None:
    df = _reviews().assign(review=[""] * N).drop(columns="x")
    model = accelml.AutoML(time_limit=15, models=["tfidf_linear"], seed=0, roles={"review": "text"})
    with pytest.raises(DataError, match="text column 'review' has no text"):
        model.fit(df, target="label")


# --- one text everywhere -------------------------------------------------------------------------------------------


def test_one_text_in_every_row_is_dropped_with_a_warning() -> None:
    df = _reviews().assign(review=["No review given"] * (N - 10) + [None] * 10)
    issues, schema = _check(df, review="text")
    issue = _only(issues, "repeated_text")
    assert (issue.severity, issue.action, issue.count) == ("warning", "dropped_column", N - 10)
    assert issue.message == ("text column 'review' holds one text ('No review given') in every row that has text "
                             f"({N - 10} of {N}); it carries no signal and is not used as a feature")
    assert schema.column("review").role is ColumnRole.CONSTANT


def test_one_text_alone_is_an_error_naming_it() -> None:
    df = _reviews().assign(review=["same words every time"] * N).drop(columns="x")
    with pytest.raises(DataError, match=r"'review' holds one text \('same words every time'\) in every row, and it"):
        _check(df, review="text")


def test_a_text_filling_most_rows_is_reported_and_kept() -> None:
    df = _reviews()
    df.loc[: N * 2 // 3, "review"] = "n/a - nothing to say"
    issues, schema = _check(df)
    issue = _only(issues, "repeated_text")
    assert (issue.severity, issue.action) == ("info", "none")
    assert "'n/a - nothing to say'" in issue.message and "fills 68% of text column 'review'" in issue.message
    assert schema.column("review").role is ColumnRole.TEXT


# --- junk and long texts -------------------------------------------------------------------------------------------


def test_binary_junk_is_counted_and_cleaned() -> None:
    df = _reviews()
    df["review"] = df["review"].astype(object)
    df.loc[0, "review"] = "great \x00\x00\x1b[31m film"
    df.loc[1, "review"] = b"awful \xff\xfe slow"  # bytes that are not UTF-8
    df.loc[2, "review"] = "tab\tand\nnew line are plain whitespace"
    issues, schema = _check(df, review="text")
    issue = _only(issues, "junk_text")
    assert (issue.severity, issue.column, issue.count) == ("warning", "review", 2)
    assert issue.message == ("2 value(s) of text column 'review' hold control characters or undecodable bytes "
                             "(binary junk?); those characters are read as spaces")
    # the count is the rows the cleaning policy changes beyond their whitespace
    texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in df["review"]]
    changed = [" ".join(t.split()) != c for t, c in zip(texts, clean_texts(df["review"]), strict=True)]
    assert sum(changed) == 2
    assert clean_texts(df["review"].head(2)) == ["great [31m film", "awful slow"]


def test_long_texts_are_counted_and_cut() -> None:
    df = _reviews()
    df["review"] = df["review"].astype(object)
    df.loc[3, "review"] = "word " * (MAX_CHARS // 5 + 10)
    df.loc[4, "review"] = "x" * (MAX_CHARS * 3)
    issues, _ = _check(df)
    issue = _only(issues, "long_text")
    assert (issue.severity, issue.count) == ("warning", 2)
    assert issue.message == (f"2 text(s) of column 'review' are longer than {MAX_CHARS:,} characters (the longest has "
                             f"{MAX_CHARS * 3:,}); they are cut at {MAX_CHARS:,} characters")
    assert [len(t) for t in clean_texts(df["review"].iloc[3:5])] == [MAX_CHARS - 1, MAX_CHARS]


# --- text taken for a category -------------------------------------------------------------------------------------


def test_free_text_is_inferred_as_text() -> None:
    sms = pd.read_csv(shared_dataset("sms_spam/sms_spam.csv"))
    assert infer_schema(sms, "label").column("message").role is ColumnRole.TEXT


def test_many_distinct_phrases_are_text_even_when_they_repeat() -> None:
    rng = np.random.default_rng(0)
    phrases = [f"my order number {i} arrived {rng.choice(WORDS)} and {rng.choice(WORDS)}" for i in range(1200)]
    repeated = pd.Series(phrases * 3, name="ticket")  # 1,200 distinct in 3,600 rows: a third
    assert infer_role(repeated) is ColumnRole.TEXT
    zones = pd.Series([f"Upper East Side {i}" for i in range(200)] * 10, name="zone")  # short names: categories
    assert infer_role(zones) is ColumnRole.CATEGORICAL


def test_free_text_forced_to_category_is_warned_with_the_role_to_give() -> None:
    sms = pd.read_csv(shared_dataset("sms_spam/sms_spam.csv"), nrows=600)[["message", "label"]]
    issues, schema = _check(sms, message="categorical")
    assert schema.column("message").role is ColumnRole.CATEGORICAL  # the user's choice is kept
    issue = _only(issues, "text_as_category")
    assert (issue.severity, issue.column) == ("warning", "message")
    assert "column 'message' has role 'categorical' (set by you) but holds free text" in issue.message
    assert issue.message.endswith("give it the text role (--role message=text, or roles={'message': 'text'})")


def test_a_wordy_high_cardinality_category_gets_a_hint() -> None:
    rng = np.random.default_rng(0)
    notes = [f"customer asked about {w} delivery" for w in rng.choice([f"w{i}" for i in range(150)], 400)]
    df = _reviews(400).assign(note=notes)
    issues, schema = _check(df)
    assert schema.column("note").role is ColumnRole.CATEGORICAL
    assert _only(issues, "high_cardinality").message.endswith("if it holds free text, give it the text role "
                                                               "(--role note=text)")


def test_cli_role_makes_a_category_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    label = rng.choice(["pos", "neg"], 200)
    good = ["a great film that I loved a lot", "what a fun plot and a fine cast", "loved it and would see it again"]
    bad = ["an awful film that I hated a lot", "what a slow plot and a dull cast", "hated it and would walk out again"]
    review = np.where(label == "pos", rng.choice(good, 200), rng.choice(bad, 200))  # 6 phrases: categories
    data = tmp_path / "reviews.csv"
    pd.DataFrame({"review": review, "label": label}).to_csv(data, index=False)
    assert infer_schema(pd.read_csv(data), "label").column("review").role is not ColumnRole.TEXT
    with restored_logging():
        result = CliRunner().invoke(app, ["fit", str(data), "--target", "label", "--out", str(tmp_path / "model"),
                                          "--time-limit", "15", "--models", "tfidf_linear", "--role", "review=text"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    review_spec = next(c for c in manifest["schema"]["columns"] if c["name"] == "review")
    assert (review_spec["role"], review_spec["user_role"]) == ("text", True)
