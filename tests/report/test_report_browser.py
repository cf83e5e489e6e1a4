"""The report opened in a real browser (headless Chromium): it renders, every image loads, and no script fails.

The screenshot is kept under ``test-artifacts/`` at the repository root for a person to look at. The test skips,
saying why, where Chromium is not installed (``apt-get install -y chromium``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_helpers import fitted, parse_report

from accelml.report import write_report
from tests.conftest import make_table

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("Chromium is not installed (apt-get install -y chromium); the report is not checked in a browser")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _console_errors(stderr: str) -> list[str]:
    """Messages the page logged to the console as errors (Chromium's own start-up noise is not the page's)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_report_renders_in_chromium_without_errors(tmp_path: Path) -> None:
    browser = _chromium()
    report = write_report(fitted("multiclass"), tmp_path / "report.html",
                          test_data=make_table("multiclass", n=200, seed=1))
    url = report.resolve().as_uri()

    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = parse_report(dom.stdout)
    assert page.html_attrs.get("data-errors") == "0", page.html_attrs  # the report's own error probe
    assert page.html_attrs.get("data-images-broken") == "0", page.html_attrs  # set once loaded: every PNG decoded
    assert page.headings[-1] == "Performance on test data"
    assert len(page.images) >= 8
    assert _console_errors(dom.stderr) == []

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report_multiclass.png"
    screenshot.unlink(missing_ok=True)
    shot = _run(browser, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,3000", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.exists() and screenshot.stat().st_size > 50_000  # a blank page compresses to a few kB
    assert _console_errors(shot.stderr) == []
    assert not re.search(r"net::ERR_|Failed to load resource", dom.stderr + shot.stderr)
