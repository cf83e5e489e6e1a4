"""``accelml fit``: search, tune and ensemble models for a column of a data file, then save the result."""

from __future__ import annotations

import difflib
import shlex
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from accelml.cli.display import print_command, stdout_console
from accelml.cli.paths import check_model_folder, run_folder
from accelml.cli.report import check_report_file
from accelml.cli.summary import fit_with_display, print_fit_summary
from accelml.exceptions import ConfigError
from accelml.tasks import get_task

__all__ = ["fit", "parse_costs", "parse_models", "parse_roles", "parse_threshold"]

DEFAULT_OUT = Path("accelml-model")


def parse_models(models: str | None) -> list[str] | None:
    """``"lgbm, xgb"`` as ``["lgbm", "xgb"]``; ``None`` or empty for every family.

    >>> parse_models("lgbm, xgb,"), parse_models(None)
    (['lgbm', 'xgb'], None)
    """
    if not models:
        return None
    keys = [key.strip() for key in models.split(",") if key.strip()]
    return keys or None


def parse_roles(values: list[str] | None) -> dict[str, str]:
    """``--role COLUMN=ROLE`` values as the ``roles=`` mapping of Python (a column name may itself hold ``=``).

    >>> parse_roles(["zip=categorical", "a=b=Numeric"]), parse_roles(None)
    ({'zip': 'categorical', 'a=b': 'numeric'}, {})

    Raises:
        ConfigError: A value is not ``COLUMN=ROLE``, names an unknown role, or gives a column a second role. Whether
            the column exists is checked with the data, as for ``roles=``.
    """
    from accelml.schema import ColumnRole  # here, not at the top: `accelml --help` does not import pandas

    valid = sorted(role.value for role in ColumnRole)
    roles: dict[str, str] = {}
    for value in values or ():
        column, _, role = value.rpartition("=")
        role = role.strip().lower()
        problem = _role_problem(value, column, role, valid)
        if problem:
            raise ConfigError(f"--role {value!r} {problem}; valid roles are: {', '.join(valid)}")
        if roles.setdefault(column, role) != role:
            raise ConfigError(f"--role gives column {column!r} two roles ({roles[column]}, {role}); keep one")
    return roles


def parse_threshold(value: str) -> str | float:
    """``--threshold`` as the ``threshold=`` of Python: a number, or a name (``auto``, ``f1``, ...).

    >>> parse_threshold("0.3"), parse_threshold("auto"), parse_threshold("Balanced-Accuracy")
    (0.3, 'auto', 'balanced_accuracy')
    """
    from accelml.metrics.threshold_options import normalize_threshold

    return normalize_threshold(value)


def parse_costs(value: str | None) -> dict[str, float] | None:
    """``--costs false_positive=1,false_negative=5`` (or ``fp=1,fn=5``) as the ``costs=`` mapping of Python.

    >>> parse_costs("fp=1, fn=5"), parse_costs(None)
    ({'false_positive': 1.0, 'false_negative': 5.0}, None)

    Raises:
        ConfigError: A part is not CELL=COST, or the costs are not valid (see ``AutoML``'s ``costs``).
    """
    from accelml.metrics.threshold_options import normalize_costs

    if value is None:
        return None
    costs: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",")):
        cell, sep, cost = part.partition("=")
        if not part or not sep or not cell.strip() or not cost.strip():
            raise ConfigError(f"--costs {value!r}: write CELL=COST pairs separated by commas, as in "
                              "--costs false_positive=1,false_negative=5")
        costs[cell.strip()] = cost.strip()
    return normalize_costs(costs)


