"""What ``GET /metadata`` says about the model: schema, task, metric, versions, ensemble and leaderboard."""

from __future__ import annotations

import platform
from importlib import metadata as importlib_metadata
from typing import Any

from accelml._version import __version__
from accelml.monitor.report import json_safe

__all__ = ["describe_model"]

LEADERBOARD_ROWS = 10


def _installed(names: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = None
    return out


def describe_model(service: Any) -> dict[str, Any]:
    """The metadata of the model that ``service`` (a :class:`~accelml.serve.service.ModelService`) serves."""
    from accelml.export.artifact import model_libraries

    result, schema, manifest = service.result, service.schema, service.manifest or {}
    libraries = tuple(model_libraries(m.model for m in result.ensemble.members))  # those the model is read with
    board = service.automl.leaderboard().head(LEADERBOARD_ROWS)
    settings = service.settings
    if service.recommender is not None:
        from accelml.serve.recommend import describe_recommender

        recommender = describe_recommender(service)  # its own members, limits and columns
    else:
        recommender = {}
    dropped = set(schema.extra.get("dropped_features") or ())  # by feature selection: no model reads them
    return json_safe(
        {
            "model": {
                "source": service.source,
                "task": schema.task,
                "target": schema.target,
                "classes": schema.classes,
                "metric": {"name": result.metric.name, "greater_is_better": result.metric.greater_is_better},
                "val_score": result.val_score,
                # binary: where the positive class begins, and what it was tuned for (not the curve: see the report)
                "decision": {key: value for key, value in result.extra["decision"].items()
                             if key not in ("grid", "curves")} if result.extra.get("decision") else None,
                "n_rows": result.n_rows,
                "n_splits": result.n_splits,
                "n_repeats": result.n_repeats,
                "fit_seconds": result.fit_seconds,
                "created": manifest.get("created"),
            },
            "features": [
                {"name": c.name, "role": c.role.value, "dtype": c.dtype, "missing_fraction": c.missing_fraction}
                for c in schema.features
            ],
            "ignored_columns": [{"name": c.name, "role": c.role.value} for c in schema.columns
                                if not c.role.is_feature or c.name in dropped],
            "ensemble": recommender.get("ensemble") or [
                {"name": m.name, "family": m.model, "weight": m.weight, "folds": len(m.models)}
                for m in result.ensemble.members],
            "leaderboard": board.to_dict(orient="records"),
            "versions": {
                "serving": {"accelml": __version__, "python": platform.python_version(),
                            "libraries": _installed(libraries)},
                "trained_with": {"accelml": manifest.get("accelml_version"), "python": manifest.get("python"),
                                 "libraries": manifest.get("libraries")} if manifest else None,
            },
            "limits": recommender.get("limits") or {
                "max_body_bytes": settings.max_body_bytes, "max_rows": settings.max_rows,
                **(_image_limits(settings) if service.image_columns else {}),
                **({"max_text_chars": settings.max_text_chars} if service.text_columns else {})},
            "monitoring": {"window": settings.window, "prediction_log": settings.prediction_log,
                           "log_rows": settings.log_rows if settings.prediction_log else None},
            **({"recommend": recommender["recommend"]} if recommender else {}),
        }
    )


def _image_limits(settings: Any) -> dict[str, int]:
    return {"max_images": settings.max_images, "max_image_bytes": settings.max_image_bytes,
            "max_image_pixels": settings.max_image_pixels, "max_image_body_bytes": settings.image_body_bytes}
