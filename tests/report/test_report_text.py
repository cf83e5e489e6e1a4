"""The report of a model that reads texts: text lengths by class, the informative n-grams of the TF-IDF linear members,
precision and recall of each class and the most confident mistakes, escaped; none of it in a table model's report."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from report_helpers import parse_report

from accelml import AutoML
from accelml.report import write_report
from accelml.report.context import ReportContext
from accelml.report.evaluation import evaluation
from accelml.report.text import informative_terms, text_errors_section, text_section
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema

SMS = Path("/work/shared/datasets/sms_spam/sms_spam.csv")
pytestmark = pytest.mark.skipif(not SMS.exists(), reason="the SMS spam data set is not on this machine")


def _sms(spam: int, ham: int) -> pd.DataFrame:
    """The first ``spam`` spam and ``ham`` ham messages, shuffled (seeded)."""
    data = pd.read_csv(SMS)
    rows = pd.concat([data[data["label"] == "spam"].head(spam), data[data["label"] == "ham"].head(ham)])
    return rows.sample(frac=1, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def spam_model() -> AutoML:
    """TF-IDF logistic regression on 300 messages (a few seconds)."""
    data = _sms(100, 200)[["label", "message"]]
    return AutoML(time_limit=20, models=["tfidf_linear"], seed=0, n_jobs=1, max_trials=3).fit(data, target="label")


@pytest.fixture(scope="module")
def spam_report(spam_model: AutoML, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_report(spam_model, tmp_path_factory.mktemp("report") / "report.html").read_text(encoding="utf-8")


def _section(page: str, section: str) -> str:
    start = page.index(f'<section id="{section}">')
    return page[start: page.index("</section>", start)]


def _context(automl: AutoML, result: object = None) -> ReportContext:
    return ReportContext(automl=automl, result=result or automl._result(), board=pd.DataFrame(), explanation=None,
                         explanation_error=None, evaluation=evaluation(automl))


def test_text_report_shows_lengths_terms_per_class_metrics_and_mistakes(spam_report: str) -> None:
    report = parse_report(spam_report)
    assert {"texts", "text-errors"} <= set(report.sections)
    assert report.sections.index("texts") < report.sections.index("performance") < report.sections.index("text-errors")
    assert "histogram of words per text in message" in report.alts
    assert all(ref.startswith(("data:image/png;base64,", "#")) for ref in report.references)  # offline

    texts = _section(spam_report, "texts")
    assert "Most informative n-grams" in texts
    tables = dict(zip(["ham", "spam"], texts.split('<div class="terms">')[1:], strict=True))
    assert tables["ham"].startswith("<p><b>ham</b></p>") and tables["spam"].startswith("<p><b>spam</b></p>")
    spam_terms = {t for t in ("free", "call", "txt", "text", "claim", "prize", "mobile") if f"<td>{t}</td>" in
                  tables["spam"]}
    assert len(spam_terms) >= 2, tables["spam"]  # the words of spam push towards spam, not towards ham
    assert not {t for t in spam_terms if f"<td>{t}</td>" in tables["ham"]}

    errors = _section(spam_report, "text-errors")
    assert "Precision and recall of each class" in errors and "<th>true class</th>" in errors
    assert "<th>text</th>" in errors and re.search(r"<tr><td>(spam|ham)</td><td>(?!\1)(spam|ham)</td>", errors)


def test_mistakes_are_escaped_shortened_and_most_confident_first(spam_model: AutoML) -> None:
    result = spam_model._result()
    sample = result.sample.copy()
    oof = np.asarray(result.sample_oof, dtype=np.float64).copy()
    assert list(result.schema.classes) == ["ham", "spam"]
    sample.loc[0, "label"], oof[0] = "ham", [0.01, 0.99]  # a confident mistake whose text tries to run a script
    sample.loc[0, "message"] = "<script>alert('x')</script> " + "win a free prize " * 40
    sample.loc[1, "label"], oof[1] = "spam", [0.6, 0.4]  # a mistake, less confident
    section = text_errors_section(_context(spam_model, dataclasses.replace(result, sample=sample, sample_oof=oof)))

    assert "<script>" not in section.body and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in section.body
    mistakes = section.body[section.body.index("Most confident mistakes"):]
    first_row = mistakes[mistakes.index("<tbody><tr>"): mistakes.index("</tr>", mistakes.index("<tbody><tr>"))]
    assert first_row.startswith('<tbody><tr><td>ham</td><td>spam</td><td class="num">99%</td><td>&lt;script&gt;')
    shown = html.unescape(first_row[first_row.rindex("<td>") + 4: -len("</td>")])
    assert shown.startswith("<script>alert('x')</script> win a free prize") and shown.endswith("prize…")
    assert len(shown) <= 200
    assert "<td>spam</td><td>ham</td><td class=\"num\">60%</td>" in section.body


def test_text_sections_only_for_text_columns() -> None:
    schema = Schema([ColumnSpec("age", ColumnRole.NUMERIC, "int64")], target="y", task="binary")
    ctx = ReportContext(automl=None, result=SimpleNamespace(schema=schema), board=pd.DataFrame(), explanation=None,
                        explanation_error=None, evaluation=None)
    assert text_section(ctx) is None and text_errors_section(ctx) is None


class _Terms:
    """A fold model with fixed informative terms."""

    def __init__(self, terms: dict[tuple[int, str], float]) -> None:
        self.terms = terms

    def informative_terms(self, k: int = 15) -> list[dict[str, object]]:
        return [{"class": c, "term": t, "weight": w} for (c, t), w in self.terms.items()]


def _member(model: str, weight: float, folds: list[dict[tuple[int, str], float]]) -> SimpleNamespace:
    return SimpleNamespace(model=model, weight=weight, models=[_Terms(f) for f in folds])


def test_informative_terms_average_over_folds_and_members_by_weight() -> None:
    ensemble = SimpleNamespace(members=[
        _member("tfidf_linear", 0.75, [{(1, "free"): 2.0, (0, "ok"): -1.0}, {(1, "free"): 4.0, (1, "win"): 8.0}]),
        _member("tfidf_linear", 0.25, [{(1, "free"): 3.0}]),
        _member("tfidf_linear", 0.0, [{(1, "unused"): 99.0}]),  # only an input of a stacked member
        _member("tfidf_lgbm", 0.5, [{(1, "other"): 99.0}]),
    ])
    terms = informative_terms(ensemble, k=5)
    weights = {(r["class"], r["term"]): r["weight"] for r in terms.to_dict("records")}
    # weight over the members of positive weight, 0.375 per fold of the first and 0.25 for the second
    assert weights == pytest.approx({(1, "free"): 0.375 * 6 + 0.25 * 3, (1, "win"): 0.375 * 8, (0, "ok"): 0.375})
    assert terms[terms["class"] == 1]["term"].tolist() == ["free", "win"]
    assert terms.set_index("term")["models"].to_dict() == {"ok": 1, "free": 3, "win": 1}
    assert terms.attrs["n_models"] == 3
    assert informative_terms(SimpleNamespace(members=[_member("lgbm", 1.0, [{}])])).empty


def test_text_section_without_a_tfidf_linear_member_says_so(spam_model: AutoML) -> None:
    result = dataclasses.replace(spam_model._result(), ensemble=SimpleNamespace(members=[]))
    section = text_section(_context(spam_model, result))
    assert "No TF-IDF linear model" in section.body and "histogram of words per text" in section.body


def test_text_regression_report_shows_raising_and_lowering_terms_and_largest_errors(tmp_path: Path) -> None:
    data = _sms(60, 100)[["message", "punct"]]
    automl = AutoML(time_limit=20, models=["tfidf_linear"], seed=0, n_jobs=1, max_trials=2, n_splits=2)
    page = write_report(automl.fit(data, target="punct"), tmp_path / "report.html").read_text(encoding="utf-8")
    texts, errors = _section(page, "texts"), _section(page, "text-errors")
    assert "<b>raise &#x27;punct&#x27;</b>" in texts and "<b>lower &#x27;punct&#x27;</b>" in texts
    assert "<h2>Errors on texts</h2>" in errors and "<h3>Largest errors</h3>" in errors
    assert "<th class=\"num\">punct</th>" in errors and "precision" not in errors


def test_several_text_columns_are_measured_and_shown_side_by_side() -> None:
    schema = Schema([ColumnSpec("subject", ColumnRole.TEXT, "object"), ColumnSpec("body", ColumnRole.TEXT, "object")],
                    target="y", task="binary", classes=["a", "b"])
    sample = pd.DataFrame({"subject": ["hello", "cheap pills", "lunch?"], "body": ["see you", None, "at noon, ok"],
                           "y": ["a", "b", "a"]})
    result = SimpleNamespace(schema=schema, sample=sample, sample_oof=np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]),
                             n_rows=3, ensemble=SimpleNamespace(members=[]))
    ctx = ReportContext(automl=None, result=result, board=pd.DataFrame(), explanation=None, explanation_error=None,
                        evaluation=None)
    texts = text_section(ctx).body
    assert "<h3>subject</h3>" in texts and "<h3>body</h3>" in texts and "all 3 training texts" in texts
    errors = text_errors_section(ctx).body
    assert "<td>a</td><td>b</td><td class=\"num\">70%</td><td>subject: lunch? | body: at noon, ok</td>" in errors
    assert "1 of all 3 training texts were predicted wrong" in errors and "precision" not in errors
