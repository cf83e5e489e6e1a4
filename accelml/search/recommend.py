"""The search of the recommend task: per-user validation, the families' opening configurations, tuning of the
promising ones with Optuna, a blend of the best of each family on validation, and the final refit on every row.

Two kinds of family are searched, each on its own share of the time: *rating* families (explicit feedback, scored by
RMSE or MAE of the held-out ratings) and *ranking* families (top-k lists, scored by a ranking metric of the held-out
items, over the whole catalogue, the user's training items excluded). With a rating target both are searched, the
chosen metric's kind getting the larger share; without one only ranking families are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from accelml.budget import Deadline
from accelml.features.interactions import Encoded
from accelml.metrics import Metric, get_metric
from accelml.metrics.ranking import ranking_metrics, top_k
from accelml.models.recommenders import RECOMMENDERS, Family, TrainData, fit_family, predict_family
from accelml.models.recsys import normalise_scores
from accelml.search.loop import SearchProgress
from accelml.search.trial import TrialResult, TrialSpec
from accelml.validation.per_user import per_user_folds, per_user_holdout

__all__ = ["Member", "RecSearch", "SearchOutcome", "eligible_families", "search_recommenders", "validation_splits"]

logger = logging.getLogger(__name__)

# Interactions below which validation uses per-user folds instead of one holdout (each trial is fitted k times)
SMALL_LOG = 20_000
SMALL_FOLDS = 3
HOLDOUT_SHARE = 0.2
# Users x items score cells a ranking trial keeps for the blend (validation users are sampled beyond that)
EVAL_CELLS = 20_000_000
# Configurations the tuner may propose that were already tried, before it gives up on a family
_REPEATS = 8


@dataclass
class Member:
    """One fitted family in the final recommender: its configuration, blend weight and fitted core."""

    name: str
    family: str
    kind: str
    params: dict[str, Any]
    weight: float
    core: Any
    refit: bool = True  # False when the refit on every row started with less time left than it was expected to take

    @property
    def model(self) -> str:
        """The family's key (what the leaderboard and the manifest call the model)."""
        return self.family


@dataclass
class _Split:
    val: np.ndarray
    data: TrainData
    eval_users: np.ndarray  # users scored for ranking (with held-out items), a sample of them on large data
    relevant: sp.csr_matrix  # eval_users x items: their held-out items


@dataclass
class _Trial:
    spec: TrialSpec
    family: Family
    score: float
    fit_time: float
    output: Any  # rating: predictions of the validation rows (all splits, in order); ranking: per split score rows
    core: Any = None  # the model fitted on the first split (kept for the best trial of each family only)


@dataclass
class SearchOutcome:
    """What the search found: the members (refit), every trial, the validation scores and curves for the report."""

    members: list[Member]
    trials: list[TrialResult]
    scores: dict[str, float]  # the final blend on validation: each metric computed
    curves: dict[str, dict[str, float]] = field(default_factory=dict)  # ranking metric name -> {k: value}
    validation: str = ""
    skipped: dict[str, str] = field(default_factory=dict)


def validation_splits(enc: Encoded, seed: int, n_splits: int | None = None) -> tuple[list[tuple[np.ndarray, ...]], str]:
    """Per-user validation of a merged log: each user's last :data:`HOLDOUT_SHARE` by time when there are times,
    else a seeded random share; per-user folds (:data:`SMALL_FOLDS`) on a log smaller than :data:`SMALL_LOG` without
    times. ``n_splits`` chooses (1: one holdout)."""
    users = enc.users
    if enc.times is not None:
        train, val = per_user_holdout(users, share=HOLDOUT_SHARE, seed=seed, times=enc.times)
        return [(train, val)], f"per-user holdout: each user's last {HOLDOUT_SHARE:.0%} of interactions by time"
    k = n_splits if n_splits is not None else (SMALL_FOLDS if len(users) < SMALL_LOG else 1)
    if k > 1:
        return list(per_user_folds(users, k=k, seed=seed)), f"per-user {k}-fold: each user's interactions in {k} folds"
    train, val = per_user_holdout(users, share=HOLDOUT_SHARE, seed=seed)
    return [(train, val)], f"per-user holdout: a random {HOLDOUT_SHARE:.0%} of each user's interactions"


