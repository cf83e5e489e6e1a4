"""Image classification end to end: every input form (a folder of class subfolders, a table of paths, NumPy images,
pixel columns with an image shape), prediction on every form, the artifact round trip and the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import accelml
from accelml.cli import app
from accelml.exceptions import DataError
from accelml.schema import ColumnRole

pytest.importorskip("PIL")
from PIL import Image

SHARED_DIGITS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "digits_8x8"
QUICK = {"time_limit": 20, "n_jobs": 1, "models": ["linear"], "n_splits": 2, "max_trials": 2}


def _digits(n_per_class: int = 30, classes: tuple[int, ...] = (0, 1, 7)) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == c)[:n_per_class] for c in classes])
    return (d.images[keep] * 16).clip(0, 255).astype(np.uint8), d.target[keep]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 real 8x8 digits (0, 1 and 7) as PNG files in one subfolder per class, and a stray text file."""
    root = tmp_path_factory.mktemp("digits") / "photos"
    images, labels = _digits()
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (root / f"digit_{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / f"digit_{label}" / f"{i:03d}.png")
    (root / "digit_0" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def fitted(folder: Path) -> accelml.AutoML:
    return accelml.AutoML(**QUICK).fit(folder)


def test_a_folder_of_class_subfolders_is_learned_with_the_target_implied(fitted: accelml.AutoML, folder: Path) -> None:
    schema = fitted.schema_
    assert schema.target == "label" and schema.task == "multiclass"
    assert [c.role for c in schema.features] == [ColumnRole.IMAGE]
    assert list(fitted.classes_) == ["digit_0", "digit_1", "digit_7"]
    predicted = fitted.predict(folder)
    truth = np.array([p.parent.name for p in sorted(folder.rglob("*.png"))])
    assert len(predicted) == 90  # the text file is not an image
    assert np.mean(predicted == truth) > 0.8


def test_every_prediction_form_gives_the_same_answer(fitted: accelml.AutoML, folder: Path, tmp_path: Path) -> None:
    paths = sorted(folder.rglob("*.png"))
    expected = fitted.predict_proba(folder).to_numpy()
    assert np.allclose(fitted.predict_proba([str(p) for p in paths]).to_numpy(), expected)
    arrays = np.stack([np.asarray(Image.open(p)) for p in paths])
    assert np.allclose(fitted.predict_proba(arrays).to_numpy(), expected)
    # a table elsewhere whose path column is relative to the table's own folder
    table = tmp_path / "tables" / "new.csv"
    table.parent.mkdir()
    pd.DataFrame({"image": [str(Path("..") / p.relative_to(folder.parent)) for p in paths]}).to_csv(table, index=False)
    moved = tmp_path / "photos"
    moved.symlink_to(folder, target_is_directory=True)
    assert np.allclose(fitted.predict_proba(str(table)).to_numpy(), expected)


def test_a_table_of_relative_paths_is_read_from_its_folder(folder: Path, tmp_path: Path) -> None:
    paths = sorted(folder.rglob("*.png"))
    table = tmp_path / "train.csv"
    (tmp_path / "imgs").symlink_to(folder, target_is_directory=True)
    frame = pd.DataFrame({"file": [str(Path("imgs") / p.relative_to(folder)) for p in paths],
                          "digit": [p.parent.name for p in paths]})
    frame.to_csv(table, index=False)
    automl = accelml.AutoML(**QUICK).fit(str(table), target="digit")
    assert automl.schema_.column("file").role is ColumnRole.IMAGE
    frame.loc[16, "file"] = "imgs/digit_0/missing.png"
    frame.to_csv(table, index=False)
    with pytest.raises(DataError, match=r"row 17.*missing\.png"):
        accelml.AutoML(**QUICK).fit(str(table), target="digit")


def test_numpy_images_and_labels() -> None:
    images, labels = _digits(20)
    automl = accelml.AutoML(**QUICK).fit(images, labels)
    assert automl.schema_.column("image").role is ColumnRole.IMAGE
    assert np.mean(automl.predict(images) == labels) > 0.8
    colour = np.repeat(images[..., None], 3, axis=3)  # the same digits in colour still read as digits
    assert np.mean(automl.predict(colour) == labels) > 0.8


def test_pixel_columns_with_an_image_shape(tmp_path: Path) -> None:
    images, labels = _digits(20)
    table = pd.DataFrame(images.reshape(len(images), -1), columns=[f"px{i}" for i in range(64)])
    table["digit"] = labels
    path = tmp_path / "pixels.csv"
    table.to_csv(path, index=False)
    automl = accelml.AutoML(**QUICK, image_shape="8x8").fit(str(path), target="digit")
    assert [c.name for c in automl.schema_.features] == ["image"]
    assert np.mean(automl.predict(table.drop(columns="digit")) == labels) > 0.8
    with pytest.raises(DataError, match="8x9 needs 72 pixel columns, the table has 64"):
        accelml.AutoML(**QUICK, image_shape=(8, 9)).fit(str(path), target="digit")


@pytest.mark.skipif(not SHARED_DIGITS.exists(), reason="../shared/datasets is not beside the repository")
def test_the_shared_digits_table_with_an_image_shape() -> None:
    frame = pd.read_csv(next(SHARED_DIGITS.glob("*.csv*"))).iloc[:300]
    automl = accelml.AutoML(**QUICK, image_shape=(8, 8)).fit(frame, target="target")
    assert automl.schema_.extra["image_shape"] == [8, 8]
    assert np.mean(automl.predict(frame.iloc[:100]) == frame["target"].iloc[:100]) > 0.8


def test_a_network_round_trips_through_the_artifact(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    automl = accelml.AutoML(time_limit=30, n_jobs=1, models=["cnn"], n_splits=2, max_trials=1).fit(folder)
    assert automl.leaderboard()["family"].iloc[0] == "cnn"
    saved = automl.save(tmp_path / "model")
    suffixes = {p.suffix for p in saved.rglob("*") if p.is_file()}
    assert ".safetensors" in suffixes and not suffixes & {".pkl", ".pickle", ".pt", ".pth", ".joblib"}
    restored = accelml.load(saved)
    np.testing.assert_allclose(restored.predict_proba(folder).to_numpy(), automl.predict_proba(folder).to_numpy(),
                               rtol=1e-5, atol=1e-6)
    trial = next(t for t in restored.result_.trials if t.spec.model == "cnn")
    assert trial.extra["curve"] and "px" in trial.extra["architecture"]


@pytest.mark.parametrize(("layout", "message"), [
    ({}, "empty"),
    ({"cat": 2}, "only one class"),
    ({"cat": 2, "dog": 0}, "no image"),
])
def test_bad_folders_get_one_clear_line(tmp_path: Path, layout: dict[str, int], message: str) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for name, count in layout.items():
        (root / name).mkdir()
        for i in range(count):
            Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(root / name / f"{i}.png")
    with pytest.raises(DataError, match=message) as error:
        accelml.AutoML(**QUICK).fit(root)
    assert "\n" not in str(error.value)


def test_the_command_line_fits_a_folder_and_predicts_one(folder: Path, tmp_path: Path) -> None:
    model, out = tmp_path / "model", tmp_path / "preds.csv"
    runner = CliRunner()
    result = runner.invoke(app, ["fit", str(folder), "--out", str(model), "--time-limit", "20", "--jobs", "1",
                                 "--models", "linear", "--n-splits", "2", "--max-trials", "2"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", str(model), str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["path", "label", "proba_digit_0", "proba_digit_1", "proba_digit_7"]
    assert len(preds) == 90 and preds["path"].str.endswith(".png").all()
    truth = preds["path"].map(lambda p: Path(p).parent.name)
    assert (preds["label"] == truth).mean() > 0.8
    np.testing.assert_allclose(preds.filter(like="proba_").sum(axis=1), 1.0, atol=1e-6)


SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist_5000"


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="../shared/datasets is not beside the repository")
def test_a_few_hundred_mnist_pngs_train_a_network(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    frame = pd.read_csv(next(SHARED_MNIST.glob("*.csv*")))
    train = frame.groupby("label").head(30)  # 300 images, 30 of each digit
    test = frame.drop(train.index).groupby("label").head(10)
    root = tmp_path / "mnist"
    for i, (label, pixels) in enumerate(zip(train["label"], train.drop(columns="label").to_numpy(), strict=True)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.reshape(28, 28).astype(np.uint8)).save(root / str(label) / f"{i}.png")
    automl = accelml.AutoML(time_limit=40, n_jobs=2, models=["cnn"], max_trials=1).fit(root)
    assert automl.result_.extra["validation"]["scheme"] != "holdout"  # under 500 images: k-fold
    images = test.drop(columns="label").to_numpy().reshape(-1, 28, 28).astype(np.uint8)
    assert np.mean(automl.predict(images).astype(int) == test["label"].to_numpy()) > 0.7
