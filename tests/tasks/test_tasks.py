"""The task registry: each task's encoding, checks and decoding, and that no code outside accelml/tasks compares a
task's name."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import ConfigError, DataError
from accelml.tasks import TASKS, Task, encode_target, get_task, infer_task

PACKAGE = Path(__file__).resolve().parents[2] / "accelml"


@pytest.mark.parametrize("key", list(TASKS))
def test_every_task_declares_its_contract(key: str) -> None:
    task = get_task(key)
    assert isinstance(task, Task) and task.key == key
    assert task.output in ("proba", "values", "scores")
    from accelml.metrics import get_metric

    assert get_metric(None, key).name == task.default_metric
    assert get_task(key) is task  # one instance per key


def test_unknown_task_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="did you mean 'multiclass'.*binary, multiclass, recommend, regression"):
        get_task("multiclas")


def test_classification_encodes_and_decodes_labels() -> None:
    task = get_task("multiclass")
    y = pd.Series(["b", "c", "a", "b"])
    classes = task.check_target(y)
    assert classes == ["a", "b", "c"]
    codes = task.encode(y, classes)
    assert codes.tolist() == [1, 2, 0, 1]
    assert task.n_outputs(classes) == 3
    proba = np.eye(3)[codes]
    assert task.decode(proba, classes).tolist() == y.tolist()


def test_binary_needs_two_classes_and_regression_numbers() -> None:
    with pytest.raises(DataError, match="exactly 2 classes.*'y' has 3"):
        get_task("binary").check_target(pd.Series([0, 1, 2], name="y"))
    with pytest.raises(DataError, match="numeric target"):
        get_task("regression").check_target(pd.Series(["a", "b"], name="y"))
    with pytest.raises(DataError, match="single value"):
        get_task("regression").check_target(pd.Series([1.0, 1.0], name="y"))


def test_regression_encodes_floats_and_has_no_classes() -> None:
    task = get_task("regression")
    assert task.check_target(pd.Series([1, 2, 3])) is None
    assert task.n_outputs(None) == 0 and not task.stratified and not task.classification
    assert task.encode(pd.Series([1, 2]), None).dtype == np.float64


def test_encode_target_follows_the_schema() -> None:
    from accelml.schema import infer_schema

    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["no", "yes", "yes", "no"]})
    schema = infer_schema(frame, "y")
    assert encode_target(frame["y"], schema).tolist() == [0, 1, 1, 0]


def test_infer_task_from_the_target() -> None:
    assert infer_task(pd.Series(["a", "b", "a"])) == "binary"
    assert infer_task(pd.Series(range(100)) * 0.5) == "regression"
    assert infer_task(pd.Series([1, 2, 3, 1, 2, 3])) == "multiclass"
    with pytest.raises(DataError, match="dates"):
        infer_task(pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"]), name="d"))


def _name_comparisons(path: Path) -> list[str]:
    """Comparisons of a value with a task key written as a string (``task == "binary"``, ``x in ("binary", ...)``)."""
    keys = set(TASKS)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        strings = []
        for operand in operands:
            if isinstance(operand, ast.Constant):
                strings.append(operand.value)
            elif isinstance(operand, (ast.Tuple, ast.List, ast.Set)):
                strings += [e.value for e in operand.elts if isinstance(e, ast.Constant)]
        if keys & {s for s in strings if isinstance(s, str)}:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_code_outside_tasks_compares_a_task_name() -> None:
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) if "tasks" not in path.relative_to(PACKAGE).parts
                 for hit in _name_comparisons(path)]
    assert offenders == [], f"ask the task object instead (accelml.tasks.get_task): {offenders}"
