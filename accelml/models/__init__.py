"""Model families: one file each, one line each in :data:`MODELS`."""

from __future__ import annotations

from accelml.models.base import Model
from accelml.registry import Registry

__all__ = ["MODELS", "Model"]

MODELS = Registry(
    "model",
    {
        "catboost": "accelml.models.catboost:CatBoostModel",
        "cnn": "accelml.models.cnn:CNNModel",
        "efficientnet": "accelml.models.efficientnet:EfficientNetModel",
        "extra_trees": "accelml.models.extra_trees:ExtraTreesModel",
        "knn": "accelml.models.knn:KNeighborsModel",
        "lgbm": "accelml.models.lgbm:LightGBMModel",
        "lgbm_embed": "accelml.models.embedded:LightGBMEmbedModel",
        "lgbm_sentence": "accelml.models.embedded:LightGBMSentenceModel",
        "linear": "accelml.models.linear:LinearModel",
        "linear_embed": "accelml.models.embedded:LinearEmbedModel",
        "linear_sentence": "accelml.models.embedded:LinearSentenceModel",
        "minilm": "accelml.models.minilm:MiniLMModel",
        "mlp": "accelml.models.mlp:MLPModel",
        "rf": "accelml.models.rf:RandomForestModel",
        "tfidf_lgbm": "accelml.models.tfidf:TfidfLightGBMModel",
        "tfidf_linear": "accelml.models.tfidf:TfidfLinearModel",
        "torch_mlp": "accelml.models.torch_mlp:TorchMLPModel",
        "xgb": "accelml.models.xgb:XGBoostModel",
    },
)
