"""What each model family is fed (:data:`INPUTS`): one encoder per column role, fitted on the given rows, saved as
plain JSON."""

from __future__ import annotations

from accelml.features.inputs import INPUTS, load_input, make_input
from accelml.features.preprocessor import Preprocessor

__all__ = ["INPUTS", "Preprocessor", "load_input", "make_input"]
