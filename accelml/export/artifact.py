"""Save and load the artifact folder.

Layout::

    model/
      manifest.json                       versions, schema, task, metric, leaderboard, configuration, file hashes
      sample.parquet, sample_oof.npy      up to 2,000 training rows and the ensemble's out-of-fold output on them
      members/<trial>/fold_<k>/
        preprocessor.json                 the fold's fitted preprocessing, as plain JSON
        model.json + a native model file  LightGBM text, XGBoost JSON, CatBoost .cbm, .npz arrays, skops forests

Loading verifies every file's sha256 and the library versions before reading anything, and never unpickles.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import platform
import shutil
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accelml._json import finite_json, json_default
from accelml._version import __version__
from accelml.exceptions import ArtifactError

__all__ = ["FORMAT_VERSION", "load_artifact", "model_libraries", "save_artifact"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Libraries that every artifact is read with (arrays, the training sample, the models' base class); the manifest adds
# the libraries of the ensemble's families, from their classes' ``requires``.
LIBRARIES = ("numpy", "pandas", "scikit-learn")
# Import name -> pip distribution name, where the two differ.
_DISTRIBUTIONS = {"sklearn": "scikit-learn"}


def model_libraries(families: Iterable[str]) -> list[str]:
    """The pip distributions an artifact of the model ``families`` (registry keys) is read with: :data:`LIBRARIES`,
    then each family's required libraries in order, once each.

    >>> model_libraries(["lgbm", "rf", "lgbm"])
    ['numpy', 'pandas', 'scikit-learn', 'lightgbm', 'skops']
    """
    from accelml.models import MODELS
    from accelml.models.recommenders import RECOMMENDERS

    names = list(LIBRARIES)
    for family in families:
        for module in (RECOMMENDERS[family] if family in RECOMMENDERS else MODELS[family]).requires:
            name = _DISTRIBUTIONS.get(module, module)
            if name not in names:
                names.append(name)
    return names


def _library_versions(names: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_artifact(result: Any, path: Path, *, force: bool = False) -> Path:
    """Write ``result`` (an ``accelml.result.FitResult``) to the folder ``path``.

    The folder is written next to its destination and moved into place only when complete, so an interrupted save
    never leaves half a model; an existing folder is replaced only with ``force=True``.
    """
    from accelml.leaderboard import leaderboard

    path = Path(path)
    if path.exists() and not force:
        raise ArtifactError(f"'{path}' already exists; choose another folder or pass force=True (--force) to replace it")
    if path.exists() and not (path / MANIFEST).exists() and any(path.iterdir()):
        raise ArtifactError(f"'{path}' is a non-empty folder that is not an accelml model; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        members = []
        recommender = getattr(result.ensemble, "kind", None) == "recommender"
        # a recommender writes its own files (id maps, seen items, each member's arrays) under recommender/
        ensemble = result.ensemble.save(tmp / "recommender") if recommender else None
        for member in result.ensemble.members if not recommender else []:
            folder = Path("members") / member.name
            for k, (pre, model) in enumerate(zip(member.preprocessors, member.models)):
                fold = tmp / folder / f"fold_{k}"
                fold.mkdir(parents=True)
                (fold / "preprocessor.json").write_text(json.dumps(pre.to_dict()))
                model.save(fold)
            members.append(
                {
                    "name": member.name,
                    "model": member.model,
                    "weight": member.weight,
                    "folds": len(member.models),
                    "path": folder.as_posix(),
                    "inputs": list(member.inputs),
                }
            )
        if result.sample is not None:
            result.sample.to_parquet(tmp / "sample.parquet", index=False)
        if result.sample is not None and result.sample_oof is not None:
            np.save(tmp / "sample_oof.npy", np.asarray(result.sample_oof, dtype=np.float64), allow_pickle=False)
        metric = result.metric
        from accelml.metrics import list_metrics
        from accelml.metrics.registry import ranking_metric

        manifest = {
            "format": "accelml-artifact",
            "format_version": FORMAT_VERSION,
            "accelml_version": __version__,
            "python": platform.python_version(),
            "libraries": _library_versions(model_libraries(m.model for m in result.ensemble.members)),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "task": result.schema.task,
            "target": result.schema.target,
            "metric": {
                "name": metric.name,
                "greater_is_better": metric.greater_is_better,
                "custom": metric.name not in list_metrics() and ranking_metric(metric.name) is None,
                "reason": result.metric_reason,
            },
            "val_score": result.val_score,
            "fit_seconds": result.fit_seconds,
            "n_rows": result.n_rows,
            "n_splits": result.n_splits,
            "n_repeats": result.n_repeats,
            "schema": result.schema.to_dict(),
            "config": result.config.to_dict(),
            "issues": [i.to_dict() for i in result.issues],
            "leaderboard": json.loads(leaderboard(result).to_json(orient="records")),
            "trials": [t.to_dict() for t in result.trials],
            "ensemble": ensemble or {"members": members, "temperature": result.ensemble.temperature},
            "extra": result.extra,
        }
        files = [p for p in sorted(tmp.rglob("*")) if p.is_file()]
        manifest["files"] = {p.relative_to(tmp).as_posix(): _sha256(p) for p in files}
        manifest["size_bytes"] = sum(p.stat().st_size for p in files)
        (tmp / MANIFEST).write_text(json.dumps(finite_json(manifest), indent=1, default=json_default, allow_nan=False))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the model folder ``path``, after checking it is one."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"model folder '{path}' does not exist")
    if not path.is_dir():
        raise ArtifactError(f"'{path}' is a file; give the model folder written by `accelml fit --out`")
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise ArtifactError(f"'{path}' is not an accelml model folder: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{manifest_path} is not valid JSON ({exc}); the folder is damaged") from exc
    if manifest.get("format") != "accelml-artifact":
        raise ArtifactError(f"{manifest_path} is not an accelml manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} uses artifact format {manifest.get('format_version')}, this accelml ({__version__}) reads "
            f"format {FORMAT_VERSION}; install accelml {manifest.get('accelml_version')} to load it"
        )
    return manifest


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Raise if any listed file is missing or its sha256 differs from the manifest's."""
    for rel, digest in manifest.get("files", {}).items():
        file = path / rel
        if not file.is_file():
            raise ArtifactError(f"{path}: file '{rel}' listed in the manifest is missing")
        if _sha256(file) != digest:
            raise ArtifactError(f"{path}: file '{rel}' was changed after saving (sha256 mismatch); refusing to load it")


