"""Data checks run once before training: clean what must be cleaned, and report everything found.

:func:`check_data` drops rows it cannot learn from (missing target, classes with a single row) and returns one
:class:`DataIssue` per finding, each a plain sentence that names the column and what was done. Columns are never
removed from the frame: identifiers and constants are reported as dropped because the preprocessors skip non-feature
roles, and a text column without text (every value missing or blank, or one text in every row) is dropped the same
way, by giving it the constant role in the schema (an error when it was the only feature).

Text columns get the cleaning policy of :mod:`accelml.features.text_input` (control characters become spaces, texts
are cut at :data:`~accelml.features.text_input.MAX_CHARS` characters), and the rows it changes are counted and
reported; a column given the categorical role that reads as free text is reported with the role to give it instead.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import DataError
from accelml.features.text_input import MAX_CHARS, clean_texts
from accelml.schema.infer import infer_role
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema
from accelml.tasks import get_task

__all__ = ["ISSUE_KINDS", "DataIssue", "check_data"]

logger = logging.getLogger(__name__)

ISSUE_KINDS = (
    "missing_target",
    "identifier",
    "constant",
    "duplicates",
    "leak",
    "imbalance",
    "heavy_missing",
    "high_cardinality",
    "rare_class",
    "empty_text",
    "repeated_text",
    "text_as_category",
    "missing_ids",
    "duplicate_pairs",
    "junk_text",
    "long_text",
)

LEAK_SAMPLE_ROWS = 20_000
LEAK_SECONDS = 1.5  # the leak check stops after this long (a wide table: a few thousand columns), saying how far it got
LEAK_SHARE = 0.04  # ... or after this share of the run's time limit, when shorter
LEAK_ACCURACY = 0.99  # classification: flag when one column alone reaches this out-of-sample accuracy ...
LEAK_MAX_MAJORITY = 0.95  # ... unless always guessing the majority class is already about as good
LEAK_R2 = 0.98  # regression: flag when one column alone reaches this out-of-sample R²
IMBALANCE_FRACTION = 0.1
MIN_CLASS_ROWS = 2
HEAVY_MISSING_FRACTION = 0.5
HIGH_CARDINALITY = 100
REPEATED_TEXT_FRACTION = 0.5  # one text in at least this share of the rows is reported (a placeholder?)
_WORDY = (20, 3)  # mean characters and words from which a categorical column's values read as phrases
# The characters that clean_texts replaces by spaces (its policy): control characters and U+FFFD, which undecodable
# bytes become.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_LEAK_BINS = 64
_SEED = 0


@dataclass(frozen=True)
class DataIssue:
    """One finding about the training data.

    Attributes:
        kind: One of :data:`ISSUE_KINDS`.
        severity: ``"info"``, ``"warning"`` or ``"error"``.
        message: One sentence naming the column(s) and the action taken.
        column: The column concerned, if there is one.
        action: ``"dropped_rows"``, ``"dropped_column"`` or ``"none"``.
        count: How many rows (or values) are concerned, where that means something.

    Examples:
        >>> DataIssue("constant", "info", "column 'c' has one value; not used", column="c").to_dict()["kind"]
        'constant'
    """

    kind: str
    severity: str
    message: str
    column: str | None = None
    action: str = "none"
    count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The issue as a JSON-ready dict."""
        return asdict(self)


