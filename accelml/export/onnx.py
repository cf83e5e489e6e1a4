"""Export an ensemble's fold models to ONNX (the ``onnx`` extra), each checked against its native predictions.

What is exported is each fold model, taking the *preprocessed* float32 matrix as input. The preprocessing itself stays
the plain JSON already in the artifact (``preprocessor.json``, copied next to each ``.onnx`` file): run it with
:class:`accelml.features.Preprocessor` (or reimplement it from the JSON), then the ONNX model. :func:`predict_onnx`
does both and combines the folds and members as the ensemble does.

Families: LightGBM and XGBoost through onnxmltools, CatBoost through its own ONNX export (only without categorical
features, a CatBoost limitation), the linear models as a small hand-built graph, the forests through skl2onnx
(k-nearest neighbours are not exported: skl2onnx does not reproduce their distance weighting). Each family names
its converter in :data:`CONVERTERS` (its class's ``onnx_export``), or says why its models are not exported
(``onnx_unsupported``). A fold model that cannot be converted, or whose ONNX output differs from the native one by more
than the tolerance, is left out with a one-line reason.

Layout of the export folder::

    onnx_manifest.json      task, classes, members (weight, folds, files, check results) and how to combine them
    schema.json             the model's schema, to validate and preprocess raw rows
    README.md               the same explanation for whoever receives the folder
    members/<member>/fold_<k>.onnx                 input "input" float32 [N, F]; output "probabilities" [N, K]
                                                   (classification) or "value" [N] (regression)
    members/<member>/fold_<k>.preprocessor.json    the fold's preprocessing, as saved in the artifact
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accelml.ensemble.calibrate import apply_temperature
from accelml.exceptions import AccelMLError, ArtifactError, ConfigError

__all__ = ["FORMAT", "FoldExport", "OnnxExport", "export_onnx", "predict_onnx"]

logger = logging.getLogger(__name__)

FORMAT = "accelml-onnx/1"
MANIFEST = "onnx_manifest.json"
INPUT, PROBA, VALUE = "input", "probabilities", "value"
OPSET = 17
ML_OPSET = 3
PROBA_TOLERANCE = 1e-4  # max abs difference from native probabilities; regression values: relative to their scale
INSTALL = "pip install 'accelml[onnx]'"


@dataclass
class FoldExport:
    """What happened to one fold model: ``exported``, ``skipped`` (cannot be converted), ``mismatch`` or ``failed``."""

    member: str
    family: str
    fold: int
    status: str
    file: str | None = None
    preprocessor: str | None = None
    max_abs_diff: float | None = None
    tolerance: float | None = None
    reason: str | None = None

    def line(self) -> str:
        """One line for people, e.g. ``lgbm_0 fold 1 (lgbm): exported, max abs diff 3.1e-08``."""
        head = f"{self.member} fold {self.fold} ({self.family}): {self.status}"
        if self.status == "exported":
            return head + (f", max abs diff {self.max_abs_diff:.1e}" if self.max_abs_diff is not None else "")
        return f"{head}: {self.reason}"


@dataclass
class OnnxExport:
    """The result of :func:`export_onnx`: where it was written and, fold by fold, what was exported."""

    path: Path
    task: str
    folds: list[FoldExport] = field(default_factory=list)
    complete: bool = False  # every member exported: predict_onnx reproduces the ensemble
    ensemble_max_abs_diff: float | None = None  # predict_onnx vs the native ensemble on the checked rows
    checked_rows: int = 0

    @property
    def exported(self) -> list[FoldExport]:
        return [f for f in self.folds if f.status == "exported"]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "task": self.task, "complete": self.complete,
                "ensemble_max_abs_diff": self.ensemble_max_abs_diff, "checked_rows": self.checked_rows,
                "folds": [asdict(f) for f in self.folds]}


class _Unsupported(Exception):
    """This fold model cannot be converted; the message says why."""


def require_onnx() -> None:
    """Raise with the install command when onnx or onnxruntime is missing."""
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise AccelMLError(f"ONNX export needs {', '.join(missing)}; install it with `{INSTALL}`")


# ------------------------------------------------------------------------------------------------ converters
def _float_input(n_features: int) -> list[tuple[str, Any]]:
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [(INPUT, FloatTensorType([None, n_features]))]


def _lightgbm(model: Any, n_features: int) -> Any:
    import lightgbm as lgb
    from onnxmltools import convert_lightgbm

    # Only the iterations the model predicts with (an in-memory booster also holds the early-stopping overshoot).
    booster = lgb.Booster(model_str=model.booster_.model_to_string(num_iteration=model.best_iteration_ or None))
    return convert_lightgbm(booster, initial_types=_float_input(n_features), zipmap=False)


def _xgboost(model: Any, n_features: int) -> Any:
    from onnxmltools import convert_xgboost

    booster = model.booster_[: model.best_iteration_]  # the iterations the model predicts with
    return convert_xgboost(booster, initial_types=_float_input(n_features))


def _catboost(model: Any, n_features: int) -> Any:
    import onnx

    if model.cat_features_:
        raise _Unsupported(f"CatBoost cannot export models with categorical features to ONNX "
                           f"(this one has {len(model.cat_features_)})")
    _check_classes(model, model.estimator_.classes_ if model.is_classifier else None)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        model.estimator_.save_model(str(path), format="onnx")
        return onnx.load(str(path))


def _sklearn(model: Any, n_features: int) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    est = model.estimator_
    _check_classes(model, getattr(est, "classes_", None) if model.is_classifier else None)
    options = {id(est): {"zipmap": False}} if model.is_classifier else None
    return convert_sklearn(est, initial_types=[(INPUT, FloatTensorType([None, n_features]))], options=options,
                           target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})


def _forest(model: Any, n_features: int) -> Any:
    from accelml.models._forest import _MISSING

    return _fill_missing(_sklearn(model, n_features), _MISSING)  # the forest routes NaN as a very low value


def _linear(model: Any, n_features: int) -> Any:
    from onnx import TensorProto, helper, numpy_helper

    weights = np.asarray(model.coef_, dtype=np.float32).T  # (F, K)
    nodes = [helper.make_node("MatMul", [INPUT, "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["z"])]
    inits = [numpy_helper.from_array(weights, "W"),
             numpy_helper.from_array(np.asarray(model.intercept_, dtype=np.float32), "b")]
    if not model.is_classifier:
        inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", ["z", "flat"], [VALUE]))
        output = helper.make_tensor_value_info(VALUE, TensorProto.FLOAT, [None])
    elif weights.shape[1] == 1:  # binary: one logit → [1 - p, p]
        inits.append(numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"))
        nodes += [helper.make_node("Sigmoid", ["z"], ["p"]), helper.make_node("Sub", ["one", "p"], ["q"]),
                  helper.make_node("Concat", ["q", "p"], [PROBA], axis=1)]
        output = helper.make_tensor_value_info(PROBA, TensorProto.FLOAT, [None, 2])
    else:
        nodes.append(helper.make_node("Softmax", ["z"], [PROBA], axis=1))
        output = helper.make_tensor_value_info(PROBA, TensorProto.FLOAT, [None, weights.shape[1]])
    graph = helper.make_graph(nodes, "accelml_linear",
                              [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [None, n_features])],
                              [output], inits)
    # An IR version that the ONNX Runtime releases of the last years read (the onnx package writes its newest).
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)


# converter name (a family's ``onnx_export``) -> (fold model, number of input columns) -> ONNX model
CONVERTERS: dict[str, Callable[[Any, int], Any]] = {
    "catboost": _catboost,  # CatBoost's own export
    "lightgbm": _lightgbm,  # onnxmltools
    "linear": _linear,  # a hand-built graph of ``coef_`` and ``intercept_``
    "sklearn_forest": _forest,  # skl2onnx, missing values routed as the forest does
    "xgboost": _xgboost,  # onnxmltools
}


def _converter(family: str, cls: type) -> Callable[[Any, int], Any]:
    """The converter that the family's class names, or :class:`_Unsupported` with the reason it gives."""
    name = getattr(cls, "onnx_export", None)
    if name is None:
        raise _Unsupported(getattr(cls, "onnx_unsupported", "") or f"no ONNX converter for the model family {family!r}")
    if name not in CONVERTERS:
        raise _Unsupported(f"the model family {family!r} names the ONNX converter {name!r}, which does not exist; "
                           f"valid: {', '.join(sorted(CONVERTERS))}")
    return CONVERTERS[name]


