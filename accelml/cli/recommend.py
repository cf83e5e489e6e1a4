"""``accelml recommend``: a saved recommender's top items for one user (a table), for every user of a file (written as
CSV: user, rank, item, score, source), or the items most like one item (``--similar``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from accelml.cli.display import format_score, stdout_console
from accelml.cli.paths import check_output_file
from accelml.exceptions import ConfigError
from accelml.tasks import TASKS, get_task

if TYPE_CHECKING:  # pandas is slow to import; the CLI's --help should not wait for it
    import pandas as pd

__all__ = ["read_user_ids", "recommend", "recommendations_table"]

SOURCES = {
    "personal": "from the user's own interactions",
    "attributes": "from what users with the same attributes chose",
    "popular": "the user is not in the training data: the most popular items",
}


def recommend(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `accelml fit` with user and item roles.",
                                              show_default=False)],
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="One user id: print its top items.", show_default=False)
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option("--users", help="A CSV/Parquet file of user ids (the column named like the model's user "
                     "column, else the first column): write every user's top items to --out.", show_default=False),
    ] = None,
    similar: Annotated[
        str | None, typer.Option("--similar", help="One item id: print the items most often chosen with it.",
                                 show_default=False)
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Items per list.")] = 10,
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="Keep the items a user already chose in its list.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="CSV file to write (needed with --users).", show_default=False)
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Recommend items with the recommender in MODEL_DIR: --user ID prints one user's top K items, --users FILE
    --out FILE writes every listed user's, --similar ITEM prints the items most like ITEM.

    A user the model never saw gets the most popular items (source "popular")."""
    from accelml.ensemble.recommender import MAX_K
    from accelml.export.artifact import read_manifest

    console = stdout_console()
    given = [flag for flag, value in (("--user", user), ("--users", users), ("--similar", similar))
             if value is not None]
    if not given:
        raise ConfigError("give --user ID (one user's list), --users FILE with --out (every listed user's) or "
                          "--similar ITEM (items like one item)")
    if len(given) > 1:
        raise ConfigError(f"give one of --user, --users and --similar, not {' and '.join(given)}")
    if not 1 <= k <= MAX_K:
        raise ConfigError(f"--k must be a whole number from 1 to {MAX_K:,}; got {k}")
    if include_seen and similar is not None:
        raise ConfigError("--include-seen is about a user's own items; leave it out with --similar")
    if users is not None and out is None:
        raise ConfigError("--users writes a file: give it with --out, e.g. --out recommendations.csv")
    if out is not None:
        check_output_file(out, force)
    manifest = read_manifest(model_dir)  # refuse another kind of model before loading it
    if manifest.get("task") not in TASKS or not get_task(manifest["task"]).recommends:
        raise ConfigError(f"this model predicts {manifest.get('target')!r} ({manifest.get('task')}); accelml "
                          "recommend needs a model fitted with user and item roles (accelml fit DATA --role "
                          "USER_COLUMN=user --role ITEM_COLUMN=item)")
    ids = read_user_ids(users, manifest) if users is not None else None  # a bad file fails before loading

    from accelml import load

    automl = load(model_dir)
    if similar is not None:
        frame = automl.similar_items(similar, k=k)
        _show(console, frame, out, f"Items most like item {similar}")
    elif user is not None:
        frame = automl.recommend([user], k=k, exclude_seen=not include_seen)
        source = frame["source"].iloc[0] if len(frame) else "popular"
        _show(console, frame, out, f"Top {len(frame)} items for user {user}", note=SOURCES.get(source))
    else:
        frame = automl.recommend(ids, k=k, exclude_seen=not include_seen)
        _write(frame, out)
        known = frame.drop_duplicates("user")["source"].value_counts().to_dict()
        counts = ", ".join(f"{n:,} {source}" for source, n in sorted(known.items()))
        console.print(f"Wrote {len(frame):,} recommendations for {len(ids):,} users ({counts}) to "
                      f"[bold]{escape(str(out))}[/bold]")


def read_user_ids(path: Path, manifest: dict[str, Any]) -> list[str]:
    """The user ids of a table file, in file order, once each: its column named like the model's user column, else
    its first column (missing values skipped).

    Raises:
        DataError: The file is missing or unreadable (see :func:`accelml.data.read_table`).
        ConfigError: The column holds no ids.
    """
    import pandas as pd

    from accelml.data import read_table
    from accelml.features.interactions import id_text

    table = read_table(path)
    column = _user_column(manifest)
    column = column if column in table.columns else table.columns[0]
    values = table[column].dropna()
    if values.empty:
        raise ConfigError(f"column {column!r} of '{path}' holds no user ids")
    return list(pd.unique(id_text(values)))


def _user_column(manifest: dict[str, Any]) -> str | None:
    """The training's user column, as the manifest's schema records it."""
    schema = manifest.get("schema") or {}
    return (schema.get("extra") or {}).get("user") or next(
        (c["name"] for c in schema.get("columns", ()) if c.get("role") == "user"), None)


def recommendations_table(frame: pd.DataFrame, title: str) -> Table:
    """A frame of :meth:`accelml.AutoML.recommend` or :meth:`~accelml.AutoML.similar_items` as a Rich table: rank,
    item, score and source."""
    item = "similar_item" if "similar_item" in frame.columns else "item"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("rank", justify="right")
    table.add_column("item", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("source")
    for row in frame.to_dict("records"):
        table.add_row(str(row["rank"]), str(row[item]), format_score(row["score"]), str(row["source"]))
    return table


def _show(console: Any, frame: pd.DataFrame, out: Path | None, title: str, note: str | None = None) -> None:
    """Print the list, or write it to ``out`` when given."""
    if out is not None:
        _write(frame, out)
        console.print(f"Wrote {len(frame):,} rows to [bold]{escape(str(out))}[/bold]")
        return
    console.print(recommendations_table(frame, title))
    if note:
        console.print(Text(note, style="dim"))


def _write(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
