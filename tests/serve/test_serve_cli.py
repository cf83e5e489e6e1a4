"""``accelml serve``'s checks before it starts a server (the server itself is tested in test_serve_http.py)."""

from __future__ import annotations

import socket

import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from accelml.cli.errors import guarded
from accelml.cli.serve import serve
from tests.cli.cli_helpers import assert_one_line_error


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(guarded(serve))

    @app.command("other")  # a second command, so that Typer keeps "serve" as a sub-command name
    def other() -> None:
        pass

    return app


def test_missing_model_folder_is_one_line(tmp_path):
    result = CliRunner().invoke(_app(), ["serve", str(tmp_path / "nothing")])
    assert_one_line_error(result, "does not exist")


def test_port_in_use_is_one_line(tmp_path):
    from tests.serve.serve_helpers import fit_tiny

    model_dir = fit_tiny("binary").save(tmp_path / "model")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(_app(), ["serve", str(model_dir), "--port", str(port), "--no-log"])
    assert_one_line_error(result, "cannot listen", f"127.0.0.1:{port}", "--port")


def test_bad_option_values_are_refused(tmp_path):
    result = CliRunner().invoke(_app(), ["serve", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
