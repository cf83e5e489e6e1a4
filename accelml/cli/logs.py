"""Where the library's log records go when it runs under the CLI: stderr, through Rich, WARNING by default."""

from __future__ import annotations

import logging
import warnings

from rich.logging import RichHandler

from accelml.cli.display import stderr_console

__all__ = ["configure_logging", "level_for"]

_MARK = "_accelml_cli"  # set on the handler this module installs, so that a second run replaces it


def level_for(verbosity: int) -> int:
    """``-v`` count to a logging level: none WARNING, ``-v`` INFO, ``-vv`` DEBUG.

    >>> [logging.getLevelName(level_for(n)) for n in (0, 1, 2, 3)]
    ['WARNING', 'INFO', 'DEBUG', 'DEBUG']
    """
    return (logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG


def configure_logging(verbosity: int = 0) -> None:
    """Send ``accelml``'s log records to stderr at the level ``verbosity`` asks for.

    Python warnings from the libraries underneath (convergence and the like) are noise for someone at a terminal; they
    are shown, as log records, only with ``-vv``.
    """
    level = level_for(verbosity)
    handler = RichHandler(console=stderr_console(), level=level, show_time=False, show_path=False, markup=False,
                          rich_tracebacks=False)
    setattr(handler, _MARK, True)
    for name in ("accelml", "py.warnings"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, _MARK, False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
    logging.getLogger("py.warnings").propagate = False
    if verbosity >= 2:
        logging.captureWarnings(True)
    else:
        warnings.simplefilter("ignore")
