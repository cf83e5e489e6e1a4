"""The artifact: one folder with a manifest and model files in non-executable formats."""

from __future__ import annotations

from accelml.export.artifact import load_artifact, save_artifact

__all__ = ["load_artifact", "save_artifact"]
