"""``FitConfig`` is the one declaration of the fit options; every other place that lists them must agree with it.

``AutoML.__init__`` and the scikit-learn wrappers keep explicit keyword parameters (the estimator contract that
``get_params`` and ``clone`` rely on) and ``accelml fit`` has one option per setting, so these tests are what keeps
them in step: a new ``FitConfig`` field fails here until it is a parameter, a wrapper parameter and a CLI option with
the same default, and until ``EXAMPLE`` below has a value for it.
"""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from accelml import AutoClassifier, AutoML, AutoRegressor
from accelml.automl import _params
from accelml.cli import app
from accelml.cli.fit import parse_costs, parse_models, parse_roles, parse_threshold
from accelml.cli.paths import run_folder
from accelml.config import FitConfig

FIELDS: dict[str, Field[Any]] = {f.name: f for f in fields(FitConfig)}

# --- the deliberate exceptions: everything not listed here must match FitConfig exactly -----------------------------

# AutoML parameters that are not part of the run's configuration.
AUTOML_ONLY = {"work_dir"}  # where trials are recorded for resume: a folder on this machine, not a setting of the run

# Python defaults written differently from FitConfig's, meaning the same.
PYTHON_DEFAULTS = {"roles": None}  # no overrides; FitConfig holds {} but a mutable default would be shared by instances

# The wrappers leave out options their class decides.
WRAPPER_WITHOUT = {"task"}  # AutoRegressor is regression; AutoClassifier chooses binary or multiclass from y

# `accelml fit` parameters that are not options of the run: what to fit (with a recommender's side tables) and where
# its results go. work_dir is derived from --out (OUT.run).
CLI_ONLY = {"data", "target", "out", "resume", "report", "force", "item_table", "user_table"}

# Flags that are not --<field-name>.
CLI_FLAGS = {
    "n_jobs": "--jobs",  # with -j, like make and pytest-xdist
    "roles": "--role",  # one COLUMN=ROLE per use, repeated
}

# Options written as text on the command line, with the function that turns them into the FitConfig value.
CLI_PARSERS = {"models": parse_models, "roles": parse_roles, "threshold": parse_threshold, "costs": parse_costs}

# Not checked because they concern types, not names or defaults: `metric` is a name in FitConfig and on the command
# line, while AutoML and the wrappers also take a Metric or a callable (passed to the search apart from FitConfig,
# which is stored as JSON); `time_limit` cannot be None (no time limit) on the command line.

# A value other than the default for every field: the pass-through tests below set all of them at once.
EXAMPLE: dict[str, Any] = {
    "task": "multiclass",
    "metric": "log_loss",
    "time_limit": 30.0,
    "max_trials": 5,
    "n_jobs": 2,
    "seed": 7,
    "models": ("lgbm", "linear"),
    "roles": {"colour": "categorical"},
    "n_splits": 3,
    "refit_full": True,
    "max_latency_ms": 50.0,
    "max_size_mb": 20.0,
    "stacking": False,
    "prune": False,
    "workers": 2,
    "groups": "store",
    "image_shape": (28, 28),
    "threshold": 0.3,  # a fixed threshold may come with costs (the report shows their expected cost); a tuned one not
    "costs": {"false_positive": 1.0, "false_negative": 5.0},
    "feature_selection": False,
    "feature_generation": False,
}


def _default(f: Field[Any]) -> Any:
    return f.default_factory() if f.default is MISSING else f.default  # type: ignore[misc]


def _python_default(name: str) -> Any:
    return PYTHON_DEFAULTS[name] if name in PYTHON_DEFAULTS else _default(FIELDS[name])


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(cls.__init__).parameters)
    del params["self"]
    return params


def test_example_sets_every_field_to_a_value_other_than_its_default() -> None:
    assert set(EXAMPLE) == set(FIELDS), "give EXAMPLE a value for each FitConfig field"
    for name, f in FIELDS.items():
        assert EXAMPLE[name] != _default(f), name


# --- AutoML ---------------------------------------------------------------------------------------------------------


def test_automl_init_takes_every_option_with_its_default() -> None:
    params = _parameters(AutoML)
    assert set(params) - AUTOML_ONLY == set(FIELDS)
    for name in FIELDS:
        assert params[name].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
        assert params[name].default == _python_default(name), name


def test_automl_docstring_documents_every_parameter() -> None:
    doc = inspect.getdoc(AutoML) or ""
    args = doc[doc.index("Args:"): doc.index("Example:")]
    for name in _parameters(AutoML):
        assert f"\n    {name}: " in args, f"AutoML's docstring does not document {name}"