def _check_classes(model: Any, classes: Any) -> None:
    if classes is not None and list(np.asarray(classes, dtype=int)) != list(range(model.n_classes_)):
        raise _Unsupported(f"its training fold lacked some of the {model.n_classes_} classes")


# ------------------------------------------------------------------------------------------------ graph surgery
def _fill_missing(proto: Any, value: float) -> Any:
    """Prepend ``where(isnan(input), value, input)`` so that the graph takes NaN like the native model."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    for node in graph.node:
        node.input[:] = ["input_filled" if name == INPUT else name for name in node.input]
    graph.initializer.append(numpy_helper.from_array(np.array(value, dtype=np.float32), "missing_value"))
    fill = [helper.make_node("IsNaN", [INPUT], ["input_isnan"]),
            helper.make_node("Where", ["input_isnan", "missing_value", INPUT], ["input_filled"])]
    nodes = fill + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return proto


def _standardize(proto: Any, classifier: bool, n_classes: int, y_range: tuple[float, float] | None = None) -> Any:
    """One input named ``input`` and one output: ``probabilities`` [N, K] or ``value`` [N] (bounded by ``y_range``,
    as the native model's values are); unused nodes dropped."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    old_input = graph.input[0].name
    if old_input != INPUT:
        for node in graph.node:
            node.input[:] = [INPUT if name == old_input else name for name in node.input]
        graph.input[0].name = INPUT
    producers = {out: node for node in graph.node for out in node.output}
    chosen = None
    for out in graph.output:
        node = producers.get(out.name)
        if classifier and node is not None and node.op_type == "ZipMap":  # a sequence of maps: take its tensor
            chosen = node.input[0]
            break
        kind = out.type.tensor_type
        if out.type.HasField("tensor_type") and kind.elem_type == TensorProto.FLOAT:
            rank = len(kind.shape.dim)
            if not classifier or rank == 2:
                chosen = out.name
                break
    if chosen is None:
        raise _Unsupported("the converted graph has no probability or value output")
    name = PROBA if classifier else VALUE
    _rename(graph, name, f"{name}_original")  # free the standard name, should the converter have used it
    chosen = f"{name}_original" if chosen == name else chosen
    if classifier:
        graph.node.append(helper.make_node("Identity", [chosen], [name]))
        output = helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, n_classes])
    else:
        graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "value_shape"))
        if y_range is None:
            graph.node.append(helper.make_node("Reshape", [chosen, "value_shape"], [name]))
        else:  # Max and Min, not Clip: every opset a converter may target has them
            for bound, value in zip(("value_low", "value_high"), y_range):
                graph.initializer.append(numpy_helper.from_array(np.array([value], dtype=np.float32), bound))
            graph.node.append(helper.make_node("Reshape", [chosen, "value_shape"], ["value_flat"]))
            graph.node.append(helper.make_node("Max", ["value_flat", "value_low"], ["value_floor"]))
            graph.node.append(helper.make_node("Min", ["value_floor", "value_high"], [name]))
        output = helper.make_tensor_value_info(name, TensorProto.FLOAT, [None])
    del graph.output[:]
    graph.output.append(output)
    needed, kept = {name}, []
    for node in reversed(list(graph.node)):
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    inits = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return proto


