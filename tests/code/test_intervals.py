"""The 80% interval (models/intervals.py): it holds the served probability, is wider on fewer rows, survives saving,
and its persistent error is found where a cooperative's error stays with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klinik.models.estimators import build_estimator
from klinik.models.intervals import (
    _Pairs,
    add_intervals,
    has_intervals,
    persistent_error,
    predict_interval,
    predict_with_interval,
)


def panel(n_coops: int, years: int = 5, seed: int = 0, latent: float = 0.0):
    """A small panel: two features, one row per cooperative and year; ``latent``: the log-odds SD of an unseen
    quality that stays with a cooperative."""
    rng = np.random.default_rng(seed)
    coop = np.repeat(np.arange(n_coops), years)
    year = np.tile(np.arange(2015, 2015 + years), n_coops)
    X = pd.DataFrame({"a": rng.normal(size=len(coop)), "b": rng.normal(size=len(coop))})
    z = 1.2 * X["a"] - 0.6 * X["b"] - 1.5 + latent * rng.normal(size=n_coops)[coop]
    y = (rng.random(len(coop)) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y, np.array([f"K{c:04d}" for c in coop]), year


def fitted(n_coops: int, seed: int = 0, **kw):
    X, y, coops, year = panel(n_coops, seed=seed)
    model = build_estimator("risk", candidates=("trees", "additive"), n_jobs=1, random_state=0)
    model.fit(X, y, clf__groups=coops, clf__time=year)
    return add_intervals(model, X, y, coops, year, n_folds=5, **kw)


@pytest.fixture(scope="module")
def big():
    return fitted(600)


def test_the_interval_holds_the_served_probability(big):
    X, *_ = panel(50, seed=9)
    p = big.predict_proba(X)[:, 1]
    lo, hi = predict_interval(big, X)
    assert np.all((lo <= p) & (p <= hi)) and np.all((0 < lo) & (hi < 1))
    assert np.all(hi - lo > 0)
    same_p, same_lo, same_hi = predict_with_interval(big, X)
    np.testing.assert_allclose(same_p, p)
    np.testing.assert_allclose(same_lo, lo)
    # the estimator offers the same on its own (the pipeline's last step, on encoded rows)
    np.testing.assert_allclose(big[-1].predict_interval(big[:-1].transform(X))[1], hi)


def test_a_higher_level_is_wider(big):
    X, *_ = panel(50, seed=9)
    lo80, hi80 = predict_interval(big, X, 0.8)
    lo95, hi95 = predict_interval(big, X, 0.95)
    assert np.all(lo95 <= lo80) and np.all(hi95 >= hi80)
    with pytest.raises(ValueError, match="level"):
        predict_interval(big, X, 1.5)


def test_fewer_rows_give_wider_intervals(big):
    X, *_ = panel(200, seed=9)
    small = fitted(60)
    wide = predict_interval(small, X, persistent=False)
    narrow = predict_interval(big, X, persistent=False)
    assert np.median(wide[1] - wide[0]) > 1.5 * np.median(narrow[1] - narrow[0])


def test_the_copies_survive_saving(big, tmp_path):
    import skops.io

    from klinik.models.persist import SKOPS_TRUSTED_TYPES

    X, *_ = panel(20, seed=9)
    skops.io.dump(big, tmp_path / "m.skops")
    loaded = skops.io.load(tmp_path / "m.skops", trusted=SKOPS_TRUSTED_TYPES)
    assert has_intervals(loaded)
    np.testing.assert_allclose(predict_interval(loaded, X), predict_interval(big, X))


def test_a_model_without_copies_gives_empty_intervals():
    X, y, coops, year = panel(100)
    model = build_estimator("risk", candidates=("additive",), n_jobs=1).fit(X, y, clf__groups=coops)
    lo, hi = predict_interval(model, X.head(3))
    assert not has_intervals(model) and np.isnan(lo).all() and np.isnan(hi).all()


def test_pair_sums_count_each_pair_once_at_the_lags_asked():
    rng = np.random.default_rng(1)
    X, y, coops, year = panel(40, years=6)
    keep = rng.random(len(coops)) < 0.7
    coops, year, x = coops[keep], year[keep], rng.normal(size=keep.sum())
    frame = pd.DataFrame({"g": coops, "t": year, "x": x})
    pairs = frame.merge(frame, on="g")
    for lag in (1, 2, 3):
        near = pairs[(pairs["t_x"] - pairs["t_y"]) >= lag]
        assert _Pairs(coops, year, lag).sum(x) == pytest.approx(float((near["x_x"] * near["x_y"]).sum()))


def test_the_persistent_error_is_found_where_it_is():
    """Residuals of a cooperative that covary across its years (an unseen quality): a positive variance near the
    latent's; independent ones: about none."""
    rng = np.random.default_rng(3)
    n, years = 3000, 5
    coop, year = np.repeat(np.arange(n), years), np.tile(np.arange(years), n)
    base = np.full(n * years, -1.0)  # the model's log-odds: right on average
    for sd, near in ((0.8, 0.64), (0.0, 0.0)):
        z = base + sd * rng.normal(size=n)[coop]
        y = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(int)
        found = persistent_error(y, base, np.zeros(len(z)), coop, year)
        assert found == pytest.approx(near, abs=0.15)
