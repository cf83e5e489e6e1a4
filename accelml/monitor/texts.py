"""Text columns in monitoring: what training texts looked like, and four measures of how new texts differ.

A text column's profile holds, besides the distribution of its lengths (binned like any number, see
:func:`accelml.monitor.profile.build_profile`), a ``text`` part built from a seeded sample of its texts, cleaned as
the models read them (:func:`~accelml.features.text_input.clean_texts`):

* the :data:`VOCABULARY` most frequent words and the out-of-vocabulary rate that new texts *like* the training ones
  would show (the leave-one-out rate: words seen once in training, or not kept, are new to a text that was not there);
* the share of words that are common English words (:func:`~accelml.features.text_encoders.english_share`);
* the mean sentence vector of up to :data:`EMBED_ROWS` texts, when a sentence encoder is installed (and, at fit time,
  cheap: see :func:`text_summary`).

New texts are compared on their length (PSI and a chi-square test), their out-of-vocabulary rate (points above the
expected rate), their English share (change relative to training's) and their mean vector (cosine distance to
training's; its status from the shift of the mean net of sampling noise, in units of the texts' spread, so that the
limits mean the same for every encoder). A measure that needs an encoder is skipped, with a note, when none is
installed.

Example:
    >>> from accelml.monitor.thresholds import DriftThresholds
    >>> train = pd.Series(["the film is good", "a bad film", "good cast and a good plot"] * 50)
    >>> summary = text_summary(train, embed_seconds=0)
    >>> summary["vocabulary"][:3], summary["expected_oov"]
    (['good', 'a', 'film'], 0.0)
    >>> measures, notes = text_drift(summary, pd.Series(["das ist ein guter film"] * 150), DriftThresholds())
    >>> [(m["measure"], m["status"]) for m in measures]
    [('oov_rate', 'drift'), ('english_share', 'drift')]
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from accelml.exceptions import AccelMLError
from accelml.monitor.thresholds import DriftThresholds

__all__ = ["EMBED_ROWS", "FIT_EMBED_SECONDS", "TEXT_ROWS", "VOCABULARY", "embedding_baseline", "embedding_shift",
           "sample_texts", "text_drift", "text_summary", "text_words"]

logger = logging.getLogger(__name__)

TEXT_ROWS = 20_000  # texts whose words are counted (a seeded sample beyond that)
VOCABULARY = 20_000  # most frequent training words kept in the profile
EMBED_ROWS = 500  # texts embedded for the mean vector, in training and in new data
FIT_EMBED_SECONDS = 5.0  # at fit time the mean vector is computed only when it costs at most this (see text_summary)
_LANGUAGE_ROWS = 2_000  # texts whose words are checked for English
_MIN_SHARE = 0.12  # English share below which texts do not read as English (looks_english): the change's floor
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # runs of letters: numbers (phone numbers, prices) are not words


def text_words(text: str) -> list[str]:
    """The words of ``text``, lowercased; digits and punctuation are not words.

    >>> text_words("Call 0800-123 NOW, it's free!")
    ['call', 'now', 'it', 's', 'free']
    """
    return [w.lower() for w in _WORD.findall(text)]


def sample_texts(values: pd.Series, limit: int, seed: int = 0) -> list[str]:
    """Up to ``limit`` non-empty texts of a column, cleaned as the models read them, in a seeded random order (so
    that the first ``k`` of them are a sample too, whatever order the rows came in).

    >>> sample_texts(pd.Series(["a  b", None, "", "c"]), 5)
    ['a b', 'c']
    """
    from accelml.features.text_input import clean_texts

    present = values.dropna()
    if len(present) > limit * 2:  # most texts are not empty: clean only a little more than needed
        present = present.sample(n=limit * 2, random_state=seed)
    texts = [t for t in clean_texts(present) if t]
    order = np.random.default_rng(seed).permutation(len(texts))[:limit]
    return [texts[i] for i in order]


def text_summary(values: pd.Series, *, seed: int = 0,
                 embed_seconds: float | None = FIT_EMBED_SECONDS) -> dict[str, Any]:
    """The ``text`` part of a text column's profile (plain JSON).

    Args:
        values: The column's training values, raw.
        seed: Seed of the samples.
        embed_seconds: Compute the mean vector only when the encoder's estimate for it is at most this many seconds
            (``None``: whatever it costs). At the end of a fit it is cheap when the search's text families already
            embedded these texts, and costly (the encoder's import, seconds per hundred texts on a busy CPU) when
            none did: then it is left out with the reason, and :func:`accelml.monitor.check_model_drift` computes it
            from the model's training sample when it is needed.

    Returns:
        ``n_texts`` (looked at), ``n_words``, ``vocabulary`` (most frequent first), ``expected_oov``,
        ``english_share``, ``embedding`` (``encoder``, ``n``, ``mean``; or ``None``) and ``embedding_note`` (why
        there is none).
    """
    from accelml.features.text_encoders import english_share

    texts = sample_texts(values, TEXT_ROWS, seed)
    counts = Counter(w for t in texts for w in text_words(t))
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
    vocabulary = [w for w, _ in ranked[:VOCABULARY]]
    # Leave-one-out: a word seen once in training would be new to a text that was not in it; so is one not kept.
    unseen = sum(c for w, c in ranked[VOCABULARY:]) + sum(c for _, c in ranked[:VOCABULARY] if c == 1)
    baseline, note = embedding_baseline(texts[:EMBED_ROWS], max_seconds=embed_seconds)
    return {
        "n_texts": len(texts),
        "n_words": total,
        "vocabulary": vocabulary,
        "expected_oov": unseen / total if total else 0.0,
        "english_share": english_share(texts[:_LANGUAGE_ROWS], sample=_LANGUAGE_ROWS),
        "embedding": baseline,
        "embedding_note": note,
    }


def embedding_baseline(texts: Sequence[str], *, max_seconds: float | None = None,
                       encoder: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """The mean sentence vector of ``texts`` (``encoder``, ``n``, ``mean``, and ``dims``: the vectors' effective number
    of dimensions, ``trace(C)² / trace(C²)`` of their covariance ``C``), or ``None`` and the reason.

    The encoder is ``encoder`` when given, else the one :func:`~accelml.features.text_encoders.choose_encoder`
    picks for these texts; nothing is computed when it would take more than ``max_seconds``, and an encoder that
    cannot be loaded is a reason, never an error (monitoring must not fail a fit).
    """
    from accelml.features.text_encoders import available_encoders, choose_encoder, embed_texts, estimated_seconds

    if not texts:
        return None, "the column has no text"
    name = encoder or choose_encoder(texts)
    if name is None or name not in available_encoders():
        return None, f"no sentence encoder{' ' + repr(name) if name else ''} is installed (install accelml[text])"
    if max_seconds is not None:
        cost = estimated_seconds(name, list(texts))
        if cost > max_seconds:
            return None, (f"embedding {len(texts)} training texts with {name} would have taken about {cost:.0f} s "
                          "after the search")
    try:
        vectors = embed_texts(name, list(texts)).astype(np.float64)
    except (AccelMLError, ImportError, OSError, RuntimeError) as exc:
        logger.info("text profile: no embedding with %s: %s", name, exc)
        return None, f"the {name} encoder could not be used ({exc})"
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    covariance = centred.T @ centred / len(vectors)
    dims = float(np.trace(covariance) ** 2 / max(float(np.sum(covariance**2)), 1e-12))
    return {"encoder": name, "n": len(texts), "mean": [round(float(v), 6) for v in mean], "dims": round(dims, 2)}, None


def embedding_shift(new: np.ndarray, mean: np.ndarray, n_reference: int,
                    dims: float | None = None) -> tuple[float, float, float]:
    """How far the mean of ``new`` unit vectors is from the training ``mean``: their cosine distance, the shift of the
    mean net of sampling noise in units of the vectors' spread, and the p-value of the hypothesis that the new texts
    are like the training ones (NaN without ``dims``).

    For unit vectors whose mean has norm ``r``, the spread (total variance) is ``1 - r²``, and two samples of the same
    texts have means about ``noise = spread * (1/n + 1/n_reference)`` apart in squared distance; what is left beyond
    that, over the spread, is the shift's square: about 0 for texts like the training ones, 0.1 when a fifth of them
    come from another source, 0.3 to 0.7 for another kind of text altogether. Under that hypothesis the squared
    distance is about ``noise / dims`` times a chi-square variable with ``dims`` degrees of freedom, ``dims`` being the
    training vectors' effective number of dimensions (see :func:`embedding_baseline`); that gives the p-value, which
    keeps the noise of a few dozen texts from reading as a shift.

    >>> rng = np.random.default_rng(0)
    >>> def unit(x): return x / np.linalg.norm(x, axis=1, keepdims=True)
    >>> train = unit(rng.normal(0.1, 1, (2000, 64)))
    >>> same = unit(rng.normal(0.1, 1, (300, 64)))
    >>> [round(v, 2) for v in embedding_shift(same, train.mean(axis=0), 2000, dims=64.0)]
    [0.15, 0.0, 0.68]
    >>> other = unit(rng.normal(0.1, 1, (300, 64)) + np.r_[3.0, np.zeros(63)])  # one direction dominates
    >>> [round(v, 2) for v in embedding_shift(other, train.mean(axis=0), 2000, dims=64.0)]
    [0.66, 0.35, 0.0]
    """
    if not len(new):
        return math.nan, math.nan, math.nan
    from scipy.stats import chi2

    m_new, m_train = new.mean(axis=0), np.asarray(mean, dtype=np.float64)
    norms = float(np.linalg.norm(m_new) * np.linalg.norm(m_train))
    distance = 1.0 - float(m_new @ m_train) / norms if norms > 0 else math.nan
    spread = max(1.0 - float(m_train @ m_train), 1e-6)
    noise = spread * (1.0 / len(new) + (1.0 / n_reference if n_reference else 0.0))
    gap = float(np.sum((m_new - m_train) ** 2))
    p_value = float(chi2.sf(gap / noise * dims, dims)) if dims else math.nan
    return distance, math.sqrt(max(0.0, gap - noise) / spread), p_value


def _status(change: float, warning: float, drift: float, n: int, limits: DriftThresholds) -> str:
    """``drift`` from ``drift`` (a warning with fewer than ``min_rows`` texts), ``warning`` from ``warning``."""
    if math.isnan(change) or change < warning:
        return "ok"
    return "drift" if change >= drift and n >= limits.min_rows else "warning"


def _measure(name: str, train: float | None, new: float, change: float, status: str) -> dict[str, Any]:
    return {"measure": name, "train": math.nan if train is None else float(train), "new": new, "psi": math.nan,
            "p_value": math.nan, "change": change, "status": status}


def text_drift(summary: Mapping[str, Any], values: pd.Series, limits: DriftThresholds, *,
               seed: int = 0) -> tuple[list[dict[str, Any]], list[str]]:
    """New texts of one column against the ``text`` part of its profile (from :func:`text_summary`).

    Returns:
        One row per measure (``measure``, ``train``, ``new``, ``psi``, ``p_value``, ``change``, ``status``):
        ``oov_rate`` (change: points above the expected rate), ``english_share`` (change: relative to training's,
        at least 0.12) and ``embedding`` (train: none, new: the cosine distance of the mean vectors, change: their
        shift), which is left out when it cannot be measured; and notes saying why.
    """
    from accelml.features.text_encoders import english_share

    texts = sample_texts(values, TEXT_ROWS, seed)
    n = len(texts)
    vocabulary = frozenset(summary.get("vocabulary") or ())
    words = [w for t in texts for w in text_words(t)]
    oov = sum(w not in vocabulary for w in words) / len(words) if words else math.nan
    expected = float(summary.get("expected_oov") or 0.0)
    measures = [_measure("oov_rate", expected, oov, oov - expected,
                         _status(oov - expected, limits.oov_warning, limits.oov_drift, n, limits))]

    train_share = float(summary.get("english_share") or 0.0)
    share = english_share(texts[:_LANGUAGE_ROWS], sample=_LANGUAGE_ROWS) if n else math.nan
    change = (share - train_share) / max(train_share, _MIN_SHARE)
    measures.append(_measure("english_share", train_share, share, change,
                             _status(abs(change), limits.language_warning, limits.language_drift, n, limits)))

    notes = []
    measure, note = _embedding_measure(summary, texts[:EMBED_ROWS], limits)
    if measure is not None:
        measures.append(measure)
    if note:
        notes.append(note)
    return measures, notes


def _embedding_measure(summary: Mapping[str, Any], texts: list[str],
                       limits: DriftThresholds) -> tuple[dict[str, Any] | None, str | None]:
    from accelml.features.text_encoders import available_encoders, embed_texts

    baseline = summary.get("embedding")
    if not baseline:
        why = summary.get("embedding_note") or "no sentence encoder was installed when the model was fitted"
        return None, f"no embedding drift: the training profile has no mean sentence vector ({why})"
    name = baseline["encoder"]
    if name not in available_encoders():
        return None, f"no embedding drift: the {name} encoder of the training profile is not installed (install " \
                     "accelml[text])"
    if not texts:
        return None, "no embedding drift: the new data has no text"
    try:
        vectors = embed_texts(name, texts).astype(np.float64)
    except (AccelMLError, ImportError, OSError, RuntimeError) as exc:
        return None, f"no embedding drift: the {name} encoder could not be used ({exc})"
    distance, shift, p_value = embedding_shift(vectors, np.asarray(baseline["mean"]), int(baseline.get("n") or 0),
                                               baseline.get("dims"))
    status = _status(shift, limits.text_embedding_warning, limits.text_embedding_drift, len(texts), limits)
    if p_value >= limits.p_value:  # not told apart from chance (NaN, for an older baseline, never is)
        status = "ok"
    return {**_measure("embedding", None, distance, shift, status), "p_value": p_value}, None
