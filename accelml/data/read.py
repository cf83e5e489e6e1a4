"""Read a table from a file or an in-memory object into a pandas DataFrame.

One entry point, :func:`read_table`, so the rest of accelml only ever sees pandas. Every failure is a
:class:`~accelml.exceptions.DataError` whose message names the file and says what to do.
"""

from __future__ import annotations

import bz2
import csv
import difflib
import gzip
import importlib.util
import logging
import lzma
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from accelml.exceptions import DataError

__all__ = ["NA_STRINGS", "SUPPORTED_EXTENSIONS", "read_table"]

logger = logging.getLogger(__name__)

NA_STRINGS: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")
"""Strings read as missing values in delimited text and JSON."""

_TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".dat", ".data", ".psv")
_PARQUET_EXTENSIONS = (".parquet", ".pq")
_JSON_EXTENSIONS = (".json", ".jsonl", ".ndjson")
_EXCEL_EXTENSIONS = (".xlsx", ".xls")
_COMPRESSIONS: dict[str, Callable[[str], IO[bytes]]] = {
    ".gz": lambda p: gzip.open(p, "rb"),
    ".bz2": lambda p: bz2.open(p, "rb"),
    ".xz": lambda p: lzma.open(p, "rb"),
    ".zip": lambda p: _open_zip_member(p),
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    _TEXT_EXTENSIONS + _PARQUET_EXTENSIONS + _JSON_EXTENSIONS + _EXCEL_EXTENSIONS
)
"""File extensions :func:`read_table` understands (text and JSON may also end in .gz, .bz2, .xz or .zip)."""

# utf-8-sig decodes plain utf-8 as well and strips a byte-order mark, so it covers both "utf-8" and "utf-8-sig";
# latin-1 decodes any byte string, so it is the last resort.
_ENCODINGS = ("utf-8-sig", "latin-1")
_SNIFF_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024


