"""The search loop: a fixed opening sequence (baseline, portfolio, defaults), then Optuna tuning of the most
promising families.

The sequence of trials depends only on the data, the seed and the settings, never on the clock: a run bounded by
``max_trials`` is reproducible, and a time-limited run is a prefix of it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelml.budget import Deadline
from accelml.metrics import Metric
from accelml.models import MODELS
from accelml.search.evaluate import FittedTrial, evaluate_trial
from accelml.search.folds import FoldCache
from accelml.search.portfolio import load_portfolio
from accelml.search.space import distributions, suggest
from accelml.search.store import TrialStore
from accelml.search.trial import TrialResult, TrialSpec

__all__ = ["DEFAULT_ORDER", "SearchProgress", "available_models", "run_search"]

logger = logging.getLogger(__name__)

# Opening order of the families' default configurations: strong and cheap first, then diverse.
DEFAULT_ORDER = ("lgbm", "linear", "xgb", "catboost", "extra_trees", "knn", "rf")
BASELINE = TrialSpec(0, "lgbm", {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 15}, "baseline")
N_TUNED_FAMILIES = 3
TUNING_PATTERN = (0, 1, 0, 2, 0, 1)  # the best family gets half of the tuning trials, the next a third
KEEP_MODELS = 20  # fitted fold models are kept for the best trials only (the ensemble's candidates)


@dataclass(frozen=True)
class SearchProgress:
    """What the search reports after every trial (the CLI shows it live)."""

    elapsed: float
    remaining: float
    trials_done: int
    best_score: float | None
    best_model: str | None
    current_model: str | None
    last: TrialResult | None = None
    metric: str | None = None
    issues: tuple[Any, ...] = ()  # the data checks' findings, so that a display can show them before the search


def available_models(requested: list[str] | None) -> list[str]:
    """Families to search: the requested ones (validated) or all, less those whose library is missing."""
    import importlib.util

    keys = list(requested) if requested else list(DEFAULT_ORDER)
    out = []
    for key in keys:
        cls = MODELS[key]  # unknown keys raise a ConfigError listing the valid ones
        if cls.requires and importlib.util.find_spec(cls.requires) is None:
            logger.info("skipping %s: the %s package is not installed", key, cls.requires)
            continue
        out.append(key)
    return out


def _opening(models: list[str]) -> Iterator[TrialSpec]:
    """A cheap baseline (a model within seconds), the portfolio in its order, then the defaults of the families the
    portfolio leaves out (each family's default at most once)."""
    if "lgbm" in models:
        yield BASELINE
    trial_id = 1
    tried: set[tuple[str, str]] = set()
    for key, params in load_portfolio():
        if key in models:
            yield TrialSpec(trial_id, key, params, "portfolio" if params else "default")
            tried.add((key, json.dumps(params, sort_keys=True)))
            trial_id += 1
    order = [m for m in DEFAULT_ORDER if m in models] + [m for m in models if m not in DEFAULT_ORDER]
    for key in order:
        if (key, "{}") not in tried:
            yield TrialSpec(trial_id, key, {}, "default")
            trial_id += 1


def run_search(
    folds: FoldCache,
    metric: Metric,
    task: str,
    deadline: Deadline,
    *,
    models: list[str],
    max_trials: int | None = None,
    n_jobs: int = 1,
    seed: int = 0,
    progress: Callable[[SearchProgress], None] | None = None,
    issues: Sequence[Any] = (),
    store: TrialStore | None = None,
    previous: Sequence[FittedTrial] = (),
) -> list[FittedTrial]:
    """Run trials until the deadline or ``max_trials``; return every trial, best ones with their fitted models.

    With a ``store`` every finished trial is recorded as it finishes; ``previous`` trials (read back from a store)
    are taken as done, and the sequence continues after them.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.monotonic()
    trials: list[FittedTrial] = list(previous)
    best = sorted((t for t in trials if t.result.ok and t.models), key=lambda t: (t.result.loss, t.result.spec.trial_id))

    def report(current: str | None) -> None:
        if progress is None:
            return
        top = best[0].result if best else None
        progress(
            SearchProgress(
                elapsed=time.monotonic() - started,
                remaining=deadline.remaining(),
                trials_done=len(trials),
                best_score=top.score if top else None,
                best_model=top.spec.name if top else None,
                current_model=current,
                last=trials[-1].result if trials else None,
                metric=metric.name,
                issues=tuple(issues),
            )
        )

    seconds: dict[str, float] = {}  # wall time of each family's last finished trial

    def budget_left(spec: TrialSpec | None = None) -> bool:
        if deadline.expired() or (max_trials is not None and len(trials) >= max_trials):
            return False
        if spec is None or not best:
            return True
        # Work that cannot be interrupted (building a fold kind, fitting a family that ignores the deadline) is not
        # started when it clearly would not finish: the search ends there, so the run stays a prefix of the sequence.
        cls = MODELS[spec.model]
        need = folds.estimated_build_seconds(cls.preprocessing)
        if not cls.interruptible:
            need += seconds.get(spec.model, 0.0)
        return need <= deadline.remaining()

    def run(spec: TrialSpec, prune: Callable[[int, float], bool] | None = None) -> FittedTrial:
        report(spec.name)
        fitted = evaluate_trial(
            spec,
            folds,
            metric,
            task,
            deadline,
            n_jobs=n_jobs,
            seed=seed,
            started=started,
            must_finish=not best,
            prune=prune,
        )
        trials.append(fitted)
        seconds[spec.model] = fitted.result.fit_time + fitted.result.predict_time * len(folds.y) / 1000
        if store is not None:
            store.record(fitted)
        if fitted.result.ok:
            best.append(fitted)
            best.sort(key=lambda t: (t.result.loss, t.result.spec.trial_id))
            for dropped in best[KEEP_MODELS:]:
                dropped.models, dropped.oof = [], None  # free memory; the record stays
                if store is not None:
                    store.forget(dropped.result.spec.name)
            del best[KEEP_MODELS:]
        report(None)
        return fitted

    # 1. baseline and 2. every family's default configuration
    done = {t.result.spec.trial_id for t in trials}
    for spec in _opening(models):
        if spec.trial_id in done:
            continue
        if not budget_left(spec):
            return trials
        run(spec)

    # 3. Optuna TPE on the most promising families, round-robin weighted toward the best
    ranked = _rank_families(trials)[:N_TUNED_FAMILIES]
    tunable = [key for key in ranked if MODELS[key].space]
    if not tunable:
        return trials
    studies = {key: _study(key, trials, seed + i) for i, key in enumerate(tunable)}
    next_id = max(t.result.spec.trial_id for t in trials) + 1
    step = sum(t.result.spec.stage == "tuning" for t in trials)
    while budget_left():
        key = tunable[TUNING_PATTERN[step % len(TUNING_PATTERN)] % len(tunable)]
        if not budget_left(TrialSpec(next_id, key, {}, "tuning")):
            break
        step += 1
        study = studies[key]
        cls = MODELS[key]
        ot = study.ask()
        params = suggest(ot, cls.space)

        def prune(fold: int, loss: float, ot: Any = ot) -> bool:
            ot.report(loss, fold)
            return ot.should_prune()

        fitted = run(TrialSpec(next_id, key, params, "tuning"), prune if len(folds.splits) > 1 else None)
        next_id += 1
        if fitted.result.ok and not fitted.result.stopped_by_deadline:
            study.tell(ot, fitted.result.loss)
        elif fitted.result.status == "pruned":
            study.tell(ot, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(ot, state=optuna.trial.TrialState.FAIL)
    return trials


def _rank_families(trials: list[FittedTrial]) -> list[str]:
    best_loss: dict[str, float] = {}
    for t in trials:
        r = t.result
        if r.ok and r.spec.stage in ("default", "portfolio"):
            best_loss[r.spec.model] = min(best_loss.get(r.spec.model, np.inf), r.loss)
    return sorted(best_loss, key=lambda k: (best_loss[k], k))


def _study(key: str, trials: list[FittedTrial], seed: int) -> Any:
    """A TPE study for one family, told about the configurations of it already evaluated (its default, and earlier
    tuning trials when a run is resumed)."""
    import optuna

    cls = MODELS[key]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4, multivariate=True)
    # Successive halving over folds: after each fold, a configuration whose loss so far is worse than the median of
    # earlier ones at the same fold stops there. Only the result decides, never the clock.
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    dists = distributions(cls.space)
    for t in trials:
        r = t.result
        if r.ok and r.spec.model == key and r.spec.stage != "baseline" and not r.stopped_by_deadline:
            params = {name: {**cls.defaults, **r.spec.params}[name] for name in cls.space}
            try:
                study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=r.loss))
            except ValueError:  # a default outside its own space: just don't warm-start
                logger.debug("default of %s is outside its search space", key)
    return study