def test_automl_config_reads_every_option() -> None:
    assert AutoML()._config() == FitConfig()
    assert AutoML(**EXAMPLE)._config() == FitConfig(**EXAMPLE)
    assert AutoML(**{**EXAMPLE, "models": ["lgbm", "linear"]})._config() == FitConfig(**EXAMPLE)


def test_a_callable_metric_stays_off_the_config() -> None:
    assert AutoML(metric=lambda y, p: 0.0)._config().metric is None


def test_loaded_parameters_give_the_config_back() -> None:
    """``load`` builds the AutoML from the stored config: the same config, the defaults as ``AutoML()`` has them."""
    for config in (FitConfig(), FitConfig(**EXAMPLE)):
        assert AutoML(**_params(config))._config() == config
    assert {**_params(FitConfig()), "work_dir": None} == AutoML().get_params()


# --- the stored config ----------------------------------------------------------------------------------------------


def test_stored_config_round_trips_through_json() -> None:
    config = FitConfig(**EXAMPLE)
    assert FitConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_stored_config_from_another_version_keeps_what_it_knows(caplog: pytest.LogCaptureFixture) -> None:
    stored = FitConfig(**EXAMPLE).to_dict()
    del stored["workers"]  # saved before the option existed
    stored["future_option"] = 1  # saved by a newer accelml
    with caplog.at_level(logging.WARNING, logger="accelml.config"):
        config = FitConfig.from_dict(stored)
    assert config == FitConfig(**{**EXAMPLE, "workers": None})
    assert "future_option" in caplog.text


# --- accelml fit ----------------------------------------------------------------------------------------------------


def _cli_params() -> dict[str, click.Parameter]:
    command = typer.main.get_command(app).commands["fit"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params if p.name}


def _flag(name: str) -> str:
    return CLI_FLAGS.get(name, "--" + name.replace("_", "-"))


def test_cli_fit_has_every_option_with_its_default() -> None:
    params = _cli_params()
    assert set(params) - CLI_ONLY == set(FIELDS)
    for name, f in FIELDS.items():
        assert _flag(name) in params[name].opts, (name, params[name].opts)
        parse = CLI_PARSERS.get(name, lambda value: value)
        assert parse(params[name].default) == _default(f), name


def _cli_args(name: str, value: Any) -> list[str]:
    """``value`` written as options of ``accelml fit``."""
    if isinstance(value, bool):
        return [_flag(name) if value else "--no-" + _flag(name)[2:]]
    if name == "models":
        return [_flag(name), ",".join(value)]
    if name == "image_shape":
        return [_flag(name), "x".join(map(str, value))]
    if name == "roles":
        return [arg for column, role in value.items() for arg in (_flag(name), f"{column}={role}")]
    if name == "costs":
        return [_flag(name), ",".join(f"{cell}={cost}" for cell, cost in value.items())]
    return [_flag(name), str(value)]


def test_cli_fit_passes_every_option_to_automl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[AutoML] = []

    def stop(console: Any, automl: AutoML, *args: Any, **kwargs: Any) -> None:
        built.append(automl)
        raise typer.Exit(0)

    monkeypatch.setattr("accelml.cli.fit.fit_with_display", stop)
    out = tmp_path / "model"
    args = [arg for name, value in EXAMPLE.items() for arg in _cli_args(name, value)]
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "train.csv"), "--target", "y", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert built[0]._config() == FitConfig(**EXAMPLE)
    assert built[0].work_dir == run_folder(out)


# --- AutoClassifier and AutoRegressor -------------------------------------------------------------------------------

WRAPPERS = [AutoClassifier, AutoRegressor]


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_wrappers_take_every_option_but_their_task(wrapper: type) -> None:
    params = _parameters(wrapper)
    assert set(params) == set(FIELDS) - WRAPPER_WITHOUT
    for name, param in params.items():
        assert param.default == _python_default(name), name


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_wrappers_pass_every_option_to_automl(wrapper: type, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.base import clone

    configs: list[FitConfig] = []

    def fit(self: AutoML, data: Any, target: str, **kwargs: Any) -> AutoML:
        configs.append(self._config())
        return self

    monkeypatch.setattr(AutoML, "fit", fit)
    options = {name: value for name, value in EXAMPLE.items() if name not in WRAPPER_WITHOUT}
    estimator = wrapper(**options)
    assert clone(estimator).get_params() == estimator.get_params() == options
    estimator.fit(np.arange(12.0).reshape(6, 2), np.array([0.5, 1.0, 2.0, 0.5, 1.0, 2.0]))
    task = "regression" if wrapper is AutoRegressor else "multiclass"
    assert configs == [FitConfig(**{**EXAMPLE, "task": task})]
