"""Read a prediction request's body within its size limit, and parse it (JSON records or CSV) into a frame.

Every problem is an ``HTTPException`` whose detail says what is wrong and how to fix it: 413 for a body or a row
count over the limit, 415 for a media type other than JSON or CSV, 422 for a body that does not parse.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import AsyncIterator, Collection
from typing import Any

import pandas as pd
from fastapi import HTTPException, Request

from accelml.data.read import NA_STRINGS

__all__ = ["body_chunks", "check_proba", "check_records", "load_json", "parse_csv", "parse_json", "read_body",
           "records_frame"]

_SCALARS = (str, int, float, bool, type(None))
_NA = frozenset(NA_STRINGS)


async def body_chunks(request: Request, limit: int, what: str = "rows") -> AsyncIterator[bytes]:
    """The body as it arrives, refusing (413) one whose declared ``Content-Length`` or actual size exceeds ``limit``
    bytes; ``what`` the request should send fewer of says how to fix it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HTTPException(400, f"invalid Content-Length header {declared!r}") from None
        if size > limit:
            raise HTTPException(413, _too_large(size, limit, what))
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a body longer than declared, or sent chunked without a length
            raise HTTPException(413, _too_large(size, limit, what, at_least=True))
        yield chunk


async def read_body(request: Request, limit: int, what: str = "rows") -> bytes:
    """The whole body, within ``limit`` bytes (see :func:`body_chunks`)."""
    return b"".join([chunk async for chunk in body_chunks(request, limit, what)])


def _too_large(size: int, limit: int, what: str, at_least: bool = False) -> str:
    return (f"request body of {'more than ' if at_least else ''}{size:,} bytes exceeds the limit of {limit:,} bytes; "
            f"send fewer {what} per request")


def _check_rows(n: int, max_rows: int) -> None:
    if n > max_rows:
        raise HTTPException(413, f"request has {n:,} rows; the limit is {max_rows:,} rows per request, so split it")
    if n == 0:
        raise HTTPException(422, "the request has no rows to predict")


def load_json(body: bytes) -> Any:
    """The parsed JSON body, or 422 saying why it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise HTTPException(422, "request body is not UTF-8 text; send JSON encoded as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"request body is not valid JSON ({exc.msg} at line {exc.lineno} column "
                                 f"{exc.colno}); send {{\"records\": [{{...}}, ...]}}") from None


def check_proba(value: Any) -> bool | None:
    """The ``proba`` field of a JSON body: true, false or absent."""
    if value is not None and not isinstance(value, bool):
        raise HTTPException(422, f"'proba' must be true or false, got {value!r}")
    return value


def parse_json(body: bytes, max_rows: int) -> tuple[list[dict[str, Any]], bool | None]:
    """Records and the ``proba`` flag from ``{"records": [{...}, ...], "proba": false}`` (or a bare list of records)."""
    data = load_json(body)
    proba = None
    if isinstance(data, dict):
        if "images" in data:
            raise HTTPException(422, "this model reads no images; send its columns as {\"records\": [{...}, ...]}")
        unknown = sorted(set(data) - {"records", "proba"})
        if unknown:
            raise HTTPException(422, f"unknown field(s) {', '.join(map(repr, unknown))} in the request; "
                                     "expected 'records' and optionally 'proba'")
        if "records" not in data:
            raise HTTPException(422, "the request has no 'records' field; send {\"records\": [{...}, ...]}")
        proba = check_proba(data.get("proba"))
        data = data["records"]
    return check_records(data, max_rows), proba


def check_records(data: Any, max_rows: int, skip: Collection[str] = ()) -> list[dict[str, Any]]:
    """``data`` as a list of records (one object per row) of scalar values, the strings that files read as missing
    made ``None``; the columns in ``skip`` (images, checked by their own parser) are left as they are."""
    if not isinstance(data, list):
        raise HTTPException(422, f"'records' must be a list of objects (one per row), got {type(data).__name__}")
    _check_rows(len(data), max_rows)
    for i, record in enumerate(data):
        if not isinstance(record, dict):
            raise HTTPException(422, f"row {i} must be an object of column: value, got {type(record).__name__}")
        for column, value in record.items():
            if column in skip:
                continue
            if isinstance(value, str):
                if value in _NA:  # the strings that files read as missing ("", "NA", "?"...) are missing here too
                    record[column] = None
            elif not isinstance(value, _SCALARS):
                raise HTTPException(422, f"column {column!r} in row {i} holds a {type(value).__name__}; values "
                                         "must be strings, numbers, booleans or null")
    return data


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The records (from :func:`parse_json`) as a frame; a key absent from some records is missing there."""
    return pd.DataFrame.from_records(records)


def parse_csv(body: bytes, max_rows: int) -> pd.DataFrame:
    """A CSV body (header line first) as a frame, read like ``accelml predict`` reads a file."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(422, "CSV body is not UTF-8 text; send it encoded as UTF-8") from None
    if not text.strip():
        raise HTTPException(422, "the CSV body is empty; send a header line and one line per row")
    try:
        with warnings.catch_warnings():  # a line longer than the header only warns; it is an error here
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), na_values=list(NA_STRINGS), keep_default_na=False,
                                skipinitialspace=True, index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HTTPException(422, f"cannot parse the CSV body ({first}); check that every line has the same "
                                 "number of fields as the header") from None
    _check_rows(len(frame), max_rows)
    return frame
