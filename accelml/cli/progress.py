"""The search as it runs: a live panel on a terminal, one plain line per finished trial elsewhere.

:class:`SearchDisplay` is the ``progress`` callback given to :meth:`accelml.AutoML.fit`. On a terminal it shows a
bar of the elapsed time against the time limit, the trials done, the best score so far and the model being fitted,
redrawn a few times a second so that the clock moves during long trials. When the output is a file, a pipe or a test
runner, it prints one line per finished trial instead, so that logs stay readable.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from accelml.cli.display import format_score, print_issues

__all__ = ["SearchDisplay"]


class SearchDisplay:
    """Show the progress of a search on ``console``.

    Args:
        console: Where to print.
        time_limit: The fit's time limit in seconds (the bar's length).
        metric: The metric's name, when known before the search starts (used until the progress reports say).
        live: Force the live panel on or off; by default it is on when ``console`` is a terminal.

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> from accelml.search.loop import SearchProgress
        >>> from accelml.search.trial import TrialResult, TrialSpec
        >>> trial = TrialResult(TrialSpec(0, "lgbm", {}, "baseline"), "ok", score=0.9, fit_time=0.4)
        >>> console = Console(file=io.StringIO(), width=100)  # not a terminal: one line per finished trial
        >>> with SearchDisplay(console, time_limit=60, metric="accuracy") as display:
        ...     display(SearchProgress(0.0, 60.0, 0, None, None, "lgbm_0"))
        ...     display(SearchProgress(0.5, 59.5, 1, 0.9, "lgbm_0", None, trial))
        >>> print(console.file.getvalue())  # doctest: +NORMALIZE_WHITESPACE
        Data checks: no problems found.
        <BLANKLINE>
        trial 1 lgbm_0 accuracy 0.9000 (0.4s) best 0.9000 (lgbm_0) [0s / 60s]
    """

    def __init__(self, console: Console, time_limit: float | None, metric: str | None = None, live: bool | None = None):
        self.console = console
        self.time_limit = time_limit
        self.metric = metric
        self.live = console.is_terminal and not console.is_dumb_terminal if live is None else live
        self._started = time.monotonic()
        self._state: Any = None
        self._failed = 0
        self._printed = 0
        self._live: Live | None = None
        self._done = False
        self.issues_shown = False

    # ------------------------------------------------------------------ the callback
    def __call__(self, progress: Any) -> None:
        """Take one report from the search (an :class:`accelml.search.loop.SearchProgress`)."""
        self._state = progress
        self.metric = getattr(progress, "metric", None) or self.metric
        if not self.issues_shown and self._live is None:
            self.issues_shown = True
            print_issues(self.console, getattr(progress, "issues", ()))
            self.console.print()
        last = progress.last
        finished = progress.current_model is None and last is not None and progress.trials_done > self._printed
        if finished:
            self._printed = progress.trials_done
            self._failed += not last.ok
        if self.live:
            if self._live is None:
                self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
                self._live.start()
            else:
                self._live.refresh()
        elif finished:
            self.console.print(self._trial_line(progress), soft_wrap=True)

    def __enter__(self) -> SearchDisplay:
        self._started = time.monotonic()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._done = exc_type is None
            self._live.stop()
            self._live = None

    # ------------------------------------------------------------------ rendering
    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _metric_prefix(self) -> str:
        return f"{self.metric} " if self.metric else ""

    def _trial_line(self, progress: Any) -> Text:
        last = progress.last
        line = Text(f"trial {progress.trials_done:>3}  {last.spec.name:<14} ")
        if last.ok:
            line.append(f"{self._metric_prefix()}{format_score(last.score)}")
            line.append(f"  ({last.fit_time:.1f}s)", style="dim")
        else:
            reason = last.error or last.status
            line.append(f"{last.status}: {' '.join(str(reason).split())}", style="yellow")
        if progress.best_model:
            line.append(f"  best {format_score(progress.best_score)} ({progress.best_model})", style="green")
        line.append(f"  [{self._clock()}]", style="dim")
        return line

    def _clock(self) -> str:
        elapsed = self._elapsed()
        if self.time_limit is None:
            return f"{elapsed:.0f}s"
        return f"{elapsed:.0f}s / {self.time_limit:.0f}s"

    def __rich__(self) -> RenderableType:
        state = self._state
        elapsed = self._elapsed()
        grid = Table.grid(padding=(0, 2))
        grid.add_column()
        grid.add_column()
        grid.add_column()
        if self.time_limit:
            remaining = max(0.0, self.time_limit - elapsed)
            bar = ProgressBar(total=self.time_limit, completed=min(elapsed, self.time_limit), width=40)
            grid.add_row(Text("Searching", style="bold"), bar, Text(f"{self._clock()}  ({remaining:.0f}s left)"))
        else:
            grid.add_row(Text("Searching", style="bold"), Text(""), Text(self._clock()))
        status = Text()
        done = state.trials_done if state else 0
        status.append(f"trials {done}")
        if self._failed:
            status.append(f" ({self._failed} failed)", style="yellow")
        if state is not None and state.best_model:
            status.append("   best ")
            status.append(f"{self._metric_prefix()}{format_score(state.best_score)}", style="bold green")
            status.append(f" ({state.best_model})")
        current = state.current_model if state else None
        if self._done:
            status.append("   done", style="green")
        else:
            status.append("   now ")
            status.append(current or "finishing", style="cyan")
        return Group(grid, status)
