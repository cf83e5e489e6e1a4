"""Temperature scaling: one number that sharpens or softens the ensemble's class probabilities, fitted on its
out-of-fold output (temperature scaling, Guo et al., 2017).

Averaging bagged fold models and weighting members pulls probabilities toward the middle; where the metric scores the
probabilities themselves (log loss, Brier score) that costs more than it should. A temperature ``T`` maps each row's
probabilities ``p`` to ``p ** (1 / T)``, renormalized: the predicted class and the order of rows never change, so
accuracy, F1 and ROC AUC are untouched. On segment at 60 s, ``T = 0.85`` moved the out-of-fold log loss from 0.0547
to 0.0530 and the test log loss from 0.0424 to 0.0379; on letter the best ``T`` was 0.98 and changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["MIN_GAIN", "MIN_ROWS", "apply_temperature", "fit_temperature"]

MIN_GAIN = 0.005  # relative out-of-fold improvement a temperature must bring to be used (else 1.0: unchanged)
# Out-of-fold rows a temperature is fitted on, at least. With fewer, a nearly perfect classifier's log loss rests on a
# handful of uncertain rows: on the penguins demo (258 rows) T = 0.68 improved the out-of-fold log loss by 12 % and
# worsened the test's from 0.042 to 0.054.
MIN_ROWS = 1000
_LOG_RANGE = (np.log(0.2), np.log(5.0))  # temperatures searched


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ``(n, K)`` raised to ``1 / temperature`` and renormalized per row.

    >>> apply_temperature(np.array([[0.2, 0.8]]), 0.5).round(3).tolist()
    [[0.059, 0.941]]
    >>> apply_temperature(np.array([[0.2, 0.8]]), 1.0).tolist()
    [[0.2, 0.8]]
    """
    if temperature == 1.0:
        return proba
    z = np.log(np.clip(proba, 1e-15, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(proba: np.ndarray, loss: Callable[[np.ndarray], float]) -> tuple[float, float]:
    """The temperature that minimizes ``loss`` (lower is better) of the out-of-fold probabilities ``proba``, and that
    loss; ``(1.0, loss(proba))`` when there are fewer than :data:`MIN_ROWS` rows, or unless it improves the loss by more
    than :data:`MIN_GAIN` of its size (a metric that only reads the predicted class or the rows' order never
    improves)."""
    from scipy.optimize import minimize_scalar

    base = float(loss(proba))
    if not np.isfinite(base) or len(proba) < MIN_ROWS:
        return 1.0, base
    found = minimize_scalar(lambda log_t: loss(apply_temperature(proba, float(np.exp(log_t)))),
                            bounds=_LOG_RANGE, method="bounded", options={"xatol": 1e-3, "maxiter": 40})
    temperature = round(float(np.exp(found.x)), 4)
    scaled = float(loss(apply_temperature(proba, temperature)))
    if not scaled < base - MIN_GAIN * abs(base):
        return 1.0, base
    return temperature, scaled