def _rename(graph: Any, old: str, new: str) -> None:
    """Rename the tensor ``old`` to ``new`` wherever the graph produces or reads it."""
    if old == new:
        return
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for value in list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new
    for init in graph.initializer:
        if init.name == old:
            init.name = new


def _session(proto_or_path: Any) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    source = proto_or_path if isinstance(proto_or_path, str) else proto_or_path.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


# ------------------------------------------------------------------------------------------------ export
def export_onnx(model: Any, out: str | Path, *, force: bool = False, check_rows: int = 200) -> OnnxExport:
    """Export every fold model of the ensemble that can be converted to ONNX, checked against native predictions.

    Args:
        model: A model folder written by :meth:`accelml.AutoML.save`, or a fitted :class:`accelml.AutoML`.
        out: The folder to write (see the module documentation for its layout).
        force: Replace ``out`` if it exists.
        check_rows: Training-sample rows each ONNX model is checked on (max abs difference ≤ 1e-4 on probabilities,
            ≤ 1e-4 × the values' scale on regression values).

    Returns:
        An :class:`OnnxExport` saying, fold by fold, what was exported and why anything was not.

    Raises:
        AccelMLError: onnx or onnxruntime is missing, or no fold model at all could be exported.
        ConfigError: ``out`` exists and ``force`` is not set, or is a file.
    """
    require_onnx()
    import onnx

    from accelml.automl import AutoML, load
    from accelml.schema.validate import validate_frame
    from accelml.search.evaluate import predict_outputs

    automl = model if isinstance(model, AutoML) else load(Path(model))
    if getattr(automl.result_.ensemble, "kind", None) == "recommender":
        raise ConfigError("a recommender has no ONNX export: its files are already portable NumPy arrays and JSON "
                          "(recommender/ in the model folder); serve it with `accelml serve`")
    result = automl.result_
    schema, task = result.schema, result.schema.task
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"'{out}' is a file; give a folder to write the ONNX export in (--out)")
        if not force:
            raise ConfigError(f"'{out}' already exists; choose another --out or pass --force to replace it")
        if not (out / MANIFEST).exists() and any(out.iterdir()):
            raise ConfigError(f"'{out}' is a non-empty folder that is not an ONNX export; refusing to replace it")
    sample = None
    if result.sample is not None and check_rows > 0:
        sample = validate_frame(result.sample.head(check_rows), schema, source="the training sample")
    n_classes = len(schema.classes or [])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    export = OnnxExport(path=out, task=task, checked_rows=0 if sample is None else len(sample))
    try:
        members = []
        for member in result.ensemble.members:
            entry = {"name": member.name, "family": member.model, "weight": member.weight, "folds": []}
            for k, (pre, fold_model) in enumerate(zip(member.preprocessors, member.models)):
                if member.inputs:
                    fold = FoldExport(member.name, member.model, k, "skipped",
                                      reason=f"stacked on the outputs of {', '.join(member.inputs)}")
                    export.folds.append(fold)
                    entry["folds"].append(asdict(fold))
                    continue
                fold = _export_fold(member.name, member.model, k, pre, fold_model, sample, tmp, n_classes,
                                    predict_outputs, onnx)
                export.folds.append(fold)
                entry["folds"].append(asdict(fold))
                logger.info("%s", fold.line())
            entry["exported"] = all(f["status"] == "exported" for f in entry["folds"])
            members.append(entry)
        if not export.exported:
            reasons = "; ".join(f.line() for f in export.folds)
            raise AccelMLError(f"no model of the ensemble could be exported to ONNX: {reasons}")
        export.complete = all(m["exported"] for m in members)
        manifest = {"format": FORMAT, "task": task, "target": schema.target, "classes": schema.classes,
                    "input": {"name": INPUT, "type": "float32 [N, F]: the fold's preprocessor output"},
                    "output": {"name": PROBA if n_classes else VALUE,
                               "type": f"float32 [N, {n_classes}]" if n_classes else "float32 [N]"},
                    "combine": "each member: mean of its folds; ensemble: sum of weight x member; probabilities: "
                               "raised to 1 / temperature and renormalized per row",
                    "temperature": result.ensemble.temperature,
                    "complete": export.complete, "members": members}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=_plain))
        (tmp / "schema.json").write_text(json.dumps(schema.to_dict(), indent=1, default=_plain))
        (tmp / "README.md").write_text(_readme(export.complete, n_classes))
        if export.complete and sample is not None:
            native = np.asarray(result.ensemble.predict(sample), dtype=np.float64)
            export.ensemble_max_abs_diff = float(np.max(np.abs(predict_onnx(tmp, sample) - native)))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return export


