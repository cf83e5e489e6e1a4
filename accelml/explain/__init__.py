"""Why the final model predicts what it does: permutation importance, tree SHAP and partial dependence, and the
effect of each word of one text (occlusion).

Everything here is computed on the model as a whole (the ensemble, preprocessing included) or, for SHAP, on its tree
members, and always maps back to the original input columns.
"""

from __future__ import annotations

from accelml.explain.explain import explain
from accelml.explain.explanation import Explanation
from accelml.explain.text import TextExplanation, explain_text

__all__ = ["Explanation", "TextExplanation", "explain", "explain_text"]
