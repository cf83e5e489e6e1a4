"""Data checks run before training: leakage, identifiers, constants, duplicates, imbalance, missing values."""

from __future__ import annotations

from accelml.profiling.checks import ISSUE_KINDS, DataIssue, check_data

__all__ = ["ISSUE_KINDS", "DataIssue", "check_data"]
