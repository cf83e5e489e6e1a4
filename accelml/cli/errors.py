"""The error boundary: every command fails with one red line on stderr, never a traceback.

Errors the user can fix (:class:`~accelml.exceptions.AccelMLError`, missing or unreadable files, bad option values)
exit with code 2; anything else is a bug, reported in one line that says how to see the traceback, and exits with
code 1. Setting ``ACCELML_DEBUG=1`` re-raises every error so that its traceback is shown.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.text import Text

from accelml.cli.display import stderr_console
from accelml.exceptions import AccelMLError

__all__ = ["DEBUG_ENV", "EXIT_BUG", "EXIT_INTERRUPTED", "EXIT_USER_ERROR", "describe", "fail", "guarded"]

DEBUG_ENV = "ACCELML_DEBUG"
EXIT_BUG = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    """Print ``error: <message>`` in red on stderr, on one line, and exit with ``code``."""
    one_line = " ".join(message.split())
    stderr_console().print(Text(f"error: {one_line}", style="bold red"), soft_wrap=True)
    raise typer.Exit(code)


def describe(exc: BaseException) -> str:
    """The one-line message for an exception the user can fix.

    >>> describe(FileNotFoundError(2, "No such file or directory", "data.csv"))
    "No such file or directory: 'data.csv'"
    """
    if isinstance(exc, typer.BadParameter):
        return exc.format_message()
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: '{exc.filename}'" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


def guarded(command: F) -> F:
    """Wrap a command so that errors end it with one line and an exit code instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            if _debug():
                raise
            fail("interrupted", EXIT_INTERRUPTED)
        except (AccelMLError, OSError, typer.BadParameter) as exc:
            if _debug():
                raise
            fail(describe(exc), EXIT_USER_ERROR)
        except Exception as exc:  # a bug: say so in one line and how to see more
            if _debug():
                raise
            hint = f"run with {DEBUG_ENV}=1 for the traceback"
            fail(f"unexpected {type(exc).__name__}: {describe(exc)} ({hint})", EXIT_BUG)

    return wrapper  # type: ignore[return-value]
