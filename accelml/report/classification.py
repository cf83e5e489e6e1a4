"""Charts of a classifier's performance: confusion matrix, ROC and precision-recall curves, calibration."""

from __future__ import annotations

import numpy as np

from accelml.report.evaluation import Evaluation
from accelml.report.figures import figure, figure_html, title

__all__ = ["calibration_chart", "classification_charts", "confusion_chart", "pr_chart", "roc_chart"]

MAX_CURVES = 10  # one-vs-rest curves drawn for multiclass; more would be unreadable


def _short(label: object, n: int = 14) -> str:
    text = str(label)
    return text if len(text) <= n else text[: n - 1] + "…"


def confusion_chart(ev: Evaluation, classes: list, threshold: float | None = None) -> str:
    """Counts of true against predicted class (a binary model's at its decision ``threshold``); cells coloured by the
    share of their true class."""
    from sklearn.metrics import confusion_matrix

    from accelml.ensemble.threshold import class_indices

    k = len(classes)
    matrix = confusion_matrix(ev.y, class_indices(ev.outputs, threshold), labels=list(range(k)))
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = min(3.2 + 0.45 * k, 9.0)
    fig, ax = figure(width=size + 1.2, height=size)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    font = 11 if k <= 3 else (8 if k < 8 else 6)
    if k <= 20:  # beyond that the numbers would not be readable; the colours still are
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{matrix[i, j]:,}\n{shares[i, j]:.0%}", ha="center", va="center", fontsize=font,
                        color="white" if shares[i, j] > 0.6 else "#1d2330")
    labels = [_short(c) for c in classes]
    ax.set_xticks(range(k), labels=labels, rotation=30 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), labels=labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    at = f" at threshold {threshold:g}" if threshold is not None and k == 2 else ""
    title(ax, f"Confusion matrix{at} (count, share of true class)")
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    return figure_html(fig, "confusion matrix")


def _curves(ev: Evaluation, classes: list) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(class label, is-this-class, its probability) for each curve to draw: the positive class, or one per class."""
    if len(classes) == 2:
        return [(str(classes[1]), ev.y == 1, ev.outputs[:, 1])]
    order = np.argsort(-np.bincount(ev.y, minlength=len(classes)))[:MAX_CURVES]  # the most frequent classes
    return [(str(classes[k]), ev.y == k, ev.outputs[:, k]) for k in order if 0 < (ev.y == k).sum() < len(ev.y)]


def roc_chart(ev: Evaluation, classes: list) -> str:
    """ROC curve of the positive class (binary) or one-vs-rest per class (multiclass), with AUC."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = figure(width=5.2, height=4.2)
    for label, truth, score in _curves(ev, classes):
        fpr, tpr, _ = roc_curve(truth, score)
        ax.plot(fpr, tpr, linewidth=1.6, label=f"{_short(label)} (AUC {roc_auc_score(truth, score):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="#888888", label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    title(ax, "ROC curve" + (" (one class against the rest)" if len(classes) > 2 else ""))
    ax.legend(loc="lower right")
    return figure_html(fig, "ROC curve")


def pr_chart(ev: Evaluation, classes: list) -> str:
    """Precision against recall, with average precision and the no-skill level (the class's share)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = figure(width=5.2, height=4.2)
    for label, truth, score in _curves(ev, classes):
        precision, recall, _ = precision_recall_curve(truth, score)
        line, = ax.plot(recall, precision, linewidth=1.6,
                        label=f"{_short(label)} (AP {average_precision_score(truth, score):.3f})")
        ax.axhline(truth.mean(), color=line.get_color(), linestyle=":", linewidth=0.9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    title(ax, "Precision-recall curve")
    ax.legend(loc="lower left")
    ax.annotate("dotted: share of the class (no skill)", xy=(0.99, 0.01), xycoords="axes fraction", ha="right",
                va="bottom", fontsize=7, color="#777777")
    return figure_html(fig, "precision-recall curve")


def calibration_chart(ev: Evaluation, classes: list, bins: int = 10) -> str:
    """Predicted probability against observed frequency in equal-count bins, with the number of rows below."""
    if len(classes) == 2:
        confidence, correct = ev.outputs[:, 1], (ev.y == 1).astype(float)
        xlabel, ylabel = f"predicted P({_short(classes[1])})", f"observed share of {_short(classes[1])}"
    else:  # top-label calibration: is the model as often right as it is confident?
        confidence, correct = ev.outputs.max(axis=1), (ev.outputs.argmax(axis=1) == ev.y).astype(float)
        xlabel, ylabel = "confidence (highest predicted probability)", "observed accuracy"
    edges = np.unique(np.quantile(confidence, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, max(len(edges) - 2, 0))
    used = [b for b in range(max(len(edges) - 1, 1)) if (which == b).any()]
    mean_p = np.array([confidence[which == b].mean() for b in used])
    observed = np.array([correct[which == b].mean() for b in used])
    fig, ax = figure(width=5.2, height=4.2)
    ax.plot([0, 1], [0, 1], linestyle=":", color="#888888", label="perfectly calibrated")
    ax.plot(mean_p, observed, marker="o", linewidth=1.6, label="model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    title(ax, f"Calibration ({len(used)} bins of equal size)")
    ax.legend(loc="upper left")
    return figure_html(fig, "calibration plot")


def classification_charts(ev: Evaluation, classes: list, threshold: float | None = None) -> list[str]:
    """Every classification chart, in reading order (the confusion matrix at a binary model's ``threshold``)."""
    return [confusion_chart(ev, classes, threshold), roc_chart(ev, classes), pr_chart(ev, classes),
            calibration_chart(ev, classes)]
