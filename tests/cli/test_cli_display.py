"""The search display (live on a terminal, plain lines elsewhere), the tables, logging, and the modules' doctests."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import io
import logging

import pandas as pd
import pytest
from cli_helpers import restored_logging
from rich.console import Console

from accelml.cli.display import leaderboard_table
from accelml.cli.logs import configure_logging
from accelml.cli.progress import SearchDisplay
from accelml.search.loop import SearchProgress
from accelml.search.trial import TrialResult, TrialSpec

CLI_MODULES = ["app", "demo", "display", "errors", "fit", "info", "leaderboard", "logs", "paths", "predict",
               "progress", "summary"]


def _reports() -> list[SearchProgress]:
    ok = TrialResult(TrialSpec(0, "lgbm", {}, "baseline"), "ok", score=0.91, loss=-0.91, fit_time=0.4)
    failed = TrialResult(TrialSpec(1, "xgb", {}, "default"), "failed", error="ValueError: bad\nthings")
    return [
        SearchProgress(0.0, 10.0, 0, None, None, "lgbm_0"),
        SearchProgress(0.5, 9.5, 1, 0.91, "lgbm_0", None, ok),
        SearchProgress(0.5, 9.5, 1, 0.91, "lgbm_0", "xgb_1", ok),
        SearchProgress(0.9, 9.1, 2, 0.91, "lgbm_0", None, failed),
    ]


def _console(terminal: bool) -> Console:
    return Console(file=io.StringIO(), width=100, force_terminal=terminal, color_system=None)


def test_plain_lines_one_per_finished_trial() -> None:
    console = _console(terminal=False)
    with SearchDisplay(console, time_limit=10, metric="accuracy") as display:
        for report in _reports():
            display(report)
    header, blank, *lines = console.file.getvalue().splitlines()
    assert header.startswith("Data checks") and blank == ""  # the checks' findings come before the search
    assert len(lines) == 2
    assert "lgbm_0" in lines[0] and "accuracy 0.9100" in lines[0] and "/ 10s" in lines[0]
    assert "xgb_1" in lines[1] and "failed: ValueError: bad things" in lines[1]
    assert "\x1b[" not in console.file.getvalue()


def test_live_panel_on_a_terminal() -> None:
    console = _console(terminal=True)
    with SearchDisplay(console, time_limit=10) as display:
        for report in _reports():
            display(report)
        display.metric = "accuracy"
    out = console.file.getvalue()
    assert "\x1b[1A" in out  # redrawn in place
    assert "Searching" in out and "0s / 10s" in out and "s left" in out
    assert "best accuracy 0.9100" in out and "(1 failed)" in out and "done" in out


def test_display_starts_nothing_when_the_fit_fails_early() -> None:
    console = _console(terminal=True)
    with pytest.raises(ValueError), SearchDisplay(console, time_limit=10):
        raise ValueError("unknown target")
    assert console.file.getvalue() == ""


def test_leaderboard_table_marks_ensemble_and_unused() -> None:
    board = pd.DataFrame(
        {
            "model": ["ensemble", "lgbm_0", "linear_1"],
            "family": ["lgbm", "lgbm", "linear"],
            "stage": ["ensemble", "baseline", "default"],
            "val_rmse": [1.5, 1.6, 12345.678],
            "fit_s": [1.0, 1.0, 0.1],
            "predict_s_per_1k": [0.2, 0.2, 0.01],
            "weight": [1.0, 1.0, 0.0],
        }
    )
    console = _console(terminal=False)
    console.print(leaderboard_table(board, "rmse", greater_is_better=False))
    out = console.file.getvalue()
    assert "lower is better" in out and "12,345.7" in out and "1.0000" not in out


def test_verbose_logs_info_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("accelml.cli.test")
    with restored_logging():
        configure_logging(0)
        logger.info("hidden")
        logger.warning("shown")
        configure_logging(1)  # replaces the handler, never adds a second one
        logger.info("now shown")
        assert len([h for h in logging.getLogger("accelml").handlers if getattr(h, "_accelml_cli", False)]) == 1
    err = capsys.readouterr().err
    assert "hidden" not in err and "shown" in err and "now shown" in err
    assert not [h for h in logging.getLogger("accelml").handlers if getattr(h, "_accelml_cli", False)]


@pytest.mark.parametrize("name", CLI_MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"accelml.cli.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", CLI_MODULES)
def test_all_is_sorted_and_real(name: str) -> None:
    module = importlib.import_module(f"accelml.cli.{name}")
    assert module.__all__ == sorted(module.__all__)
    for public in module.__all__:
        assert hasattr(module, public)


def test_issues_shown_once_before_the_first_trial() -> None:
    from accelml.profiling import DataIssue

    issue = DataIssue("constant", "warning", "column 'always' has one value; dropped", column="always")
    console = _console(terminal=False)
    with SearchDisplay(console, time_limit=10, metric="accuracy") as display:
        for report in _reports():
            display(dataclasses.replace(report, issues=(issue,)))
    out = console.file.getvalue()
    assert out.count("column 'always' has one value") == 1
    assert out.index("always") < out.index("lgbm_0")