def eligible_families(data: TrainData, explicit: bool, names: list[str] | None = None
                      ) -> tuple[list[Family], dict[str, str]]:
    """The families that can fit this data (explicit-only families need ratings; guards by size and libraries),
    and why each other one is skipped."""
    import importlib.util

    chosen, skipped = [], {}
    for key, family in RECOMMENDERS.items():
        if names is not None and key not in names:
            continue
        reason = ("needs a rating target" if family.explicit_only and not explicit else
                  (f"needs {', '.join(missing)}" if (missing := [m for m in family.requires
                                                                   if importlib.util.find_spec(m) is None]) else
                   family.skip(data)))
        if reason:
            skipped[key] = reason
            logger.info("recommend family %s skipped: %s", key, reason)
        else:
            chosen.append(family)
    return chosen, skipped


class RecSearch:
    """One search of the recommend families on a merged log, within a deadline."""

    def __init__(self, enc: Encoded, n_users: int, n_items: int, *, explicit: bool, metric: Metric, seed: int = 0,
                 n_splits: int | None = None, item_attrs: np.ndarray | None = None,
                 user_attrs: np.ndarray | None = None, families: list[str] | None = None,
                 max_trials: int | None = None, progress: Callable[[SearchProgress], None] | None = None,
                 issues: tuple[Any, ...] = ()):
        self.enc, self.n_users, self.n_items = enc, n_users, n_items
        self.explicit, self.seed, self.max_trials = explicit, seed, max_trials
        self.progress, self.issues = progress, tuple(issues)
        self.item_attrs, self.user_attrs = item_attrs, user_attrs
        self.metric = metric
        rating_names = {"rmse", "mae"}
        self.rating_metric = get_metric(metric.name if metric.name in rating_names else "rmse", "recommend")
        self.ranking_metric = metric if metric.name not in rating_names else get_metric("ndcg@10", "recommend")
        raw, self.describe = validation_splits(enc, seed, n_splits)
        self.splits = [self._split(train, val) for train, val in raw]
        self.full = self.data(np.arange(len(enc)))
        self.families, self.skipped = eligible_families(self.full, explicit, families)
        if enc.times is None:  # recency weighting needs times
            import dataclasses

            self.families = [dataclasses.replace(f, space={**f.space, "half_life_days": [None]})
                             if "half_life_days" in f.space else f for f in self.families]
        self.trials: list[_Trial] = []
        self.results: list[TrialResult] = []
        self.started = time.monotonic()

    # ------------------------------------------------------------------ data
    def data(self, rows: np.ndarray) -> TrainData:
        e = self.enc.take(rows)
        R = e.matrix(self.n_users, self.n_items)
        R.data[:] = 1.0
        return TrainData(R, e.users, e.items, e.ratings, e.times, self.item_attrs, self.user_attrs)

    def _split(self, train: np.ndarray, val: np.ndarray) -> _Split:
        data = self.data(train)
        v = self.enc.take(val)
        has_train = np.asarray(data.R.sum(axis=1)).ravel() > 0
        users = np.unique(v.users[has_train[v.users]])
        cap = max(50, EVAL_CELLS // max(self.n_items, 1))
        if len(users) > cap:
            users = np.sort(np.random.default_rng(self.seed).choice(users, cap, replace=False))
        position = np.full(self.n_users, -1)
        position[users] = np.arange(len(users))
        keep = position[v.users] >= 0
        relevant = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (position[v.users[keep]], v.items[keep])),
                                 shape=(len(users), self.n_items))
        return _Split(val, data, users, relevant)

    # ------------------------------------------------------------------ one trial
    def evaluate(self, family: Family, params: dict[str, Any], stage: str, deadline: Deadline) -> _Trial | None:
        spec = TrialSpec(len(self.results), family.key, dict(params), stage)
        started = time.monotonic()
        outputs, status, error, first = [], "ok", None, None
        try:
            for split in self.splits:
                core = fit_family(family, params, split.data, seed=self.seed, deadline=deadline)
                first = core if first is None else first
                outputs.append(self._validate(family, core, split))
                if deadline.expired() and len(outputs) < len(self.splits):
                    status = "timeout"
                    break
        except (MemoryError, ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            logger.info("recommend trial %s failed: %s", spec.name, error)
        seconds = time.monotonic() - started
        score = self._score(family, outputs) if status == "ok" else float("nan")
        metric = self.rating_metric if family.kind == "rating" else self.ranking_metric
        self.results.append(TrialResult(
            spec, status, score=score if metric.name == self.metric.name else float("nan"),
            loss=(-score if metric.greater_is_better else score) if status == "ok" else float("inf"),
            fit_time=seconds, n_folds=len(outputs), error=error, finished_at=time.monotonic() - self.started,
            extra={"scores": {metric.name: score}, "kind": family.kind} if status == "ok" else {"kind": family.kind}))
        self._report(deadline)
        if status != "ok":
            return None
        logger.info("recommend trial %s %s: %s %.4f in %.1f s", spec.name, params, metric.name, score, seconds)
        trial = _Trial(spec, family, score, seconds,
                       np.concatenate(outputs) if family.kind == "rating" else outputs, first)
        same = [t for t in self.trials if t.family.key == family.key]
        self.trials.append(trial)
        for t in same:  # one validation model and output per family are kept: the best trial's
            if _better(trial.score, t.score, metric):
                t.core = t.output = None
            elif t.output is not None:
                trial.core = trial.output = None
        return trial

    def _report(self, deadline: Deadline) -> None:
        """Tell the progress callback (the CLI's live display) about the trial just finished."""
        if self.progress is None:
            return
        scored = [r for r in self.results if r.ok and np.isfinite(r.score)]
        best = min(scored, key=lambda r: r.loss) if scored else None
        self.progress(SearchProgress(
            elapsed=time.monotonic() - self.started, remaining=deadline.remaining(), trials_done=len(self.results),
            best_score=best.score if best else None, best_model=best.spec.name if best else None,
            current_model=self.results[-1].spec.model, last=self.results[-1], metric=self.metric.name,
            issues=self.issues))

    def _validate(self, family: Family, core: Any, split: _Split) -> np.ndarray:
        v = self.enc.take(split.val)
        if family.kind == "rating":
            return predict_family(family, core, v.users, v.items)
        scores = np.asarray(core.score(split.data.R, split.eval_users), dtype=np.float32)
        return normalise_scores(scores).astype(np.float32)

    def _score(self, family: Family, outputs: list[np.ndarray]) -> float:
        if family.kind == "rating":
            truth = np.concatenate([self.enc.ratings[s.val] for s in self.splits[: len(outputs)]])
            return self.rating_metric.score(truth, np.concatenate(outputs))
        return self._ranking_score(outputs)

    def _ranking_score(self, outputs: list[np.ndarray], metric: Metric | None = None) -> float:
        metric = metric or self.ranking_metric
        k = _k_of(metric)
        values = []
        for split, scores in zip(self.splits, outputs):
            recs = top_k(scores, k, exclude=split.data.R[split.eval_users])
            values.append(metric.score(split.relevant, recs))
        return float(np.nanmean(values))

    # ------------------------------------------------------------------ the search
    def run(self, deadline: Deadline, kind: str, max_trials: int | None = None) -> list[_Trial]:
        """Openings, then tuning, of the families of ``kind`` until the deadline or ``max_trials`` trials of that
        kind; the trials of that kind, best first."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._cap = None if max_trials is None else len(self.results) + max_trials

        families = [f for f in self.families if f.kind == kind]
        metric = self.rating_metric if kind == "rating" else self.ranking_metric
        tried: dict[str, list[tuple[dict[str, Any], float]]] = {f.key: [] for f in families}
        cost: dict[str, float] = {}
        for n, family in enumerate(families):  # the openings, in registry order (the cheap and strong first)
            # the first (popularity, biases: milliseconds) always runs, so that each kind has a model to blend
            if n and (deadline.expired() or self._full()):
                break
            expected = family.seconds_per_100k * len(self.enc) / 1e5 * len(self.splits)
            # an iterative family stops at the deadline: it needs time for a few of its iterations, not all; a
            # library not imported yet costs its import, which nothing interrupts (torch: seconds)
            expected = expected * (0.1 if family.iterative else 1.0) + _import_seconds(family)
            if n and expected > 0.5 * deadline.remaining():
                self.skipped[family.key] = f"about {expected:.0f} s to validate, more than half the time left"
                logger.info("recommend family %s skipped: %s", family.key, self.skipped[family.key])
                continue
            trial = self.evaluate(family, family.opening, "default", deadline)
            cost[family.key] = self.results[-1].fit_time
            if trial is not None:
                tried[family.key].append((family.opening, trial.score))
        studies = {f.key: optuna.create_study(
            direction="maximize" if metric.greater_is_better else "minimize",
            sampler=optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=4)) for f in families
            if len(_grid(f)) > 1 and tried[f.key]}
        by_key = {f.key: f for f in families}  # this search's families (their spaces may be narrowed)
        for key, study in studies.items():
            for params, score in tried[key]:
                study.add_trial(optuna.trial.create_trial(params=params, distributions=_distributions(by_key[key]),
                                                          value=score))
        turn, repeats = 0, dict.fromkeys(studies, 0)
        while studies and not deadline.expired() and not self._full():
            ranked = sorted(studies, key=lambda k: _best(tried[k], metric), reverse=True)[:3]
            affordable = [k for k in ranked if cost.get(k, 0.0) * 1.2 < deadline.remaining()]
            if not affordable:
                break
            key = affordable[turn % len(affordable)]
            turn += 1
            family, study = by_key[key], studies[key]
            ask = study.ask(_distributions(family))
            params = dict(ask.params)
            if any(params == p for p, _ in tried[key]):
                study.tell(ask, next(s for p, s in tried[key] if p == params))
                repeats[key] += 1
                if repeats[key] >= _REPEATS or len(tried[key]) >= len(_grid(family)):
                    del studies[key]
                continue
            trial = self.evaluate(family, params, "tuning", deadline)
            cost[key] = max(cost.get(key, 0.0), self.results[-1].fit_time)
            if trial is None:
                study.tell(ask, state=optuna.trial.TrialState.FAIL)
                continue
            study.tell(ask, trial.score)
            tried[key].append((params, trial.score))
        mine = [t for t in self.trials if t.family.kind == kind]
        return sorted(mine, key=lambda t: -t.score if metric.greater_is_better else t.score)

    def _full(self) -> bool:
        return getattr(self, "_cap", None) is not None and len(self.results) >= self._cap

    # ------------------------------------------------------------------ blend
    def blend(self, kind: str) -> tuple[list[tuple[_Trial, float]], float]:
        """The best trial of each family of ``kind`` weighted on validation: non-negative least squares of the
        ratings, or greedy forward selection (with replacement) of normalised scores for lists; the blend's score."""
        metric = self.rating_metric if kind == "rating" else self.ranking_metric
        best: dict[str, _Trial] = {}
        for t in self.trials:
            if t.family.kind == kind and t.output is not None and (
                    t.family.key not in best or _better(t.score, best[t.family.key].score, metric)):
                best[t.family.key] = t
        candidates = sorted(best.values(), key=lambda t: -t.score if metric.greater_is_better else t.score)
        if not candidates:
            return [], float("nan")
        if kind == "rating":
            return self._blend_ratings(candidates)
        return self._blend_lists(candidates)

    def _blend_ratings(self, candidates: list[_Trial]) -> tuple[list[tuple[_Trial, float]], float]:
        from scipy.optimize import nnls

        truth = np.concatenate([self.enc.ratings[s.val] for s in self.splits])
        usable = [t for t in candidates if len(t.output) == len(truth)]
        X = np.column_stack([t.output for t in usable])
        weights, _ = nnls(X, truth)
        if weights.sum() <= 0:
            return [(candidates[0], 1.0)], candidates[0].score
        # the least-squares weights as they are (their sum may differ from 1 a little: that helps), the blend clipped
        # to the ratings' range as the recommender clips it
        blended = self.rating_metric.score(truth, np.clip(X @ weights, truth.min(), truth.max()))
        if not _better(blended, candidates[0].score, self.rating_metric):
            return [(candidates[0], 1.0)], candidates[0].score
        return [(t, float(w)) for t, w in zip(usable, weights) if w > 1e-3], blended

    def _blend_lists(self, candidates: list[_Trial], steps: int = 12) -> tuple[list[tuple[_Trial, float]], float]:
        usable = [t for t in candidates[:6] if len(t.output) == len(self.splits)]
        counts = np.zeros(len(usable))
        counts[0] = 3  # the best three times over: the first step adds a quarter, not a half
        score = usable[0].score
        for _ in range(steps):
            best_j, best_score = -1, score
            for j in range(len(usable)):
                trial_counts = counts.copy()
                trial_counts[j] += 1
                s = self._ranking_score(self._mix(usable, trial_counts))
                if _better(s, best_score, self.ranking_metric):
                    best_j, best_score = j, s
            if best_j < 0:
                break
            counts[best_j] += 1
            score = best_score
        weights = counts / counts.sum()
        return [(t, float(w)) for t, w in zip(usable, weights) if w > 0], score

    def _mix(self, trials: list[_Trial], weights: np.ndarray) -> list[np.ndarray]:
        out = []
        for s in range(len(self.splits)):
            total = np.zeros_like(trials[0].output[s])
            for t, w in zip(trials, weights):
                if w:
                    total += w * t.output[s]
            out.append(total)
        return out

    def curves(self, chosen: list[tuple[_Trial, float]], ks: tuple[int, ...] = (1, 5, 10, 20)) -> dict[str, Any]:
        """Ranking metrics of the blend's validation lists at each k, and catalogue coverage."""
        if not chosen:
            return {}
        mixed = self._mix([t for t, _ in chosen], np.array([w for _, w in chosen]))
        split, scores = self.splits[0], mixed[0]
        recs = top_k(scores, max(ks), exclude=split.data.R[split.eval_users])
        out: dict[str, dict[str, float]] = {}
        for k in ks:
            for name, value in ranking_metrics(recs, split.relevant, k, self.n_items).items():
                out.setdefault(name.split("@")[0], {})[str(k)] = value
        return out


def search_recommenders(search: RecSearch, deadline: Deadline, refit_reserve: float) -> SearchOutcome:
    """Search both kinds (ratings when explicit; the chosen metric's kind first, with most of the time), blend each,
    then refit the blends' members on every row while the time left allows (a member that would not finish keeps
    the model it was validated with)."""
    kinds = ["rating", "ranking"] if search.explicit else ["ranking"]
    if search.explicit and search.metric.name not in ("rmse", "mae"):
        kinds = ["ranking", "rating"]
    search_deadline = deadline.child(reserve=refit_reserve)
    scores: dict[str, float] = {}
    curves: dict[str, Any] = {}
    chosen_all: list[tuple[_Trial, float]] = []
    for n, kind in enumerate(kinds):
        share = 1.0 if n == len(kinds) - 1 else 0.65
        cap = None
        if search.max_trials is not None:  # shared out as the time is
            cap = search.max_trials - len(search.results) if n == len(kinds) - 1 else max(1, round(
                share * search.max_trials))
        search.run(search_deadline.child(reserve=(1 - share) * search_deadline.remaining()), kind, cap)
        chosen, score = search.blend(kind)
        if not chosen:
            continue
        metric = search.rating_metric if kind == "rating" else search.ranking_metric
        scores[metric.name] = score
        if kind == "ranking":
            curves = search.curves(chosen)
        chosen_all += chosen
    return SearchOutcome(_refit(search, chosen_all, deadline), search.results, scores, curves, search.describe,
                         search.skipped)


def _refit(search: RecSearch, chosen: list[tuple[_Trial, float]], deadline: Deadline) -> list[Member]:
    """Members refit on every row, the cheapest first, each only when the time left covers its expected time
    (its validation fit's, for a quarter more rows); otherwise the model fitted in validation is kept."""
    out = []
    for trial, weight in sorted(chosen, key=lambda c: c[0].fit_time):
        expected = trial.fit_time / max(len(search.splits), 1) * 1.3
        core, refit = trial.core, False
        if deadline.remaining() > expected or core is None:
            core = fit_family(trial.family, trial.spec.params, search.full, seed=search.seed, deadline=deadline)
            refit = True
        else:
            logger.info("recommend member %s keeps its validation model: %.1f s left, a refit takes about %.1f s",
                        trial.spec.name, deadline.remaining(), expected)
        out.append(Member(trial.spec.name, trial.family.key, trial.family.kind, dict(trial.spec.params), weight,
                          core, refit))
    kinds = {"rating": 0, "ranking": 1}
    return sorted(out, key=lambda m: (kinds[m.kind], -m.weight))


def _import_seconds(family: Family) -> float:
    """Seconds the first use of the family's libraries costs in this process (importing torch takes seconds)."""
    import sys

    return sum(_IMPORT_SECONDS.get(name, 0.5) for name in family.requires if name not in sys.modules)


_IMPORT_SECONDS = {"torch": 4.0, "implicit": 0.5}


def _k_of(metric: Metric) -> int:
    return int(metric.name.split("@")[1]) if "@" in metric.name else 10


def _better(a: float, b: float, metric: Metric) -> bool:
    return a > b if metric.greater_is_better else a < b


def _best(tried: list[tuple[dict[str, Any], float]], metric: Metric) -> float:
    if not tried:
        return -np.inf
    values = [s for _, s in tried]
    return max(values) if metric.greater_is_better else -min(values)


def _grid(family: Family) -> list[dict[str, Any]]:
    import itertools

    keys = list(family.space)
    return [dict(zip(keys, values)) for values in itertools.product(*(family.space[k] for k in keys))]


def _distributions(family: Family) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution

    return {k: CategoricalDistribution(v) for k, v in family.space.items()}
