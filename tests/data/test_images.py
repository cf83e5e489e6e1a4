from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import accelml.data.images as images_module
from accelml.data.images import (
    IMAGE_EXTENSIONS,
    ImageStore,
    arrays_to_frame,
    check_image_column,
    decode_image,
    image_size,
    image_stats,
    is_image_folder,
    is_image_path,
    load_image,
    parse_image_shape,
    pixels_to_frame,
    scan_image_folder,
)
from accelml.exceptions import ConfigError, DataError

Image = pytest.importorskip("PIL.Image")

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
RED = (200, 30, 10)


@pytest.fixture(autouse=True)
def fresh_store(monkeypatch: pytest.MonkeyPatch) -> ImageStore:
    """Each test gets its own process-wide store, so caching seen in one test never leaks into another."""
    store = ImageStore()
    monkeypatch.setattr(images_module, "STORE", store)
    return store


def save(path: Path, img: Any, **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)
    return path


def grey(height: int, width: int, value: int = 7) -> Any:
    return Image.fromarray(np.full((height, width), value, dtype=np.uint8))


def colour(height: int, width: int, rgb: tuple[int, int, int] = RED) -> Any:
    return Image.fromarray(np.tile(np.array(rgb, dtype=np.uint8), (height, width, 1)))


def noisy_bytes(fmt: str, size: int = 64) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def write_classes(root: Path, classes: dict[str, int], ext: str = ".png") -> None:
    for name, count in classes.items():
        for i in range(count):
            save(root / name / f"{i}{ext}", grey(3, 3, i))


# --- is_image_path ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a.jpg", "b.JPEG", "c.Png", Path("d/e.bmp"), "f.webp", "g.GIF"])
def test_image_paths_are_recognised_case_insensitively(value: Any) -> None:
    assert is_image_path(value)


@pytest.mark.parametrize("value", ["a.csv", "png", "a.png.txt", "", 3, None, b"a.png"])
def test_other_values_are_not_image_paths(value: Any) -> None:
    assert not is_image_path(value)


# --- decoding files: formats and modes --------------------------------------------------------------------------


def palette_image(colours: list[tuple[int, int, int]], indices: np.ndarray) -> Any:
    img = Image.new("P", indices.shape[::-1])
    img.putpalette([c for rgb in colours for c in rgb])
    img.putdata(indices.ravel().tolist())
    return img


def test_grey_png_keeps_one_channel_and_its_values(tmp_path: Path) -> None:
    out = decode_image(save(tmp_path / "g.png", grey(5, 7, 42)))
    assert out.shape == (5, 7, 1) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert (out == 42).all()


@pytest.mark.parametrize(
    ("fmt", "ext", "exact"), [("PNG", ".png", True), ("BMP", ".bmp", True), ("JPEG", ".jpg", False)]
)
def test_colour_files_give_three_channels(tmp_path: Path, fmt: str, ext: str, exact: bool) -> None:
    out = decode_image(save(tmp_path / f"c{ext}", colour(6, 4), format=fmt))
    assert out.shape == (6, 4, 3)
    if exact:
        assert (out == RED).all()
    else:  # JPEG is lossy
        assert np.abs(out.astype(int) - RED).max() <= 8


def test_lossless_webp(tmp_path: Path) -> None:
    out = decode_image(save(tmp_path / "c.webp", colour(3, 5), lossless=True))
    assert out.shape == (3, 5, 3) and (out == RED).all()


def test_grey_jpeg_stays_grey(tmp_path: Path) -> None:
    out = decode_image(save(tmp_path / "g.jpg", grey(8, 8, 100)))
    assert out.shape == (8, 8, 1) and abs(int(out.mean()) - 100) <= 2


def test_rgba_is_composited_over_white(tmp_path: Path) -> None:
    pixels = np.zeros((2, 2, 4), dtype=np.uint8)
    pixels[0, 0] = (*RED, 255)  # opaque
    pixels[0, 1] = (0, 0, 0, 0)  # transparent black
    pixels[1, 0] = (0, 0, 0, 128)  # half-transparent black
    out = decode_image(save(tmp_path / "a.png", Image.fromarray(pixels, mode="RGBA")))
    assert out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == list(RED)
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() == [127, 127, 127]


