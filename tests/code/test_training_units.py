"""Units of judging and promotion: metrics worked by hand, baselines, the promotion rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from klinik.models.baselines import LevelBaseline, ScoreBaseline, logistic_baseline
from klinik.settings import get_settings
from klinik.training.evaluate import expected_calibration_error, metrics, top_k
from klinik.training.registry import promotion_decision


def test_ece_by_hand():
    # bin [0.1, 0.2): predictions 0.1, 0.1 observed 0, 1 -> |0.1 - 0.5| = 0.4 on 2 rows
    # bin [0.9, 1.0]: predictions 0.9, 1.0 observed 1, 1 -> |0.95 - 1| = 0.05 on 2 rows
    y = [0, 1, 1, 1]
    p = [0.1, 0.1, 0.9, 1.0]
    assert expected_calibration_error(y, p) == pytest.approx((2 * 0.4 + 2 * 0.05) / 4)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_top_k_precision_and_recall_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05])
    m = metrics(y, p, capacity_share=0.3)  # K = 3 of 10
    assert m["k"] == 3
    assert m["precision_at_k"] == pytest.approx(2 / 3)
    assert m["recall_at_k"] == pytest.approx(2 / 3)
    assert top_k(0.10, 4) == 1  # at least one
    assert math.isnan(metrics([0, 0, 0], [0.1, 0.2, 0.3])["roc_auc"])


def test_level_baseline_gives_smoothed_rates_per_level():
    X = pd.DataFrame({"cat": [0, 0, 0, 0, 1, 1, 1, 1, np.nan, np.nan]})
    y = [0, 0, 0, 1, 1, 1, 1, 0, 1, 0]
    b = LevelBaseline("cat", prior_weight=0.0).fit(X, y)
    p = b.predict_proba(pd.DataFrame({"cat": [0, 1, np.nan, 7]}))[:, 1]
    np.testing.assert_allclose(p, [0.25, 0.75, 0.5, 0.5])
    banded = LevelBaseline("cat", bins=[0.5], prior_weight=0.0).fit(X, y)
    assert banded.predict_proba(pd.DataFrame({"cat": [0.2, 3.0]}))[:, 1].tolist() == [0.25, 0.75]


def test_score_baseline_learns_the_sign_and_handles_missing():
    rng = np.random.default_rng(0)
    score = rng.uniform(30, 95, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp((score - 60) / 6))).astype(int)  # low score, high risk
    X = pd.DataFrame({"score": score})
    X.loc[:99, "score"] = np.nan
    b = ScoreBaseline("score").fit(X, y)
    p = b.predict_proba(pd.DataFrame({"score": [40.0, 90.0, np.nan]}))[:, 1]
    assert p[0] > 0.8 > 0.1 > p[1]
    assert 0 < p[2] < 1


def test_logistic_baseline_takes_text_and_missing_values():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0, 0.5, 2.5], "kind": pd.array(list("xyxyxy"), dtype="str")})
    y = [0, 1, 0, 1, 0, 1]
    p = logistic_baseline(["kind"]).fit(X, y).predict_proba(X)[:, 1]
    assert ((0 < p) & (p < 1)).all()


def test_promotion_rule():
    s = get_settings()
    champ = {"roc_auc": 0.80, "log_loss": 0.30}
    assert promotion_decision({"roc_auc": 0.70, "log_loss": 0.20}, None, s)[0]  # no champion yet
    assert promotion_decision({"roc_auc": 0.81, "log_loss": 0.40}, champ, s)[0]  # better primary
    assert not promotion_decision({"roc_auc": 0.79, "log_loss": 0.10}, champ, s)[0]  # worse primary
    assert promotion_decision({"roc_auc": 0.80, "log_loss": 0.30}, champ, s)[0]  # equal: at least as good
    assert not promotion_decision({"roc_auc": 0.80, "log_loss": 0.31}, champ, s)[0]  # equal primary, worse tie-break


def test_training_tables_are_built_with_the_settings_given(world):
    """Features and labels of training follow the Settings passed in, never the environment's: with the RAT due by
    the end of April, an RAT held in April counts as held (the features scoring builds with the same settings)."""
    from klinik.features.build import build_features
    from klinik.settings import Settings
    from klinik.training.data_prep import task_data

    april = Settings(rat_office_deadline_month=4, rat_office_deadline_day=30)
    td = task_data(world, "risk", april)
    keys = td.frame[["coop_id", "year"]]
    built = {
        name: keys.merge(build_features(world, s), on=["coop_id", "year"], how="left")
        for name, s in (("april", april), ("march", Settings()))
    }
    np.testing.assert_array_equal(td.frame["rat_held"].to_numpy(), built["april"]["rat_held"].to_numpy())
    assert (built["april"]["rat_held"] > built["march"]["rat_held"]).any()
