"""A trial store on disk, so that a search can be continued with more time and a crash loses at most one trial.

Layout of the run folder::

    run/
      state.json              what the run was: configuration, target, data fingerprint, metric, splits
      trials.jsonl            one finished trial per line, appended as it finishes
      kept/<trial>/oof.npy    out-of-fold predictions of the trials the ensemble may use
      kept/<trial>/fold_<k>/  their fold models, in each family's own non-executable format

Fold preprocessing is not stored: it is refit from the same data and seed, which gives the same matrices.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from accelml._json import finite_json
from accelml.exceptions import ConfigError
from accelml.search.evaluate import FittedTrial
from accelml.search.trial import TrialResult, TrialSpec

__all__ = ["TrialStore"]

logger = logging.getLogger(__name__)


class TrialStore:
    """Records trials as they finish and reads them back."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    # ------------------------------------------------------------------ state of the run
    def exists(self) -> bool:
        return (self.folder / "state.json").exists()

    def start(self, state: dict[str, Any]) -> None:
        """Begin a new run here (the folder must not hold another run)."""
        if self.exists():
            raise ConfigError(f"'{self.folder}' already holds a run; resume it or choose another folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "state.json").write_text(json.dumps(state, indent=1, default=str))

    def state(self) -> dict[str, Any]:
        if not self.exists():
            raise ConfigError(f"there is no run to resume in '{self.folder}' (state.json is missing)")
        return json.loads((self.folder / "state.json").read_text())

    # ------------------------------------------------------------------ trials
    def record(self, fitted: FittedTrial, *, models: bool = True) -> None:
        """Append a finished trial; keep its predictions and models when it has them (and ``models``: without, a
        resumed run has its record but not its models, as for a trial that fell out of the kept set)."""
        if models and fitted.models and fitted.oof is not None:
            folder = self.folder / "kept" / fitted.result.spec.name
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            np.save(tmp / "oof.npy", fitted.oof, allow_pickle=False)
            for k, model in enumerate(fitted.models):
                (tmp / f"fold_{k}").mkdir()
                model.save(tmp / f"fold_{k}")
            tmp.rename(folder)
        with open(self.folder / "trials.jsonl", "a") as f:
            f.write(json.dumps(finite_json(fitted.result.to_dict())) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def forget(self, name: str) -> None:
        """Drop a trial's models (it fell out of the kept set); its record stays."""
        shutil.rmtree(self.folder / "kept" / name, ignore_errors=True)

    def load(self) -> list[FittedTrial]:
        """Every recorded trial, with predictions and models where they were kept."""
        from accelml.models import MODELS

        path = self.folder / "trials.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                d = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a crash: that trial was in flight
                logger.warning("ignoring an incomplete trial record in %s", path)
                continue
            spec = TrialSpec(**d.pop("spec"))
            d["score"] = float("nan") if d.get("score") is None else d["score"]
            d["loss"] = float("inf") if d.get("loss") is None else d["loss"]
            fitted = FittedTrial(TrialResult(spec=spec, **d))
            folder = self.folder / "kept" / spec.name
            if fitted.result.ok and folder.is_dir():
                cls = MODELS[spec.model]
                fitted.oof = np.load(folder / "oof.npy", allow_pickle=False)
                fitted.models = [cls.load(folder / f"fold_{k}") for k in range(fitted.result.n_folds)]
            out.append(fitted)
        return out

