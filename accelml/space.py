"""One small vocabulary for search dimensions, shared by every model's search space."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

__all__ = ["Categorical", "Dim", "Float", "Int", "suggest"]


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Any, ...]


Dim = Union[Float, Int, Categorical]


def suggest(trial: Any, space: dict[str, Dim]) -> dict[str, Any]:
    """Ask an Optuna trial for one value per dimension of ``space``."""
    params: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Int):
            params[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
        else:
            params[name] = trial.suggest_categorical(name, list(dim.choices))
    return params


def distributions(space: dict[str, Dim]) -> dict[str, Any]:
    """The same space as Optuna distributions (used to tell a study about configurations it did not ask for)."""
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            out[name] = od.FloatDistribution(dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Int):
            out[name] = od.IntDistribution(dim.low, dim.high, log=dim.log)
        else:
            out[name] = od.CategoricalDistribution(list(dim.choices))
    return out
