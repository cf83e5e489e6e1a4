"""The frozen context every trial of a search shares, sent with each trial to wherever it runs."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

from accelml.budget import Deadline

__all__ = ["TrialContext"]


@dataclass(frozen=True)
class TrialContext:
    """What a trial needs besides its spec and the data: the task, the metric, the seed, its threads, and the time.

    The deadline travels as seconds left when the trial was submitted (:meth:`at`), and :meth:`deadline` re-anchors
    it on the clock of the process or host that runs the trial: a monotonic time means nothing on another machine.

    Example:
        >>> from accelml.metrics import get_metric
        >>> base = TrialContext("binary", get_metric(None, "binary"), seed=0, n_jobs=1)
        >>> ctx = base.at(Deadline.after(30.0), started=time.monotonic() - 5.0)
        >>> 29.0 < ctx.seconds_left <= 30.0, 4.9 < ctx.elapsed < 6.0, 28.0 < ctx.deadline().remaining() <= 30.0
        (True, True, True)
        >>> base.at(Deadline.never(), started=0.0).deadline().remaining()
        inf
    """

    task: str
    metric: Any  # a Metric
    seed: int
    n_jobs: int  # threads for each model of the trial
    seconds_left: float | None = None  # when submitted; None: no deadline
    trial_seconds: float | None = None  # the most the trial itself may take (see accelml.search.loop.TRIAL_SHARE)
    elapsed: float = 0.0  # seconds since the search started, when submitted
    device: str = "cpu"  # "cuda" when the executor handed the trial a GPU

    def at(self, deadline: Deadline, started: float, device: str = "cpu") -> TrialContext:
        """This context for a trial submitted now, under ``deadline``, in a search that started at ``started``."""
        left = deadline.remaining()
        return replace(self, seconds_left=None if math.isinf(left) else left, elapsed=time.monotonic() - started,
                       device=device)

    def deadline(self) -> Deadline:
        """The deadline, anchored on this process's clock."""
        return Deadline.after(self.seconds_left)
