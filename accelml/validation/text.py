"""Groups of texts that must stay on one side of a validation split: a text, its exact duplicates and the texts it
contains.

Text data often repeats itself: the same SMS sent many times, or, as in SST-2's training set, every sentence given
again as each of its sub-phrases (67,349 rows from about 8,500 sentences). A random split then validates on phrases
whose longer parent the model trained on, and rewards memorising: a TF-IDF model scored 0.936 on such a holdout and
0.833 on the separate sentence-level dev set, while a fine-tuned encoder scored 0.873 on the holdout and generalised
better. Grouping each text with the longest text that contains it (word for word, ignoring case) keeps a sentence and
its phrases together, so validation sees only texts whose every part is new, as new data will be.

The grouping is looked for only when a sample says it matters (:func:`text_groups` returns None otherwise).
"""

from __future__ import annotations

import numpy as np

__all__ = ["text_groups"]

_MAX_SPAN_WORDS = 64  # longer texts group only with exact duplicates (their sub-spans are not enumerated)
_SAMPLE = 1_000
_HAYSTACK_CHARS = 2_000_000
_SHARE = 0.02  # group when at least this share of sampled texts repeats or lies inside another


def text_groups(texts: list[str], seed: int = 0) -> np.ndarray | None:
    """A group id per text (the row of the longest text containing it), or None when under 2 % of a sample of the
    texts are duplicates of, or contained in, other texts.

    >>> text_groups(["a fine film", "fine film", "a fine", "dull", "dull", "x y"] * 1).tolist()
    [0, 0, 0, 3, 3, 5]
    >>> text_groups([f"text {i}" for i in range(100)]) is None
    True
    """
    words = [str(t).lower().split() for t in texts]
    if not _matters(words, seed):
        return None
    order = sorted(range(len(words)), key=lambda i: -len(words[i]))
    owner: dict[str, int] = {}
    groups = np.empty(len(words), dtype=np.int64)
    for i in order:
        tokens = words[i]
        key = " ".join(tokens)
        group = owner.get(key)
        if group is None:  # a text no longer text contains: it roots a group, with every span of it
            group = i
            if len(tokens) <= _MAX_SPAN_WORDS:
                for a in range(len(tokens)):
                    for b in range(a + 1, len(tokens) + 1):
                        owner.setdefault(" ".join(tokens[a:b]), group)
            owner.setdefault(key, group)
        groups[i] = group
    return groups


def _matters(words: list[list[str]], seed: int) -> bool:
    """Whether a sample of texts shows duplicates or texts inside longer ones, in at least 2 % of them."""
    n = len(words)
    if n < 20:
        return True
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, min(n, _SAMPLE), replace=False)
    joined = [" ".join(words[i]) for i in range(n)]
    counts: dict[str, int] = {}
    for text in joined:
        counts[text] = counts.get(text, 0) + 1
    repeated = sum(counts[joined[i]] > 1 for i in sample)
    # containment: sampled texts found inside the longest texts (with spaces around, so words stay whole)
    longest = sorted(range(n), key=lambda i: -len(words[i]))[: min(n, 3 * _SAMPLE)]
    haystack = "\n".join(f" {joined[i]} " for i in longest)[:_HAYSTACK_CHARS]
    among = set(longest)
    inside = sum(1 for i in sample if counts[joined[i]] == 1 and 0 < len(words[i]) <= _MAX_SPAN_WORDS
                 and haystack.count(f" {joined[i]} ") > (1 if i in among else 0))
    return (repeated + inside) >= _SHARE * len(sample)