def read_table(source: Any, *, name: str | None = None, copy: bool = True) -> pd.DataFrame:
    """Read a table from a file path or an in-memory object.

    Files: delimited text (delimiter sniffed, encoding utf-8 then latin-1, optionally compressed with gzip, bz2,
    xz or zip), Parquet, JSON (records or lines) and Excel (needs ``openpyxl``). In-memory: a pandas DataFrame (a
    shallow copy is returned), a polars DataFrame, a pyarrow Table, a dict of columns or a 2-D numpy array (columns
    ``x0``, ``x1``, ...).

    Args:
        source: A path (``str`` or :class:`~pathlib.Path`) or one of the in-memory objects above.
        name: How to call the data in error messages; defaults to the file name or ``"data"``.
        copy: Whether a pandas DataFrame is returned as a shallow copy, so that columns later set on the result never
            reach the caller's frame; ``False`` returns the frame itself (milliseconds less on thousands of
            columns) for a caller that only reads it.

    Returns:
        A DataFrame with string column names and at least one row and one column.

    Raises:
        DataError: The file is missing, empty, unreadable or of an unknown kind, or the table has no rows or columns.

    Examples:
        >>> read_table({"a": [1, 2], "b": ["x", "y"]}).shape
        (2, 2)
        >>> import numpy as np
        >>> list(read_table(np.zeros((3, 2))).columns)
        ['x0', 'x1']
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or path.name
        df = _read_file(path, label)
    else:
        label = name or "data"
        df = source if isinstance(source, pd.DataFrame) and not copy else _read_object(source, label)
    return _check_shape(df, label)


# --- files -----------------------------------------------------------------------------------------------------


def _read_file(path: Path, label: str) -> pd.DataFrame:
    _check_file(path, label)
    suffixes = [s.lower() for s in path.suffixes]
    compression = suffixes.pop() if suffixes and suffixes[-1] in _COMPRESSIONS else None
    ext = suffixes[-1] if suffixes else ""
    if ext in _TEXT_EXTENSIONS:
        return _read_delimited(path, label, compression, ext)
    if ext in _JSON_EXTENSIONS:
        return _read_json(path, label, ext)
    if ext in _PARQUET_EXTENSIONS and compression is None:
        return _read_parquet(path, label)
    if ext in _EXCEL_EXTENSIONS and compression is None:
        return _read_excel(path, label, ext)
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    raise DataError(
        f"cannot read '{label}': unknown file extension '{''.join(path.suffixes) or '(none)'}'; "
        f"supported are {supported} (text and JSON optionally compressed as .gz, .bz2, .xz or .zip)"
    )


def _check_file(path: Path, label: str) -> None:
    if path.is_dir():
        raise DataError(f"'{path}' is a folder, not a file; pass the path of a data file inside it")
    if not path.exists():
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise DataError(f"file '{path}' not found: the folder '{folder}' does not exist; check the path")
        close = difflib.get_close_matches(path.name, sorted(os.listdir(folder)), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; check the path"
        raise DataError(f"file '{path}' not found{hint}")
    if path.stat().st_size == 0:
        raise DataError(f"file '{label}' is empty; it has no header and no rows")


def _open_zip_member(path: str) -> IO[bytes]:
    archive = zipfile.ZipFile(path)
    members = [m for m in archive.namelist() if not m.endswith("/")]
    if len(members) != 1:
        raise DataError(f"zip archive '{Path(path).name}' must hold exactly one file, it holds {len(members)}")
    return archive.open(members[0])


def _head_bytes(path: Path, compression: str | None) -> bytes:
    try:
        if compression is None:
            with open(path, "rb") as f:
                return f.read(_SNIFF_BYTES)
        with _COMPRESSIONS[compression](str(path)) as f:
            return f.read(_SNIFF_BYTES)
    except DataError:
        raise
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as e:
        raise DataError(
            f"cannot decompress '{path.name}' ({e}); check the file is a valid {compression} archive"
        ) from e


def _sniff_delimiter(sample: str, ext: str) -> str:
    default = "\t" if ext in (".tsv", ".tab") else ("|" if ext == ".psv" else ",")
    # A sample cut in the middle of a row (or a quoted field) confuses the sniffer; keep whole lines only.
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]
    text = "\n".join(lines[:200])
    if not text.strip():
        return default
    try:
        delimiter = csv.Sniffer().sniff(text, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        return default
    # The sniffer guesses a delimiter even for single-column files; trust it only if it appears in the header.
    return delimiter if delimiter in lines[0] else default


def _read_delimited(path: Path, label: str, compression: str | None, ext: str) -> pd.DataFrame:
    head = _head_bytes(path, compression)
    if not head.strip():
        raise DataError(f"file '{label}' is empty; it has no header and no rows")
    last_error: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            sample = head.decode(encoding)
        except UnicodeDecodeError:
            # The sample may end inside a multi-byte character; drop up to 3 trailing bytes before giving up.
            try:
                sample = head[:-3].decode(encoding)
            except UnicodeDecodeError as e:
                last_error = e
                continue
        delimiter = _sniff_delimiter(sample, ext)
        try:
            df = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                compression="infer",
                na_values=list(NA_STRINGS),
                keep_default_na=False,
                skipinitialspace=True,
                low_memory=False,
            )
        except UnicodeDecodeError as e:
            last_error = e
            continue
        except pd.errors.EmptyDataError as e:
            raise DataError(f"file '{label}' is empty; it has no header and no rows") from e
        except (pd.errors.ParserError, ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(
                f"cannot parse '{label}' as delimited text (delimiter {delimiter!r}): {_first_line(e)}; "
                "check that every row has the same number of fields"
            ) from e
        logger.debug("read %s: delimiter=%r encoding=%s shape=%s", label, delimiter, encoding, df.shape)
        return df
    raise DataError(f"cannot decode '{label}' as text ({last_error}); save it as UTF-8 and try again")


def _read_json(path: Path, label: str, ext: str) -> pd.DataFrame:
    attempts = (True,) if ext in (".jsonl", ".ndjson") else (False, True)
    last_error: Exception | None = None
    for lines in attempts:
        try:
            df = pd.read_json(path, lines=lines, compression="infer")
        except ValueError as e:
            last_error = e
            continue
        return _na_strings_to_nan(df)
    raise DataError(
        f"cannot parse '{label}' as JSON ({_first_line(last_error)}); "
        "it must hold a list of records or one JSON object per line"
    )


def _read_parquet(path: Path, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as e:
        raise DataError(f"reading '{label}' needs pyarrow; install it with `pip install pyarrow`") from e
    except Exception as e:  # pyarrow raises its own ArrowInvalid / OSError family for corrupt files
        raise DataError(f"cannot parse '{label}' as Parquet ({_first_line(e)}); check the file is not corrupt") from e


def _read_excel(path: Path, label: str, ext: str) -> pd.DataFrame:
    engine = "openpyxl" if ext == ".xlsx" else "xlrd"
    if importlib.util.find_spec(engine) is None:
        raise DataError(f"reading Excel file '{label}' needs {engine}; install it with `pip install {engine}`")
    try:
        return pd.read_excel(path, engine=engine)
    except Exception as e:  # engines raise a variety of errors for corrupt workbooks
        raise DataError(f"cannot parse '{label}' as Excel ({_first_line(e)}); check the file is not corrupt") from e


def _na_strings_to_nan(df: pd.DataFrame) -> pd.DataFrame:
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_object_dtype(s.dtype) or isinstance(s.dtype, pd.StringDtype):
            mask = s.isin(NA_STRINGS)
            if mask.any():
                df[c] = s.mask(mask)
    return df


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else "unknown error"
    return text.splitlines()[0] if text else type(error).__name__


# --- in-memory objects -----------------------------------------------------------------------------------------


def _read_object(source: Any, label: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy(deep=False)
    if isinstance(source, pd.Series):
        return source.to_frame(name=source.name if source.name is not None else "x0")
    module = type(source).__module__ or ""
    if module.startswith("polars"):
        # polars is optional: recognise it by module name so it is only needed when the user passes polars data.
        if hasattr(source, "collect") and not hasattr(source, "to_pandas"):
            source = source.collect()  # a LazyFrame
        return source.to_pandas()
    if module.startswith("pyarrow") and hasattr(source, "to_pandas"):
        return source.to_pandas()
    if isinstance(source, Mapping):
        try:
            return pd.DataFrame(dict(source))
        except ValueError as e:
            raise DataError(
                f"cannot build a table from the dict {label!r} ({_first_line(e)}); "
                "give every column the same number of values"
            ) from e
    if isinstance(source, np.ndarray):
        if source.ndim != 2:
            raise DataError(
                f"{label!r} is a {source.ndim}-D array; pass a 2-D array of shape (rows, columns)"
            )
        return pd.DataFrame(source, columns=[f"x{i}" for i in range(source.shape[1])])
    raise DataError(
        f"cannot read {label!r} of type {type(source).__name__}; pass a file path, a pandas or polars DataFrame, "
        "a pyarrow Table, a dict of columns or a 2-D numpy array"
    )


def _check_shape(df: pd.DataFrame, label: str) -> pd.DataFrame:
    if df.shape[1] == 0:
        raise DataError(f"{label!r} has no columns; check that it holds a table with a header row")
    if df.shape[0] == 0:
        raise DataError(f"{label!r} has columns but no rows; it needs at least one row of data")
    if not isinstance(df.columns.dtype, pd.StringDtype) and not all(isinstance(c, str) for c in df.columns):
        df = df.set_axis([str(c) for c in df.columns], axis=1)  # a new frame: the caller's keeps its names
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    if duplicated:
        names = ", ".join(repr(c) for c in duplicated)
        raise DataError(f"{label!r} has duplicated column name(s) {names}; give every column a unique name")
    return df
