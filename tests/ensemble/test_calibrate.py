"""Temperature scaling of the ensemble's probabilities: fitted on out-of-fold output, kept through save and load."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

import accelml
from accelml.ensemble import build
from accelml.ensemble.calibrate import MIN_ROWS, apply_temperature, fit_temperature
from tests.conftest import make_table


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sample(n: int = 3000, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """True class probabilities and labels drawn from them."""
    rng = np.random.default_rng(seed)
    truth = _softmax(2.5 * rng.normal(size=(n, k)))
    y = np.array([rng.choice(k, p=p) for p in truth])
    return truth, y


def test_apply_keeps_each_rows_order_and_sums_to_one() -> None:
    truth, _ = _sample(n=200)
    for temperature in (0.3, 2.0):
        scaled = apply_temperature(truth, temperature)
        np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
        assert (np.argsort(scaled, axis=1) == np.argsort(truth, axis=1)).all()
    sharper = apply_temperature(truth, 0.5)
    assert (sharper.max(axis=1) >= truth.max(axis=1) - 1e-12).all()


def test_softened_probabilities_are_sharpened_back() -> None:
    truth, y = _sample()
    softened = apply_temperature(truth, 2.0)  # as averaging many fold models does, exaggerated

    def loss(p: np.ndarray) -> float:
        return log_loss(y, p, labels=range(4))

    temperature, fitted = fit_temperature(softened, loss)
    assert 0.4 < temperature < 0.6
    assert fitted < 0.95 * loss(softened)
    assert fitted == pytest.approx(loss(apply_temperature(softened, temperature)))


def test_calibrated_or_rank_only_scores_keep_temperature_one() -> None:
    truth, y = _sample(seed=1)
    assert fit_temperature(truth, lambda p: log_loss(y, p, labels=range(4))) == (1.0, log_loss(y, truth))
    binary = np.column_stack([1 - truth[:, 0], truth[:, 0]])
    positive = (y == 0).astype(int)
    temperature, _ = fit_temperature(binary, lambda p: -roc_auc_score(positive, p[:, 1]))
    assert temperature == 1.0


def test_too_few_rows_keep_temperature_one() -> None:
    truth, y = _sample(n=MIN_ROWS - 1)
    softened = apply_temperature(truth, 2.0)
    assert fit_temperature(softened, lambda p: log_loss(y, p, labels=range(4)))[0] == 1.0
    assert fit_temperature(np.vstack([softened, softened[:1]]),
                           lambda p: log_loss(np.append(y, y[0]), p, labels=range(4)))[0] < 0.8


def test_a_fit_sharpens_out_of_fold_probabilities_that_are_too_soft(monkeypatch) -> None:
    original = build.build_ensemble

    def soften(trials, folds, metric, constraints=None, **kwargs):
        for t in trials:
            if t.oof is not None:
                t.oof = apply_temperature(t.oof, 3.0)
        return original(trials, folds, metric, constraints, **kwargs)

    monkeypatch.setattr("accelml.run.build_ensemble", soften)
    model = accelml.AutoML(max_trials=2, time_limit=None, n_jobs=1, n_splits=3, models=["lgbm"])
    model.fit(make_table("multiclass", n=MIN_ROWS + 200, seed=3), "y")
    best = min(t.loss for t in model.result_.trials if t.ok)
    assert model.result_.ensemble.temperature < 0.8
    assert model.result_.val_score < best  # the softened members alone scored this (they were not calibrated)


def test_a_scaled_ensemble_predicts_scaled_and_keeps_its_temperature_through_save_and_load(tmp_path) -> None:
    table = make_table("multiclass", n=300, seed=3)
    model = accelml.AutoML(max_trials=2, time_limit=None, n_jobs=1, n_splits=3, models=["lgbm"]).fit(table, "y")
    model.result_.ensemble.temperature = 1.0
    raw = model.predict_proba(table).to_numpy()
    model.result_.ensemble.temperature = 0.7
    scaled = model.predict_proba(table).to_numpy()
    np.testing.assert_allclose(scaled, apply_temperature(raw, 0.7))
    assert not np.allclose(scaled, raw)
    model.save(tmp_path / "m")
    loaded = accelml.load(tmp_path / "m")
    assert loaded.result_.ensemble.temperature == 0.7
    np.testing.assert_allclose(loaded.predict_proba(table).to_numpy(), scaled)
    # the people reading about the model are told
    from typer.testing import CliRunner

    from accelml.cli.app import app
    from accelml.report.choices import _model_reason
    from accelml.report.context import ReportContext

    ctx = ReportContext(loaded, loaded.result_, loaded.leaderboard(), None, None, None)
    assert "T = 0.700" in _model_reason(ctx) and "sharpens" in _model_reason(ctx)
    info = CliRunner().invoke(app, ["info", str(tmp_path / "m")])
    assert info.exit_code == 0 and "temperature 0.700" in info.stdout