def _role_problem(value: str, column: str, role: str, valid: list[str]) -> str | None:
    """What is wrong with one ``--role`` value, split at its last ``=``; ``None`` when nothing is."""
    if "=" not in value:
        return "is not COLUMN=ROLE (e.g. --role zip=categorical)"
    if not column:
        return "names no column (write COLUMN=ROLE)"
    if not role:
        return "names no role (write COLUMN=ROLE)"
    if role in valid:
        return None
    close = difflib.get_close_matches(role, valid, n=1)
    return f"has unknown role {role!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def fit(
    data: Annotated[
        Path | None,
        typer.Argument(help="Training data: CSV/TSV, Parquet, JSON or Excel, or a folder of images with one subfolder per "
                      "class (not needed with --resume).",
                       show_default=False),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="Column to predict; for a recommender (--role COLUMN=user and "
                     "--role COLUMN=item) the rating column, or none when each row is an interaction.",
                     show_default=False),
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="binary, multiclass or regression; inferred from the target if not given.")
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="Metric to optimise (accuracy, roc_auc, rmse, ...); chosen for the task if none.")
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds the whole fit may take.")] = 60.0,
    max_trials: Annotated[int | None, typer.Option("--max-trials", help="Stop after this many trials.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to save the model in.")] = DEFAULT_OUT,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    n_jobs: Annotated[int, typer.Option("--jobs", "-j", help="Cores to use; -1 for all.")] = -1,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated model families to try, e.g. lgbm,xgb; all by default.")
    ] = None,
    roles: Annotated[
        list[str] | None,
        typer.Option("--role", metavar="COLUMN=ROLE", show_default=False,
                     help="Give a column a role instead of the inferred one, e.g. --role zip=categorical (the words of "
                          "Python's roles=); repeat for more columns."),
    ] = None,
    n_splits: Annotated[
        int | None,
        typer.Option("--n-splits", help="Validation folds (1: one holdout split); chosen from the data size by "
                     "default.", show_default=False),
    ] = None,
    refit_full: Annotated[
        bool | None,
        typer.Option("--refit-full/--no-refit-full",
                     help="Refit the ensemble on all rows: lighter model, faster predictions. Default: every member "
                          "where validation has 3 folds or fewer (large data), else trees and linear models (networks "
                          "keep their fold models) unless all fold models predict 1,000 rows within 1/3,000 of the "
                          "time limit.", show_default=False),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue the search of this model folder with --time-limit more seconds.",
                     show_default=False),
    ] = None,
    max_latency_ms: Annotated[
        float | None,
        typer.Option("--max-latency-ms", help="The final model must predict one row within this time.", show_default=False),
    ] = None,
    max_size_mb: Annotated[
        float | None, typer.Option("--max-size-mb", help="The final model must take at most this much disk.",
                                   show_default=False),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Trials run at once in worker processes (1: sequential and reproducible); "
                     "chosen from the data by default.", show_default=False),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option("--groups", help="A column of group ids: validation keeps each group's rows in one fold (the same "
                     "as --role COLUMN=group).", show_default=False),
    ] = None,
    image_shape: Annotated[
        str | None,
        typer.Option("--image-shape", help="A table of pixel columns: each row's image as HEIGHTxWIDTH[xCHANNELS] "
                     "(e.g. 28x28); the numeric columns besides the target are its pixels.", show_default=False),
    ] = None,
    stacking: Annotated[
        bool, typer.Option("--stacking/--no-stacking", help="Try a second layer on the best models' outputs.")
    ] = True,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune",
                           help="Drop ensemble members whose prediction cost outweighs what they add (within 0.1 % of "
                                "the validation loss), where 1,000 rows would take over 1/3,000 of the time limit or "
                                "one row over 5 ms.")
    ] = True,
    feature_selection: Annotated[
        bool | None,
        typer.Option("--feature-selection/--no-feature-selection",
                      help="Drop columns no better than a shuffled copy, when the out-of-fold score agrees. Default: "
                           "on wide tables only (1,000+ columns, or more columns than rows).", show_default=False),
    ] = None,
    feature_generation: Annotated[
        bool | None,
        typer.Option("--feature-generation/--no-feature-generation",
                     help="Add ratios, differences and products of important numeric columns, group statistics and "
                          "frequency encodings when the out-of-fold score is clearly better with them. Default: on "
                          "ordinary tables when it fits in its share of the time limit.", show_default=False),
    ] = None,
    threshold: Annotated[
        str,
        typer.Option("--threshold", help="Binary tasks: the probability from which the positive class is predicted. "
                     "auto: tuned on out-of-fold predictions for --costs, else for a metric of labels (f1, accuracy, "
                     "...); an objective (f1, balanced_accuracy, mcc, precision_at_recall=0.8, ...) to tune it for; "
                     "or a number to fix it."),
    ] = "auto",
    costs: Annotated[
        str | None,
        typer.Option("--costs", metavar="CELL=COST,...", show_default=False,
                     help="Binary tasks: what each error costs, e.g. false_positive=1,false_negative=5 (or fp=1,fn=5); "
                          "the threshold is tuned for the lowest expected cost."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report to this file.", show_default=False)
    ] = None,
    item_table: Annotated[
        Path | None,
        typer.Option("--item-table", help="A recommender's table of item attributes, joined by the item column's "
                     "name.", show_default=False),
    ] = None,
    user_table: Annotated[
        Path | None,
        typer.Option("--user-table", help="A recommender's table of user attributes, joined by the user column's "
                     "name.", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out folder if it exists.")] = False,
) -> None:
    """Fit models to predict TARGET from the other columns of DATA and save the best ensemble.

    Trials are recorded in OUT.run as they finish: `accelml fit --resume OUT --time-limit N` continues the search.
    A log of interactions with a user and an item column (--role user_id=user --role item_id=item) is fitted as a
    recommender: TARGET is the rating column, if any; then use `accelml recommend OUT --user ID`.
    """
    from accelml import AutoML
    from accelml.run_recommend import is_interaction_log

    console = stdout_console()
    parsed_roles = parse_roles(roles)  # before anything else: a typo costs no time
    parsed_threshold, parsed_costs = parse_threshold(threshold), parse_costs(costs)
    recommender = is_interaction_log(parsed_roles)
    if recommender and resume is not None:
        raise ConfigError("--resume is not available for a recommender (its search is not recorded); fit it again")
    if report is not None:
        check_report_file(report, force, option="--report")
    if resume is not None:
        out, data, target = _resume_arguments(resume, data, target)
        force = True  # the model folder is this run's own result, replaced by the longer search's
    elif data is None or (target is None and not recommender and not Path(data).is_dir()):
        raise ConfigError("give the training data and --target (or --resume MODEL_DIR to continue a search); a folder "
                          "of images (one subfolder per class) needs no --target, nor a log of interactions with "
                          "--role COLUMN=user and --role COLUMN=item")
    else:
        check_model_folder(out, force)  # before fitting, so that no time is wasted
        if not recommender and run_folder(out).exists():  # a recommender records no trials (nor resumes)
            if not force:
                raise ConfigError(
                    f"'{run_folder(out)}' holds an earlier search; continue it with --resume {out} "
                    "or pass --force to start over"
                )
            shutil.rmtree(run_folder(out))
    automl = AutoML(
        task=task,
        metric=metric,
        time_limit=time_limit,
        n_jobs=n_jobs,
        seed=seed,
        max_trials=max_trials,
        models=parse_models(models),
        roles=parsed_roles or None,
        n_splits=n_splits,
        refit_full=refit_full,
        max_latency_ms=max_latency_ms,
        max_size_mb=max_size_mb,
        work_dir=None if recommender else run_folder(out),
        stacking=stacking,
        prune=prune,
        workers=workers,
        groups=groups,
        image_shape=image_shape,
        threshold=parsed_threshold,
        costs=parsed_costs,
        feature_selection=feature_selection,
        feature_generation=feature_generation,
    )
    tables = {"item_table": item_table, "user_table": user_table}
    fit_with_display(console, automl, str(data), target, resume=resume is not None,
                     **{name: str(path) for name, path in tables.items() if path is not None})
    print_fit_summary(console, automl)
    path = automl.save(out, force=force)
    console.print()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
    console.print(f"Saved the model to [bold]{escape(str(path))}[/bold] ({shown})")
    if report is not None:
        console.print(f"Wrote the report to [bold]{escape(str(automl.report(report, force=True)))}[/bold]")
    if get_task(automl.task_).recommends:
        _print_recommend_commands(console, automl, path)
        return
    console.print("Predict with:")
    print_command(console, f"accelml predict {path} NEW_DATA.csv --out predictions.csv")


def _print_recommend_commands(console: Console, automl: Any, path: Path) -> None:
    """How to use a saved recommender: lists for a user it knows, and ratings of pairs when it learned ratings."""
    rec = automl.result_.ensemble
    examples = automl.result_.extra.get("recommend", {}).get("example_users") or rec.interactions.users[:1]
    user = examples[0] if examples else "USER_ID"
    console.print("Recommend with:")
    print_command(console, f"accelml recommend {path} --user {shlex.quote(str(user))} --k 10")
    if rec.explicit:
        console.print(f"Rate (user, item) pairs (columns {rec.interactions.user}, {rec.interactions.item}) with:")
        print_command(console, f"accelml predict {path} PAIRS.csv --out ratings.csv")


def _resume_arguments(model: Path, data: Path | None, target: str | None) -> tuple[Path, Path, str]:
    """The model folder, data and target of the run to continue (data and target as recorded, unless given)."""
    from accelml.search.store import TrialStore

    model = Path(model)
    if model.name.endswith(".run"):
        model = model.with_name(model.name[: -len(".run")])
    state = TrialStore(run_folder(model)).state()
    data = data or (Path(state["data"]) if state.get("data") else None)
    if data is None:
        raise ConfigError(f"the run in '{run_folder(model)}' was fitted on a data frame; give the same data as DATA")
    return model, data, target or state["target"]