def check_data(df: pd.DataFrame, schema: Schema, *, time_limit: float | None = None
               ) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Check training data against its schema, drop rows that cannot be learned from, and report findings.

    Args:
        df: Training data, target included.
        schema: The schema inferred for ``df``.
        time_limit: The run's time limit, if any: the leak check, which works column by column, takes at most
            ``LEAK_SHARE`` of it (and never more than ``LEAK_SECONDS``).

    Returns:
        The cleaned frame (rows with a missing target or a class seen only once removed, original index kept; the
        columns are unchanged) and the list of issues found, in a fixed order of kinds.

    Raises:
        DataError: The target column is absent, or has fewer than two distinct values once rows are dropped, or the
            only feature is a text column without text.

    Examples:
        >>> import pandas as pd
        >>> from accelml.schema import infer_schema
        >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [0, 1, 0, 1, None]})
        >>> clean, issues = check_data(df, infer_schema(df, "y"))
        >>> len(clean), [i.kind for i in issues]
        (4, ['missing_target'])
    """
    target = schema.target
    if target not in df.columns:
        raise DataError(f"target column {target!r} is not in the data; pass the frame the schema was inferred from")
    issues: list[DataIssue] = []
    classification = get_task(schema.task).classification

    n_rows = len(df)
    df = _drop_missing_target(df, target, issues)
    _require_two_values(df[target], target, "after dropping rows with a missing target" if len(df) < n_rows else "")
    if classification:
        n_rows = len(df)
        df = _drop_rare_classes(df, target, issues)
        if len(df) < n_rows:
            _require_two_values(df[target], target, f"after dropping classes with fewer than {MIN_CLASS_ROWS} rows")

    issues += _dropped_column_issues(schema, df)
    issues += _text_issues(df, schema)
    issues += _duplicate_issues(df)
    issues += _leak_issues(df, schema, LEAK_SECONDS if time_limit is None else min(LEAK_SECONDS,
                                                                                   LEAK_SHARE * time_limit))
    if classification:
        issues += _imbalance_issues(df[target], target)
    issues += _column_quality_issues(df, schema)
    for issue in issues:
        logger.debug("data check: %s", issue.message)
    return df, issues


# --- rows --------------------------------------------------------------------------------------------------------


def _drop_missing_target(df: pd.DataFrame, target: str, issues: list[DataIssue]) -> pd.DataFrame:
    missing = df[target].isna()
    n = int(missing.sum())
    if n == 0:
        return df
    issues.append(
        DataIssue(
            "missing_target",
            "warning",
            f"{n} row(s) ({n / len(df):.1%}) have no value in target column {target!r}; they were dropped",
            column=target,
            action="dropped_rows",
            count=n,
        )
    )
    return df.loc[~missing]


def _drop_rare_classes(df: pd.DataFrame, target: str, issues: list[DataIssue]) -> pd.DataFrame:
    counts = df[target].value_counts()
    rare = counts[counts < MIN_CLASS_ROWS]
    if rare.empty:
        return df
    rows = df[target].isin(rare.index)
    n = int(rows.sum())
    labels = ", ".join(repr(_plain(v)) for v in rare.index[:10]) + (", ..." if len(rare) > 10 else "")
    issues.append(
        DataIssue(
            "rare_class",
            "warning",
            f"class(es) {labels} of target {target!r} have fewer than {MIN_CLASS_ROWS} rows, too few to learn "
            f"and validate; their {n} row(s) were dropped",
            column=target,
            action="dropped_rows",
            count=n,
        )
    )
    return df.loc[~rows]


def _require_two_values(y: pd.Series, target: str, when: str) -> None:
    values = y.dropna()
    n_unique = values.nunique()
    when = f" {when}" if when else ""
    if n_unique == 0:
        raise DataError(f"target column {target!r} has no values{when}; nothing to learn")
    if n_unique == 1:
        value = _plain(values.iloc[0])
        raise DataError(f"target column {target!r} has a single value ({value!r}){when}; nothing to learn")


# --- columns -----------------------------------------------------------------------------------------------------


def _dropped_column_issues(schema: Schema, df: pd.DataFrame) -> list[DataIssue]:
    issues = []
    for spec in schema.columns:
        if spec.role is ColumnRole.IDENTIFIER:
            reason = "looks like an identifier (unique per row)"
            if spec.user_role:
                reason = "has role 'identifier' (set by you)"
        elif spec.role is ColumnRole.CONSTANT:
            reason = "has role 'constant' (set by you)" if spec.user_role else "has a single value"
        else:
            continue
        issues.append(
            DataIssue(
                spec.role.value,
                "info",
                f"column {spec.name!r} {reason}; it is not used as a feature",
                column=spec.name,
                action="dropped_column",
            )
        )
    return issues


def _column_quality_issues(df: pd.DataFrame, schema: Schema) -> list[DataIssue]:
    issues = []
    features = [spec for spec in schema.features if spec.name in df.columns]
    # one call for every column: per column, pandas' isna costs about 0.1 ms (half a second on 5,000 columns)
    n_missing = df[[spec.name for spec in features]].isna().sum() if df.columns.is_unique else None
    for spec in features:
        count = int(n_missing[spec.name]) if n_missing is not None else int(df[spec.name].isna().sum())
        missing = count / len(df) if len(df) else 0.0
        if missing > HEAVY_MISSING_FRACTION:
            issues.append(
                DataIssue(
                    "heavy_missing",
                    "info",
                    f"column {spec.name!r} is {missing:.1%} missing; it is kept and the missing values are imputed",
                    column=spec.name,
                    count=count,
                )
            )
        if spec.role is ColumnRole.CATEGORICAL:
            s = df[spec.name]
            n_unique = int(s.nunique())
            if n_unique > HIGH_CARDINALITY:
                hint = ""
                if not spec.user_role and _reads_as_phrases(s):  # a user's category is the text_as_category check
                    hint = f"; if it holds free text, give it the text role (--role {spec.name}=text)"
                issues.append(
                    DataIssue(
                        "high_cardinality",
                        "info",
                        f"categorical column {spec.name!r} has {n_unique} distinct values; values seen only a few "
                        f"times carry little signal{hint}",
                        column=spec.name,
                        count=n_unique,
                    )
                )
    return issues


def _reads_as_phrases(s: pd.Series) -> bool:
    """Whether a column's values are phrases of several words (on a seeded sample), not codes or names."""
    values = s.dropna()
    if not len(values):
        return False
    strings = values.sample(n=min(1000, len(values)), random_state=_SEED).astype(str)
    return bool(strings.str.len().mean() >= _WORDY[0] and strings.str.count(r"\S+").mean() >= _WORDY[1])


