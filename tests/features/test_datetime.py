from __future__ import annotations

import numpy as np
import pandas as pd

from accelml.features.base import EncoderContext
from accelml.features.datetime import DatetimeEncoder


def _encoder(kind: str) -> DatetimeEncoder:
    return DatetimeEncoder("d", EncoderContext(kind, "binary", 2))


def test_tree_parts_and_hour_only_when_times_vary() -> None:
    dates = pd.Series(["2024-02-29", "2023-01-01", None])
    enc = _encoder("tree").fit(dates)
    assert "d__hour" not in enc.feature_names_
    out = enc.transform(dates)
    assert out[0].tolist() == [2024, 2, 29, 3, 60, pd.Timestamp("2024-02-29").timestamp()]
    assert np.isnan(out[2]).all()
    timed = _encoder("tree").fit(pd.Series(["2024-02-29 13:45", "2023-01-01"]))
    assert "d__hour" in timed.feature_names_
    assert timed.transform(pd.Series(["2024-02-29 13:45"]))[0, timed.feature_names_.index("d__hour")] == 13


def test_parses_mixed_formats_time_zones_and_datetimes() -> None:
    enc = _encoder("tree").fit(pd.Series(["2020-01-01"]))
    mixed = pd.Series(["2020-01-31", "2020/02/01", "garbage", None])
    assert enc.transform(mixed)[:, 2].tolist()[:2] == [31.0, 1.0]
    aware = pd.Series(pd.to_datetime(["2020-01-01 01:00"]).tz_localize("Europe/Oslo"))
    assert enc.transform(aware)[0, 2] == 1.0 and enc.transform(aware)[0, -1] == pd.Timestamp("2020-01-01").timestamp()
    native = pd.Series(pd.to_datetime(["2020-05-06"]))
    assert enc.transform(native)[0, 1] == 5.0


def test_dense_is_cyclical_standardized_and_imputes_missing() -> None:
    stamps = pd.Series(pd.date_range("2020-01-01", periods=200, freq="37h").astype(str), dtype=object)
    stamps[::10] = None
    enc = _encoder("dense").fit(stamps)
    assert enc.feature_names_ == [
        "d__year", "d__month_sin", "d__month_cos", "d__dayofweek_sin", "d__dayofweek_cos", "d__hour_sin",
        "d__hour_cos", "d__dayofyear_sin", "d__dayofyear_cos", "d__epoch", "d__missing",
    ]  # fmt: skip
    out = enc.transform(stamps)
    assert np.all(np.isfinite(out)) and np.all(np.abs(out[:, 1:9]) <= 1.0)
    assert out[:, -1].sum() == 20
    observed = out[out[:, -1] == 0]
    assert abs(observed[:, -2].mean()) < 1e-9 and abs(observed[:, -2].std() - 1) < 1e-9
    assert np.all(np.isfinite(enc.transform(pd.Series([np.nan, np.nan]))))
    assert np.abs(enc.transform(pd.Series(["2300-01-01"]))).max() == 5.0  # far future is clipped


def test_all_missing_training_column_does_not_crash() -> None:
    for kind in ("tree", "dense"):
        enc = _encoder(kind).fit(pd.Series([None, None], dtype=object))
        out = enc.transform(pd.Series(["2020-01-01", None]))
        assert out.shape == (2, len(enc.feature_names_))
        if kind == "dense":
            assert np.all(np.isfinite(out))
