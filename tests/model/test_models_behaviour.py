"""Model behaviour (Made With ML's three kinds) on the champion risk model of ``trained_registry``:
direction (more bad loans, more years without an RAT never lower the risk), invariance (a district's name
does not move the risk much), minimum function (an obviously broken cooperative is flagged high)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klinik.data.contract import BULELENG_DISTRICTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def risk_model(trained_registry):
    from klinik.models.persist import load_model

    name = trained_registry.settings.risk_model_name
    return load_model(f"models:/{name}@champion", tracking_uri=trained_registry.tracking_uri, n_jobs=1)


@pytest.fixture(scope="module")
def healthy_now(world, risk_model, trained_registry) -> pd.DataFrame:
    """Features of the cooperatives not sick in the last year: the ones the risk model scores."""
    from klinik.features.build import build_features

    feats = build_features(world, trained_registry.settings)
    last = feats[(feats["year"] == feats["year"].max()) & (feats["health_category_rank"] <= 1)]
    assert len(last) > 100
    return last[list(risk_model.feature_names_in_)].reset_index(drop=True)


def _risk(model, X: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


@pytest.mark.parametrize(
    "feature, values",
    [
        ("bad_loan_ratio", [0.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0]),
        ("risky_loan_ratio", [0.0, 5.0, 10.0, 25.0, 50.0, 90.0]),
        ("rat_missed_years", [0.0, 1.0, 2.0, 3.0, 5.0]),
    ],
)
def test_direction_more_trouble_never_lowers_the_risk(risk_model, healthy_now, feature, values):
    previous = None
    for v in values:
        p = _risk(risk_model, healthy_now.assign(**{feature: v}))
        if previous is not None:
            assert (p >= previous - 1e-12).all(), f"raising {feature} to {v} lowered someone's risk"
        previous = p


def test_direction_the_model_does_use_bad_loans(risk_model, healthy_now):
    low = _risk(risk_model, healthy_now.assign(bad_loan_ratio=0.0, risky_loan_ratio=0.0))
    high = _risk(risk_model, healthy_now.assign(bad_loan_ratio=60.0, risky_loan_ratio=80.0))
    assert (high - low).mean() > 0.01


def test_invariance_a_district_name_does_not_move_the_risk_much(risk_model, healthy_now):
    base = _risk(risk_model, healthy_now)
    for district in BULELENG_DISTRICTS:
        moved = np.abs(_risk(risk_model, healthy_now.assign(district=district)) - base)
        assert moved.mean() < 0.01, district
        assert moved.max() < 0.10, district
    unknown = np.abs(_risk(risk_model, healthy_now.assign(district="Denpasar")) - base)
    assert unknown.mean() < 0.02


def test_minimum_function_an_obviously_broken_cooperative_is_flagged(risk_model, healthy_now, trained_registry):
    """The median healthy cooperative, broken on every front: bad loans, losses, thin and shrinking equity,
    costs above income, no RAT for three years, no manager, staff leaving, nobody trained, a failing
    computed health score and an office score at the bottom of CUKUP_SEHAT."""
    typical = healthy_now.iloc[[int(np.argsort(_risk(risk_model, healthy_now))[len(healthy_now) // 2])]]
    broken = typical.assign(
        bad_loan_ratio=45.0,
        risky_loan_ratio=70.0,
        bad_loan_ratio_chg1=25.0,
        risky_loan_ratio_chg1=30.0,
        return_on_assets=-12.0,
        net_loss=1.0,
        negative_equity=0.0,
        equity_to_assets=4.0,
        equity_to_assets_chg3=-20.0,
        equity_to_risky_loans=10.0,
        opex_to_gross_shu=140.0,
        operational_self_sufficiency=60.0,
        health_score=66.5,
        health_category_rank=1.0,
        official_score=30.0,
        official_score_chg1=-30.0,
        official_category_rank=3.0,
        reserve_to_bad_loans=2.0,
        rat_held=0.0,
        rat_missed_years=3.0,
        has_manager=0.0,
        certified_share=0.0,
        trained_share=0.0,
        staff_departure_rate=60.0,
    )
    # the warning-sign shares those records give (features/build.py WARNING_SIGNS): finance 3 of 4 (category,
    # loss, bad loans rising), people 3 of 4 (no manager, staff leaving, nobody trained), governance at least
    # 2 of 4 (no RAT, three years without one)
    broken = broken.assign(
        weakness_keuangan=75.0,
        weakness_sdm=75.0,
        weakness_kelembagaan=np.maximum(typical["weakness_kelembagaan"].to_numpy(), 50.0),
    )
    p_broken = _risk(risk_model, broken)[0]
    scored = _risk(risk_model, healthy_now)
    assert p_broken > 5 * _risk(risk_model, typical)[0]
    # flagged: it would head the clinic's outreach list, whose length is the clinic's capacity
    capacity = max(1, round(trained_registry.settings.clinic_capacity_share * len(scored)))
    assert p_broken > np.sort(scored)[::-1][capacity - 1]
    assert p_broken >= np.quantile(scored, 0.99)