# --- text --------------------------------------------------------------------------------------------------------


def _text_issues(df: pd.DataFrame, schema: Schema) -> list[DataIssue]:
    """Text columns: empty or single-text ones dropped (an error when nothing else is left), junk and overlong texts
    counted; and categorical columns the user gave that hold free text."""
    issues: list[DataIssue] = []
    dropped = []
    for spec in schema.features:
        if spec.name not in df.columns:
            continue
        if spec.role is ColumnRole.TEXT:
            found, useless = _text_column_issues(df[spec.name], spec.name)
            issues += found
            if useless:
                dropped.append((spec, useless))
        elif spec.role is ColumnRole.CATEGORICAL and spec.user_role and infer_role(df[spec.name]) is ColumnRole.TEXT:
            issues.append(_text_as_category(df[spec.name], spec.name))
    for spec, _ in dropped:
        schema.columns[schema.columns.index(spec)] = _as_constant(spec)
    if dropped and not schema.features:
        spec, why = dropped[0]
        raise DataError(f"text column {spec.name!r} {why}, and it is the only feature, so there is nothing to learn "
                        "from; check that the data was read from the right file and give the column that holds the "
                        "texts")
    return issues


def _as_constant(spec: ColumnSpec) -> ColumnSpec:
    """The column as one without signal: not a feature, and not a role the user chose."""
    return replace(spec, role=ColumnRole.CONSTANT, user_role=False)


def _present_strings(s: pd.Series) -> pd.Series:
    """The present values as text, bytes decoded as the cleaning decodes them (bad bytes as U+FFFD)."""
    values = s.dropna()
    return values.map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)).astype(object)


