"""The recommend pipeline: a log of (user, item[, rating][, time]) rows, and optional side tables of user and item
attributes, to a :class:`~accelml.ensemble.recommender.Recommender` within the time limit.

The task follows from the roles: a USER and an ITEM column make the data a log of interactions, so a 1-5 star table
is never fitted as multiclass. With a rating target the feedback is explicit (RMSE by default); without one each row is
an interaction (NDCG@10 by default).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.config import FitConfig
from accelml.ensemble.recommender import Recommender
from accelml.exceptions import ConfigError, DataError
from accelml.features.interactions import Interactions, SideTable, id_text
from accelml.metrics import Metric, choice_reason, get_metric
from accelml.profiling import DataIssue
from accelml.result import FitResult
from accelml.schema import ColumnRole, ColumnSpec, Schema
from accelml.search.recommend import RecSearch, search_recommenders
from accelml.tasks import get_task

__all__ = ["fit_recommend", "interaction_roles", "is_interaction_log"]

logger = logging.getLogger(__name__)

SAMPLE_ROWS = 2000
EXAMPLE_USERS = 5  # users whose lists the report shows next to their history


def is_interaction_log(roles: Mapping[str, Any]) -> bool:
    """Whether the roles name a USER or an ITEM column (then the task is recommendation, which needs both).

    >>> is_interaction_log({"u": "user", "i": "Item"}), is_interaction_log({"u": "user"}), is_interaction_log({})
    (True, True, False)
    """
    values = {str(getattr(r, "value", r)).strip().lower() for r in roles.values()}
    return bool({"user", "item"} & values)


def interaction_roles(roles: Mapping[str, Any], columns: Any) -> dict[str, str | None]:
    """The user, item and time columns the roles name (one each; time optional).

    Raises:
        ConfigError: a role given to several columns, a user role without an item role (or the reverse), or a
            column that is not in the data.
    """
    by_role: dict[str, list[str]] = {}
    for column, role in roles.items():
        by_role.setdefault(str(getattr(role, "value", role)).strip().lower(), []).append(column)
    out: dict[str, str | None] = {}
    for role in ("user", "item", "time"):
        names = by_role.get(role, [])
        if len(names) > 1:
            raise ConfigError(f"columns {', '.join(map(repr, names))} all have the {role} role; give it to one")
        if not names and role != "time":
            other = "item" if role == "user" else "user"
            role_a = "an" if role == "item" else "a"
            raise ConfigError(f"a recommender needs {role_a} {role} column as well as the {other} column: add --role "
                              f"COLUMN={role} (roles={{'COLUMN': '{role}'}})")
        if names and names[0] not in columns:
            raise ConfigError(f"the {role} column '{names[0]}' is not in the data; columns are: "
                              f"{', '.join(map(str, list(columns)[:30]))}")
        out[role] = names[0] if names else None
    return out


def fit_recommend(frame: pd.DataFrame, target: str | None, config: FitConfig, *, metric: Any = None,
                  deadline: Deadline, started: float, item_table: pd.DataFrame | None = None,
                  user_table: pd.DataFrame | None = None, progress: Callable[[Any], None] | None = None
                  ) -> FitResult:
    """Fit the recommend task on the interactions ``frame`` (see the module docstring)."""
    columns = interaction_roles(config.roles, frame.columns)
    user, item, when = columns["user"], columns["item"], columns["time"]
    if target is not None and target not in frame.columns:
        raise ConfigError(f"the target column '{target}' is not in the data; give the rating column, or no target to "
                          "learn from the interactions alone")
    frame, issues = _clean(frame, user, item, target)
    explicit = target is not None
    chosen = _metric(metric if metric is not None else config.metric, explicit)
    inter = Interactions(user, item, rating=target, time=when).fit(
        frame, extra_users=_ids(user_table, user), extra_items=_ids(item_table, item))
    if inter.duplicates_merged:
        policy = "their ratings averaged, the latest time kept" if explicit else "each pair counted once"
        issues.append(DataIssue("duplicate_pairs", "warning", f"{inter.duplicates_merged:,} rows repeat a (user, item) "
                                f"pair; merged into one interaction each: {policy}", column=item, action="none",
                                count=inter.duplicates_merged))
    enc = inter.encode(frame)
    item_attrs, user_attrs, attributes = _side_tables(inter, item_table, user_table, item, user)
    schema = _schema(frame, user, item, when, target, explicit, inter)
    search = RecSearch(enc, inter.n_users, inter.n_items, explicit=explicit, metric=chosen, seed=config.seed,
                       n_splits=config.n_splits, item_attrs=item_attrs, user_attrs=user_attrs,
                       families=list(config.models) if config.models else None, max_trials=config.max_trials,
                       progress=progress, issues=tuple(issues))
    logger.info("%d interactions (%d users, %d items), %s feedback, metric %s, validation: %s", len(enc),
                inter.n_users, inter.n_items, "explicit" if explicit else "implicit", chosen.name, search.describe)
    limit = config.time_limit
    outcome = search_recommenders(search, deadline, refit_reserve=0.12 * limit + 0.5 if limit else 0.0)
    if not outcome.members:
        raise DataError("no recommend family finished within the time limit; give a longer time limit")
    seen = enc.matrix(inter.n_users, inter.n_items)
    ratings = enc.matrix(inter.n_users, inter.n_items, enc.ratings) if explicit else None
    rec = Recommender(inter, outcome.members, seen, ratings=ratings, item_attrs=item_attrs, user_attrs=user_attrs,
                      attributes=attributes)
    score = outcome.scores.get(chosen.name, float("nan"))
    rng = np.random.default_rng(config.seed)
    sample_rows = np.sort(rng.choice(len(frame), min(SAMPLE_ROWS, len(frame)), replace=False))
    examples = _example_users(enc, inter, rng)
    # measured on up to 100 users, fewer on a large catalogue (each user's list scores every item)
    users = (examples * 20)[:max(1, min(100, (1 << 24) // max(inter.n_items, 1)))]
    batch_ms, single_ms = rec.latency(users, repeats=3) if examples else (0.0, 0.0)
    return FitResult(
        schema=schema,
        metric=chosen,
        metric_reason=choice_reason(chosen, "recommend" + (" (ratings)" if explicit else " (interactions)"),
                                    user_given=metric is not None or config.metric is not None),
        issues=issues,
        trials=outcome.trials,
        ensemble=rec,
        val_score=score,
        config=config,
        fit_seconds=time.monotonic() - started,
        n_rows=len(enc),
        n_splits=len(search.splits),
        sample=frame.iloc[sample_rows].reset_index(drop=True),
        sample_oof=None,
        extra={
            "latency": {"batch_ms_per_row": batch_ms, "single_row_ms": single_ms},
            "validation": {"scheme": "per_user", "column": when, "description": outcome.validation},
            "recommend": {
                "explicit": explicit, "user": user, "item": item, "time": when,
                "n_users": inter.n_users, "n_items": inter.n_items, "n_interactions": len(enc),
                "duplicates_merged": inter.duplicates_merged, "scores": outcome.scores, "curves": outcome.curves,
                "skipped": outcome.skipped, "example_users": examples,
            },
            "profile": interaction_profile(enc, inter),
        },
    )


def interaction_profile(enc: Any, inter: Interactions) -> dict[str, Any]:
    """What monitoring compares new interactions with: the ids seen, the share of interactions of each item (the
    500 most popular), and the rating distribution."""
    counts = np.bincount(enc.items, minlength=inter.n_items)
    top = np.argsort(-counts, kind="stable")[:500]
    out: dict[str, Any] = {"kind": "interactions", "n_users": inter.n_users, "n_items": inter.n_items,
                           "n_interactions": len(enc),
                           "item_share": {inter.items[i]: float(counts[i] / max(len(enc), 1)) for i in top}}
    if enc.ratings is not None:
        values, n = np.unique(np.round(enc.ratings, 1), return_counts=True)
        if len(values) <= 50:
            out["ratings"] = {str(v): int(c) for v, c in zip(values, n)}
    return out


def _metric(metric: Any, explicit: bool) -> Metric:
    recommend = get_task("recommend")
    chosen = get_metric(metric if metric is not None else recommend.metric_for(explicit), "recommend")
    if not explicit and chosen.name in ("rmse", "mae"):
        raise ConfigError(f"metric '{chosen.name}' scores predicted ratings, and there is no rating target; give the "
                          "rating column as the target, or choose a list metric such as ndcg@10 or precision@10")
    return chosen


def _clean(frame: pd.DataFrame, user: str, item: str, target: str | None) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Rows with a missing user, item or rating dropped (said as issues); refuse what cannot be learned from."""
    issues = []
    if frame.empty:
        raise DataError("the interactions table has no rows")
    for column, what in ((user, "user"), (item, "item")) + (((target, "rating"),) if target else ()):
        missing = frame[column].isna()
        if missing.any():
            issues.append(DataIssue("missing_ids" if what != "rating" else "missing_target", "warning",
                                    f"{int(missing.sum()):,} rows have no {what} ({column}); dropped", column=column,
                                    action="dropped_rows", count=int(missing.sum())))
            frame = frame[~missing]
    if frame.empty:
        raise DataError(f"no interactions are left after dropping the rows without a user, item or rating "
                        f"('{user}', '{item}'{f', {target!r}' if target else ''}); check those columns")
    if target is not None:
        ratings = get_task("recommend").encode(frame[target], None)
        if np.unique(ratings).size < 2:
            raise DataError(f"every rating in '{target}' is {ratings[0]:g}: there is nothing to predict; leave the "
                            "target out to learn from the interactions alone")
    for column, what in ((user, "user"), (item, "item")):
        if frame[column].nunique() < 2:
            raise DataError(f"the {what} column '{column}' holds a single value ({frame[column].iloc[0]!r}); a "
                            f"recommender needs several {what}s: check the column given the {what} role")
    return frame.reset_index(drop=True), issues


