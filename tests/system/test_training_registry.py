"""End to end: both models trained on a Buleleng-sized world into a real SQLite MLflow store.

The session fixture ``trained_registry`` (tests/conftest.py) trains once; tests that add versions work on a
copy of its store.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from klinik.features.labels import TASKS

pytestmark = pytest.mark.slow


def _names(settings):
    return {"risk": settings.risk_model_name, "recovery": settings.recovery_model_name}


def test_both_models_registered_with_aliases_tags_and_a_logged_run(trained_registry):
    client = MlflowClient(tracking_uri=trained_registry.tracking_uri)
    for task, name in _names(trained_registry.settings).items():
        s = trained_registry.summary[task]
        champion = client.get_model_version_by_alias(name, "champion")
        challenger = client.get_model_version_by_alias(name, "challenger")
        assert str(champion.version) == str(challenger.version) == s["version"] == "1"
        assert s["promoted"] and s["decision"] == "no champion yet"
        tags = champion.tags
        for key in (
            "holdout_roc_auc",
            "holdout_ece",
            "training_seconds",
            "features",
            "data_hash",
            "promotion_decision",
            "holdout_year",
            "train_years",
        ):
            assert tags.get(key), key
        assert float(tags["holdout_roc_auc"]) == pytest.approx(s["metrics"]["roc_auc"], rel=1e-5)

        run = client.get_run(s["run_id"])
        m = run.data.metrics
        for key in (
            "roc_auc",
            "pr_auc",
            "brier",
            "log_loss",
            "ece",
            "precision_at_k",
            "recall_at_k",
            "baseline_logistic_roc_auc",
            "baseline_persistence_roc_auc",
            "baseline_office_score_roc_auc",
            "truth_roc_auc",
            "gap_to_truth_roc_auc",
            "backtest_model_roc_auc",
        ):
            assert key in m and math.isfinite(m[key]), key
        assert m["gap_to_truth_roc_auc"] == pytest.approx(m["truth_roc_auc"] - m["roc_auc"])
        backtest = client.get_metric_history(s["run_id"], "backtest_model_roc_auc")
        assert len(backtest) == trained_registry.settings.backtest_years
        assert max(p.step for p in backtest) == s["holdout_year"]
        assert {d.tags[0].value for d in run.inputs.dataset_inputs} == {"training", "holdout"}
        artifacts = {a.path for a in client.list_artifacts(s["run_id"], "plots")}
        assert {"plots/roc_pr.png", "plots/calibration.png", "plots/importance.png"} <= artifacts
        assert run.data.params["holdout_year"] == str(s["holdout_year"])
    # routing was judged against the simulator's causes
    assert 0.0 <= trained_registry.summary["risk"]["extra"]["cause_match"] <= 1.0


def test_training_leaves_no_mlflow_store_behind_in_the_environment(trained_registry):
    import os

    from klinik.settings import get_settings

    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert get_settings().mlflow_uri != trained_registry.tracking_uri


def test_holdouts_are_time_based(trained_registry):
    s = trained_registry.summary
    assert s["risk"]["holdout_year"] == 2023  # the last year t with t+1 known (world: 2014-2024)
    assert s["recovery"]["holdout_year"] == 2022  # the last year t with t+2 known (no censored rows)
    for task in TASKS:
        bt = s[task]["backtest"]
        assert sorted(bt["year"].unique()) == list(range(s[task]["holdout_year"] - 2, s[task]["holdout_year"] + 1))


def test_the_logged_model_loads_safely_and_pyfunc_gives_probabilities(trained_registry, world):
    import mlflow.pyfunc
    from mlflow.models import Model

    from klinik.features.build import build_features
    from klinik.models.persist import SKOPS_TRUSTED_TYPES, load_model, mlflow_store

    uri = trained_registry.tracking_uri
    feats = build_features(world, trained_registry.settings)
    rows = feats[feats["year"] == 2024].head(40)
    for _task, name in _names(trained_registry.settings).items():
        model = load_model(f"models:/{name}@champion", tracking_uri=uri, n_jobs=1)
        X = rows[list(model.feature_names_in_)]
        p = model.predict_proba(X)[:, 1]
        assert ((p > 0) & (p < 1)).all()
        assert model[-1].n_jobs == 1

        with mlflow_store(uri):
            local = mlflow.artifacts.download_artifacts(f"models:/{name}@champion")
            pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        flavor = Model.load(f"{local}/MLmodel").flavors["sklearn"]
        assert flavor["serialization_format"] == "skops"
        assert set(flavor["skops_trusted_types"]) == set(SKOPS_TRUSTED_TYPES)
        requirements = open(f"{local}/requirements.txt").read()
        for dist in ("lightgbm==", "scikit-learn==", "skops==", "pandas==", "numpy==", "klinik-koperasi=="):
            assert dist in requirements
        out = np.asarray(pyfunc.predict(X))
        assert out.shape == (len(X), 2)
        np.testing.assert_allclose(out[:, 1], p, rtol=1e-9)


def _copy_store(trained_registry, tmp_path):
    """A private copy of the session store (artifacts stay where they are: the copy only reads them)."""
    from klinik.settings import get_settings

    db = tmp_path / "mlflow.db"
    shutil.copy(trained_registry.work_dir / "mlflow.db", db)
    uri = f"sqlite:///{db}"
    return get_settings(
        work_dir=tmp_path, tracking_uri=uri, train_folds=trained_registry.settings.train_folds, train_threads=1
    )


def _damage_labels(src, dst, last_clean_year: int, seed: int = 0):
    """A copy of the dataset whose health assessments up to ``last_clean_year - 1`` are shuffled across
    cooperatives within each year (category and score together): training labels become noise while both
    holdouts (risk 2023 -> 2024, recovery 2022 -> 2024) keep their real assessments."""
    shutil.copytree(src, dst)
    health = pd.read_csv(dst / "health.csv", dtype={"coop_id": str})
    rng = np.random.default_rng(seed)
    for year, idx in health.groupby("year").groups.items():
        if year < last_clean_year:
            perm = rng.permutation(idx)
            health.loc[idx, ["category", "score"]] = health.loc[perm, ["category", "score"]].to_numpy()
    health.to_csv(dst / "health.csv", index=False)


def test_same_data_same_metrics_and_a_worse_challenger_is_not_promoted(trained_registry, tmp_path):
    from klinik.training.train import train_all

    settings = _copy_store(trained_registry, tmp_path)
    names = _names(settings)
    client = MlflowClient(tracking_uri=settings.mlflow_uri)

    again = train_all(trained_registry.data_dir, settings)
    for task in TASKS:
        assert again[task]["metrics"] == trained_registry.summary[task]["metrics"]  # same data, same seed
        assert again[task]["version"] == "2"
        # equal on the same holdout: at least as good, so the champion moves
        assert again[task]["promoted"], again[task]["decision"]
        assert str(client.get_model_version_by_alias(names[task], "champion").version) == "2"

    damaged = tmp_path / "damaged"
    _damage_labels(trained_registry.data_dir, damaged, last_clean_year=2022)
    worse = train_all(damaged, settings)
    for task in TASKS:
        s = worse[task]
        assert s["version"] == "3"
        assert not s["promoted"], s["decision"]
        assert s["champion_metrics"]["roc_auc"] > s["metrics"]["roc_auc"]
        assert str(client.get_model_version_by_alias(names[task], "challenger").version) == "3"
        assert str(client.get_model_version_by_alias(names[task], "champion").version) == "2"
        tags = client.get_model_version(names[task], "3").tags
        assert tags["promoted"] == "False" and "champion kept" in tags["promotion_decision"]
        assert float(tags["champion_roc_auc"]) == pytest.approx(s["champion_metrics"]["roc_auc"], rel=1e-5)
        assert client.get_run(s["run_id"]).data.tags["promoted"] == "False"


def test_a_champion_this_code_cannot_load_is_replaced_and_says_so(world_dir, tmp_path):
    """A store whose champion was saved by other code (here: a pickled stand-in without our features) must not
    stop training: the champion cannot be judged on the new holdout, so the new version replaces it, and the
    decision says why. Without the feature and label settings recorded it is replaced before it is loaded."""
    from types import SimpleNamespace

    import mlflow
    from sklearn.dummy import DummyClassifier

    from klinik.models.persist import mlflow_store
    from klinik.settings import get_settings
    from klinik.training.registry import challenge
    from klinik.training.train import train_all

    settings = get_settings(work_dir=tmp_path)
    name = settings.risk_model_name
    with mlflow_store(settings.mlflow_uri):
        old = mlflow.create_experiment("older-code", artifact_location=(tmp_path / "old").as_uri())
        with mlflow.start_run(experiment_id=old):
            mlflow.sklearn.log_model(
                DummyClassifier().fit([[0], [1]], [0, 1]),
                name="old",
                serialization_format="pickle",
                registered_model_name=name,
            )
    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    client.set_registered_model_alias(name, "champion", "1")

    promotion = challenge(SimpleNamespace(task="risk", metrics={"roc_auc": 0.5, "log_loss": 1.0}), settings)
    assert promotion.promote and promotion.champion_version == "1"
    assert "records no feature and label settings" in promotion.decision, promotion.decision

    for key, value in settings.feature_label_values.items():  # the settings match: now it must be loaded to judge
        client.set_model_version_tag(name, "1", key, str(value))
    summary = train_all(world_dir, settings)

    assert summary["risk"]["version"] == "2"
    assert summary["risk"]["champion_version"] == "2"
    assert "cannot score this holdout" in summary["risk"]["decision"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
