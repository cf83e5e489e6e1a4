"""The HTML report read as HTML: its sections for each task, self-contained images, no network, no overwrite."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from report_helpers import fitted, parse_report

from accelml import AutoML
from accelml.exceptions import ConfigError, DataError
from accelml.report import SECTIONS, write_report
from accelml.report.figures import pyplot
from tests.conftest import make_table

# feature generation runs by default on an ordinary table (its section says what it added, or why nothing)
SECTION_IDS = ["data", "choices", "leaderboard", "generation", "search", "importance", "dependence", "performance"]
CHARTS = {
    "binary": ["confusion matrix", "ROC curve", "precision-recall curve", "calibration plot"],
    "multiclass": ["confusion matrix", "ROC curve", "precision-recall curve", "calibration plot"],
    "regression": ["predicted against actual values", "residuals"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    return {task: write_report(fitted(task), folder / f"{task}.html") for task in CHARTS}


@pytest.mark.parametrize("task", sorted(CHARTS))
def test_every_section_is_present_for_each_task(reports: dict[str, Path], task: str) -> None:
    report = parse_report(reports[task].read_text(encoding="utf-8"))

    assert report.sections == SECTION_IDS
    # the image and text sections (tests/report/test_report_images.py, test_report_text.py) do not apply, nor the
    # decision threshold (a binary model with a tuned or given one: tests/automl/test_decision_threshold.py), nor
    # feature selection (by default on wide tables only: tests/search/test_selection.py)
    assert len(SECTIONS) == len(SECTION_IDS) + 8
    assert report.headings == ["Data", "Why these choices", "Leaderboard", "Feature generation", "Search over time",
                               "Feature importance", "Partial dependence", "Performance (out-of-fold)"]
    alts = report.alts
    for chart in ["validation", "permutation importance of each feature", *CHARTS[task]]:
        assert any(alt.startswith(chart) for alt in alts), (chart, alts)
    assert any(alt.startswith("partial dependence of the prediction on") for alt in alts)
    text = report.all_text
    automl = fitted(task)
    assert automl.result_.metric_reason in text  # why this metric
    assert "best single model" in text or "single best trial" in text  # why this final model
    assert f"{automl.result_.n_rows:,}" in text
    assert "out-of-fold predictions on" in text  # no test data: the charts say where they come from
    for trial in automl.result_.trials:
        assert trial.spec.name in text  # the leaderboard lists every trial


@pytest.mark.parametrize("task", sorted(CHARTS))
def test_report_is_self_contained(reports: dict[str, Path], task: str) -> None:
    html = reports[task].read_text(encoding="utf-8")
    report = parse_report(html)

    assert all(not ref.lower().startswith(("http://", "https://", "//")) for ref in report.references)
    assert all(ref.startswith(("#", "data:image/png;base64,")) for ref in report.references), report.references
    for image in report.images:
        png = base64.b64decode(image["src"].split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_data_problems_are_reported(tmp_path: Path) -> None:
    table = make_table("binary", n=200)
    table["row_id"] = [f"r{i:05d}" for i in range(len(table))]
    table["source"] = "survey"
    automl = AutoML(time_limit=20, max_trials=1, n_jobs=1, models=["linear"]).fit(table, target="y")
    assert {issue.kind for issue in automl.issues_} >= {"identifier", "constant"}

    report = parse_report(write_report(automl, tmp_path / "r.html").read_text(encoding="utf-8"))

    text = report.all_text
    assert f"Problems found ({len(automl.issues_)})" in text
    for issue in automl.issues_:
        assert issue.message in text
    assert "SHAP values are shown only when" in text  # a linear-only ensemble has no tree SHAP


def test_test_data_gives_a_test_score_and_charts_on_it(tmp_path: Path) -> None:
    automl = fitted("binary")
    test = make_table("binary", n=200, seed=1)
    test.loc[:4, "y"] = None  # unlabelled rows are left out and counted

    report = parse_report(write_report(automl, tmp_path / "r.html", test_data=test).read_text(encoding="utf-8"))

    assert report.headings[-1] == "Performance on test data"
    text = report.all_text
    assert f"{automl.score(test.dropna(subset=['y'])):.4f}" in text
    assert "test data (195 rows)" in text
    assert "5 test row(s) without a known target value were left out" in text
    assert "out-of-fold predictions on" not in text


def test_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    automl = fitted("regression")
    path = tmp_path / "report.html"
    path.write_text("keep me")

    with pytest.raises(ConfigError, match="already exists"):
        write_report(automl, path)
    assert path.read_text() == "keep me"
    with pytest.raises(ConfigError, match="is a folder"):
        write_report(automl, tmp_path)
    with pytest.raises(DataError, match="no target column 'y'"):
        write_report(automl, tmp_path / "other.html", test_data=make_table("regression").drop(columns="y"))
    assert not (tmp_path / "other.html").exists()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ConfigError, match=r"pip install 'accelml\[report\]'"):
        pyplot()


def test_importing_the_report_does_not_import_matplotlib() -> None:
    code = "import sys, accelml.report, accelml.explain; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
