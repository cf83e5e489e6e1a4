"""``accelml report`` through the CLI runner: default file name, --data, and no silent overwrite."""

from __future__ import annotations

from pathlib import Path

import typer
from report_helpers import fitted, parse_report
from typer.testing import CliRunner

from accelml.cli.errors import EXIT_USER_ERROR, guarded
from accelml.cli.report import report
from tests.conftest import make_table


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(guarded(report))
    app.command("other")(lambda: None)  # two commands: the runner keeps the command name as an argument
    return app


def test_report_command_writes_beside_the_model_and_refuses_to_overwrite(tmp_path: Path) -> None:
    folder = fitted("binary").save(tmp_path / "model")
    test_file = tmp_path / "test.csv"
    make_table("binary", n=120, seed=2).to_csv(test_file, index=False)
    runner = CliRunner()

    first = runner.invoke(_app(), ["report", str(folder), "--data", str(test_file)])

    written = tmp_path / "model-report.html"
    assert first.exit_code == 0, first.output
    assert "model-report.html" in first.output
    assert parse_report(written.read_text(encoding="utf-8")).headings[-1] == "Performance on test data"
    assert not any(p.name.endswith(".html") for p in folder.iterdir())  # the model folder is left untouched

    again = runner.invoke(_app(), ["report", str(folder)])
    assert again.exit_code == EXIT_USER_ERROR
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.output

    out = tmp_path / "elsewhere" / "r.html"
    forced = runner.invoke(_app(), ["report", str(folder), "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert out.exists()
