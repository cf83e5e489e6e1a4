"""ONNX export: every convertible family, checked against native predictions; clear reasons for the rest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxmltools")
pytest.importorskip("skl2onnx")

import accelml
from accelml.cli.errors import guarded
from accelml.cli.export import export
from accelml.exceptions import AccelMLError, ArtifactError, ConfigError
from accelml.export.onnx import export_onnx, predict_onnx
from tests.cli.cli_helpers import assert_one_line_error
from tests.serve.serve_helpers import tiny_frame


def _fit(task: str, models: list[str], numeric_only: bool = False, n: int = 200) -> accelml.AutoML:
    frame = tiny_frame(task, n=n)
    if numeric_only:
        frame = frame.drop(columns=["colour", "member"])
    # two fold models per member (refit_full=False), so that the export of every fold is checked
    return accelml.AutoML(max_trials=1, time_limit=None, n_jobs=1, n_splits=2, models=models, refit_full=False).fit(
        frame, target="y"
    )


@pytest.mark.parametrize(
    ("task", "family", "numeric_only"),
    [
        ("binary", "lgbm", False),
        ("multiclass", "xgb", False),
        ("regression", "linear", False),
        ("binary", "linear", False),
        ("multiclass", "rf", False),
        ("regression", "catboost", True),
    ],
)
def test_family_exports_and_matches_native(task, family, numeric_only, tmp_path):
    model = _fit(task, [family], numeric_only)
    result = export_onnx(model, tmp_path / "onnx", check_rows=100)
    assert result.complete and len(result.exported) == 2
    assert all(f.max_abs_diff <= f.tolerance for f in result.folds)
    assert result.ensemble_max_abs_diff <= (1e-4 if task != "regression" else 1e-2)
    frame = tiny_frame(task, n=30, seed=9)
    if numeric_only:
        frame = frame.drop(columns=["colour", "member"])
    native = model.predict_proba(frame).to_numpy() if task != "regression" else model.predict(frame)
    np.testing.assert_allclose(predict_onnx(tmp_path / "onnx", frame), native, atol=1e-4, rtol=1e-5)
    manifest = json.loads((tmp_path / "onnx" / "onnx_manifest.json").read_text())
    assert manifest["complete"] and manifest["members"][0]["family"] == family
    fold = manifest["members"][0]["folds"][0]
    assert (tmp_path / "onnx" / fold["file"]).exists() and (tmp_path / "onnx" / fold["preprocessor"]).exists()


def test_the_ensembles_temperature_is_applied(tmp_path):
    model = _fit("multiclass", ["lgbm"])
    model.result_.ensemble.temperature = 0.6
    result = export_onnx(model, tmp_path / "onnx", check_rows=100)
    assert result.complete and result.ensemble_max_abs_diff <= 1e-4
    frame = tiny_frame("multiclass", n=30, seed=9)
    np.testing.assert_allclose(predict_onnx(tmp_path / "onnx", frame), model.predict_proba(frame).to_numpy(),
                               atol=1e-4, rtol=1e-5)
    assert json.loads((tmp_path / "onnx" / "onnx_manifest.json").read_text())["temperature"] == 0.6


def test_single_io_names(tmp_path):
    import onnx

    export_onnx(_fit("binary", ["lgbm"]), tmp_path / "onnx", check_rows=20)
    graph = onnx.load(str(tmp_path / "onnx" / "members" / "lgbm_0" / "fold_0.onnx")).graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == ["probabilities"]


def test_unconvertible_members_are_named_with_a_reason(tmp_path):
    model = _fit("binary", ["catboost", "knn"])
    with pytest.raises(AccelMLError, match=r"catboost_\d fold 0 \(catboost\): skipped: CatBoost cannot export"):
        export_onnx(model, tmp_path / "onnx")
    assert not (tmp_path / "onnx").exists()  # nothing half-written


def test_partial_export_says_it_cannot_reproduce_the_ensemble(tmp_path):
    from dataclasses import replace

    model, other = _fit("binary", ["lgbm"]), _fit("binary", ["knn"])
    members = [replace(m, weight=0.5) for m in model.result_.ensemble.members + other.result_.ensemble.members]
    model.result_.ensemble.members = members  # an ensemble of both families, whatever the search would choose
    result = export_onnx(model, tmp_path / "onnx")
    assert not result.complete and {f.family for f in result.exported} == {"lgbm"}
    knn = [f for f in result.folds if f.family == "knn"]
    assert all(f.status == "skipped" and "k-nearest neighbours" in f.reason for f in knn)
    assert "knn" in knn[0].line() and "skipped" in knn[0].line()
    with pytest.raises(ArtifactError, match="lacks member"):
        predict_onnx(tmp_path / "onnx", tiny_frame("binary", n=5))
    assert "do NOT reproduce" in (tmp_path / "onnx" / "README.md").read_text()


def test_cli_export_writes_the_folder_and_refuses_to_overwrite(tmp_path):
    model_dir = _fit("binary", ["linear"]).save(tmp_path / "model")
    app = typer.Typer()
    app.command("export")(guarded(export))
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["export", str(model_dir), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    assert "exported" in result.stdout and "preprocessed float32 matrix" in result.stdout
    assert (tmp_path / "model-onnx" / "README.md").exists()
    assert_one_line_error(CliRunner().invoke(app, ["export", str(model_dir)]), "already exists", "--force")
    assert CliRunner().invoke(app, ["export", str(model_dir), "--force"]).exit_code == 0
    assert_one_line_error(CliRunner().invoke(app, ["export", str(model_dir), "--format", "pmml"]),
                          "unknown export format 'pmml'")


def test_out_that_is_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not an ONNX export"):
        export_onnx(_fit("binary", ["linear"]), tmp_path / "busy", force=True)
    assert (tmp_path / "busy" / "keep.txt").exists()
