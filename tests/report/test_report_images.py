"""The report of a model that reads images: examples by class, networks, errors by class and occlusion saliency, all
inline in one offline file; none of it in a table model's report."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_helpers import parse_report

from accelml import AutoML
from accelml.report import write_report
from accelml.report.context import ReportContext
from accelml.report.evaluation import evaluation
from accelml.report.images import errors_section, examples_section
from accelml.report.saliency import occlusion
from tests.conftest import make_table

IMAGE_SECTIONS = ["images", "networks", "errors", "saliency"]
PNG = b"\x89PNG\r\n\x1a\n"


def _digit_folder(root: Path, per_class: int = 20) -> Path:
    """Three classes of 8x8 digits as PNG files, one subfolder per class."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for k in range(3):
        (root / f"d{k}").mkdir(parents=True)
        for i in np.flatnonzero(digits.target == k)[:per_class]:
            Image.fromarray((digits.images[i] * 16).clip(0, 255).astype(np.uint8)).save(root / f"d{k}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def image_model(tmp_path_factory: pytest.TempPathFactory) -> AutoML:
    """A linear model and one CNN trial on 60 digits (a few seconds)."""
    folder = _digit_folder(tmp_path_factory.mktemp("digits"))
    return AutoML(time_limit=30, n_jobs=1, models=["cnn", "linear"], n_splits=2, max_trials=3, seed=0).fit(folder)


@pytest.fixture(scope="module")
def image_report(image_model: AutoML, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(image_model, tmp_path_factory.mktemp("report") / "report.html")


def _section(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}">')
    return html[start: html.index("</section>", start)]


def test_image_report_shows_examples_curves_errors_and_saliency(image_model: AutoML, image_report: Path) -> None:
    html = image_report.read_text(encoding="utf-8")
    report = parse_report(html)

    assert [s for s in report.sections if s in IMAGE_SECTIONS] == IMAGE_SECTIONS
    assert "importance" not in report.sections and "dependence" not in report.sections  # say nothing for images
    assert "performance" in report.sections and any(a.startswith("confusion matrix") for a in report.alts)
    # examples: a few thumbnails of each class beside its count
    examples = parse_report(_section(html, "images"))
    assert sum(a.startswith("training image") for a in examples.alts) == 3 * 6
    assert all(i["src"].startswith("data:image/png;base64,") for i in examples.images)
    assert "d0 20 33.3%" in examples.all_text and "8×8 pixels, grey" in examples.all_text
    # networks: one curve per CNN trial, and its architecture in words
    networks = [t for t in image_model.result_.trials if t.extra.get("curve")]
    assert networks, "the fixture should have run a CNN trial"
    assert any(a.startswith("learning curves") for a in report.alts)
    assert networks[0].extra["architecture"] in parse_report(_section(html, "networks")).all_text
    # errors: precision and recall per class, and the mistakes (or a sentence that there are none)
    errors = parse_report(_section(html, "errors")).all_text
    assert "precision recall F1 images" in errors
    assert "predicted right out of fold" in errors or any(a.startswith("mistake:") for a in report.alts)
    assert any(a.startswith("occlusion saliency") for a in report.alts)


def test_image_report_is_one_offline_file(image_report: Path) -> None:
    report = parse_report(image_report.read_text(encoding="utf-8"))

    assert [p.name for p in image_report.parent.iterdir()] == ["report.html"]
    assert report.references and all(r.startswith(("data:image/png;base64,", "#")) for r in report.references)
    for image in report.images:
        assert base64.b64decode(image["src"].split(",", 1)[1])[:8] == PNG


def test_table_model_report_has_no_image_section(tmp_path: Path) -> None:
    automl = AutoML(time_limit=10, max_trials=2, n_jobs=1, models=["linear"], seed=0)
    automl.fit(make_table("multiclass", n=200, seed=0), target="y")
    report = parse_report(write_report(automl, tmp_path / "table.html").read_text(encoding="utf-8"))

    assert not set(report.sections) & set(IMAGE_SECTIONS)
    assert {"importance", "dependence"} <= set(report.sections)
    assert not any(a.startswith(("training image", "mistake:", "occlusion", "learning curves")) for a in report.alts)


def _context(automl: AutoML, **changes) -> ReportContext:
    result = dataclasses.replace(automl.result_, **changes)
    return ReportContext(automl=automl, result=result, board=pd.DataFrame(), explanation=None,
                         explanation_error=None, evaluation=evaluation(automl))


def test_most_confident_mistakes_come_first_with_true_and_predicted_class(image_model: AutoML) -> None:
    result = image_model.result_
    oof = np.tile([0.98, 0.01, 0.01], (len(result.sample), 1))
    labels = result.sample[result.schema.target].astype(str).to_numpy()
    oof[labels == "d1"] = [0.01, 0.98, 0.01]
    oof[labels == "d2"] = [0.01, 0.01, 0.98]
    first_d1, first_d2 = np.flatnonzero(labels == "d1")[0], np.flatnonzero(labels == "d2")[0]
    oof[first_d1] = [0.70, 0.20, 0.10]  # a d1 taken for a d0, at 70 %
    oof[first_d2] = [0.05, 0.90, 0.05]  # a d2 taken for a d1, at 90 %: shown first

    report = parse_report(errors_section(_context(image_model, sample_oof=oof)).body)

    assert [a for a in report.alts] == ["mistake: a d2 predicted as d1", "mistake: a d1 predicted as d0"]
    assert "d2 → d1 (90%)" in report.all_text and "d1 → d0 (70%)" in report.all_text
    assert "2 of all 60 training images were predicted wrong" in report.all_text


def test_images_that_cannot_be_read_leave_a_sentence_not_an_error(image_model: AutoML, tmp_path: Path) -> None:
    sample = image_model.result_.sample.assign(image=[str(tmp_path / f"gone{i}.png")
                                                      for i in range(len(image_model.result_.sample))])
    section = examples_section(_context(image_model, sample=sample))

    assert "could not be read" in section.body and "<img" not in section.body


class _TopLeftModel:
    """A stand-in model: the probability of class 1 rises with the brightness of the image's top-left quarter."""

    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        from accelml.features.images import load_image

        bright = np.array([load_image(ref)[:8, :8].mean() / 255 for ref in frame["image"]])
        p = 1 / (1 + np.exp(-(bright - 0.5) * 12))
        return pd.DataFrame({"a": 1 - p, "b": p})


def test_occlusion_heat_lies_where_the_model_looks() -> None:
    image = np.zeros((16, 16, 1), dtype=np.uint8)
    image[:8, :8] = 255

    proba, predicted, heat, fall = occlusion(_TopLeftModel(), pd.DataFrame({"image": ["x"]}), "image", image, grid=4)

    assert predicted == 1 and proba[1] > 0.9
    assert heat.shape == fall.shape == (16, 16)
    assert heat[:8, :8].mean() > 1.0 and np.abs(heat[14:, 14:]).max() < 1e-9  # patches there miss the top left
    assert heat[:8, :8].mean() > 5 * heat[8:, 8:].mean()
    assert fall.max() > 0.05
