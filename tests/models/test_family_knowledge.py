"""What the library knows about a model family is declared on its class, and nowhere else: checked over every
registered family, so that a new one is checked the moment it is registered, and searched by default with no second
list to edit."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pytest

from accelml.explain.tree_shap import TREE_SHAP, has_tree_shap
from accelml.export.artifact import LIBRARIES, model_libraries
from accelml.export.onnx import CONVERTERS, _converter, _Unsupported
from accelml.models import MODELS, Model
from accelml.models.linear import LinearModel
from accelml.search.loop import available_models, opening_order
from accelml.search.searchers import opening_specs

KEYS = sorted(MODELS)
# The built-in families' opening order before it moved onto the classes: a benchmark compares leaderboards across
# that move, so it must not change.
BUILT_IN_ORDER = ["lgbm", "linear", "xgb", "catboost", "extra_trees", "knn", "mlp", "rf"]


def _declared(cls: type, name: str) -> bool:
    """Whether the family (or a base of its own, such as the forests') declares ``name``, not only Model."""
    return any(name in vars(c) for c in cls.__mro__ if c is not Model and issubclass(c, Model))


@pytest.mark.parametrize("key", KEYS)
def test_declares_its_opening_rank_memory_and_libraries(key: str) -> None:
    cls = MODELS[key]
    assert "opening_rank" in vars(cls), f"{key} declares no opening_rank of its own"
    assert isinstance(cls.opening_rank, int) and not isinstance(cls.opening_rank, bool)
    assert isinstance(cls.memory_factor, float) and cls.memory_factor > 0
    assert isinstance(cls.requires, tuple) and cls.requires, f"{key}: requires must be a non-empty tuple"
    for name in cls.requires:
        assert isinstance(name, str) and all(part.isidentifier() for part in name.split(".")), (
            f"{key}: {name!r} is not an import name")
    assert _declared(cls, "requires")


def test_opening_ranks_are_unique() -> None:
    ranks = {key: MODELS[key].opening_rank for key in KEYS}
    assert len(set(ranks.values())) == len(ranks), f"two families share an opening_rank: {ranks}"


@pytest.mark.parametrize("key", KEYS)
def test_onnx_declaration_matches_the_export_code(key: str) -> None:
    cls = MODELS[key]
    if cls.onnx_export is None:
        assert isinstance(cls.onnx_unsupported, str)
        with pytest.raises(_Unsupported, match=key if not cls.onnx_unsupported else "."):
            _converter(key, cls)
    else:
        assert cls.onnx_export in CONVERTERS, f"{key} names the unknown ONNX converter {cls.onnx_export!r}"
        assert not cls.onnx_unsupported, f"{key} is exported, yet says why it is not"
        assert _converter(key, cls) is CONVERTERS[cls.onnx_export]


@pytest.mark.parametrize("key", KEYS)
def test_tree_shap_declaration_matches_the_explain_code(key: str) -> None:
    cls = MODELS[key]
    assert cls.tree_shap is None or cls.tree_shap in TREE_SHAP, f"{key} names the unknown TreeSHAP {cls.tree_shap!r}"
    assert has_tree_shap(key) == (cls.tree_shap is not None)
    if cls.tree_shap is not None:
        assert cls.preprocessing == "tree"  # SHAP values are summed back to columns through the tree encoders


def test_every_converter_and_explainer_serves_a_family() -> None:
    assert {MODELS[key].onnx_export for key in KEYS} >= set(CONVERTERS)
    assert {MODELS[key].tree_shap for key in KEYS} >= set(TREE_SHAP)


def test_built_in_families_keep_their_knowledge() -> None:
    assert [key for key in opening_order(MODELS) if key in BUILT_IN_ORDER] == BUILT_IN_ORDER
    assert {key: MODELS[key].memory_factor for key in BUILT_IN_ORDER} == {
        "lgbm": 3.0, "linear": 3.0, "xgb": 3.0, "catboost": 3.0, "extra_trees": 6.0, "knn": 2.0, "mlp": 3.0, "rf": 6.0}
    assert {key for key in BUILT_IN_ORDER if MODELS[key].tree_shap} == {"lgbm", "xgb", "catboost"}
    assert {key for key in BUILT_IN_ORDER if MODELS[key].onnx_export is None} == {"knn", "mlp"}
    assert "k-nearest neighbours" in MODELS["knn"].onnx_unsupported


def test_manifest_libraries_come_from_the_families() -> None:
    assert model_libraries([]) == list(LIBRARIES)
    assert model_libraries(["lgbm", "xgb", "catboost", "rf"])[len(LIBRARIES):] == ["lightgbm", "xgboost", "catboost",
                                                                                    "skops"]
    assert model_libraries(["linear", "knn"]) == list(LIBRARIES)  # scikit-learn, not its import name sklearn


# ------------------------------------------------------------------------------------------------ a new family
class FakeModel(LinearModel):
    """A family added in a test: the linear model under another key, opening right after LightGBM."""

    key: ClassVar[str] = "fake"
    opening_rank: ClassVar[int] = 12


class MissingLibraryModel(LinearModel):
    key: ClassVar[str] = "needs_missing"
    requires: ClassVar[tuple[str, ...]] = ("sklearn", "accelml_no_such_library")
    opening_rank: ClassVar[int] = 16


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Any:
    """MODELS with the two families above added, as one line each in the registry would."""
    monkeypatch.setattr(MODELS, "_paths", {**MODELS._paths,
                                           "fake": f"{__name__}:FakeModel",
                                           "needs_missing": f"{__name__}:MissingLibraryModel"})
    monkeypatch.setattr(MODELS, "_loaded", dict(MODELS._loaded))
    return MODELS


def test_a_registered_family_is_searched_by_default(registered: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="accelml.search.loop"):
        models = available_models(None)
    assert "fake" in models and models.index("fake") == models.index("lgbm") + 1  # by its rank, no second list
    assert "needs_missing" not in models
    skipped = [r.getMessage() for r in caplog.records if "needs_missing" in r.getMessage()]
    assert skipped == ["skipping needs_missing: the accelml_no_such_library package is not installed"]
    opening = list(opening_specs(models))
    assert any(spec.model == "fake" and spec.stage == "default" for spec in opening)
    defaults = [spec.model for spec in opening if spec.stage == "default" and spec.params == {}]
    assert defaults.index("fake") < defaults.index("linear")  # new to the opening and ranked before it


def test_a_registered_family_declares_its_knowledge(registered: Any) -> None:
    for key in ("fake", "needs_missing"):
        test_declares_its_opening_rank_memory_and_libraries(key)
    assert model_libraries(["fake"]) == list(LIBRARIES)
    assert model_libraries(["needs_missing"])[-1] == "accelml_no_such_library"