def test_grey_with_alpha_is_composited_to_grey(tmp_path: Path) -> None:
    pixels = np.array([[[0, 255], [0, 0]]], dtype=np.uint8)  # opaque black, transparent black
    out = decode_image(save(tmp_path / "la.png", Image.fromarray(pixels, mode="LA")))
    assert out.shape == (1, 2, 1)
    assert out.ravel().tolist() == [0, 255]


def test_palette_image_gives_its_colours(tmp_path: Path) -> None:
    img = palette_image([RED, (0, 0, 255)], np.array([[0, 1], [1, 0]]))
    out = decode_image(save(tmp_path / "p.png", img))
    assert out.shape == (2, 2, 3)
    assert out[0, 0].tolist() == list(RED) and out[0, 1].tolist() == [0, 0, 255]


def test_palette_of_greys_gives_one_channel(tmp_path: Path) -> None:
    img = palette_image([(0, 0, 0), (90, 90, 90)], np.array([[0, 1]]))
    out = decode_image(save(tmp_path / "p.png", img))
    assert out.shape == (1, 2, 1) and out.ravel().tolist() == [0, 90]


def test_palette_transparency_is_composited_over_white(tmp_path: Path) -> None:
    img = palette_image([(0, 0, 0), RED], np.array([[0, 1]]))
    out = decode_image(save(tmp_path / "t.png", img, transparency=0))
    assert out.shape == (1, 2, 3)
    assert out[0, 0].tolist() == [255, 255, 255] and out[0, 1].tolist() == list(RED)


def test_sixteen_bit_grey_is_stretched_to_its_range(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[1000, 2000], [3000, 5000]], dtype=np.uint16))
    path = save(tmp_path / "16.png", img)
    assert Image.open(path).mode.startswith("I")
    out = decode_image(path)
    assert out.shape == (2, 2, 1) and out.ravel().tolist() == [0, 64, 128, 255]


def test_one_bit_image_gives_zero_and_255(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[True, False, True]]))
    path = save(tmp_path / "b.bmp", img)
    assert Image.open(path).mode == "1"
    assert decode_image(path).ravel().tolist() == [255, 0, 255]


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [grey(4, 4, 10), grey(4, 4, 200)]
    path = save(tmp_path / "a.gif", frames[0], save_all=True, append_images=frames[1:])
    assert Image.open(path).n_frames == 2
    out = decode_image(path)
    assert out.shape == (4, 4, 1) and (out == 10).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    out = decode_image(save(tmp_path / "c.jpg", colour(8, 8).convert("CMYK")))
    assert out.shape == (8, 8, 3) and np.abs(out.astype(int) - RED).max() <= 8


def test_bytes_decode_like_the_file(tmp_path: Path) -> None:
    path = save(tmp_path / "c.png", colour(3, 2))
    assert np.array_equal(decode_image(path.read_bytes()), decode_image(str(path)))


# --- decoding files: failures -----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.png.*does not exist"):
        decode_image(tmp_path / "nope.png")


