"""Image columns in monitoring: profiled by size, tone and a thumbnail embedding (plain JSON), and new images compared
by the same measures; ``accelml monitor`` on a folder of images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from accelml import AutoML
from accelml.cli.errors import guarded
from accelml.cli.monitor import monitor
from accelml.data.sources import image_frame
from accelml.monitor import build_profile, check_drift, check_model_drift
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema

MEASURES = ["height", "width", "channels", "brightness", "contrast", "embedding"]


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images * 16).clip(0, 255).astype(np.uint8), digits.target


def _resized(images: np.ndarray, side: int) -> list[np.ndarray]:
    from PIL import Image

    return [np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR)) for image in images]


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray]:
    images, _ = _digits()
    order = np.random.default_rng(0).permutation(len(images))
    return images[order[:600]], images[order[600:900]]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema([ColumnSpec("image", ColumnRole.IMAGE, "str")], target="label", task="multiclass",
                  classes=list(range(10)))


@pytest.fixture(scope="module")
def profile(split, schema) -> dict:
    return build_profile(image_frame(list(split[0]), column="image"), schema)


def _measures(report, column: str = "image") -> dict[str, dict]:
    return {m["measure"]: m for m in report.images[column]["measures"]}


def test_image_column_is_profiled_by_its_images_and_round_trips_through_json(profile, split, schema) -> None:
    summary = profile["columns"]["image"]
    assert summary["kind"] == "image" and summary["n_images"] == 600
    assert summary["measures"]["height"]["mean"] == 8.0 and summary["measures"]["channels"]["mean"] == 1.0
    assert 0 < summary["measures"]["brightness"]["mean"] < 255
    assert len(summary["embedding"]["mean"]) == len(summary["embedding"]["std"]) == 64
    assert "categories" not in summary  # not a category per path

    text = json.dumps(profile, allow_nan=False)
    again = json.loads(text)
    assert again == profile
    new = image_frame(list(split[1]), column="image")
    assert check_drift(again, new, schema).to_dict() == check_drift(profile, new, schema).to_dict()


def test_held_out_images_of_the_same_kind_do_not_drift(profile, split, schema) -> None:
    report = check_drift(profile, image_frame(list(split[1]), column="image"), schema)

    assert report.status == "ok", report.images
    assert list(_measures(report)) == MEASURES
    assert all(m["status"] == "ok" for m in report.images["image"]["measures"])
    assert _measures(report)["embedding"]["shift"] < 0.1


@pytest.mark.parametrize(("change", "drifted"), [
    (lambda a: np.clip(a.astype(int) + 60, 0, 255).astype(np.uint8), {"brightness", "embedding"}),
    (lambda a: (a * 0.6).astype(np.uint8), {"brightness", "contrast", "embedding"}),
    (lambda a: np.stack(_resized(a, 16)), {"height", "width"}),
], ids=["brighter", "darker", "resized"])
def test_brighter_darker_or_resized_images_drift(profile, split, schema, change, drifted: set[str]) -> None:
    report = check_drift(profile, image_frame(list(change(split[1])), column="image"), schema)

    assert report.status == "drift" and report.columns_with("drift") == ["image"]
    measures = _measures(report)
    assert drifted <= {name for name, m in measures.items() if m["status"] == "drift"}, measures
    assert "image" in report.to_html() and "mean new image" in report.to_html()
    json.dumps(report.to_dict(), allow_nan=False)


def test_unreadable_images_are_counted_not_fatal(profile, split, schema, tmp_path: Path) -> None:
    frame = image_frame(list(split[1][:150]), column="image")
    frame.loc[:9, "image"] = [str(tmp_path / f"gone{i}.png") for i in range(10)]

    report = check_drift(profile, frame, schema)

    row = report.columns.set_index("column").loc["image"]
    assert row["type_errors"] == 10 and row["missing_new"] == pytest.approx(10 / 150)
    assert row["status"] != "ok" and report.images["image"]["unreadable"] == 10


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("monitor")(guarded(monitor))

    @app.command("other")  # a second command, so that Typer keeps "monitor" as a sub-command name
    def other() -> None:
        pass

    return app


def _write_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    from PIL import Image

    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (root / f"d{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / f"d{label}" / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A model of 3 digit classes saved from a folder, and folders of new digits: like them, and brighter."""
    images, target = _digits()
    keep = np.random.default_rng(0).permutation(np.flatnonzero(target < 3))
    train, new = keep[:60], keep[60:180]
    base = tmp_path_factory.mktemp("folders")
    model = AutoML(time_limit=15, n_jobs=1, models=["linear"], n_splits=2, max_trials=3, seed=0)
    model.fit(_write_folder(base / "train", images[train], target[train]))
    brighter = np.clip(images[new].astype(int) + 60, 0, 255).astype(np.uint8)
    return {"model": model.save(base / "model"), "same": _write_folder(base / "same", images[new], target[new]),
            "brighter": _write_folder(base / "brighter", brighter, target[new])}


def test_monitor_command_on_a_folder_of_images(folders, tmp_path: Path) -> None:
    out, html = tmp_path / "report.json", tmp_path / "report.html"
    same = CliRunner().invoke(_app(), ["monitor", str(folders["model"]), str(folders["same"]), "--labels", "label",
                                       "--out", str(tmp_path / "same.json")])
    assert same.exit_code == 0, same.output
    assert "Image column 'image': 120 of 120 new images" in same.stdout
    assert "log_loss on 120 labelled rows" in same.stdout  # labels from the class folders
    assert json.loads((tmp_path / "same.json").read_text())["columns"][0]["status"] == "ok"

    result = CliRunner().invoke(_app(), ["monitor", str(folders["model"]), str(folders["brighter"]),
                                         "--out", str(out), "--html", str(html)])
    assert result.exit_code == 0, result.output
    assert "Overall: DRIFT" in result.stdout and "brightness" in result.stdout
    report = json.loads(out.read_text())
    assert report["columns"][0]["column"] == "image" and report["columns"][0]["status"] == "drift"
    assert {m["measure"]: m["status"] for m in report["images"]["image"]["measures"]}["brightness"] == "drift"
    assert "Image column image" in html.read_text() and "data:image/png;base64," in html.read_text()


def test_model_check_takes_images_as_arrays(folders) -> None:
    from accelml import load

    images, target = _digits()
    arrays = list(images[np.random.default_rng(0).permutation(np.flatnonzero(target < 3))[60:180]])
    report = check_model_drift(load(folders["model"]), arrays)

    assert report.status == "ok" and report.images["image"]["n_images"] == 120
    assert report.prediction is not None and report.prediction["status"] == "ok"
