"""Preprocessing per model family: one encoder per column role, fitted on the given rows, saved as plain JSON."""

from __future__ import annotations

from accelml.features.preprocessor import Preprocessor

__all__ = ["Preprocessor"]
