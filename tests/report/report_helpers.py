"""Helpers shared by the report tests: one small fitted model per task, fitted once per test session.

Plain functions, not fixtures: a second ``conftest.py`` outside a package would clash with ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser

from accelml import AutoML
from tests.conftest import make_table

__all__ = ["ParsedReport", "fitted", "parse_report"]


@functools.cache
def fitted(task: str) -> AutoML:
    """A quick, seeded fit on the shared tiny table of ``task`` (LightGBM and linear models, 3 trials)."""
    automl = AutoML(time_limit=20, max_trials=3, n_jobs=1, models=["lgbm", "linear"], seed=0)
    return automl.fit(make_table(task, n=300, seed=0), target="y")


class ParsedReport(HTMLParser):
    """What the tests read from a report: section ids and headings, image sources and alts, every link and text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.images: list[dict[str, str]] = []
        self.references: list[str] = []  # every src and href
        self.text: list[str] = []
        self.html_attrs: dict[str, str] = {}
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_attrs = attributes
        if tag == "section":
            self.sections.append(attributes.get("id", ""))
        if tag == "h2":
            self._in_h2 = True
        if tag == "img":
            self.images.append(attributes)
        self.references += [v for k, v in attributes.items() if k in ("src", "href")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data.strip())
        self.text.append(data)

    @property
    def alts(self) -> list[str]:
        return [image.get("alt", "") for image in self.images]

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse_report(html: str) -> ParsedReport:
    """Parse a report's HTML."""
    parser = ParsedReport()
    parser.feed(html)
    parser.close()
    return parser
