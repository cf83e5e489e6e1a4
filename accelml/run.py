"""The whole pipeline, top to bottom: load → schema → checks → folds → search → ensemble."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accelml.budget import Deadline
from accelml.config import FitConfig, resolve_jobs
from accelml.data.sources import read_data
from accelml.ensemble.build import build_ensemble
from accelml.ensemble.constraints import Constraints
from accelml.ensemble.decision import decision_record, threshold_plan
from accelml.ensemble.predictor import Ensemble
from accelml.ensemble.prune import Allowance
from accelml.ensemble.refit import (
    REFIT_MAX_FOLDS,
    bag_allowance,
    bag_batch_seconds,
    one_fold_names,
    refit_full,
    refit_mode,
)
from accelml.ensemble.stack import fit_stacker
from accelml.exceptions import ConfigError, DataError, TimeLimitError
from accelml.features.images import image_columns
from accelml.features.text_input import mark_prose
from accelml.metrics import Metric, choice_reason, get_metric
from accelml.monitor import build_profile
from accelml.profiling import check_data
from accelml.result import FitResult
from accelml.schema import ColumnRole, Schema, infer_schema
from accelml.schema.schema import DROPPED_FEATURES, GENERATED_FEATURES
from accelml.schema.validate import coerce_training_frame
from accelml.search.context import TrialContext
from accelml.search.folds import FoldCache
from accelml.search.generation import Generation, generate_features
from accelml.search.generation import skipped as generation_skipped
from accelml.search.loop import SearchProgress, available_models, default_workers, run_search
from accelml.search.selection import Selection, is_wide, lightgbm_installed, select_features, skipped
from accelml.search.store import TrialStore
from accelml.tasks import encode_target, get_task
from accelml.validation import make_validation

__all__ = [
    "REFIT_MAX_FOLDS", "SAMPLE_ROWS", "FitResult", "encode_target", "fit_pipeline", "refit_mode", "search_reserve",
    "stack_reserve",
]

SAMPLE_ROWS = 2000  # training rows kept for explanations, reports and monitoring
PROFILE_ROWS = 100_000  # rows the training profile is computed on (a seeded sample beyond that)
PROFILE_SHARE = 0.03  # of the time limit, the most the profile's column summaries may take (on a wide table)

logger = logging.getLogger(__name__)


# Share of the time limit kept back from the search for refitting, by refit mode (see refit_mode). A member that would
# not finish in what is left keeps its fold models.
_REFIT_SHARE = {"asked": 0.2, "chosen": 0.1, "families": 0.05, "free": 0.0}


def search_reserve(
    time_limit: float | None, refit: str = "free", constrained: bool = False, n_classes: int = 0
) -> float:
    """Seconds kept back from the search for selecting the ensemble (measuring candidates' latency and size under
    deployment constraints, and refitting on all rows: ``refit`` as :func:`refit_mode` says).

    On many classes the work after the search grows: a boosted model the deadline cut still predicts its validation
    rows with one tree per class and round, and the final latency is measured (letter, 26 classes: seconds each).

    >>> [round(search_reserve(60, refit=mode), 2) for mode in ("free", "chosen", "asked")]
    [2.9, 8.9, 14.9]
    >>> round(search_reserve(60, n_classes=7), 2), round(search_reserve(60, n_classes=26), 2)
    (4.58, 8.9)
    """
    if time_limit is None:
        return 0.0
    per_class = min(0.1, 0.004 * n_classes) if n_classes > 2 else 0.0
    return (0.04 * time_limit + 0.5 + _REFIT_SHARE[refit] * time_limit
            + (0.05 * time_limit if constrained else 0.0) + per_class * time_limit)


def stack_reserve(time_limit: float | None, fold_rows: int = 0, n_classes: int = 0) -> float:
    """Seconds kept back from the search for the stacking layer: one small LightGBM per fold of the first repeat, so
    about a second plus a second per 20,000 fold training rows (``fold_rows``: rows times folds), at most a tenth of
    the limit. With many classes a round grows a tree per class and takes more rounds: a second per 6,000 rows and
    class (segment, 1,386 rows and 7 classes: 1.6 s a fold).

    >>> stack_reserve(60, 561 * 5), stack_reserve(60, 26_000 * 3), stack_reserve(60, 10**7), stack_reserve(None)
    (1.14, 4.9, 6.0, 0.0)
    >>> stack_reserve(300, 1_386 * 5, n_classes=7)
    9.09
    """
    if time_limit is None:
        return 0.0
    per_second = 6_000 / n_classes if n_classes > 2 else 20_000
    return round(min(0.1 * time_limit, 1.0 + fold_rows / per_second), 2)


def fit_pipeline(
    data: Any,
    target: Any,
    config: FitConfig,
    *,
    metric: str | Metric | Callable | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
    deadline: Deadline | None = None,
    store: TrialStore | None = None,
    resume: bool = False,
    item_table: Any = None,
    user_table: Any = None,
) -> FitResult:
    """Fit accelml on ``data`` (a table, a folder of images or images: see :func:`~accelml.data.sources.read_data`)
    within ``config.time_limit`` seconds, reading included.

    With a ``store`` every trial is recorded as it finishes; with ``resume`` the run recorded there continues (same
    data, which is checked, and the trials already done are not repeated).

    With a USER and an ITEM role the data is a log of interactions and the task is recommendation (the target, if
    any, holds ratings; ``item_table`` and ``user_table`` are optional side tables of attributes, joined by id): see
    :mod:`accelml.run_recommend`.
    """
    deadline = deadline or Deadline.after(config.time_limit)
    started = time.monotonic()
    from accelml.run_recommend import fit_recommend, is_interaction_log

    if is_interaction_log(config.roles):
        if resume or store is not None:
            raise ConfigError("work_dir and resume are not available for recommendation yet; leave them unset")
        from accelml.data import read_table

        frame = read_table(data)
        return fit_recommend(frame, target if isinstance(target, str) else None, config, metric=metric,
                             deadline=deadline, started=started, progress=progress,
                             item_table=None if item_table is None else read_table(item_table),
                             user_table=None if user_table is None else read_table(user_table))
    if item_table is not None or user_table is not None:
        raise ConfigError("item_table and user_table are side tables of a recommender: give the user and item columns "
                          "of the interactions their roles (roles={'user_id': 'user', 'item_id': 'item'})")
    frame, target = read_data(data, target, image_shape=config.image_shape)
    if target is None:
        raise ConfigError("give the target: the name of the column to predict (or, with NumPy images, the labels)")
    d = _prepare(frame, target, config)
    fingerprint, n_splits, n_repeats = _recorded_folds(frame, store, resume, _network_splits(d, config.n_splits))
    chosen = get_metric(metric if metric is not None else config.metric, d.schema.task)
    decision = threshold_plan(config.threshold, config.costs, chosen, d.schema.task)  # checked before the search
    validation = make_validation(d.y, d.schema.task, seed=config.seed, n_splits=n_splits, time_limit=config.time_limit,
                                 n_repeats=n_repeats, holdout_rows=_HOLDOUT_ROWS if _reads_text(d.schema) else 50_000,
                                 **_split_columns(d.X, d.schema))
    recorded = store.state() if resume and store else None
    selection = _select_features(d, config, validation, chosen, deadline, recorded)
    generation = _generate_features(d, config, validation, chosen, deadline, recorded)
    # without the columns selection dropped, with those generation added
    folds = FoldCache(d.X, validation, d.schema, seed=config.seed)
    if store is not None and not resume:
        store.start({"config": config.to_dict(), "target": target, "fingerprint": fingerprint,
                     "n_splits": validation.n_folds, "n_repeats": validation.n_repeats,
                     "feature_selection": selection.to_dict(), "feature_generation": generation.to_dict(),
                     "data": str(data) if isinstance(data, (str, Path)) else None})
    logger.info("%d rows, %d features, task %s, metric %s, validation: %s", len(d.y), len(d.schema.features),
                d.schema.task, chosen.name, validation.describe())
    plan = _plan(config, folds)
    context = TrialContext(d.schema.task, chosen, seed=config.seed, n_jobs=plan.n_jobs)
    models = available_models(list(config.models) if config.models else None, d.schema.task, d.schema)
    if not models:
        raise ConfigError(f"none of the families {', '.join(config.models or ())} can learn from this data (task "
                          f"{d.schema.task}; an image family needs an image column, a table family a table column, "
                          "and each its libraries); choose others, or leave models unset")
    search_started = time.monotonic()
    trials = run_search(
        folds, context, deadline.child(reserve=plan.reserve + plan.stack_seconds),
        models=models,
        max_trials=config.max_trials, progress=progress, issues=d.issues, store=store,
        previous=store.load() if store is not None and resume else (), workers=plan.workers,
    )
    if not any(t.result.ok for t in trials):
        raise _too_short(config, trials, started, search_started, store, resume, len(d.y), len(d.schema.features))
    if plan.stacking:
        stacker = fit_stacker(trials, folds, context, deadline.child(reserve=plan.reserve),
                              trial_id=max(t.result.spec.trial_id for t in trials) + 1)
        if stacker is not None:
            trials.append(stacker)
    ensemble, score, oof, costs, lighter = build_ensemble(trials, folds, chosen, plan.constraints,
                                                          allowance=plan.allowance, refit=plan.refit,
                                                          deadline=deadline, n_jobs=plan.n_jobs)
    # Refit on all rows as refit_mode says; members that refit for free (kNN) always are: one neighbour search, not k.
    refit_deadline = deadline.child(reserve=0.02 * (config.time_limit or 0) + 0.3)
    ensemble, mode, bag = _weigh_bag(ensemble, d, config, plan, refit_deadline)
    bagged = ensemble
    read = ensemble.stack_inputs  # a stacker is refit on its inputs' out-of-fold outputs
    ensemble = refit_full(ensemble, d.X, d.y, d.schema, refit_deadline, n_jobs=plan.n_jobs, seed=config.seed,
                          mode=mode, seconds=_refit_seconds(trials, validation.n_folds),
                          stack_oof={t.result.spec.name: t.oof for t in trials if t.result.spec.name in read})
    ensemble.share_preprocessors().set_threads(plan.n_jobs)
    result = _result(d, chosen, config, metric is not None or config.metric is not None, trials, ensemble, score, oof,
                     costs, folds, plan, deadline, started)
    if bag is not None:
        result.extra["fold_models"] = bag
    if lighter is not None:
        result.extra["lighter"] = lighter
    one_fold = one_fold_names(bagged, ensemble)
    if one_fold:
        result.extra["one_fold"] = one_fold
    result.extra["feature_selection"] = selection.to_dict()
    result.extra["feature_generation"] = generation.to_dict()
    if decision is not None:  # a binary task's threshold, from the final ensemble's out-of-fold probabilities
        rows = folds.oof_rows
        result.extra["decision"] = decision_record(decision, oof[rows], d.y[rows], seed=config.seed)
    return result


# Validation rows of a text holdout: enough to rank models (accuracy within about 0.6 points), few enough for a
# fine-tuned transformer to predict in seconds (SST-2's 20 % would be 13,500 phrases, 45 s on two CPU cores).
_HOLDOUT_ROWS = 5_000


@dataclass
class _Prepared:
    """The training data after the checks: rows with a missing target dropped, columns coerced, target encoded."""

    frame: pd.DataFrame
    schema: Schema
    issues: list[Any]
    X: pd.DataFrame
    y: np.ndarray


@dataclass(frozen=True)
class _Plan:
    """How the time limit is shared out, decided from the data and settings before the search."""

    refit: str  # see refit_mode
    reserve: float  # seconds kept for the ensemble, the refit and the latency measurement
    stacking: bool
    stack_seconds: float  # kept for the stacker
    n_jobs: int
    workers: int
    constraints: Constraints
    allowance: Allowance | None  # what the ensemble may cost to predict before it is made lighter (None: any)


def _no_quick_model(d: _Prepared) -> str | None:
    """Why feature selection and generation, which decide with a quick LightGBM before the search, cannot run on
    this data (None: they can)."""
    if image_columns(d.schema) or _reads_text(d.schema):
        return "the data has images or prose, which networks read"
    if not lightgbm_installed():
        return "it needs LightGBM (pip install lightgbm)"
    return None


def _select_features(d: _Prepared, config: FitConfig, validation: Any, metric: Metric, deadline: Deadline,
                     recorded: dict[str, Any] | None) -> Selection:
    """Feature selection (:mod:`accelml.search.selection`) on tables, before the search; the columns it drops leave
    ``d.schema.features``. A resumed run keeps the columns its recorded trials were fitted on."""
    if recorded is not None:
        selection = Selection(**recorded["feature_selection"]) if recorded.get("feature_selection") else skipped(
            "the resumed run was recorded without feature selection")
    elif config.feature_selection is False:
        selection = skipped("feature_selection=False", status="off")
    elif config.feature_selection is None and not is_wide(len(d.X), len(d.schema.features)):
        selection = skipped("the table is not wide; give feature_selection=True to select on it too")
    elif why := _no_quick_model(d):
        selection = skipped(why)
    else:
        context = TrialContext(d.schema.task, metric, seed=config.seed, n_jobs=resolve_jobs(config.n_jobs))
        selection = select_features(d.X, validation, d.schema, context, deadline, time_limit=config.time_limit)
    if selection.dropped:
        d.schema.extra[DROPPED_FEATURES] = selection.dropped_columns
    return selection


def _generate_features(d: _Prepared, config: FitConfig, validation: Any, metric: Metric, deadline: Deadline,
                       recorded: dict[str, Any] | None) -> Generation:
    """Feature generation (:mod:`accelml.search.generation`) on ordinary tables, after feature selection and before
    the search; the columns it adds go to ``d.schema.extra``, which every table preprocessor reads. A resumed run
    keeps the columns its recorded trials were fitted with."""
    if recorded is not None:
        generation = Generation(**recorded["feature_generation"]) if recorded.get("feature_generation") else \
            generation_skipped("the resumed run was recorded without feature generation")
    elif config.feature_generation is False:
        generation = generation_skipped("feature_generation=False", status="off")
    elif config.feature_generation is None and is_wide(len(d.X), len(d.schema.features)):
        generation = generation_skipped("the table is wide; give feature_generation=True to generate on it too")
    elif why := _no_quick_model(d):
        generation = generation_skipped(why)
    else:
        context = TrialContext(d.schema.task, metric, seed=config.seed, n_jobs=resolve_jobs(config.n_jobs))
        generation = generate_features(d.X, validation, d.schema, context, deadline, time_limit=config.time_limit)
    if generation.added:
        d.schema.extra[GENERATED_FEATURES] = generation.specs
    return generation


def _recorded_folds(frame: pd.DataFrame, store: TrialStore | None, resume: bool,
                    n_splits: int | None) -> tuple[str, int | None, int | None]:
    """The data's fingerprint and the folds to validate on: those of the recorded trials when resuming (whatever the
    new time limit; the data must be the same), else as configured."""
    fingerprint = data_fingerprint(frame)
    if store is None or not resume:
        return fingerprint, n_splits, None
    state = store.state()
    if state.get("fingerprint") != fingerprint:
        raise DataError(f"the data differs from the data of the run in '{store.folder}'; resume it with the same data")
    return fingerprint, state["n_splits"], state.get("n_repeats", 1)


def _prepare(frame: pd.DataFrame, target: str, config: FitConfig) -> _Prepared:
    schema = infer_schema(frame, target, task=config.task, roles=_roles(config))
    frame, issues = check_data(frame, schema, time_limit=config.time_limit)
    schema.classes = get_task(schema.task).labels(frame[target])  # after rows were dropped
    if config.image_shape is not None:
        schema.extra["image_shape"] = list(config.image_shape)  # new pixel tables are read the same way
    given = [c for c, role in _roles(config).items() if str(role).lower() == "text"]
    mark_prose(frame, schema, given)  # which text columns the text families read (those the user calls text too)
    return _Prepared(frame, schema, issues, coerce_training_frame(frame, schema), encode_target(frame[target], schema))


def _plan(config: FitConfig, folds: FoldCache) -> _Plan:
    validation, n_classes = folds.validation, len(folds.schema.classes or [])
    constraints = Constraints(config.max_latency_ms, config.max_size_mb)
    refit = refit_mode(config.refit_full, validation.n_folds, validation.scheme)
    stacking = config.stacking and validation.partition and not constraints.active
    n_jobs = resolve_jobs(config.n_jobs)
    first_repeat_rows = sum(len(train) for train, _ in folds.first_repeat)
    return _Plan(
        refit=refit,
        reserve=search_reserve(config.time_limit, refit, constraints.active, n_classes),
        stacking=stacking,
        stack_seconds=stack_reserve(config.time_limit, first_repeat_rows, n_classes) if stacking else 0.0,
        n_jobs=n_jobs,
        # Image and text networks use every core in one process; the images are decoded once, and the texts' vectors
        # remembered, in this process.
        workers=config.workers or (1 if image_columns(folds.schema) or _reads_text(folds.schema)
                                   else default_workers(folds, n_jobs, config.time_limit)),
        constraints=constraints,
        # tables only: an image or text network's prediction costs what it costs
        allowance=Allowance.for_limit(config.time_limit) if config.prune and not constraints.active
        and not image_columns(folds.schema) and not _reads_text(folds.schema) else None,
    )


def _result(d: _Prepared, chosen: Metric, config: FitConfig, user_metric: bool, trials: list[Any], ensemble: Ensemble,
            score: float, oof: np.ndarray, costs: dict[str, Any], folds: FoldCache, plan: _Plan, deadline: Deadline,
            started: float) -> FitResult:
    """What the fit learned, with a training sample, the final model's latency and the data's profile."""
    validation = folds.validation
    rows = folds.oof_rows
    if len(rows) > SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(config.seed).choice(rows, SAMPLE_ROWS, replace=False))
    # The latency is measured on up to 1,000 rows, fewer when the time left would not pay for them (a 26-class
    # ensemble of boosted models takes seconds per 1,000 rows; the measurement must not overrun the limit).
    batch_ms, single_ms = ensemble.latency(d.X.iloc[rows[:_latency_rows(ensemble, trials, deadline)]], repeats=1)
    return FitResult(
        schema=d.schema,
        metric=chosen,
        metric_reason=choice_reason(chosen, d.schema.task, user_given=user_metric),
        issues=d.issues,
        trials=[t.result for t in trials],
        ensemble=ensemble,
        val_score=score,
        config=config,
        fit_seconds=time.monotonic() - started,
        n_rows=len(d.y),
        n_splits=validation.n_folds,
        n_repeats=validation.n_repeats,
        sample=d.frame.iloc[rows].reset_index(drop=True),
        sample_oof=oof[rows],
        extra={
            "latency": {"batch_ms_per_row": batch_ms, "single_row_ms": single_ms},
            "validation": {"scheme": validation.scheme, "column": validation.column,
                           "description": validation.describe()},
            # the training data's profile, which monitoring compares new data with
            "profile": build_profile(_at_most(d.frame, PROFILE_ROWS, config.seed), d.schema,
                                     _at_most(oof[folds.oof_rows], PROFILE_ROWS, config.seed),
                                     seconds=None if config.time_limit is None else PROFILE_SHARE * config.time_limit,
                                     first=ensemble.required_columns()),
            **({"constraints": {"max_latency_ms": config.max_latency_ms, "max_size_mb": config.max_size_mb},
                "costs": costs} if plan.constraints.active else {}),
        },
    )


def _roles(config: FitConfig) -> dict[str, str]:
    """The user's roles, with ``groups`` as the group column's role."""
    roles = dict(config.roles)
    if config.groups is not None:
        given = roles.get(config.groups, "group")
        if str(given).lower() != "group":
            raise ConfigError(f"column '{config.groups}' is given as groups and as role '{given}'; choose one")
        roles[config.groups] = "group"
    return roles


def _split_columns(X: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """The column validation follows, if any: a TIME column orders the folds, a GROUP column keeps each group on one
    side (at most one of each; a TIME column wins over a GROUP column); else, in text data that repeats itself, the
    first TEXT column of prose has its texts grouped with their duplicates and the texts they contain
    (:func:`~accelml.validation.text.text_groups`)."""
    for role, key in ((ColumnRole.TIME, "times"), (ColumnRole.GROUP, "groups")):
        names = schema.names(role)
        if len(names) > 1:
            raise ConfigError(f"columns {', '.join(map(repr, names))} all have the {role.value} role; validation "
                              f"follows one {role.value} column, so give that role to one of them")
        if names:
            values = X[names[0]] if names[0] in X.columns else None
            if values is not None:
                return {key: values.to_numpy(), "column": names[0]}
    from accelml.features.text_input import clean_texts, prose_columns

    texts = prose_columns(schema)
    if texts and texts[0] in X.columns:  # duplicates and sub-phrases of one text stay on one side (validation.text)
        from accelml.validation.text import text_groups

        groups = text_groups(clean_texts(X[texts[0]]))
        if groups is not None:
            return {"groups": groups, "column": texts[0]}
    return {}


def _reads_text(schema: Schema) -> bool:
    """Whether the data has a text column of prose and a pretrained text encoder is installed (then text networks
    compete)."""
    from accelml.features.text_encoders import available_encoders
    from accelml.features.text_input import prose_columns

    return bool(prose_columns(schema)) and bool(available_encoders())


def _network_splits(d: _Prepared, n_splits: int | None) -> int | None:
    """Validation folds for data with images, or text that pretrained encoders read: one stratified holdout (one
    network per trial; at most _HOLDOUT_ROWS rows for text, each predicted by a transformer), or 5 folds without
    repeats for a tiny set (fewer than 500 rows), unless the user chose."""
    if n_splits is not None or not (image_columns(d.schema) or _reads_text(d.schema)):
        return n_splits
    return 1 if len(d.y) >= 500 else 5


def _too_short(config: FitConfig, trials: list[Any], started: float, search_started: float, store: TrialStore | None,
               resume: bool, n_rows: int, n_features: int) -> TimeLimitError:
    """The error of a run in which no trial finished: what was measured, and a limit that would do (the time before
    the search, plus three times what the search ran, plus the share kept for the work after it). A new run's
    trial folder is removed, so that it does not block the next run (it holds no finished trial to resume)."""
    import math
    import shutil

    before, searched = search_started - started, time.monotonic() - search_started
    needed = (before + 3 * max(searched, 1.0) + 2.0) / 0.8
    suggest = int(math.ceil(max(needed, 2 * (config.time_limit or 0)) / 10.0) * 10)
    if store is not None and not resume:
        shutil.rmtree(store.folder, ignore_errors=True)
    failed = [t.result for t in trials if t.result.error]
    why = f" ({failed[0].spec.name}: {failed[0].error})" if failed else ""
    return TimeLimitError(
        f"no model finished within the {config.time_limit:g} s limit on this data ({n_rows:,} rows, {n_features:,} "
        f"features): reading and checking took {before:.1f} s, the search {searched:.1f} s without finishing a "
        f"trial{why}. Give a time limit of at least {suggest} s (--time-limit {suggest})")


def _weigh_bag(ensemble: Ensemble, d: _Prepared, config: FitConfig, plan: _Plan, deadline: Deadline) -> tuple[Ensemble, str, dict[str, Any] | None]:
    """Where the default would refit trees and linear models under a time limit, first time the ensemble with every
    fold model (k-nearest neighbours refit, as always): within :func:`bag_allowance` it keeps them all (refit mode
    ``"free"``). Returns the ensemble, the refit mode to apply, and what was weighed (None: nothing)."""
    allowance = bag_allowance(config.time_limit, plan.refit)
    if allowance is None:
        return ensemble, plan.refit, None
    ensemble = refit_full(ensemble, d.X, d.y, d.schema, deadline, n_jobs=plan.n_jobs, seed=config.seed, mode="free")
    ensemble.share_preprocessors().set_threads(plan.n_jobs)
    seconds, hundred = bag_batch_seconds(ensemble, d.X, allowance=allowance)
    kept = seconds is not None and seconds <= allowance
    logger.info("fold models %s: 1,000 rows in %s, allowance %.3f s", "kept" if kept else "refit where they can be",
                f"over {hundred:.3f} s (100 rows)" if seconds is None else f"{seconds:.3f} s", allowance)
    return ensemble, "free" if kept else plan.refit, {"kept": kept, "batch_s": seconds, "batch_100_s": hundred,
                                                      "allowance_s": allowance}


def _refit_seconds(trials: list[Any], n_splits: int) -> dict[str, float]:
    """Each trial's expected seconds to train once on all rows: one fold model's share of its training time, for
    ``n_splits / (n_splits - 1)`` times the rows and a tenth more boosting rounds."""
    out = {}
    for t in trials:
        n_models = len(t.models) if t.models else 0
        if n_models and n_splits > 1:
            out[t.result.spec.name] = t.result.fit_time / n_models * n_splits / (n_splits - 1) * 1.1
    return out


def _latency_rows(ensemble: Ensemble, trials: list[Any], deadline: Deadline) -> int:
    """Rows to measure the batch latency on: 1,000, or as many as half the time left pays for, going by the members'
    prediction time measured in the search (seconds per 1,000 rows, all fold models), at least 20."""
    names = set(ensemble.names)
    per_1k = sum(t.result.predict_time for t in trials if t.result.spec.name in names)
    if per_1k <= 0 or 0.5 * deadline.remaining() >= per_1k:
        return 1000
    return max(20, int(1000 * 0.5 * deadline.remaining() / per_1k))


def data_fingerprint(frame: pd.DataFrame) -> str:
    """A hash of a table's values and column names: a resumed run must see the same data."""
    import hashlib

    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update("\x1f".join(map(str, frame.columns)).encode())
    return h.hexdigest()


def _at_most(rows: Any, n: int, seed: int) -> Any:
    """``rows`` (a frame or an array), or a seeded sample of ``n`` of them in their order."""
    if len(rows) <= n:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))
    return rows.iloc[keep] if isinstance(rows, pd.DataFrame) else rows[keep]