def test_folder_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        decode_image(tmp_path)


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "junk.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match=r"junk\.png: is not a readable image \(") as info:
        decode_image(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_file_is_detected_but_its_size_is_still_read(tmp_path: Path, fmt: str, ext: str) -> None:
    data = noisy_bytes(fmt)
    path = tmp_path / f"cut{ext}"
    path.write_bytes(data[: len(data) // 2])
    assert image_size(path) == (64, 64)  # the header is intact
    with pytest.raises(DataError, match=rf"cut\{ext}: is not a readable image"):
        decode_image(path)


def test_name_replaces_the_path_in_messages() -> None:
    with pytest.raises(DataError, match=r"^upload\.png: is not a readable image"):
        decode_image(b"not an image at all", name="upload.png")


def test_too_many_pixels_are_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(tmp_path / "big.png", grey(30, 40))
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded a refused image"))
    expected = r"^big\.png: 40x30 pixels is too large to decode safely \(limit 1,000\); resize it first$"
    with pytest.raises(DataError, match=expected):
        decode_image(path, name="big.png", max_pixels=1000)


def test_store_reads_the_module_limit_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(tmp_path / "big.png", grey(30, 40))
    monkeypatch.setattr(images_module, "MAX_PIXELS", 100)
    with pytest.raises(DataError, match="too large"):
        load_image(str(path))


@pytest.mark.parametrize("pillow_limit", [400, 1000])  # past twice Pillow's limit it raises; past it, it warns
def test_pillow_decompression_bomb_checks_become_data_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pillow_limit: int
) -> None:
    path = save(tmp_path / "bomb.png", grey(30, 40))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    with pytest.raises(DataError, match=r"bomb\.png: is too large to decode safely"):
        decode_image(path, max_pixels=10**9)


def test_unknown_source_type() -> None:
    with pytest.raises(DataError, match="cannot decode a dict"):
        decode_image({"a": 1})


def test_image_size_reads_width_then_height(tmp_path: Path) -> None:
    assert image_size(save(tmp_path / "s.png", grey(3, 9))) == (9, 3)
    with pytest.raises(DataError, match="does not exist"):
        image_size(tmp_path / "none.png")


# --- decoding arrays --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[1, 2], [3, 4]], dtype=np.uint8), [[[1], [2]], [[3], [4]]]),
        (np.array([[True, False]]), [[[255], [0]]]),
        (np.array([[0.0, 0.5, 1.0]]), [[[0], [128], [255]]]),
        (np.array([[-5, 2.6, 300]]), [[[0], [3], [255]]]),
        (np.array([[70000, 12]], dtype=np.int64), [[[255], [12]]]),
        (np.array([[[10, 255], [10, 0]]], dtype=np.uint8), [[[10], [255]]]),  # grey + alpha
        (np.array([[[1, 2, 3, 0]]], dtype=np.uint8), [[[255, 255, 255]]]),  # RGBA, transparent
        (np.array([[[1, 2, 3, 255]]], dtype=np.uint8), [[[1, 2, 3]]]),  # RGBA, opaque
    ],
)
def test_arrays_are_normalised(array: np.ndarray, expected: list[Any]) -> None:
    out = decode_image(array)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert out.tolist() == expected


def test_channel_first_arrays_are_transposed() -> None:
    array = np.arange(3 * 5 * 6, dtype=np.uint8).reshape(3, 5, 6)
    out = decode_image(array)
    assert out.shape == (5, 6, 3) and out.flags.c_contiguous
    assert out[:, :, 1].tolist() == array[1].tolist()


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(5), "must have shape"),
        (np.zeros((2, 3, 4, 5)), "must have shape"),
        (np.zeros((5, 6, 7)), "got shape \\(5, 6, 7\\)"),
        (np.zeros((0, 4)), "empty"),
        (np.array([["a", "b"]]), "must hold numbers"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1 + 2j]]), "must hold numbers"),
    ],
)
def test_bad_arrays_name_the_image(array: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=rf"^photo 3: .*{message}"):
        decode_image(array, name="photo 3")


# --- the store --------------------------------------------------------------------------------------------------


def counting_decoder(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = images_module.decode_image

    def decode(source: Any, **kwargs: Any) -> np.ndarray:
        calls.append(str(source))
        return real(source, **kwargs)

    monkeypatch.setattr(images_module, "decode_image", decode)
    return calls


def test_store_decodes_once_and_serves_a_read_only_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_decoder(monkeypatch)
    path = save(tmp_path / "a.png", grey(4, 5))
    store = ImageStore()
    first = store.get(str(path))
    second = store.get(path)  # a Path and a str name the same entry
    assert calls == [str(path)] and first is second
    assert store.nbytes == 20 and len(store) == 1
    assert not first.flags.writeable
    store.clear()
    assert store.nbytes == 0 and len(store) == 0
    store.get(str(path))
    assert len(calls) == 2


def test_store_evicts_the_least_recently_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(save(tmp_path / f"{i}.png", grey(10, 10, i))) for i in range(3)]  # 100 bytes each
    store = ImageStore(max_bytes=250)
    store.get(paths[0])
    store.get(paths[1])
    store.get(paths[0])  # now 1 is the least recently used
    store.get(paths[2])
    assert store.nbytes == 200
    calls = counting_decoder(monkeypatch)
    store.get(paths[0])
    store.get(paths[2])
    assert calls == []
    assert int(store.get(paths[1])[0, 0, 0]) == 1 and calls == [paths[1]]


def test_an_image_larger_than_the_store_is_not_kept(tmp_path: Path) -> None:
    store = ImageStore(max_bytes=10)
    assert store.get(str(save(tmp_path / "a.png", grey(4, 4)))).shape == (4, 4, 1)
    assert store.nbytes == 0