def _export_fold(member: str, family: str, k: int, pre: Any, model: Any, sample: Any, folder: Path, n_classes: int,
                 predict_outputs: Callable[..., np.ndarray], onnx: Any) -> FoldExport:
    fold = FoldExport(member, family, k, "skipped")
    try:
        converter = _converter(family, type(model))
        proto = _standardize(converter(model, pre.n_features_out_), model.is_classifier, n_classes,
                             getattr(model, "y_range_", None))
        proto.producer_name = "accelml"
        proto.doc_string = (f"accelml ensemble member {member}, fold {k} ({family}). Input: the fold's preprocessed "
                            f"float32 matrix (fold_{k}.preprocessor.json), not raw rows.")
        if sample is not None:
            X = pre.transform(sample)
            native = np.asarray(predict_outputs(model, X), dtype=np.float64)
            got = np.asarray(_session(proto).run(None, {INPUT: X})[0], dtype=np.float64).reshape(native.shape)
            fold.max_abs_diff = float(np.max(np.abs(got - native)))
            fold.tolerance = PROBA_TOLERANCE * (1.0 if n_classes else max(1.0, float(np.max(np.abs(native)))))
            if not fold.max_abs_diff <= fold.tolerance:
                fold.status = "mismatch"
                fold.reason = (f"ONNX output differs from the native model by {fold.max_abs_diff:.2e} "
                               f"(tolerance {fold.tolerance:.0e}); left out")
                return fold
        target = folder / "members" / member
        target.mkdir(parents=True, exist_ok=True)
        onnx.save(proto, str(target / f"fold_{k}.onnx"))
        (target / f"fold_{k}.preprocessor.json").write_text(json.dumps(pre.to_dict()))
        fold.file = f"members/{member}/fold_{k}.onnx"
        fold.preprocessor = f"members/{member}/fold_{k}.preprocessor.json"
        fold.status = "exported"
    except _Unsupported as exc:
        fold.reason = str(exc)
    except ImportError as exc:
        fold.reason = f"needs {exc.name or 'a converter library'}; install it with `{INSTALL}`"
    except Exception as exc:  # a converter's own limitation we do not know in advance: report it, go on
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        fold.status, fold.reason = "failed", f"conversion failed ({type(exc).__name__}: {first})"
        logger.debug("ONNX conversion of %s fold %d failed", member, k, exc_info=True)
    return fold


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else str(value)


