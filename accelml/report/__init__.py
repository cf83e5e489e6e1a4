"""The HTML report: one self-contained file about a fitted model (data, choices, search, explanations, performance).

Charts need matplotlib (``pip install 'accelml[report]'``), imported only when a report is written.
"""

from __future__ import annotations

from accelml.report.write import SECTIONS, write_report

__all__ = ["SECTIONS", "write_report"]
