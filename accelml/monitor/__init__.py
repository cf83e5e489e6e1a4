"""Monitoring: the training data profile, drift checks against it (new interactions, for a recommender), the rolling
window and the prediction log."""

from __future__ import annotations

from accelml.monitor.drift import check_drift
from accelml.monitor.interactions import check_interactions
from accelml.monitor.log import PredictionLog
from accelml.monitor.model_check import check_model_drift
from accelml.monitor.profile import build_profile, model_profile
from accelml.monitor.report import DriftReport
from accelml.monitor.thresholds import DriftThresholds
from accelml.monitor.window import RollingWindow

__all__ = [
    "DriftReport",
    "DriftThresholds",
    "PredictionLog",
    "RollingWindow",
    "build_profile",
    "check_drift",
    "check_interactions",
    "check_model_drift",
    "model_profile",
]