def _text_column_issues(s: pd.Series, name: str) -> tuple[list[DataIssue], str | None]:
    """One text column's findings, and why it is useless when it is (no text, or one text in every row that has
    one)."""
    texts = pd.Series(clean_texts(s), dtype=object)
    present = texts[texts != ""]
    if present.empty:
        why = f"has no text (all {len(s):,} values are missing or blank)"
        return [DataIssue("empty_text", "warning", f"text column {name!r} {why}; it is not used as a feature",
                          column=name, action="dropped_column", count=len(s))], why
    counts = present.value_counts()
    top, top_rows = str(counts.index[0]), int(counts.iloc[0])
    shown = top if len(top) <= 40 else top[:37] + "..."
    if len(counts) == 1:
        where = "every row" if top_rows == len(s) else f"every row that has text ({top_rows:,} of {len(s):,})"
        why = f"holds one text ({shown!r}) in {where}"
        return [DataIssue("repeated_text", "warning", f"text column {name!r} {why}; it carries no signal and is not "
                          "used as a feature", column=name, action="dropped_column", count=top_rows)], why
    issues = []
    if top_rows >= REPEATED_TEXT_FRACTION * len(s):
        issues.append(DataIssue("repeated_text", "info",
                                f"one text ({shown!r}) fills {top_rows / len(s):.0%} of text column {name!r} (a "
                                "placeholder?); it is kept and read like any other text", column=name, count=top_rows))
    strings = _present_strings(s)
    junk = int(strings.str.contains(_JUNK).sum())
    if junk:
        issues.append(DataIssue("junk_text", "warning",
                                f"{junk:,} value(s) of text column {name!r} hold control characters or undecodable "
                                "bytes (binary junk?); those characters are read as spaces", column=name, count=junk))
    lengths = strings.str.len()
    long = int((lengths > MAX_CHARS).sum())
    if long:
        issues.append(DataIssue("long_text", "warning",
                                f"{long:,} text(s) of column {name!r} are longer than {MAX_CHARS:,} characters (the "
                                f"longest has {int(lengths.max()):,}); they are cut at {MAX_CHARS:,} characters",
                                column=name, count=long))
    return issues, None


def _text_as_category(s: pd.Series, name: str) -> DataIssue:
    strings = s.dropna().astype(str)
    n_unique = int(strings.nunique())
    return DataIssue(
        "text_as_category",
        "warning",
        f"column {name!r} has role 'categorical' (set by you) but holds free text ({n_unique:,} distinct values of "
        f"{strings.str.len().mean():.0f} characters on average), whose values as categories are each seen a few "
        f"times and teach little: give it the text role (--role {name}=text, or roles={{{name!r}: 'text'}})",
        column=name,
        count=n_unique,
    )


def _duplicate_issues(df: pd.DataFrame) -> list[DataIssue]:
    try:
        duplicated = df.duplicated()
    except TypeError:  # unhashable cells (lists, dicts)
        duplicated = df.astype(str).duplicated()
    n = int(duplicated.sum())
    if n == 0:
        return []
    return [
        DataIssue(
            "duplicates",
            "warning",
            f"{n} row(s) ({n / len(df):.1%}) are exact copies of an earlier row, target included; they are kept, "
            "but duplicates make validation scores optimistic",
            count=n,
        )
    ]


def _imbalance_issues(y: pd.Series, target: str) -> list[DataIssue]:
    fractions = y.value_counts(normalize=True)
    if fractions.min() >= IMBALANCE_FRACTION:
        return []
    shown = ", ".join(f"{_plain(k)!r} {v:.3f}" for k, v in fractions.iloc[:10].items())
    return [
        DataIssue(
            "imbalance",
            "warning",
            f"target {target!r} is imbalanced (class fractions {shown}{', ...' if len(fractions) > 10 else ''}); "
            "prefer metrics such as ROC AUC or balanced accuracy over accuracy",
            column=target,
            count=int((y == fractions.index[-1]).sum()),
        )
    ]


# --- leaks -------------------------------------------------------------------------------------------------------


