"""The opening of a search: a cheap baseline, the portfolio in its order, then each family's default configuration.

It depends only on the families searched, never on the clock or on results: a time-limited run's opening is a prefix
of the unlimited one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from accelml.features import INPUTS
from accelml.models import MODELS
from accelml.search.executors.base import TrialOutcome
from accelml.search.portfolio import load_portfolio
from accelml.search.pruner import RungPruner
from accelml.search.trial import TrialSpec

__all__ = ["BASELINE", "OpeningSearcher", "opening_order", "opening_specs"]

BASELINE = TrialSpec(0, "lgbm", {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 15}, "baseline")


def opening_order(keys: Iterable[str]) -> list[str]:
    """``keys`` in the order of their families' default configurations in the opening: by each family's
    ``opening_rank`` (strong and cheap first, then diverse), ties by key."""
    return sorted(keys, key=lambda key: (MODELS[key].opening_rank, key))


def opening_specs(models: list[str], photos: bool | None = None) -> Iterator[TrialSpec]:
    """A cheap baseline (a model within seconds), the portfolio in its order, then each family's default configuration
    not already tried: first the families the portfolio has not tried at all (a new kind of model adds more to the
    ensemble than another setting of a known one), then the others.

    Families whose input opens first (``opens_first`` on the featurizer: the image networks and the pretrained image
    features) come before all of that, each with its default: on images the tables' baseline and portfolio would
    spend the budget on thumbnails' pixels before a network had started. Which of them first follows ``photos``
    (see :func:`_image_opening`)."""
    trial_id = 1
    tried: set[tuple[str, str]] = set()
    for key, params in _image_opening(models, photos):
        yield TrialSpec(trial_id, key, params, "default")
        tried.add((key, json.dumps(params, sort_keys=True)))
        trial_id += 1
    if "lgbm" in models:
        yield BASELINE
    for key, params in load_portfolio():
        if key in models:
            yield TrialSpec(trial_id, key, params, "portfolio" if params else "default")
            tried.add((key, json.dumps(params, sort_keys=True)))
            trial_id += 1
    order = opening_order(models)
    seen = {key for key, _ in tried}
    order.sort(key=lambda key: key in seen)  # stable: the families new to the opening first
    for key in order:
        if (key, "{}") not in tried:
            yield TrialSpec(trial_id, key, {}, "default")
            trial_id += 1


def _image_opening(models: list[str], photos: bool | None) -> list[tuple[str, dict]]:
    """The families fed the images directly, with their defaults, in the order the images call for.

    On photos (colour, or larger than 32 pixels; ``photos=True``) the pretrained families go first: ImageNet features
    are worth most there and give a model within seconds. On small grey images (``photos=False``) they come last, and
    each network trained from scratch runs twice (another seed) before them: on 4,000 MNIST digits the default cnn's
    validation log loss was 0.034 against EfficientNet-Lite0's 0.22, and two networks averaged gain more than a
    pretrained member (bench/results/cnn_probe.md); on sklearn's 8x8 digits the backbone lost to raw pixels
    (PRETRAINED.md). Unknown (``None``): by opening rank.

    >>> _image_opening(["cnn", "efficientnet", "lgbm"], photos=False)
    [('cnn', {}), ('cnn', {'seed_offset': 1}), ('efficientnet', {})]
    >>> _image_opening(["cnn", "efficientnet", "lgbm"], photos=True)
    [('efficientnet', {}), ('cnn', {})]
    """
    direct = [k for k in opening_order(models) if getattr(INPUTS[MODELS[k].preprocessing], "opens_first", False)]
    if photos is None:
        return [(k, {}) for k in direct]
    scratch = [k for k in direct if not MODELS[k].pretrained]
    pretrained = [k for k in direct if MODELS[k].pretrained]
    if photos:
        return [(k, {}) for k in pretrained + scratch]
    return [(k, {}) for k in scratch] + [(k, {"seed_offset": 1}) for k in scratch] + [(k, {}) for k in pretrained]


class OpeningSearcher:
    """Proposes the opening's specs in order, less those already done (a resumed run) and those the loop says would
    not finish in the time left (skipped, not the rest: adult at 300 s once ended its whole search on a k-nearest
    neighbours default estimated too long)."""

    def __init__(self, models: list[str], done: Iterable[int] = (), photos: bool | None = None):
        skip = set(done)
        self._specs = (spec for spec in opening_specs(models, photos) if spec.trial_id not in skip)

    def ask(self, affordable: Callable[[str], bool]) -> TrialSpec | None:
        for spec in self._specs:
            if affordable(spec.model):
                return spec
        return None

    def pruner(self, spec: TrialSpec) -> RungPruner | None:
        return None  # every opening trial is trained on every fold: the families are ranked by them

    def tell(self, outcome: TrialOutcome) -> None:
        """Nothing to learn: the opening is fixed."""
