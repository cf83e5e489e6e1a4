"""The ``AutoML`` facade: ``fit`` a table, then ``predict``, ``leaderboard``, ``save`` and :func:`load`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from accelml.config import FitConfig
from accelml.exceptions import ConfigError, NotFittedError
from accelml.tasks import get_task

__all__ = ["AutoML", "load"]


class AutoML(BaseEstimator):
    """Automated machine learning for tables, under a hard time budget.

    Args:
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred from the target when ``None``.
        metric: A metric name (see :func:`accelml.metrics.list_metrics`), a :class:`~accelml.metrics.Metric`, a
            callable ``f(y_true, y_pred) -> float`` (greater is better), or ``None`` for the task's default.
        time_limit: Seconds the whole ``fit`` may take, reading the data included.
        n_jobs: Cores to use; -1 for all.
        seed: Seed of every random choice; with ``n_jobs=1`` and ``max_trials`` the result is reproducible.
        max_trials: Stop after this many trials (``None``: only the time limit).
        models: Model families to search (registry keys); ``None`` for all installed ones.
        roles: Column role overrides, e.g. ``{"zip": "categorical"}``.
        n_splits: Validation folds (1 = one holdout split); ``None`` chooses from the data size.
        max_latency_ms: The final model must predict one row within this many milliseconds (measured end to end on
            this machine); the ensemble is pruned or replaced by lighter members to meet it.
        max_size_mb: The final model's files must take at most this many megabytes.
        work_dir: A folder where every trial is recorded as it finishes, so that ``fit(..., resume=True)`` can
            continue the search with more time and a crash loses at most the trial in flight; ``None``: not recorded.
        refit_full: Refit the final ensemble's members on all rows (one model each instead of one per fold): a
            lighter artifact and faster predictions; a fifth of the time limit is kept for it. ``None`` (default):
            every member where validation has 3 folds or fewer (large data), with a tenth of the limit kept for it;
            with more folds the trees and linear models (a network keeps its fold models), with a twentieth, unless
            under a time limit the ensemble with all its fold models predicts 1,000 rows within 1/3,000 of the limit
            (then they are kept); each member refit while the time left allows; ``False``: never (a
            k-nearest-neighbours member is always refit).
        stacking: Add a second layer (LightGBM on the columns plus the best models' out-of-fold outputs) when
            validation is k-fold and there are no deployment constraints; greedy selection uses it only if it helps.
        prune: Under a time limit, make a table ensemble lighter where its members' prediction cost outweighs what
            they add: where it would predict 1,000 rows slower than 1/3,000 of the limit (20 ms at 60 s) or one row
            slower than 5 ms, selection is run again among its members within that allowance (then twice, four
            times it), and the lightest result whose validation loss is within 0.1 % of the full ensemble's replaces
            it. The report and ``result_.extra["lighter"]`` say what was weighed and dropped. ``False``: keep every
            member greedy selection chose.
        workers: Trials run at once, each in a worker process with ``n_jobs // workers`` threads; ``None`` chooses:
            one per core on small tables with a time limit of 30 s or more (where one model cannot use several
            cores), else one. More than one worker makes the tuning order depend on which trial finishes first.
        groups: A column of group ids (a patient, a customer, a site): validation keeps each group's rows in one fold,
            so no model is validated on a group it trained on, and the column is not a feature. The same as
            ``roles={column: "group"}``. A column with the ``"time"`` role orders validation instead: each fold trains
            on earlier rows and is validated on later ones.
        image_shape: With a table of pixel columns, each row's image shape, ``(28, 28)`` or ``"28x28"`` (height x
            width[ x channels]): the numeric columns besides the target are its pixels, in order, and image networks
            compete with the tabular families. Folders of images, image paths and NumPy images need no shape.
        threshold: A binary task's decision threshold: ``predict`` gives the positive class where its probability is
            at least this. ``"auto"`` tunes it on the out-of-fold predictions for ``costs`` when given, else for a
            metric of labels (f1, accuracy, balanced_accuracy, mcc; a metric of probabilities such as roc_auc keeps
            0.5); an objective (``"f1"``, ``"balanced_accuracy"``, ``"precision_at_recall=0.8"``, ...) tunes it for
            that whatever the metric; a number between 0 and 1 fixes it.
        costs: What each cell of a binary task's confusion matrix costs, e.g. ``{"false_positive": 1,
            "false_negative": 5}`` (``true_positive`` and ``true_negative`` are 0 unless given): the threshold is tuned
            for the lowest expected cost, and the report shows that cost against the threshold.
        feature_selection: Before the search, drop the columns whose importance on the validation folds is no better
            than a shuffled copy's, when a quick LightGBM's out-of-fold score without them is at least as good (on
            wide data, with thousands of columns, within a small tolerance: the search then runs far faster). It
            runs when it fits in a share of the time limit; the leaderboard, the artifact and the report list the
            dropped columns and why, and a dropped column may be absent at prediction time. ``None`` (the default):
            on wide tables only (1,000 columns or more, or more columns than rows); ``True``: on every table;
            ``False``: never.
        feature_generation: Before the search, try generated columns (ratios, differences and products of the most
            important numeric columns, the mean of a numeric column by a categorical one and the deviation from it,
            the frequency of a categorical column's levels), learned inside each fold's training rows, and add them
            to every model's input only when a quick LightGBM's out-of-fold score with them is clearly better. Their
            source columns must be present at prediction time. ``None`` (the default): on ordinary tables (not wide,
            no images or prose) when it fits in its share of the time limit; ``True``: also on wide tables;
            ``False``: never.

    Example:
        >>> import accelml
        >>> from accelml.datasets import load_demo
        >>> data = load_demo()
        >>> automl = accelml.AutoML(time_limit=20, max_trials=3, n_jobs=1, n_splits=2).fit(data, target="species")
        >>> automl.predict(data.head(2)).tolist()
        ['Adelie', 'Adelie']
    """

    def __init__(
        self,
        task: str | None = None,
        metric: Any = None,
        time_limit: float | None = 60.0,
        n_jobs: int = -1,
        seed: int = 0,
        max_trials: int | None = None,
        models: Sequence[str] | None = None,
        roles: Mapping[str, str] | None = None,
        n_splits: int | None = None,
        refit_full: bool | None = None,
        max_latency_ms: float | None = None,
        max_size_mb: float | None = None,
        work_dir: str | Path | None = None,
        stacking: bool = True,
        prune: bool = True,
        workers: int | None = None,
        groups: str | None = None,
        image_shape: Any = None,
        threshold: str | float = "auto",
        costs: Mapping[str, float] | None = None,
        feature_selection: bool | None = None,
        feature_generation: bool | None = None,
    ):
        self.task = task
        self.metric = metric
        self.time_limit = time_limit
        self.n_jobs = n_jobs
        self.seed = seed
        self.max_trials = max_trials
        self.models = models
        self.roles = roles
        self.n_splits = n_splits
        self.refit_full = refit_full
        self.max_latency_ms = max_latency_ms
        self.max_size_mb = max_size_mb
        self.work_dir = work_dir
        self.stacking = stacking
        self.prune = prune
        self.workers = workers
        self.groups = groups
        self.image_shape = image_shape
        self.threshold = threshold
        self.costs = costs
        self.feature_selection = feature_selection
        self.feature_generation = feature_generation

    def _config(self) -> FitConfig:
        """The run's configuration: each :class:`FitConfig` field from the parameter of the same name."""
        values = {f.name: getattr(self, f.name) for f in fields(FitConfig)}
        values["metric"] = self.metric if isinstance(self.metric, str) else None  # a callable is passed to fit apart
        return FitConfig(**values)

    # ------------------------------------------------------------------ fit
    def fit(
        self, data: Any, target: Any = None, *, progress: Callable[[Any], None] | None = None, resume: bool = False,
        item_table: Any = None, user_table: Any = None,
    ) -> AutoML:
        """Search, tune and ensemble models for ``target`` in ``data``: a table (a DataFrame or a file path), a folder
        of images with one subfolder per class (the target is implied), or NumPy images ``(n, height, width[,
        channels])`` with their labels as ``target``.

        With ``resume=True`` the run recorded in ``work_dir`` continues for ``time_limit`` more seconds on the same
        data and settings (seed, metric, task, folds and families come from the recorded run).

        A log of interactions (``roles`` give a ``"user"`` and an ``"item"`` column, and optionally a ``"time"``
        one) is fitted as a recommender: ``target`` is the rating column, or ``None`` when each row is an
        interaction; ``item_table`` and ``user_table`` (tables or paths) add attributes joined by the same id column
        names. Then use :meth:`recommend`, :meth:`similar_items` and, with ratings, :meth:`predict` on (user, item)
        pairs.
        """
        from accelml.budget import Deadline

        deadline = Deadline.after(self.time_limit)  # first: importing the libraries counts against the budget
        from accelml.run import fit_pipeline

        if isinstance(target, str) and not target:
            raise ConfigError("target must be the name of a column in the data")
        from accelml.search.store import TrialStore

        config = self._config()
        store = TrialStore(self.work_dir) if self.work_dir is not None else None
        if resume:
            if store is None:
                raise ConfigError("resume=True needs the work_dir of the run to continue")
            config = FitConfig.from_dict({**store.state()["config"], "time_limit": self.time_limit,
                                          "max_trials": self.max_trials, "n_jobs": self.n_jobs})
        metric = None if isinstance(self.metric, str) or resume else self.metric
        self.result_ = fit_pipeline(
            data, target, config, metric=metric, progress=progress, deadline=deadline, store=store, resume=resume,
            item_table=item_table, user_table=user_table,
        )
        return self

    def _result(self) -> Any:
        if not hasattr(self, "result_"):
            raise NotFittedError("this AutoML is not fitted yet; call fit() or accelml.load() first")
        return self.result_

    # ------------------------------------------------------------------ fitted state, read-only views
    @property
    def schema_(self) -> Any:
        return self._result().schema

    @property
    def task_(self) -> str:
        return self._result().schema.task

    @property
    def metric_(self) -> Any:
        return self._result().metric

    @property
    def issues_(self) -> list[Any]:
        """Data problems found before training (see :class:`accelml.profiling.DataIssue`)."""
        return self._result().issues

    @property
    def classes_(self) -> np.ndarray:
        classes = self._result().schema.classes
        if classes is None:
            raise AttributeError("classes_ exists only for classification")
        return np.array(classes, dtype=object if any(isinstance(c, str) for c in classes) else None)

    @property
    def val_score_(self) -> float:
        """The final model's score on out-of-fold (validation) predictions."""
        return self._result().val_score

    # ------------------------------------------------------------------ predict
    def _outputs(self, data: Any) -> np.ndarray:
        from accelml.data.sources import prediction_frame
        from accelml.schema.validate import validate_frame

        result = self._result()
        source = str(data) if isinstance(data, (str, Path)) else "data"
        frame = validate_frame(prediction_frame(data, result.schema), result.schema, source=source,
                               columns=result.ensemble.required_columns())
        return result.ensemble.predict(frame)

    def predict(self, data: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) for each row (each image, for a folder of images, a
        list of image paths or NumPy images); for a recommender with ratings, the rating of each (user, item) row of
        a table with the training's user and item columns. A binary model gives the positive class where its
        probability is at least :attr:`decision_threshold_`."""
        if self._recommender() is not None:
            return self._predict_pairs(data)
        out = self._outputs(data)
        if not get_task(self.task_).classification:
            return out
        from accelml.ensemble.threshold import class_indices

        return np.asarray(self.classes_)[class_indices(out, self._result().decision_threshold)]

    @property
    def decision_threshold_(self) -> float | None:
        """A binary model's decision threshold (see ``threshold`` and ``costs``); ``None`` where ``predict`` gives
        the most probable class."""
        return self._result().decision_threshold

    def predict_proba(self, data: Any) -> pd.DataFrame:
        """Class probabilities, one column per class label."""
        if not get_task(self.task_).classification:
            raise ConfigError("predict_proba is only available for classification; use predict")
        return pd.DataFrame(self._outputs(data), columns=list(self._result().schema.classes))

    def score(self, data: Any, target: str | None = None) -> float:
        """The metric on labelled data the model has not seen (raw value; see ``metric_.greater_is_better``)."""
        from accelml.data import read_table
        from accelml.tasks import encode_target

        result = self._result()
        frame = read_table(data)
        target = target or result.schema.target
        if target not in frame.columns:
            raise ConfigError(f"the data has no target column '{target}' to score against")
        frame = frame[frame[target].notna()]
        out = self._outputs(frame)
        y = encode_target(frame[target], result.schema)
        from accelml.ensemble.threshold import score_decisions

        return score_decisions(result.metric, y, out, result.decision_threshold)  # a label metric: predict's labels

    # ------------------------------------------------------------------ recommend
    def _recommender(self) -> Any:
        ensemble = self._result().ensemble
        return ensemble if getattr(ensemble, "kind", None) == "recommender" else None

    def _require_recommender(self, what: str) -> Any:
        rec = self._recommender()
        if rec is None:
            raise ConfigError(f"{what} needs a recommender: fit a log of interactions with a user and an item role "
                              "(roles={'user_id': 'user', 'item_id': 'item'})")
        return rec

    def _predict_pairs(self, data: Any) -> np.ndarray:
        from accelml.data import read_table

        rec = self._recommender()
        frame = read_table(data)
        user, item = rec.interactions.user, rec.interactions.item
        missing = [c for c in (user, item) if c not in frame.columns]
        if missing:
            raise ConfigError(f"the pairs to rate need the columns {user!r} and {item!r} (missing: "
                              f"{', '.join(map(repr, missing))})")
        return rec.predict_ratings(frame[user], frame[item])

    def recommend(self, users: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The top ``k`` items for each of ``users`` (one id or several): a frame with ``user``, ``rank``,
        ``item``, ``score`` and ``source`` (``personal``; ``attributes`` for a user known only from the user table;
        ``popular`` for a user the model never saw). ``exclude_seen`` leaves out the items a user already chose."""
        return self._require_recommender("recommend()").recommend(users, k=k, exclude_seen=exclude_seen)

    def similar_items(self, item: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` items most often chosen with ``item`` (by attributes for an item without interactions)."""
        return self._require_recommender("similar_items()").similar_items(item, k=k)

    # ------------------------------------------------------------------ analysis
    def leaderboard(self) -> pd.DataFrame:
        """Every finished trial and the ensemble, best first: validation score, fit and predict time, weight."""
        from accelml.leaderboard import leaderboard

        return leaderboard(self._result())

    def explain(self, data: Any = None, **options: Any) -> Any:
        """Permutation importance, tree SHAP and partial dependence (see :func:`accelml.explain.explain`)."""
        from accelml.explain import explain

        return explain(self, data, **options)

    def explain_text(self, row: Any, column: str | None = None, **options: Any) -> Any:
        """Each word's effect on one row's prediction, by occlusion (see :func:`accelml.explain.explain_text`)."""
        from accelml.explain import explain_text

        return explain_text(self, row, column, **options)

    def report(self, path: str | Path, *, test_data: Any = None, force: bool = False) -> Path:
        """Write the self-contained HTML report (see :func:`accelml.report.write_report`)."""
        from accelml.report import write_report

        return write_report(self, path, test_data=test_data, force=force)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the artifact folder; an existing folder is only replaced with ``force=True``."""
        from accelml.export import save_artifact

        return save_artifact(self._result(), Path(path), force=force)


def _params(config: FitConfig) -> dict[str, Any]:
    """The ``AutoML`` parameters that give ``config`` back from ``_config``."""
    params = {f.name: getattr(config, f.name) for f in fields(FitConfig)}
    params["roles"] = params["roles"] or None  # AutoML's default, as get_params shows it
    return params


def load(path: str | Path) -> AutoML:
    """Load an artifact folder written by :meth:`AutoML.save`, checking its file hashes and versions first."""
    from accelml.export import load_artifact

    result = load_artifact(Path(path))
    automl = AutoML(**{**_params(result.config), "metric": result.metric.name})
    automl.result_ = result
    return automl
