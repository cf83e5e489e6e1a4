"""Load data: readers for files and in-memory tables."""

from __future__ import annotations

from accelml.data.read import read_table

__all__ = ["read_table"]
