from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import accelml.data.read as read_module
from accelml.data import read_table
from accelml.exceptions import DataError

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

SMALL = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})
CSV_TEXT = "a,b,c\n1,x,0.5\n2,y,1.5\n3,z,2.5\n"


def _assert_small(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["a", "b", "c"]
    assert df["a"].tolist() == [1, 2, 3]
    assert df["b"].tolist() == ["x", "y", "z"]
    assert df["c"].tolist() == [0.5, 1.5, 2.5]


# --- delimited text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "delimiter"),
    [("t.csv", ","), ("t.csv", ";"), ("t.tsv", "\t"), ("t.txt", "\t"), ("t.txt", "|"), ("t.dat", ";")],
)
def test_sniffs_delimiter(tmp_path: Path, filename: str, delimiter: str) -> None:
    path = tmp_path / filename
    path.write_text(CSV_TEXT.replace(",", delimiter))
    _assert_small(read_table(path))


def test_semicolon_file_with_decimal_commas_in_quotes(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text('name;city\n"Doe, John";Paris\n"Roe, Jane";Lyon\n')
    df = read_table(str(path))
    assert list(df.columns) == ["name", "city"]
    assert df["name"].tolist() == ["Doe, John", "Roe, Jane"]


def test_single_column_file(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("value\n1\n2\n3\n")
    assert read_table(path)["value"].tolist() == [1, 2, 3]


def test_na_strings_are_missing(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    path.write_text("a,b\n1,?\nNA,null\n3,ok\nN/A,None\n")
    df = read_table(path)
    assert df["a"].isna().tolist() == [False, True, False, True]
    assert df["b"].isna().tolist() == [True, True, False, True]


@pytest.mark.parametrize(
    ("suffix", "opener"),
    [(".csv.gz", gzip.open), (".csv.bz2", bz2.open), (".csv.xz", lzma.open)],
)
def test_compressed_text(tmp_path: Path, suffix: str, opener) -> None:
    path = tmp_path / f"t{suffix}"
    with opener(path, "wt") as f:
        f.write(CSV_TEXT.replace(",", ";"))
    _assert_small(read_table(path))


def test_zip_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("t.csv", CSV_TEXT)
    _assert_small(read_table(path))


def test_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("city,n\nBogotá,1\nZürich,2\nMontréal,3\n".encode("latin-1"))
    assert read_table(path)["city"].tolist() == ["Bogotá", "Zürich", "Montréal"]


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b\n1,é\n".encode())
    df = read_table(path)
    assert list(df.columns) == ["a", "b"]
    assert df["b"].tolist() == ["é"]


# --- other formats -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    SMALL.to_parquet(path)
    _assert_small(read_table(path))


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_json_lines(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    SMALL.to_json(path, orient="records", lines=True)
    _assert_small(read_table(path))


@pytest.mark.parametrize("lines", [False, True])
def test_json_records_or_lines(tmp_path: Path, lines: bool) -> None:
    path = tmp_path / "t.json"
    SMALL.to_json(path, orient="records", lines=lines)
    _assert_small(read_table(path))


def test_excel(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "t.xlsx"
    SMALL.to_excel(path, index=False)
    _assert_small(read_table(path))


def test_excel_without_openpyxl_names_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    monkeypatch.setattr(read_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"book\.xlsx.*pip install openpyxl"):
        read_table(path)


# --- in-memory objects -------------------------------------------------------------------------------------------


def test_pandas_frame_is_a_shallow_copy() -> None:
    out = read_table(SMALL)
    assert out is not SMALL
    out["new"] = 1
    assert "new" not in SMALL.columns
    _assert_small(out.drop(columns="new"))


def test_polars_frame() -> None:
    pl = pytest.importorskip("polars")
    _assert_small(read_table(pl.from_pandas(SMALL)))


def test_pyarrow_table() -> None:
    pa = pytest.importorskip("pyarrow")
    _assert_small(read_table(pa.Table.from_pandas(SMALL, preserve_index=False)))


def test_dict_of_columns() -> None:
    _assert_small(read_table({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]}))


def test_numpy_array_gets_x_names() -> None:
    df = read_table(np.arange(6).reshape(3, 2))
    assert list(df.columns) == ["x0", "x1"]
    assert df["x1"].tolist() == [1, 3, 5]


def test_non_string_column_names_become_strings() -> None:
    assert list(read_table(pd.DataFrame({0: [1], 1: [2]})).columns) == ["0", "1"]


# --- errors ------------------------------------------------------------------------------------------------------


def test_missing_file_suggests_close_names(tmp_path: Path) -> None:
    (tmp_path / "titanic.csv").write_text(CSV_TEXT)
    with pytest.raises(DataError, match=r"titanc\.csv' not found; did you mean 'titanic\.csv'"):
        read_table(tmp_path / "titanc.csv")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not found: the folder .*nowhere' does not exist"):
        read_table(tmp_path / "nowhere" / "t.csv")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=r"'empty\.csv' is empty"):
        read_table(path)


def test_header_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(DataError, match=r"'header\.csv' has columns but no rows"):
        read_table(path)


def test_ragged_text_is_unparseable(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(DataError, match=r"cannot parse 'ragged\.csv' as delimited text"):
        read_table(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet at all")
    with pytest.raises(DataError, match=r"cannot parse 'bad\.parquet' as Parquet"):
        read_table(path)


def test_corrupt_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(DataError, match=r"cannot parse 'bad\.json' as JSON"):
        read_table(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"not gzip data")
    with pytest.raises(DataError, match=r"bad\.csv\.gz"):
        read_table(path)


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x04")
    expected = r"'model\.pkl': unknown file extension '\.pkl'; supported are .*\.csv.*\.parquet"
    with pytest.raises(DataError, match=expected):
        read_table(path)


def test_no_columns() -> None:
    with pytest.raises(DataError, match="has no columns"):
        read_table(pd.DataFrame(), name="frame")


def test_no_rows_names_the_data() -> None:
    with pytest.raises(DataError, match="'train' has columns but no rows"):
        read_table(pd.DataFrame({"a": []}), name="train")


def test_ragged_dict() -> None:
    with pytest.raises(DataError, match="same number of values"):
        read_table({"a": [1, 2], "b": [1]})


def test_one_dimensional_array() -> None:
    with pytest.raises(DataError, match="1-D array"):
        read_table(np.arange(3))


def test_unsupported_object() -> None:
    with pytest.raises(DataError, match="of type int"):
        read_table(42)


def test_duplicated_column_names() -> None:
    with pytest.raises(DataError, match="duplicated column name"):
        read_table(pd.DataFrame([[1, 2]], columns=["a", "a"]))


# --- real data ---------------------------------------------------------------------------------------------------


def test_reads_titanic() -> None:
    path = DATASETS / "titanic" / "titanic_train.csv"
    if not path.exists():
        pytest.skip(f"shared dataset not found at {path}")
    df = read_table(path)
    assert df.shape == (891, 12)
    assert df["Name"].iloc[0] == "Braund, Mr. Owen Harris"
