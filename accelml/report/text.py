"""Sections of a model that reads texts: how long the texts are, the n-grams the TF-IDF linear members weigh most for
each class, and the errors (precision and recall of each class, the training texts predicted wrong with the highest
confidence, out of fold).

Both sections apply only when the schema has a TEXT feature column: they return ``None`` otherwise, and the report
leaves them out. Texts are shown shortened and escaped; charts are inline PNGs, so the report stays one offline file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from accelml.features.text_input import clean_texts, text_columns
from accelml.report.context import ReportContext
from accelml.report.figures import figure, figure_html, title
from accelml.report.page import Section, esc, key_figures, note, table_html
from accelml.report.per_class import per_class_table
from accelml.tasks import get_task

__all__ = ["LINEAR_TEXT_FAMILY", "informative_terms", "shorten", "text_errors_section", "text_section"]

LINEAR_TEXT_FAMILY = "tfidf_linear"  # the family whose coefficients name the n-grams that matter
TERMS_PER_CLASS = 15
MAX_TERM_TABLES = 12  # classes with a table of n-grams; more would bury the rest of the report
MAX_MISTAKES = 15
MAX_COLUMNS = 3  # text columns with a length chart
MAX_CURVES = 6  # classes drawn in a length chart (the most frequent)
SHOWN_CHARS = 200


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near, with an ellipsis.

    >>> shorten("short")
    'short'
    >>> shorten("free entry in a weekly competition", 20)
    'free entry in a…'
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= 0.6 * limit:  # a long unbroken token (a URL) is cut where it is rather than dropped whole
        cut = cut[:space]
    return cut.rstrip() + "…"


def informative_terms(ensemble: Any, k: int = TERMS_PER_CLASS) -> pd.DataFrame:
    """The ``k`` n-grams that push most towards each class, over the ensemble's TF-IDF linear members.

    Each fold model has its own vocabulary, so a term's weight is its coefficient towards the class averaged over
    every fold model of every such member (weighted by the member's ensemble weight), counting 0 where the term is not
    among a model's top ``2k``: terms that matter in every fold rank first.

    Returns:
        Columns ``class`` (an index into the classes; for regression 1 raises the value and 0 lowers it), ``term``,
        ``weight`` (> 0: the mean coefficient towards the class) and ``models`` (fold models that rank the term).
        Empty when no member of positive weight is of the ``tfidf_linear`` family.
    """
    models = [(member.weight / len(member.models), model) for member in ensemble.members
              if member.model == LINEAR_TEXT_FAMILY and member.weight > 0 for model in member.models
              if hasattr(model, "informative_terms")]
    total = sum(share for share, _ in models)
    sums: dict[tuple[int, str], float] = {}
    counts: dict[tuple[int, str], int] = {}
    for share, model in models:
        for item in model.informative_terms(2 * k):
            key = (int(item["class"]), str(item["term"]))
            sums[key] = sums.get(key, 0.0) + share * abs(float(item["weight"]))
            counts[key] = counts.get(key, 0) + 1
    rows = [{"class": c, "term": t, "weight": s / total, "models": counts[(c, t)]} for (c, t), s in sums.items()]
    frame = pd.DataFrame(rows, columns=["class", "term", "weight", "models"])
    frame = frame.sort_values(["class", "weight", "term"], ascending=[True, False, True], kind="stable")
    frame = frame.groupby("class", sort=True).head(k).reset_index(drop=True)
    frame.attrs["n_models"] = len(models)
    return frame


def _row_texts(sample: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Each row's text as shown: the one text column, or every text column named."""
    cleaned = [clean_texts(sample[c]) for c in columns]
    if len(columns) == 1:
        return cleaned[0]
    return [" | ".join(f"{c}: {t}" for c, t in zip(columns, texts, strict=True))
            for texts in zip(*cleaned, strict=True)]


def _has_sample(ctx: ReportContext, columns: Sequence[str]) -> bool:
    sample = ctx.result.sample
    return (sample is not None and len(sample) > 0 and ctx.result.schema.target in sample.columns
            and all(c in sample.columns for c in columns))


def _sample_basis(ctx: ReportContext) -> str:
    n, total = len(ctx.result.sample), ctx.result.n_rows
    return f"all {n:,} training texts" if n >= total else f"a sample of {n:,} of the {total:,} training texts"


# ------------------------------------------------------------------ section "Texts"
def _length_chart(words: np.ndarray, groups: list[tuple[str, np.ndarray]], column: str) -> str:
    """Histogram of words per text, one outline per group, each as a share of its own texts (classes of any size
    compare)."""
    top = max(int(np.quantile(words, 0.99)), 1)  # the longest 1 % pile up in the last bin
    width = max(1, int(np.ceil((top + 1) / 40)))
    bins = np.arange(0, top + width + 1, width)
    fig, ax = figure(width=6.4, height=3.6)
    for label, mask in groups:
        counts = np.minimum(words[mask], top)
        ax.hist(counts, bins=bins, weights=np.full(len(counts), 1.0 / max(len(counts), 1)), histtype="step",
                linewidth=1.6, label=f"{label} ({len(counts):,})")
    ax.set_xlabel(f"words per text (the last bin holds {top:,} or more)")
    ax.set_ylabel("share of the texts")
    title(ax, f"Length of '{column}'")
    if len(groups) > 1:
        ax.legend(loc="upper right", fontsize=8)
    return figure_html(fig, f"histogram of words per text in {column}")


def _lengths(ctx: ReportContext, columns: Sequence[str]) -> str:
    result = ctx.result
    sample, schema = result.sample, result.schema
    if schema.classes is not None:
        labels = np.array([str(v) for v in sample[schema.target]], dtype=object)
        frequent = pd.Series(labels).value_counts(sort=True).index[:MAX_CURVES]
        groups = [(str(c), labels == c) for c in frequent]
    else:
        groups = [("all texts", np.ones(len(sample), dtype=bool))]
    parts = []
    for column in columns[:MAX_COLUMNS]:
        texts = clean_texts(sample[column])
        chars = np.array([len(t) for t in texts])
        words = np.array([len(t.split()) for t in texts])
        tiles = [("median words", f"{np.median(words):,.0f}"),
                 ("90 % have at most", f"{np.quantile(words, 0.9):,.0f} words"),
                 ("median characters", f"{np.median(chars):,.0f}"), ("longest", f"{chars.max():,} characters"),
                 ("empty", f"{(chars == 0).mean():.1%}")]
        parts.append(f"<h3>{esc(column)}</h3>" + key_figures(tiles) + f'<div class="charts">'
                     f"{_length_chart(words, groups, column)}</div>")
    if len(columns) > MAX_COLUMNS:
        parts.append(note(f"Lengths are shown for the first {MAX_COLUMNS} of {len(columns)} text columns."))
    return "<h3>Text length</h3>" + "".join(parts) + note(
        f"From {_sample_basis(ctx)}, after cleaning (control characters removed, whitespace collapsed); words are "
        "runs of characters between spaces.")


def _term_labels(ctx: ReportContext) -> dict[int, str]:
    schema = ctx.result.schema
    if schema.classes is None:
        return {1: f"raise '{schema.target}'", 0: f"lower '{schema.target}'"}
    return {k: str(c) for k, c in enumerate(schema.classes)}


def _terms(ctx: ReportContext) -> str:
    terms = informative_terms(ctx.result.ensemble)
    head = "<h3>Most informative n-grams</h3>"
    if terms.empty:
        return head + ("<p>No TF-IDF linear model (<code>tfidf_linear</code>) is in the final ensemble, so there are "
                       "no n-gram weights to show; the importance section ranks the columns.</p>")
    n_models = terms.attrs["n_models"]
    labels = _term_labels(ctx)
    tables = []
    for k, label in labels.items():
        rows = terms[terms["class"] == k]
        if len(tables) >= MAX_TERM_TABLES or rows.empty:
            continue
        table = table_html([[r.term, float(r.weight), f"{r.models}/{n_models}"] for r in rows.itertuples()],
                           ["n-gram", "weight", "models"], numeric=[1, 2], digits=3)
        tables.append(f'<div class="terms"><p><b>{esc(label)}</b></p>{table}</div>')
    more = (note(f"Tables are shown for {MAX_TERM_TABLES} of {len(labels)} classes.")
            if len(labels) > MAX_TERM_TABLES else "")
    direction = ("towards the class" if ctx.result.schema.classes is not None
                 else "on the predicted value, up or down")
    return head + f'<div class="term-tables">{"".join(tables)}</div>' + more + note(
        f"The n-grams with the largest coefficients {direction} in the ensemble's TF-IDF linear members: the mean over "
        f"their {n_models} fold model(s), counting 0 where a model does not rank the term (so n-grams that matter in "
        "every fold come first). Words are lower-cased; quoted terms are character n-grams. 'models': fold models "
        "that rank the n-gram among their top terms.")


def text_section(ctx: ReportContext) -> Section | None:
    """How long the texts are, by class, and the n-grams the TF-IDF linear members weigh most for each class."""
    columns = text_columns(ctx.result.schema)
    if not columns:
        return None
    lengths = (_lengths(ctx, columns) if _has_sample(ctx, columns)
               else "<p>The model keeps no training sample to measure the texts on.</p>")
    return Section("texts", "Texts", lengths + _terms(ctx))


# ------------------------------------------------------------------ section "Errors" (texts)
def _mistakes(ctx: ReportContext, texts: list[str]) -> str:
    """The training texts predicted wrong with the highest confidence, out of fold (classification)."""
    result = ctx.result
    classes = [str(c) for c in result.schema.classes]
    oof = np.asarray(result.sample_oof, dtype=np.float64)
    labels = np.array([str(v) for v in result.sample[result.schema.target]], dtype=object)
    predicted = oof.argmax(axis=1)
    wrong = np.flatnonzero(np.array([classes[p] for p in predicted], dtype=object) != labels)
    if not len(wrong):
        return f"<p>None: every one of {_sample_basis(ctx)} was predicted right out of fold.</p>"
    order = wrong[np.argsort(-oof[wrong, predicted[wrong]], kind="stable")][:MAX_MISTAKES]
    rows = [[labels[r], classes[predicted[r]], f"{oof[r, predicted[r]]:.0%}", shorten(texts[r])] for r in order]
    return (f'<div class="wrap">{table_html(rows, ["true class", "predicted", "confidence", "text"], numeric=[2])}'
            "</div>" + note(f"{len(wrong):,} of {_sample_basis(ctx)} were predicted wrong out of fold (by models that "
                            f"did not train on them); the {len(order)} shown had the highest probability for the "
                            f"wrong class. Texts are cut at about {SHOWN_CHARS} characters. Confident mistakes are "
                            "often wrong labels worth checking."))


def _largest_errors(ctx: ReportContext, texts: list[str]) -> str:
    """The training texts whose out-of-fold prediction is furthest from the target (regression)."""
    result = ctx.result
    truth = pd.to_numeric(result.sample[result.schema.target], errors="coerce").to_numpy(dtype=np.float64)
    predicted = np.ravel(np.asarray(result.sample_oof, dtype=np.float64))
    error = predicted - truth
    order = [r for r in np.argsort(-np.abs(np.nan_to_num(error, nan=0.0)), kind="stable") if np.isfinite(error[r])]
    rows = [[float(truth[r]), float(predicted[r]), float(error[r]), shorten(texts[r])] for r in order[:MAX_MISTAKES]]
    header = [result.schema.target, "predicted", "error", "text"]
    return (f'<div class="wrap">{table_html(rows, header, numeric=[0, 1, 2], digits=3)}</div>'
            + note(f"Out-of-fold predictions on {_sample_basis(ctx)} (by models that did not train on them), the "
                   f"largest errors first. Texts are cut at about {SHOWN_CHARS} characters."))


def text_errors_section(ctx: ReportContext) -> Section | None:
    """Precision and recall of each class, and the training texts predicted wrong with the highest confidence (for
    regression: the largest errors)."""
    result = ctx.result
    columns = text_columns(result.schema)
    if not columns:
        return None
    classification = get_task(result.schema.task).classification
    body = ""
    if classification and ctx.evaluation is not None and ctx.image_column is None:  # images show the same table
        body = per_class_table(ctx.evaluation, list(result.schema.classes), "texts")
    heading = "Most confident mistakes" if classification else "Largest errors"
    body += f"<h3>{heading}</h3>"
    if not _has_sample(ctx, columns) or result.sample_oof is None:
        body += "<p>The model keeps no out-of-fold sample to look for mistakes in.</p>"
    else:
        texts = _row_texts(result.sample, columns)
        body += _mistakes(ctx, texts) if classification else _largest_errors(ctx, texts)
    return Section("text-errors", "Errors by class" if classification else "Errors on texts", body)