def test_load_image_uses_the_process_store(tmp_path: Path, fresh_store: ImageStore) -> None:
    path = str(save(tmp_path / "a.png", colour(2, 2)))
    assert load_image(path).shape == (2, 2, 3)
    assert len(fresh_store) == 1
    assert load_image(np.zeros((2, 3))).shape == (2, 3, 1)
    with pytest.raises(DataError, match="must be a file path or an array"):
        load_image(42)


# --- folders ----------------------------------------------------------------------------------------------------


def test_scan_finds_classes_nested_files_and_counts_the_rest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "photos"
    write_classes(root, {"dog": 2, "cat": 1})
    save(root / "cat" / "deeper" / "x.JPG", colour(2, 2), format="JPEG")
    for junk in ["cat/notes.txt", "dog/more.txt", "dog/LICENSE", "dog/.DS_Store", "README.md"]:
        (root / junk).write_text("x")
    save(root / "__MACOSX" / "cat" / "._0.png", grey(1, 1))
    save(root / "dog" / ".cache" / "z.png", grey(1, 1))
    with caplog.at_level(logging.WARNING, logger="accelml.data.images"):
        scan = scan_image_folder(root)
    frame = scan.frame
    assert list(frame.columns) == ["image", "label"]
    assert frame["label"].tolist() == ["cat", "cat", "dog", "dog"]
    names = [Path(p).relative_to(root).as_posix() for p in frame["image"]]
    assert names == ["cat/0.png", "cat/deeper/x.JPG", "dog/0.png", "dog/1.png"]
    assert all(Path(p).is_absolute() for p in frame["image"])
    assert scan.ignored == {"": 1, ".md": 1, ".txt": 2}
    assert "ignored 4 files that are not images (2 .txt, " in caplog.text and "1 other" in caplog.text


def test_scan_uses_the_given_column_names_and_keeps_labels_as_text(tmp_path: Path) -> None:
    write_classes(tmp_path, {"0": 1, "1": 1})
    scan = scan_image_folder(tmp_path, target="digit", column="file")
    assert list(scan.frame.columns) == ["file", "digit"]
    assert scan.frame["digit"].tolist() == ["0", "1"] and scan.ignored == {}
    with pytest.raises(ConfigError, match="both named 'x'"):
        scan_image_folder(tmp_path, target="x", column="x")


def test_loose_images_beside_class_folders_are_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_classes(tmp_path, {"a": 1, "b": 1})
    save(tmp_path / "stray.png", grey(2, 2))
    with caplog.at_level(logging.WARNING, logger="accelml.data.images"):
        scan = scan_image_folder(tmp_path)
    assert len(scan.frame) == 2 and "1 image files lying outside the class subfolders" in caplog.text


