"""The report of a recommender: its own data, choices, leaderboard and recommendations sections, and no table-only
section (importance, dependence, the out-of-fold performance charts) that would need feature columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from report_helpers import parse_report

from accelml import AutoML
from accelml.exceptions import DataError
from accelml.report import write_report
from accelml.report.context import ReportContext
from accelml.report.recommend import evaluate_lists, recommend_section
from tests.conftest import shared_dataset

SECTION_IDS = ["data", "choices", "leaderboard", "search", "recommendations"]
# Cheap families of both kinds, so that a busy machine still blends rating and ranking members within the budget
FAMILIES = ["biases", "knn_ratings", "popularity", "item_knn"]


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return pd.read_csv(shared_dataset("movielens_100k/ratings.csv"))


@pytest.fixture(scope="module")
def model(log: pd.DataFrame) -> AutoML:
    automl = AutoML(time_limit=8, n_jobs=1, seed=0, models=FAMILIES, roles={"user_id": "user", "item_id": "item"})
    return automl.fit(log.head(3000), target="rating")


@pytest.fixture(scope="module")
def page(model: AutoML, tmp_path_factory: pytest.TempPathFactory) -> str:
    return model.report(tmp_path_factory.mktemp("report") / "report.html").read_text(encoding="utf-8")


def _section(page: str, section: str) -> str:
    start = page.index(f'<section id="{section}">')
    return page[start: page.index("</section>", start)]


def test_recommender_report_has_its_own_sections(page: str) -> None:
    report = parse_report(page)
    assert report.sections == SECTION_IDS
    assert report.headings == ["Interactions", "Why these choices", "Leaderboard", "Search over time",
                               "Recommendations"]
    assert all(src.startswith("data:image/png;base64,") for src in (i["src"] for i in report.images))
    assert not [r for r in report.references if r.startswith(("http:", "https:", "//"))]


def test_interactions_show_ratings_and_the_long_tail(page: str, model: AutoML) -> None:
    section = _section(page, "data")
    alts = parse_report(section).alts
    assert any(alt.startswith("rating distribution") for alt in alts)
    assert any(alt.startswith("long tail of item popularity") for alt in alts)
    assert "interactions on the top 10% of items" in section
    assert f"{model.result_.n_rows:,}" in section


def test_choices_and_leaderboard_show_both_kinds_of_member(page: str, model: AutoML) -> None:
    text = parse_report(_section(page, "choices") + _section(page, "leaderboard")).all_text
    assert model.result_.metric_reason in text
    assert "per-user" in text
    for member in model.result_.ensemble.members:
        assert member.name in text
    for metric in ("rmse", "ndcg@10"):
        scored = [t for t in model.result_.trials if metric in t.extra.get("scores", {})]
        best = max(scored, key=lambda t: t.extra["scores"][metric] * (1 if metric == "ndcg@10" else -1))
        assert best.spec.name in text
    assert "validation rmse" in text and "validation ndcg@10" in text


def test_recommendations_show_metrics_at_k_coverage_and_example_lists(page: str, model: AutoML) -> None:
    section = _section(page, "recommendations")
    report = parse_report(section)
    assert any(alt.startswith("metrics at k") for alt in report.alts)
    text = report.all_text
    for label in ("@1", "@5", "@10", "@20", "precision", "recall", "NDCG", "hit rate", "coverage"):
        assert label in text, label
    assert "catalogue coverage@10" in text and "catalogue in the top-10 lists" in text
    users = model.result_.extra["recommend"]["example_users"][:5]
    assert users
    for user in users:
        assert f"User {user}" in text
    first = model.recommend([users[0]], k=10)
    block = section[section.index(f"User {users[0]}"):]
    assert all(f">{item}<" in block for item in first["item"])


def test_test_data_scores_the_lists(model: AutoML, log: pd.DataFrame, tmp_path: Path) -> None:
    test = log.iloc[3000:4000]
    page = write_report(model, tmp_path / "r.html", test_data=test).read_text(encoding="utf-8")
    text = parse_report(_section(page, "recommendations")).all_text
    assert "test rmse" in text and "test ndcg@10" in text and "NDCG (test)" in text
    scores = evaluate_lists(model.result_.ensemble, test)
    assert scores["n_users"] > 0 and 0 < scores["curves"]["hit_rate"]["20"] <= 1
    assert scores["unknown_users"] + scores["unknown_items"] + scores["repeats"] + scores["n_relevant"] == len(test)
    with pytest.raises(DataError, match="item column 'item_id'"):
        evaluate_lists(model.result_.ensemble, test.drop(columns=["item_id"]))


def test_section_from_the_result_alone(model: AutoML) -> None:
    ctx = ReportContext(automl=None, result=model.result_, board=pd.DataFrame(), explanation=None,
                        explanation_error=None, evaluation=None)
    section = recommend_section(ctx)
    assert section.id == "recommendations" and "Example lists" in section.body


def test_implicit_feedback_report(log: pd.DataFrame, tmp_path: Path) -> None:
    automl = AutoML(time_limit=5, n_jobs=1, seed=0, models=["popularity", "item_knn"],
                    roles={"user_id": "user", "item_id": "item"})
    automl.fit(log.head(2000)[["user_id", "item_id"]], target=None)
    report = parse_report(automl.report(tmp_path / "implicit.html").read_text(encoding="utf-8"))
    assert report.sections == SECTION_IDS
    assert not any(alt.startswith("rating distribution") for alt in report.alts)
    assert "validation ndcg@10" in report.all_text and "most popular first" in report.all_text
