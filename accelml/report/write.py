"""``write_report``: one self-contained HTML file that explains a fitted model, readable offline."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from accelml.exceptions import ConfigError, DataError
from accelml.report.choices import choices_section
from accelml.report.context import ReportContext
from accelml.report.dependence import dependence_section
from accelml.report.evaluation import evaluation
from accelml.report.figures import pyplot
from accelml.report.generation import generation_section
from accelml.report.images import errors_section, examples_section
from accelml.report.importance import importance_section
from accelml.report.leaderboard import leaderboard_section
from accelml.report.networks import networks_section
from accelml.report.overview import data_section
from accelml.report.page import render_page
from accelml.report.performance import performance_section
from accelml.report.recommend_data import recommend_heading
from accelml.report.saliency import saliency_section
from accelml.report.search import search_section
from accelml.report.selection import selection_section
from accelml.report.text import text_errors_section, text_section
from accelml.report.threshold import threshold_section
from accelml.tasks import get_task

__all__ = ["SECTIONS", "write_report"]

logger = logging.getLogger(__name__)

# The report, top to bottom: each entry renders one <section> from the shared context, or None where it does not
# apply (the image and text sections for a model of tables; importance and dependence for a model that reads only
# images or for a recommender, whose own data, choices, leaderboard and performance sections stand in for the
# table ones).
SECTIONS = (
    data_section,
    examples_section,
    text_section,
    choices_section,
    leaderboard_section,
    selection_section,
    generation_section,
    search_section,
    networks_section,
    importance_section,
    dependence_section,
    performance_section,
    threshold_section,
    errors_section,
    text_errors_section,
    saliency_section,
)
# Explanations in a report favour speed: 1,000 rows and 3 shuffles rank features as well as the defaults do.
EXPLAIN_ROWS = 1000
EXPLAIN_REPEATS = 3


def check_report_path(path: Path, force: bool) -> Path:
    """The path to write, after refusing a folder, or an existing file without ``force``.

    Raises:
        ConfigError: ``path`` is a folder, or exists and ``force`` is not set.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"'{path}' is a folder; give a file name for the report, e.g. '{path / 'report.html'}'")
    if path.exists() and not force:
        raise ConfigError(f"'{path}' already exists; choose another file or pass force=True to replace it")
    return path


def _explanation(automl: Any, test_data: Any) -> tuple[Any, str | None]:
    from accelml.explain import explain
    from accelml.report.context import images_only

    schema = automl._result().schema
    if get_task(schema.task).recommends:  # lists from ids: no feature columns to shuffle
        return None, "a recommender reads no feature columns"
    if images_only(schema):  # one image column's importance says nothing; its saliency does
        return None, "the model reads only images"
    try:
        return explain(automl, test_data, n_repeats=EXPLAIN_REPEATS, max_rows=EXPLAIN_ROWS), None
    except DataError as exc:  # e.g. an old artifact without a training sample: the rest of the report still helps
        logger.warning("report without explanations: %s", exc)
        return None, str(exc)


def write_report(automl: Any, path: str | Path, *, test_data: Any = None, force: bool = False) -> Path:
    """Write an HTML report about a fitted model to ``path``: one file, charts and style inline, no network needed.

    Sections: the data and the problems found; why this task, metric and final model; the leaderboard; the search
    over time; feature importance; partial dependence; and the performance charts of the task (confusion matrix,
    ROC, precision-recall and calibration, or predicted-against-actual and residuals) on ``test_data`` when given,
    else on the out-of-fold training sample, labelled as such. A model that reads images adds examples of each class
    with the class balance, the learning curves and architecture of its network trials, precision and recall of each
    class with the most confident mistakes, and occlusion saliency of a few images; when it reads nothing but images,
    importance and partial dependence are left out. A model that reads texts adds the length of its texts by class,
    the n-grams its TF-IDF linear members weigh most for each class, and precision and recall of each class with the
    training texts predicted wrong most confidently. A recommender gets its own sections instead of the table ones:
    its interactions (ratings, the long tail of item popularity), its blend of rating and ranking members, the
    metrics of its lists against their length k (on ``test_data`` too: held-out interactions), how far its lists
    reach, and example lists next to each user's history.

    Args:
        automl: A fitted or loaded :class:`accelml.AutoML`.
        path: The HTML file to write (its folder is created if needed).
        test_data: Labelled rows the model never saw (a DataFrame or a file path), for a test score and its charts;
            for a recommender, interactions it never saw (the user and item columns, and ratings if any).
        force: Replace ``path`` if it exists.

    Returns:
        The path written.

    Raises:
        ConfigError: ``path`` exists without ``force`` or is a folder, or matplotlib is missing
            (``pip install 'accelml[report]'``).
        DataError: ``test_data`` lacks the target column or a feature column.
    """
    path = check_report_path(Path(path), force)
    pyplot()  # fail on a missing matplotlib before any time is spent
    started = time.monotonic()
    result = automl._result()
    explanation, explanation_error = _explanation(automl, test_data)
    ctx = ReportContext(
        automl=automl,
        result=result,
        board=automl.leaderboard(),
        explanation=explanation,
        explanation_error=explanation_error,
        evaluation=None if get_task(result.schema.task).recommends else evaluation(automl, test_data),
        test_data=test_data,
    )
    sections = [section for build in SECTIONS if (section := build(ctx)) is not None]
    from accelml import __version__

    schema = result.schema
    if ctx.recommends:
        title, subtitle = recommend_heading(result)
    else:
        title = f"accelml report: predicting '{schema.target}' ({schema.task})"
        subtitle = (f"{result.n_rows:,} training rows, {len(schema.features)} features; optimised "
                    f"{result.metric.name}; validation {result.metric.name} {result.val_score:.4f}")
    footer = f"Written by accelml {__version__} on {time.strftime('%Y-%m-%d %H:%M')}; works offline."
    page = render_page(title, subtitle, sections, footer)
    _write_atomically(path, page)
    logger.info("wrote the report to %s in %.1f s", path, time.monotonic() - started)
    return path


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it, so that no half-written report is ever left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
