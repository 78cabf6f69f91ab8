"""build_estimator and friends on data that has nothing to do with cooperatives (they must not know our names)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from klinik.models.estimators import AdaptiveClassifier, CalibratedLGBMClassifier, build_estimator, tree_depths
from klinik.models.explain import contributions, main_cause, spell_contributions


def _synthetic(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Patients in clinics: two numeric signals (one with holes), one noise column, a text colour."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "temperature": rng.normal(size=n),
            "pressure": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "colour": pd.array(rng.choice(["red", "green", "blue"], size=n), dtype="str"),
        }
    )
    X.loc[X.index % 9 == 0, "pressure"] = np.nan
    logit = -1.5 + 1.2 * X["temperature"] - 0.8 * X["pressure"].fillna(0) + 0.6 * (X["colour"] == "red")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    groups = rng.integers(0, n // 4, size=n)  # several rows per "patient"
    return X, y, groups


@pytest.fixture(scope="module")
def fitted():
    X, y, groups = _synthetic()
    model = build_estimator(
        "risk", categorical=["colour"], monotone={"temperature": 1}, random_state=3, n_splits=3, n_jobs=1
    )
    model.fit(X.iloc[:2400], y[:2400], clf__groups=groups[:2400])
    return model, X.iloc[2400:], y[2400:]


def test_build_estimator_is_an_unfitted_pipeline_with_pandas_encoder():
    model = build_estimator("recovery", categorical=["colour"])
    assert [name for name, _ in model.steps] == ["prep", "clf"]
    assert isinstance(model[-1], AdaptiveClassifier)
    assert not hasattr(model[-1], "members_")
    with pytest.raises(ValueError, match="task"):
        build_estimator("weather")


def test_learns_and_gives_calibrated_probabilities(fitted):
    model, X_test, y_test = fitted
    p = model.predict_proba(X_test)
    assert p.shape == (len(X_test), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert roc_auc_score(y_test, p[:, 1]) > 0.75
    # calibration: the mean prediction is close to the observed rate
    assert abs(p[:, 1].mean() - y_test.mean()) < 0.05
    assert set(model.predict(X_test)) <= {0, 1}


def test_contributions_are_per_input_column_and_sum_to_the_raw_score(fitted):
    model, X_test, _ = fitted
    c = contributions(model, X_test)
    assert list(c.columns) == [*X_test.columns, "bias"]
    raw = model[-1].raw_score(model[:-1].transform(X_test))
    np.testing.assert_allclose(c.sum(axis=1).to_numpy(), raw, atol=1e-6)
    a, b = model[-1].calibration_
    np.testing.assert_allclose(1 / (1 + np.exp(-(a * raw + b))), model.predict_proba(X_test)[:, 1], rtol=1e-9)


def test_monotone_constraint_by_name_holds(fitted):
    model, X_test, _ = fitted
    rows = X_test.head(50)
    previous = None
    for value in np.linspace(-3, 3, 13):
        p = model.predict_proba(rows.assign(temperature=value))[:, 1]
        if previous is not None:
            assert (p >= previous - 1e-12).all()
        previous = p


def test_unknown_and_missing_categories_still_score(fitted):
    model, X_test, _ = fitted
    odd = X_test.head(3).copy()
    odd["colour"] = pd.array(["purple", None, "red"], dtype="str")
    p = model.predict_proba(odd)[:, 1]
    assert np.isfinite(p).all()


def test_monotone_on_a_missing_column_is_refused():
    X, y, groups = _synthetic(400)
    model = build_estimator("risk", monotone={"not_there": 1}, n_splits=2, n_jobs=1)
    with pytest.raises(ValueError, match="not_there"):
        model.fit(X.drop(columns="colour"), y, clf__groups=groups)


def test_same_data_and_seed_give_the_same_model():
    X, y, groups = _synthetic(800, seed=5)
    p = [
        build_estimator("risk", categorical=["colour"], random_state=1, n_splits=3, n_jobs=1)
        .fit(X, y, clf__groups=groups)
        .predict_proba(X)[:, 1]
        for _ in range(2)
    ]
    np.testing.assert_array_equal(p[0], p[1])


def test_threads_can_change_after_fitting(fitted):
    from klinik.models.persist import set_threads

    model, X_test, _ = fitted
    before = model.predict_proba(X_test)
    set_threads(model, 1)
    assert model[-1].n_jobs == 1
    np.testing.assert_allclose(model.predict_proba(X_test), before)


def test_skops_round_trip_trusts_only_our_listed_types(fitted):
    import skops.io

    from klinik.models.persist import SKOPS_TRUSTED_TYPES

    model, X_test, _ = fitted
    blob = skops.io.dumps(model)
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(SKOPS_TRUSTED_TYPES)
    loaded = skops.io.loads(blob, trusted=SKOPS_TRUSTED_TYPES)
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test))
    np.testing.assert_allclose(contributions(loaded, X_test), contributions(model, X_test))


def test_a_model_logged_before_the_klinik_namespace_asks_for_retraining(fitted, tmp_path):
    """Artifacts written when the stage folders were top-level packages name ``models.estimators...``: loading one
    ends in the one-line "retrain" message, not in an untrusted-types listing or a traceback."""
    import zipfile

    import mlflow.sklearn

    from klinik.models.persist import SKOPS_TRUSTED_TYPES, ModelLoadError, load_local

    model, _, _ = fitted
    folder = tmp_path / "model"
    mlflow.sklearn.save_model(
        model, folder, serialization_format="skops", skops_trusted_types=SKOPS_TRUSTED_TYPES, pip_requirements=[]
    )
    assert load_local(folder) is not None  # as written today it loads
    skops_file = next(folder.glob("*.skops"))
    with zipfile.ZipFile(skops_file) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members = {k: v.replace(b"klinik.models.estimators", b"models.estimators") for k, v in members.items()}
    with zipfile.ZipFile(skops_file, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ModelLoadError, match=r"older version of this code .*retrain with `klinik train`$"):
        load_local(folder)


def test_main_cause_picks_the_clinic_with_the_largest_net_push_and_never_context():
    groups = {"bad_loans": "KEUANGAN", "cash": "KEUANGAN", "staff": "SDM", "rat": "KELEMBAGAAN", "district": "CONTEXT"}
    contribs = pd.DataFrame(
        {
            "bad_loans": [0.9, 0.2, 0.1],
            "cash": [-0.5, 0.0, 0.1],
            "staff": [0.3, 0.1, 0.0],
            "rat": [0.0, 0.4, 0.05],
            "district": [5.0, 5.0, 5.0],
            "bias": [-2.0, -2.0, -2.0],
        },
        index=["a", "b", "c"],
    )
    got = main_cause(contribs, groups)
    assert got.to_dict() == {"a": "KEUANGAN", "b": "KELEMBAGAAN", "c": "KEUANGAN"}


def test_spell_contributions_add_the_year_before_the_spell(fitted):
    """A row in a spell of k years gets its own contributions plus those of its row k years earlier (when the
    history holds it); a row not in a spell, or whose earlier row is missing, keeps its own."""
    model, X_test, _ = fitted
    cols = list(X_test.columns)
    history = X_test.iloc[:6].assign(patient=["p", "q", "r", "p", "q", "s"], visit=[1, 1, 1, 2, 2, 2])
    now = history.iloc[3:].assign(spell=[1.0, 0.0, 3.0])  # p: spell of 1 year; q: none; s: back to year -1
    got = spell_contributions(model, now, history, cols, "spell", key="patient", year="visit")
    own = contributions(model, now[cols])
    before_p = contributions(model, history.iloc[[0]][cols]).iloc[0].to_numpy()
    np.testing.assert_allclose(got.iloc[0].to_numpy(), own.iloc[0].to_numpy() + before_p)
    np.testing.assert_allclose(got.iloc[1:].to_numpy(), own.iloc[1:].to_numpy())
    assert list(got.index) == list(now.index) and list(got.columns) == list(own.columns)


def test_folds_over_string_ids_are_sklearns_group_folds():
    # the estimator splits on integer codes of the ids (numpy's isin on strings is quadratic); the folds must
    # be exactly those sklearn makes from the ids themselves, so results do not depend on that shortcut
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    rng = np.random.default_rng(0)
    ids = np.array([f"KOP-{i:06d}" for i in rng.integers(0, 400, 4000)], dtype=object)
    y = (rng.random(len(ids)) < 0.1).astype(int)
    X = np.zeros((len(ids), 1))
    est = CalibratedLGBMClassifier(random_state=5)
    for many, splitter in ((True, GroupKFold), (False, StratifiedGroupKFold)):
        expected = list(splitter(n_splits=4, shuffle=True, random_state=5).split(X, y, ids))
        got = est._folds(X, y, ids, 4, many)
        assert len(got) == len(expected) == 4
        for (train_a, test_a), (train_b, test_b) in zip(got, expected):
            np.testing.assert_array_equal(train_a, train_b)
            np.testing.assert_array_equal(test_a, test_b)


def test_many_events_grow_31_leaf_trees_at_most_6_deep():
    # TreeSHAP, the reasons of every score, costs leaves x depth^2 per tree: the large-data tier (6,000+ events)
    # caps the depth, and an explicit max_depth still wins (so the cap is what makes the difference)
    X, y, groups = _synthetic(30_000, seed=7)
    assert min(y.mean(), 1 - y.mean()) * len(y) >= 6_000
    trees = dict(categorical=["colour"], n_splits=2, max_rounds=15, n_jobs=1, candidates=("trees",))
    capped = build_estimator("risk", **trees)
    capped.fit(X, y, clf__groups=groups)
    free = build_estimator("risk", **trees, max_depth=-1)
    free.fit(X, y, clf__groups=groups)
    assert max(tree_depths(capped[-1].booster)) <= 6 < max(tree_depths(free[-1].booster))
    assert capped[-1].booster.dump_model()["tree_info"][0]["num_leaves"] == 31