def _leak_issues(df: pd.DataFrame, schema: Schema, seconds: float) -> list[DataIssue]:
    """Flag features that alone predict the target out-of-sample almost perfectly (2-fold, on a seeded sample)."""
    rng = np.random.default_rng(_SEED)
    n = len(df)
    rows = np.sort(rng.choice(n, LEAK_SAMPLE_ROWS, replace=False)) if n > LEAK_SAMPLE_ROWS else np.arange(n)
    if len(rows) < 10:
        return []
    sample = df.iloc[rows]
    first_half = rng.permutation(len(rows)) < len(rows) // 2
    folds = ((first_half, ~first_half), (~first_half, first_half))

    classification = get_task(schema.task).classification
    if classification:
        y_codes, labels = pd.factorize(sample[schema.target])
        majority_rate = float(np.bincount(y_codes).max() / len(y_codes))
        if majority_rate >= LEAK_MAX_MAJORITY:
            return []  # near-constant target: "almost perfect" accuracy says nothing
    else:
        y_values = pd.to_numeric(sample[schema.target], errors="coerce").to_numpy(dtype=float)

    issues = []
    features = [spec for spec in schema.features if spec.name in sample.columns]
    started = time.monotonic()
    for n_checked, spec in enumerate(features):
        if time.monotonic() - started > seconds:  # per-column work is bounded on wide tables
            logger.info("leak check stopped after %.1f s: %d of %d columns checked", seconds, n_checked,
                        len(features))
            break
        codes, n_codes = _bin_codes(sample[spec.name])
        if classification:
            score = np.mean([_fold_accuracy(codes, n_codes, y_codes, len(labels), tr, te) for tr, te in folds])
            leaks, what = score >= LEAK_ACCURACY, f"accuracy {score:.3f}"
        else:
            score = np.mean([_fold_r2(codes, n_codes, y_values, tr, te) for tr, te in folds])
            leaks, what = score >= LEAK_R2, f"R² {score:.3f}"
        if leaks:
            issues.append(
                DataIssue(
                    "leak",
                    "warning",
                    f"column {spec.name!r} alone predicts the target almost perfectly ({what}); check it is not "
                    "derived from the target or recorded after it",
                    column=spec.name,
                )
            )
    return issues


def _bin_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes for a column: numbers in at most 64 quantile bins, other values as they are; NaN its own code."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = s - pd.Timestamp("1970-01-01", tz=getattr(s.dtype, "tz", None))
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return _bin_numeric((s / pd.Timedelta(seconds=1)).to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return _bin_numeric(s.to_numpy(dtype=float, na_value=np.nan))
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=False)
    except TypeError:  # unhashable cells
        codes, uniques = pd.factorize(s.astype(str), use_na_sentinel=False)
    return codes.astype(np.int64), len(uniques)


def _bin_numeric(values: np.ndarray) -> tuple[np.ndarray, int]:
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(len(values), dtype=np.int64), 1
    distinct = np.unique(values[finite])
    if len(distinct) <= _LEAK_BINS:
        edges = distinct[1:]  # one bin per value
    else:
        edges = np.unique(np.quantile(values[finite], np.linspace(0, 1, _LEAK_BINS + 1)[1:-1]))
    codes = np.searchsorted(edges, values, side="right").astype(np.int64)
    codes[~finite] = len(edges) + 1
    return codes, len(edges) + 2


def _fold_accuracy(
    codes: np.ndarray, n_codes: int, y: np.ndarray, n_classes: int, train: np.ndarray, test: np.ndarray
) -> float:
    counts = np.bincount(codes[train] * n_classes + y[train], minlength=n_codes * n_classes).reshape(n_codes, n_classes)
    prediction = counts.argmax(axis=1)
    unseen = counts.sum(axis=1) == 0
    prediction[unseen] = np.bincount(y[train], minlength=n_classes).argmax()
    return float(np.mean(prediction[codes[test]] == y[test]))


def _fold_r2(codes: np.ndarray, n_codes: int, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    train = train & np.isfinite(y)
    test = test & np.isfinite(y)
    if train.sum() == 0 or test.sum() < 2:
        return 0.0
    sums = np.bincount(codes[train], weights=y[train], minlength=n_codes)
    counts = np.bincount(codes[train], minlength=n_codes)
    fallback = y[train].mean()
    means = np.where(counts > 0, sums / np.maximum(counts, 1), fallback)
    residual = y[test] - means[codes[test]]
    total = y[test] - y[test].mean()
    denominator = float(total @ total)
    return 1.0 - float(residual @ residual) / denominator if denominator > 0 else 0.0


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
