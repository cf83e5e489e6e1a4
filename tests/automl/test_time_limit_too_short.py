"""A run in which no trial can finish ends with one clear error that names a limit that would do, and leaves
nothing that blocks the next run."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import accelml
from accelml.datasets import load_demo
from accelml.exceptions import TimeLimitError
from accelml.models.linear import LinearModel


def test_no_finished_trial_gives_a_limit_that_would_do_and_no_run_folder(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_fit(self, X, y, **kwargs):  # noqa: ANN001, ANN202, ARG001
        time.sleep(5.0)
        raise RuntimeError("too slow to finish")

    monkeypatch.setattr(LinearModel, "fit", slow_fit)
    work = tmp_path / "model.run"
    automl = accelml.AutoML(time_limit=4, models=["linear"], n_jobs=1, workers=1, n_splits=2, work_dir=work)
    with pytest.raises(TimeLimitError, match=r"no model finished within the 4 s limit") as info:
        automl.fit(load_demo(), target="species")
    suggested = int(re.search(r"--time-limit (\d+)", str(info.value)).group(1))
    assert suggested >= 8  # at least twice the limit that was too short
    assert not work.exists()  # nothing left to resume, nothing to block the next run