def test_scan_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'.*missing' does not exist"):
        scan_image_folder(tmp_path / "missing")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        scan_image_folder(tmp_path / "f.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".hidden").write_text("x")
    with pytest.raises(DataError, match=r"'.*empty' is empty"):
        scan_image_folder(empty)


def test_images_directly_in_the_folder_ask_for_class_subfolders(tmp_path: Path) -> None:
    for i in range(3):
        save(tmp_path / f"{i}.png", grey(2, 2))
    with pytest.raises(DataError, match="holds 3 image files but no class subfolders; put each class's images in a"):
        scan_image_folder(tmp_path)


def test_a_folder_of_other_files_has_no_class_subfolders(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(DataError, match=r"has no class subfolders \(and no images\)"):
        scan_image_folder(tmp_path)


def test_one_class_is_not_enough(tmp_path: Path) -> None:
    write_classes(tmp_path, {"cat": 2})
    with pytest.raises(DataError, match="found only one class folder 'cat'; classification needs at least two"):
        scan_image_folder(tmp_path)


def test_a_class_folder_without_images(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    write_classes(root, {"dog": 1})
    (root / "cat").mkdir()
    (root / "cat" / "readme.txt").write_text("x")
    expected = rf"class folder '{root / 'cat'}' has no image file \(\.jpg, \.jpeg, \.png, \.\.\.\)"
    with pytest.raises(DataError, match=expected):
        scan_image_folder(root)


def test_is_image_folder(tmp_path: Path) -> None:
    write_classes(tmp_path / "yes", {"a": 1, "b": 1})
    save(tmp_path / "deep" / "a" / "sub" / "x.png", grey(1, 1))
    save(tmp_path / "flat" / "x.png", grey(1, 1))
    (tmp_path / "text" / "a").mkdir(parents=True)
    (tmp_path / "text" / "a" / "x.txt").write_text("x")
    save(tmp_path / "hidden" / ".a" / "x.png", grey(1, 1))
    assert is_image_folder(tmp_path / "yes") and is_image_folder(str(tmp_path / "deep"))
    assert not is_image_folder(tmp_path / "flat")
    assert not is_image_folder(tmp_path / "text")
    assert not is_image_folder(tmp_path / "hidden")
    assert not is_image_folder(tmp_path / "flat" / "x.png")
    assert not is_image_folder(None)


# --- check_image_column -----------------------------------------------------------------------------------------


def test_relative_paths_are_resolved_against_the_table_folder(tmp_path: Path, fresh_store: ImageStore) -> None:
    save(tmp_path / "imgs" / "a.png", grey(2, 2))
    save(tmp_path / "imgs" / "b.png", colour(2, 3))
    frame = pd.DataFrame({"image": ["imgs/a.png", str(tmp_path / "imgs" / "b.png")], "y": [0, 1]}, index=[10, 20])
    checked = check_image_column(frame, "image", base=tmp_path)
    assert checked.frame["image"].tolist() == [str(tmp_path / "imgs" / "a.png"), str(tmp_path / "imgs" / "b.png")]
    assert checked.frame.index.tolist() == [10, 20] and checked.dropped == []
    assert frame["image"].tolist()[0] == "imgs/a.png"  # the input is not changed
    assert len(fresh_store) == 2 and fresh_store.nbytes == 4 + 18  # every image decoded once, now cached


def test_a_missing_file_names_its_row_and_where_it_looked(tmp_path: Path) -> None:
    save(tmp_path / "imgs" / "a.png", grey(2, 2))
    frame = pd.DataFrame({"image": ["imgs/a.png", "imgs/x.png", "imgs/y.png"]})
    expected = (
        rf"^data row 2: image 'imgs/x\.png' does not exist \(looked in {tmp_path / 'imgs' / 'x.png'}\); "
        r"1 more rows name missing files$"
    )
    with pytest.raises(DataError, match=expected):
        check_image_column(frame, "image", base=tmp_path)


def test_when_no_file_exists_the_base_folder_is_questioned(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"are the paths relative to '.*'\?"):
        check_image_column(pd.DataFrame({"image": ["a.png"]}), "image", base=tmp_path, name="train.csv")


@pytest.mark.parametrize("empty", [None, np.nan, "", "  "])
def test_an_empty_cell_names_its_row(tmp_path: Path, empty: Any) -> None:
    save(tmp_path / "a.png", grey(2, 2))
    frame = pd.DataFrame({"pic": ["a.png", "a.png", empty]})
    with pytest.raises(DataError, match=r"^train\.csv row 3: the image column 'pic' is empty"):
        check_image_column(frame, "pic", base=tmp_path, name="train.csv")


def test_an_absent_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no image column 'image'; columns are a, b"):
        check_image_column(pd.DataFrame({"a": [1], "b": [2]}), "image")


def corrupt_table(tmp_path: Path, n_good: int, n_bad: int) -> pd.DataFrame:
    save(tmp_path / "good.png", grey(2, 2))
    for i in range(n_bad):
        (tmp_path / f"bad{i}.png").write_bytes(b"\x89PNG broken")
    names = ["good.png"] * n_good + [f"bad{i}.png" for i in range(n_bad)]
    return pd.DataFrame({"image": names, "y": range(len(names))})


def test_a_few_corrupt_images_are_dropped_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = corrupt_table(tmp_path, n_good=99, n_bad=1)
    with caplog.at_level(logging.WARNING, logger="accelml.data.images"):
        checked = check_image_column(frame, "image", base=tmp_path)
    assert len(checked.frame) == 99 and 99 not in checked.frame.index
    [(position, path, reason)] = checked.dropped
    assert position == 99 and path == str(tmp_path / "bad0.png") and "not a readable image" in reason
    [record] = [r for r in caplog.records if r.name == "accelml.data.images"]
    assert "dropped 1 of 100 rows" in record.getMessage() and "row 100: " in record.getMessage()


def test_many_corrupt_images_are_an_error_listing_the_first(tmp_path: Path) -> None:
    frame = corrupt_table(tmp_path, n_good=3, n_bad=7)
    with pytest.raises(DataError, match=r"^data: 7 of 10 images cannot be used .*row 4: .*bad0\.png.*; and 2 more$"):
        check_image_column(frame, "image", base=tmp_path)


def test_no_good_image_left_is_an_error_whatever_the_fraction(tmp_path: Path) -> None:
    frame = corrupt_table(tmp_path, n_good=0, n_bad=1)
    with pytest.raises(DataError, match="1 of 1 images cannot be used"):
        check_image_column(frame, "image", base=tmp_path, max_bad_fraction=1.0)


def test_a_column_of_arrays_is_normalised(tmp_path: Path) -> None:
    cells = [np.zeros((3, 3)), np.ones((3, 2, 3), dtype=bool)]
    checked = check_image_column(pd.DataFrame({"image": cells}), "image")
    first, second = checked.frame["image"]
    assert first.shape == (3, 3, 1) and second.shape == (3, 2, 3) and second.dtype == np.uint8
    assert int(second.max()) == 255


def test_a_bad_array_counts_as_a_bad_image() -> None:
    frame = pd.DataFrame({"image": [np.zeros((2, 2)), np.zeros(4)]})
    with pytest.raises(DataError, match=r"data row 2: an image array must have shape"):
        check_image_column(frame, "image")


# --- arrays_to_frame --------------------------------------------------------------------------------------------


def test_arrays_to_frame_from_a_stack_with_labels() -> None:
    stack = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    frame = arrays_to_frame(stack, y=pd.Series(["a", "b"], index=[5, 6]))
    assert list(frame.columns) == ["image", "label"] and frame["label"].tolist() == ["a", "b"]
    assert frame["image"].dtype == object and frame["image"][1].shape == (3, 4, 1)
    assert frame["image"][1][:, :, 0].tolist() == stack[1].tolist()


def test_arrays_to_frame_from_a_colour_stack_and_a_list_of_sizes() -> None:
    colour_frame = arrays_to_frame(np.zeros((2, 4, 4, 3)), column="pic")
    assert list(colour_frame.columns) == ["pic"] and colour_frame["pic"][0].shape == (4, 4, 3)
    mixed = arrays_to_frame([np.zeros((2, 3)), np.zeros((5, 4, 3))], y=[1, 2])
    assert [a.shape for a in mixed["image"]] == [(2, 3, 1), (5, 4, 3)]


@pytest.mark.parametrize(
    "images", [np.zeros((4, 4)), np.zeros((1, 2, 3, 4, 5)), [np.zeros(3)], [], "a.png", [np.zeros((2, 2, 2, 2))]]
)
def test_arrays_to_frame_says_which_shapes_it_accepts(images: Any) -> None:
    with pytest.raises(DataError, match=r"\(n, H, W\) or \(n, H, W, C\)"):
        arrays_to_frame(images)


def test_arrays_to_frame_needs_one_label_per_image() -> None:
    with pytest.raises(DataError, match="^y has 2 values but there are 3 images; give one label per image$"):
        arrays_to_frame(np.zeros((3, 2, 2)), y=[0, 1])
    with pytest.raises(DataError, match=r"^y has shape \(3, 1\)"):
        arrays_to_frame(np.zeros((3, 2, 2)), y=np.zeros((3, 1)))


# --- pixel tables and shapes ------------------------------------------------------------------------------------


def test_pixels_to_frame_folds_numeric_columns_in_order() -> None:
    table = pd.DataFrame(
        {"id": ["r1", "r2"], "p0": [0, 10], "label": [1, 2], "p1": [1, 11], "p2": [2, 12], "p3": [300, -1]},
        index=[7, 8],
    )
    frame, pixels = pixels_to_frame(table, "2x2", exclude=["label"])
    assert pixels == ["p0", "p1", "p2", "p3"]
    assert list(frame.columns) == ["id", "label", "image"] and frame.index.tolist() == [7, 8]
    assert frame["image"][8].shape == (2, 2, 1) and frame["image"][8].ravel().tolist() == [10, 11, 12, 0]
    assert frame["image"][7].ravel().tolist() == [0, 1, 2, 255]


def test_pixels_between_zero_and_one_are_scaled_for_the_whole_table() -> None:
    table = pd.DataFrame({"a": [0.0, 0.5], "b": [1.0, 0.2]})
    frame, _ = pixels_to_frame(table, (1, 2))
    assert frame["image"][0].ravel().tolist() == [0, 255] and frame["image"][1].ravel().tolist() == [128, 51]


def test_pixels_to_frame_colour_and_channel_first() -> None:
    values = np.arange(12)
    table = pd.DataFrame([values], columns=[f"p{i}" for i in range(12)])
    last, _ = pixels_to_frame(table, "2x2x3")
    assert last["image"][0][0, 0].tolist() == [0, 1, 2]
    first, _ = pixels_to_frame(table, "3x2x2")  # read as height 3, width 2, grey + alpha
    assert first["image"][0].shape == (3, 2, 1)


def test_pixel_count_mismatch_says_what_it_needs() -> None:
    table = pd.DataFrame(np.zeros((2, 783)), columns=[f"p{i}" for i in range(783)])
    table["label"] = [0, 1]
    expected = r"^image_shape 28x28 needs 784 pixel columns, the table has 783 numeric columns besides 'label'$"
    with pytest.raises(DataError, match=expected):
        pixels_to_frame(table, "28x28", exclude=("label",))
    wider = table.assign(id=[5, 6], extra=[1, 2])
    with pytest.raises(DataError, match="785 numeric columns besides 'label'; list the other numeric columns in"):
        pixels_to_frame(wider, "28x28", exclude="label")


def test_a_missing_pixel_names_its_row_and_column() -> None:
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, np.nan]})
    with pytest.raises(DataError, match="data row 2: pixel column 'b' is missing"):
        pixels_to_frame(table, "1x2")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("28x28", (28, 28)), ("32X32x3", (32, 32, 3)), ("(8, 8)", (8, 8)), ((28, 28), (28, 28)), ([4, 5, 1], (4, 5, 1))],
)
def test_parse_image_shape(given: Any, expected: tuple[int, ...]) -> None:
    assert parse_image_shape(given) == expected


