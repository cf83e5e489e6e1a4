"""The ``accelml`` command: one Typer app, every command registered here behind the error boundary."""

from __future__ import annotations

from typing import Annotated

import typer

from accelml.cli.demo import demo
from accelml.cli.errors import guarded
from accelml.cli.explain import explain
from accelml.cli.export import export
from accelml.cli.fit import fit
from accelml.cli.info import info
from accelml.cli.leaderboard import leaderboard
from accelml.cli.logs import configure_logging
from accelml.cli.monitor import monitor
from accelml.cli.predict import predict
from accelml.cli.recommend import recommend
from accelml.cli.report import report
from accelml.cli.serve import serve

__all__ = ["app", "main"]

app = typer.Typer(
    name="accelml",
    help="AutoML, accelerated: tuned, ensembled models for a table under a hard time budget.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # the error boundary prints one line; ACCELML_DEBUG=1 gives plain tracebacks
)

for name, command in (
    ("fit", fit),
    ("predict", predict),
    ("recommend", recommend),
    ("leaderboard", leaderboard),
    ("info", info),
    ("explain", explain),
    ("report", report),
    ("serve", serve),
    ("monitor", monitor),
    ("export", export),
    ("demo", demo),
):
    app.command(name)(guarded(command))


def _print_version(value: bool) -> None:
    if value:
        from accelml import __version__

        typer.echo(f"accelml {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output: -v info, -vv debug.")
    ] = 0,
) -> None:
    configure_logging(verbose)


def main() -> None:
    """Entry point of the ``accelml`` console script."""
    app()