def check_versions(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse a different major version of a library that reads the model's files (:func:`model_libraries` of its
    members' families); warn on smaller differences."""
    saved = manifest.get("libraries", {})
    needed = model_libraries(m["model"] for m in manifest.get("ensemble", {}).get("members", []))
    now = _library_versions(needed)
    for name in needed:
        version, current = saved.get(name), now[name]
        if version is None or current == version:
            continue
        if current is None:
            raise ArtifactError(f"{path} needs {name}=={version}, which is not installed: pip install {name}=={version}")
        if version.split(".")[0] != current.split(".")[0]:
            raise ArtifactError(
                f"{path} was saved with {name} {version} but {current} is installed; "
                f"pip install {name}=={version} to load it"
            )
        logger.warning("%s was saved with %s %s; %s is installed", path, name, version, current)


def load_artifact(path: Path) -> Any:
    """Read a model folder back into an :class:`accelml.result.FitResult`."""
    from accelml.config import FitConfig
    from accelml.ensemble.predictor import Ensemble, Member
    from accelml.features import load_input
    from accelml.metrics import get_metric, list_metrics, make_metric
    from accelml.models import MODELS
    from accelml.profiling import DataIssue
    from accelml.result import FitResult
    from accelml.schema import Schema
    from accelml.search.trial import TrialResult, TrialSpec

    path = Path(path)
    manifest = read_manifest(path)
    verify_files(path, manifest)
    check_versions(path, manifest)

    schema = Schema.from_dict(manifest["schema"])
    m = manifest["metric"]
    from accelml.metrics.registry import ranking_metric

    if m["name"] in list_metrics(schema.task) or ranking_metric(m["name"]) is not None:
        metric = get_metric(m["name"], schema.task)
    else:
        metric = make_metric(_custom_metric_missing(m["name"]), name=m["name"], greater_is_better=m["greater_is_better"],
                             tasks=[schema.task])

    members = []
    shared: dict[str, Any] = {}  # identical fold preprocessing is one object, so it is applied once
    recommender = manifest["ensemble"].get("kind") == "recommender"
    for entry in manifest["ensemble"]["members"] if not recommender else []:
        cls = MODELS[entry["model"]]
        pres, models = [], []
        for k in range(entry["folds"]):
            fold = path / entry["path"] / f"fold_{k}"
            text = (fold / "preprocessor.json").read_text()
            if text not in shared:
                shared[text] = load_input(json.loads(text), schema)
            pres.append(shared[text])
            models.append(cls.load(fold))
        members.append(Member(entry["name"], entry["model"], entry["weight"], pres, models,
                              tuple(entry.get("inputs", ()))))

    trials = []
    for t in manifest["trials"]:
        spec = TrialSpec(**t.pop("spec"))
        missing = {"score": float("nan"), "loss": float("inf")}
        trials.append(TrialResult(spec=spec, **{k: missing.get(k) if v is None and k in missing else v
                                                for k, v in t.items()}))
    sample = sample_oof = None
    if (path / "sample.parquet").exists() and "sample.parquet" in manifest["files"]:
        sample = pd.read_parquet(path / "sample.parquet")
    if sample is not None and "sample_oof.npy" in manifest["files"]:
        sample_oof = np.load(path / "sample_oof.npy", allow_pickle=False)
    if recommender:
        from accelml.ensemble.recommender import Recommender

        ensemble = Recommender.load(path / "recommender", manifest["ensemble"])
    else:
        ensemble = Ensemble(members, float(manifest["ensemble"].get("temperature", 1.0)))
    return FitResult(
        schema=schema,
        metric=metric,
        metric_reason=m.get("reason", ""),
        issues=[DataIssue(**i) for i in manifest["issues"]],
        trials=trials,
        ensemble=ensemble,
        val_score=manifest["val_score"],
        config=FitConfig.from_dict(manifest["config"]),  # tolerant of options added or removed since it was saved
        fit_seconds=manifest["fit_seconds"],
        n_rows=manifest["n_rows"],
        n_splits=manifest["n_splits"],
        n_repeats=manifest.get("n_repeats", 1),
        sample=sample,
        sample_oof=sample_oof,
        extra=manifest.get("extra", {}),
    )


def _custom_metric_missing(name: str) -> Any:
    def missing(y_true: Any, y_pred: Any) -> float:
        raise ArtifactError(
            f"the model was tuned for the custom metric '{name}', which cannot be stored; score with a named metric"
        )

    missing.__name__ = name
    return missing
