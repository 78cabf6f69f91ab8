"""The estimator adapts to the data: the family that fits how the data were made is the one it serves.

Two kinds of made-up panels (cooperatives over years, nothing of ours): log-odds linear in a few columns with few
events, where a regularised additive model has far less variance than boosted trees; and an outcome decided by
combinations of thresholds, which no sum of one curve per column can follow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from klinik.models.additive import AdditiveLogisticClassifier
from klinik.models.estimators import build_estimator
from klinik.models.explain import contributions

TREES = ("trees", "plain_trees")


def _panel(n_units: int, years: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n_units * years
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(8)})
    X["kind"] = pd.array(rng.choice(["a", "b", "c"], size=n), dtype="str")
    units = np.repeat(np.arange(n_units), years)
    year = np.tile(np.arange(2010, 2010 + years), n_units)
    return X, units, year


def _share(model, family) -> float:
    clf = model[-1]
    weights = dict(zip(clf.member_names_, clf.weights_))
    return sum(weights.get(name, 0.0) for name in family) / sum(weights.values())


def _fit(X, y, units, year):
    model = build_estimator("risk", categorical=["kind"], n_splits=3, n_jobs=1, random_state=1)
    return model.fit(X, y, clf__groups=units, clf__time=year)


def test_linear_data_with_few_events_get_the_additive_model():
    X, units, year = _panel(400, 6, seed=0)
    logit = -4.2 + 0.7 * X["x0"] - 0.6 * X["x1"] + 0.5 * (X["x2"] + X["x3"]) - 0.4 * X["x4"] + 0.4 * X["x5"]
    logit += 0.4 * (X["kind"] == "a")
    y = (np.random.default_rng(1).random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    assert 60 <= y.sum() <= 200  # few events
    model = _fit(X, y, units, year)
    assert _share(model, ("additive",)) > 0.8, model[-1].validation_
    assert "time" in model[-1].validation_["how"]


def test_strong_interactions_get_the_trees():
    X, units, year = _panel(500, 6, seed=2)
    both = (X["x0"] > 0.3) & (X["x1"] > 0.3)
    neither = (X["x0"] < -0.3) & (X["x1"] < -0.3)
    logit = -2.5 + 3.0 * both + 3.0 * neither - 2.0 * ((X["x2"] > 0) & (X["kind"] == "b"))
    y = (np.random.default_rng(3).random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    model = _fit(X, y, units, year)
    assert _share(model, TREES) > 0.8, model[-1].validation_
    v = model[-1].validation_
    assert max(v[name]["roc_auc"] for name in TREES) > v["additive"]["roc_auc"] + 0.05


def test_the_blend_is_explained_exactly_and_logs_its_choice():
    X, units, year = _panel(300, 5, seed=4)
    logit = -2.0 + X["x0"] + 1.5 * ((X["x1"] > 0) & (X["x2"] > 0))
    y = (np.random.default_rng(5).random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    model = _fit(X, y, units, year)
    clf = model[-1]
    c = contributions(model, X.head(50))
    raw = clf.raw_score(model[:-1].transform(X.head(50)))
    np.testing.assert_allclose(c.sum(axis=1).to_numpy(), raw, atol=1e-9)
    expected = sum(w * m.contributions(model[:-1].transform(X.head(50))) for w, m in zip(clf.weights_, clf.members_))
    np.testing.assert_allclose(c.to_numpy(), expected[c.columns].to_numpy(), atol=1e-12)
    params, metrics = clf.choice_record()
    assert params["choice"].count(":") == len(clf.members_)
    for name in ("trees", "plain_trees", "additive", "blend"):
        assert 0 < metrics[f"choice_{name}_log_loss"] < 1
    assert (
        metrics["choice_blend_log_loss"] <= min(metrics[f"choice_{n}_log_loss"] for n in TREES + ("additive",)) + 1e-3
    )


def test_without_time_the_choice_uses_grouped_out_of_fold_scores():
    X, units, _ = _panel(200, 5, seed=6)
    y = (np.random.default_rng(7).random(len(X)) < 1 / (1 + np.exp(-(-1.5 + X["x0"])))).astype(int)
    model = build_estimator("risk", categorical=["kind"], n_splits=3, n_jobs=1).fit(X, y, clf__groups=units)
    assert "grouped" in model[-1].validation_["how"]
    assert roc_auc_score(y, model.predict_proba(X)[:, 1]) > 0.7


def test_the_additive_model_is_monotone_where_asked_and_flat_beyond_its_knots():
    X, units, _ = _panel(300, 4, seed=8)
    X = X.drop(columns="kind")
    logit = -1.0 + 1.2 * X["x0"] - 0.5 * X["x1"] ** 2
    y = (np.random.default_rng(9).random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    model = AdditiveLogisticClassifier(monotone={"x1": -1}, n_splits=3).fit(X, y, groups=units)
    rows = X.head(20)
    previous = None
    for value in np.linspace(-6, 6, 25):
        p = model.predict_proba(rows.assign(x1=value))[:, 1]
        if previous is not None:
            assert (p <= previous + 1e-12).all()
        previous = p
    far = model.predict_proba(rows.assign(x0=50.0))[:, 1]
    np.testing.assert_allclose(far, model.predict_proba(rows.assign(x0=500.0))[:, 1])
    c = model.contributions(rows)
    np.testing.assert_allclose(c.sum(axis=1), model.raw_score(rows), atol=1e-9)
    with pytest.raises(ValueError, match="not_there"):
        AdditiveLogisticClassifier(monotone={"not_there": 1}).fit(X, y)


def test_the_families_to_choose_among_are_a_setting_and_an_unknown_one_is_refused():
    from klinik.settings import get_settings
    from klinik.training.train import estimator_params

    params = estimator_params(get_settings(train_candidates="trees, additive"), 1_000)
    assert params["candidates"] == ("trees", "additive")
    assert build_estimator("risk", **params)[-1].candidates == ("trees", "additive")
    with pytest.raises(ValueError, match="forest"):
        build_estimator("risk", candidates=("trees", "forest"))
    with pytest.raises(ValueError, match="candidates"):
        build_estimator("risk", candidates=())


def test_with_many_events_the_validation_periods_are_the_tuning_folds():
    X, units, year = _panel(1_500, 6, seed=10)
    logit = -1.0 + X["x0"] - 0.8 * X["x1"] + 1.2 * ((X["x2"] > 0) & (X["x3"] > 0))
    y = (np.random.default_rng(11).random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    assert min(y.sum(), len(y) - y.sum()) >= 1_500
    model = _fit(X, y, units, year)
    clf = model[-1]
    v = clf.validation_
    assert "tuned on the periods before it" in v["how"], v["how"]
    assert v["rows"] == int((year >= 2013).sum())  # the last three years, each scored by fits on the years before
    assert all(np.isfinite(m.calibration_).all() for m in clf.members_)
    fresh, fresh_units, _ = _panel(400, 6, seed=12)
    fresh_logit = -1.0 + fresh["x0"] - 0.8 * fresh["x1"] + 1.2 * ((fresh["x2"] > 0) & (fresh["x3"] > 0))
    fresh_y = (np.random.default_rng(13).random(len(fresh)) < 1 / (1 + np.exp(-fresh_logit))).astype(int)
    assert roc_auc_score(fresh_y, model.predict_proba(fresh)[:, 1]) > 0.75


def test_refitting_with_the_choices_kept_reproduces_the_model_and_keeps_its_weights():
    from klinik.models.estimators import refit_like

    X, units, year = _panel(300, 5, seed=14)
    logit = -1.5 + X["x0"] + 1.0 * ((X["x1"] > 0) & (X["x2"] > 0))
    y = (np.random.default_rng(15).random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    model = _fit(X, y, units, year)
    again = refit_like(model, X, y)  # the same rows: the same model
    np.testing.assert_allclose(again.predict_proba(X)[:, 1], model.predict_proba(X)[:, 1], atol=1e-9)
    early = year < 2013
    past = refit_like(model, X[early], y[early])  # earlier years only: new fits, the same choice
    assert past[-1].member_names_ == model[-1].member_names_
    np.testing.assert_array_equal(past[-1].weights_, model[-1].weights_)
    assert "later fit" in past[-1].validation_["how"]
    assert not np.allclose(past.predict_proba(X)[:, 1], model.predict_proba(X)[:, 1])