# ------------------------------------------------------------------------------------------------ use
def predict_onnx(folder: str | Path, frame: Any) -> np.ndarray:
    """The ensemble's output (probabilities ``(n, K)`` or values ``(n,)``) computed with the exported ONNX models.

    Rows are validated against ``schema.json`` and preprocessed with each fold's ``preprocessor.json`` in Python, then
    run through ONNX Runtime; folds are averaged and members weighted as in the native ensemble.

    Raises:
        ArtifactError: The folder is not a complete export (some member could not be exported).
    """
    require_onnx()
    from accelml.features import load_input
    from accelml.schema import Schema
    from accelml.schema.validate import validate_frame

    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        schema = Schema.from_dict(json.loads((folder / "schema.json").read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"'{folder}' is not an accelml ONNX export ({exc})") from exc
    if not manifest.get("complete"):
        missing = [m["name"] for m in manifest["members"] if not m["exported"]]
        raise ArtifactError(f"the ONNX export in '{folder}' lacks member(s) {', '.join(missing)}, so it cannot "
                            "reproduce the ensemble; use the native model")
    rows = validate_frame(frame, schema, source="data")
    total = None
    for member in manifest["members"]:
        summed = None
        for fold in member["folds"]:
            pre = load_input(json.loads((folder / fold["preprocessor"]).read_text()), schema)
            out = np.asarray(_session(str(folder / fold["file"])).run(None, {INPUT: pre.transform(rows)})[0],
                             dtype=np.float64)
            summed = out if summed is None else summed + out
        part = member["weight"] * summed / len(member["folds"])
        total = part if total is None else total + part
    if total is not None and total.ndim == 2:
        total = apply_temperature(total, float(manifest.get("temperature", 1.0)))
    return total


def _readme(complete: bool, n_classes: int) -> str:
    output = f"`probabilities` float32 [N, {n_classes}]" if n_classes else "`value` float32 [N]"
    status = ("Every member was exported, so the ONNX models reproduce the ensemble."
              if complete else "Some members could not be exported (see onnx_manifest.json): these files alone do "
              "NOT reproduce the ensemble.")
    return f"""# accelml ONNX export

Each file `members/<member>/fold_<k>.onnx` is one fold model of the ensemble. {status}

**The ONNX models take the preprocessed matrix, not raw rows.** Input `input` is float32 [N, F]: the output of the
fold's preprocessing, which is kept as plain JSON in `fold_<k>.preprocessor.json` (numeric columns as is or
standardized, categories as codes or one-hot, dates as calendar parts). Output: {output}.

To predict raw rows: validate them against `schema.json`, preprocess with each fold's JSON, run the fold's ONNX model,
average the folds of a member, and sum the members weighted by `weight` (see `onnx_manifest.json`). For classes,
then raise each probability to `1 / temperature` (the manifest's; 1 changes nothing) and divide each row by its sum. With
accelml installed, `accelml.export.onnx.predict_onnx(folder, frame)` does all of it.
"""
