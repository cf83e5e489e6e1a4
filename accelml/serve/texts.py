"""Texts in prediction requests: each one bounded in characters, so that a client cannot make the server tokenise
(or embed) a book per row.

The number of texts per request is the number of rows, bounded by ``max_rows``; a text longer than
``max_text_chars`` is refused with 413 naming its column and row (training cuts longer texts at the same length by
default, see :mod:`accelml.features.text_input`, so nothing beyond it would be read anyway).

Example:
    >>> check_text_lengths(pd.DataFrame({"review": ["fine", None, 3]}), ["review"], 10)
    >>> check_text_lengths(pd.DataFrame({"review": ["fine", "x" * 11]}), ["review"], 10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fastapi.exceptions.HTTPException: 413: the text in column 'review' of row 1 has 11 characters; the limit is 10 ...
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from fastapi import HTTPException

__all__ = ["check_text_lengths"]


def check_text_lengths(frame: pd.DataFrame, columns: Sequence[str], limit: int) -> None:
    """Refuse (413) the request when a text of one of ``columns`` in ``frame`` is longer than ``limit`` characters;
    the first such text (by column, then row) is named. Non-text values and absent columns are left to validation."""
    for column in columns:
        if column not in frame.columns:
            continue
        for row, value in enumerate(frame[column].tolist()):
            if isinstance(value, str) and len(value) > limit:
                raise HTTPException(413, f"the text in column {column!r} of row {row} has {len(value):,} characters; "
                                         f"the limit is {limit:,} characters per text (the server's max_text_chars), "
                                         "so shorten it")