@pytest.mark.parametrize("given", ["28", "28x", "0x28", "ax28", "2x2x2x2", (28,), (2.5, 3), (True, 3), "", 28])
def test_parse_image_shape_refuses_the_rest(given: Any) -> None:
    with pytest.raises(ConfigError, match="HEIGHTxWIDTH"):
        parse_image_shape(given)


def test_image_stats() -> None:
    image = np.array([[[0], [255]]], dtype=np.uint8)
    stats = image_stats(image)
    assert stats == {"height": 1.0, "width": 2.0, "channels": 1.0, "brightness": 127.5, "contrast": 127.5}
    assert image_stats(np.zeros((3, 4)))["channels"] == 1.0


# --- real images ------------------------------------------------------------------------------------------------


def test_real_digits_written_as_class_folders_round_trip(tmp_path: Path) -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    root = tmp_path / "digits"
    written: dict[str, np.ndarray] = {}
    for digit in range(10):
        for i in np.flatnonzero(digits.target == digit)[:5]:
            pixels = (digits.images[i] * 16).clip(0, 255).astype(np.uint8)
            path = save(root / str(digit) / f"{i:04d}.png", Image.fromarray(pixels))
            written[str(path)] = pixels
    assert is_image_folder(root)
    scan = scan_image_folder(root)
    assert len(scan.frame) == 50 and scan.frame["label"].value_counts().tolist() == [5] * 10
    checked = check_image_column(scan.frame, "image")
    assert checked.dropped == []
    for path, label in zip(checked.frame["image"], checked.frame["label"]):
        assert Path(path).parent.name == label
        assert np.array_equal(load_image(path)[:, :, 0], written[path])


def test_real_digits_table_folds_into_images() -> None:
    path = DATASETS / "digits_8x8" / "digits.csv"
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/datasets is absent)")
    table = pd.read_csv(path, nrows=40)
    frame, pixels = pixels_to_frame(table, "8x8", exclude=["target"])
    assert pixels[0] == "pixel_0_0" and len(pixels) == 64
    assert frame["image"][0].shape == (8, 8, 1)
    assert frame["image"][0][0, 2, 0] == table.loc[0, "pixel_0_2"]  # values 0..16 stay as they are
    assert image_stats(frame["image"][0])["brightness"] == pytest.approx(table.loc[0, pixels].mean())


def test_every_listed_extension_is_an_image_path() -> None:
    assert all(is_image_path(f"x{ext.upper()}") for ext in IMAGE_EXTENSIONS)