def _ids(table: pd.DataFrame | None, column: str) -> list[str]:
    if table is None or column not in table.columns:
        return []
    return [str(v) for v in id_text(table[column].dropna())]


def _side_tables(inter: Interactions, item_table: pd.DataFrame | None, user_table: pd.DataFrame | None, item: str,
                 user: str) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, list[str]]]:
    attributes: dict[str, list[str]] = {}
    matrices = []
    for table, column, ids, name in ((item_table, item, inter.items, "items"), (user_table, user, inter.users,
                                                                                 "users")):
        if table is None:
            matrices.append(None)
            continue
        side = SideTable(column)
        matrices.append(side.fit_transform(table, ids))
        attributes[name] = side.columns
        if side.skipped:
            logger.info("%s table: columns %s are not used as attributes (free text, ids or a single value)", name,
                        ", ".join(side.skipped))
    return matrices[0], matrices[1], attributes


def _schema(frame: pd.DataFrame, user: str, item: str, when: str | None, target: str | None, explicit: bool,
            inter: Interactions) -> Schema:
    roles = {user: ColumnRole.USER, item: ColumnRole.ITEM}
    if when is not None:
        roles[when] = ColumnRole.TIME
    columns = [ColumnSpec(name, roles[name], str(frame[name].dtype), 0.0, int(frame[name].nunique()), True)
               for name in frame.columns if name in roles]
    return Schema(columns=columns, target=target or "", task="recommend", classes=None,
                  extra={"explicit": explicit, "user": user, "item": item, "time": when,
                         "ignored": [c for c in frame.columns if c not in roles and c != target]})


def _example_users(enc: Any, inter: Interactions, rng: np.random.Generator) -> list[str]:
    counts = np.bincount(enc.users, minlength=inter.n_users)
    active = np.flatnonzero(counts >= 5)
    if not len(active):
        active = np.flatnonzero(counts > 0)
    picked = np.sort(rng.choice(active, min(EXAMPLE_USERS, len(active)), replace=False)) if len(active) else []
    return [inter.users[u] for u in picked]
