"""Every financial and people feature on hand-computed examples, the official score, missing and zero handling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_features_kit import coop, make_dataset, staff, statement

from klinik.features import health_score
from klinik.features.build import build_features
from klinik.features.catalog import CATEGORICAL
from klinik.settings import Settings


def one_row(ds, year):
    feats = build_features(ds, Settings(), years=[year])
    row = feats[feats["year"] == year]
    assert len(row) == 1
    return row.iloc[0]


def test_each_health_ratio_on_the_default_statement():
    # cash 10, assets 100, loans 50 (to members 40; PKL 4, PDR 2, PM 1), reserve 3, current liabilities 50,
    # equity 50, savings 5 + 15 + 30, external borrowings 10, gross participation 18, other revenue 2,
    # operating expenses 16 (personnel 4), SHU 4
    ds = make_dataset(cooperatives=[coop("A")], financials=[statement("A", 2020)])
    r = one_row(ds, 2020)
    expected = {
        "equity_to_assets": 50.0,  # 50 / 100
        "equity_to_risky_loans": 50 / 7 * 100,  # 50 / (4 + 2 + 1)
        "loans_to_members_ratio": 80.0,  # 40 / 50
        "bad_loan_ratio": 9.0,  # (0.5*4 + 0.75*2 + 1*1) / 50 = 4.5 / 50
        "reserve_to_bad_loans": 3 / 4.5 * 100,  # 3 / 4.5
        "risky_loan_ratio": 14.0,  # 7 / 50
        "opex_to_gross_shu": 80.0,  # 16 / (16 + 4)
        "personnel_to_loans": 8.0,  # 4 / 50
        "cash_ratio": 20.0,  # 10 / 50
        "loans_to_funds": 50 / 60 * 100,  # 50 / (5 + 15 + 30 + 10)
        "return_on_assets": 4.0,  # 4 / 100
        "operational_self_sufficiency": 125.0,  # (18 + 2) / 16
        "participation_ratio": 90.0,  # 18 / (18 + 2)
        "total_assets": 100.0,
        "balance_sheet_gap": 0.0,
        "net_loss": 0.0,
        "negative_equity": 0.0,
        "no_financial_statement": 0.0,
    }
    for name, value in expected.items():
        assert r[name] == pytest.approx(value), name


def test_official_score_on_a_known_case():
    # Points per rule for the default statement (band points x weight / 100):
    # equity/assets 50% -> 100 x 6 = 6; equity/risky 714% -> 100 x 6 = 6; members' loans 80% -> 100 x 10 = 10;
    # bad loans 9% -> 80 x 5 = 4; reserve 66.7% -> 60 x 5 = 3; risky 14% -> 100 x 5 = 5;
    # opex/gross SHU 80% -> 50 x 4 = 2; personnel/loans 8% -> 75 x 2 = 1.5; cash 20% -> 50 x 10 = 5;
    # loans/funds 83% -> 75 x 5 = 3.75; ROA 4% -> 25 x 3 = 0.75; OSS 125% -> 50 x 4 = 2; participation 90% -> 7
    # = 56 of 72 applicable points -> 77.78, CUKUP_SEHAT (rank 1)
    ds = make_dataset(cooperatives=[coop("A")], financials=[statement("A", 2020)])
    r = one_row(ds, 2020)
    assert r["official_score"] == pytest.approx(56 / 72 * 100)
    assert r["official_category_rank"] == 1.0


def test_score_of_a_cooperative_that_does_not_lend_is_rescaled_over_its_own_rules():
    no_loans = dict(
        loans_outstanding=0.0,
        loans_to_members=0.0,
        loans_substandard=0.0,
        loans_doubtful=0.0,
        loans_loss=0.0,
        loan_loss_reserve=0.0,
    )
    ds = make_dataset(cooperatives=[coop("A", coop_type="KONSUMEN")], financials=[statement("A", 2020, **no_loans)])
    r = one_row(ds, 2020)
    for name in (
        "equity_to_risky_loans",
        "loans_to_members_ratio",
        "bad_loan_ratio",
        "reserve_to_bad_loans",
        "risky_loan_ratio",
        "personnel_to_loans",
    ):
        assert math.isnan(r[name]), name
    assert r["loans_to_funds"] == 0.0
    # applicable: equity/assets 6 + opex 4 + cash 10 + ROA 3 + OSS 4 + participation 7 = 34 points
    # earned: 6 + 2 + 5 + 0.75 + 2 + 7 = 22.75
    assert r["official_score"] == pytest.approx(22.75 / 34 * 100)


def test_no_bad_loans_earns_full_points_for_the_undefined_coverage_ratios():
    clean = dict(loans_substandard=0.0, loans_doubtful=0.0, loans_loss=0.0)
    ds = make_dataset(cooperatives=[coop("A")], financials=[statement("A", 2020, **clean)])
    r = one_row(ds, 2020)
    assert math.isnan(r["equity_to_risky_loans"]) and math.isnan(r["reserve_to_bad_loans"])
    assert r["bad_loan_ratio"] == 0.0 and r["risky_loan_ratio"] == 0.0
    # vs the default: bad loans 0% -> 100 (+1), reserve undefined -> 100 (+2); equity/risky stays 100
    assert r["official_score"] == pytest.approx((56 + 1 + 2) / 72 * 100)


def test_band_edges_and_category_cuts():
    rule = next(r for r in health_score.HEALTH_RULES if r.ratio == "equity_to_assets")
    points = health_score.band_points(
        rule, np.array([-5.0, 0.0, 20.0, 20.5, 40.0, 41.0, 60.0, 60.5, 80.0, 95.0, np.nan])
    )
    np.testing.assert_array_equal(points[:-1], [0, 0, 25, 50, 50, 100, 100, 50, 50, 25])
    assert np.isnan(points[-1])
    ranks = health_score.category_rank(np.array([100, 80, 79.99, 66, 65.9, 51, 50.99, 0, np.nan]))
    np.testing.assert_array_equal(ranks[:-1], [0, 0, 1, 1, 2, 2, 3, 3])
    assert np.isnan(ranks[-1])


def test_scoring_table_is_complete_and_well_formed():
    from klinik.features.catalog import FEATURES

    supported = sum(r.weight for r in health_score.HEALTH_RULES)
    missing = sum(w for _, _, w in health_score.NOT_IN_DATA)
    assert supported + missing == 100
    assert missing == 28  # Manajemen 15, capital adequacy 3, member cost 4, members' SHU 3, promotion 3
    for rule in health_score.HEALTH_RULES:
        assert rule.ratio in FEATURES and FEATURES[rule.ratio].unit == "pct", rule.ratio
        uppers = [b for b, _ in rule.bands]
        assert uppers == sorted(uppers) and math.isinf(uppers[-1]), rule.ratio
        assert all(0 <= p <= 100 for _, p in rule.bands), rule.ratio
        assert rule.source in ("DOMAIN", "S-chosen")
    assert len(health_score.rules_table()) == len(health_score.HEALTH_RULES) + len(health_score.NOT_IN_DATA)


def test_worked_example_with_inconsistent_totals_is_taken_at_face_value():
    # docs/domain.md: a public worksheet lists equity as 155.2 M (its components add up to that) but divides
    # 115.2 M by total assets of 174.1 M and reports 66%. Our features divide the equity as filed and say how
    # far the books disagree with themselves (assets - liabilities - equity); the loader refuses such a row
    # (over 1%) unless it is quarantined, so the model only ever sees small gaps.
    listed_equity, divided_equity, assets = 155_206_668.0, 115_206_668.0, 174_055_219.0
    liabilities = assets - divided_equity  # the liabilities that would make the worksheet's figure balance
    worksheet = statement(
        "W",
        2016,
        cash=5_000_000.0,
        current_assets=150_000_000.0,
        total_assets=assets,
        loans_outstanding=115_642_000.0,
        loans_to_members=115_642_000.0,
        loans_substandard=12_550_000.0,
        loans_doubtful=0.0,
        loans_loss=0.0,
        loan_loss_reserve=30_853_649.0,
        current_liabilities=liabilities,
        total_liabilities=liabilities,
        equity=listed_equity,
    )
    ds = make_dataset(cooperatives=[coop("W")], financials=[worksheet])
    r = one_row(ds, 2016)
    assert r["equity_to_assets"] == pytest.approx(listed_equity / assets * 100)  # 89.2%, not the sheet's 66%
    assert r["equity_to_assets"] == pytest.approx(89.17, abs=0.01)
    assert r["balance_sheet_gap"] == pytest.approx(-40_000_000 / assets * 100)  # -23%: the books disagree
    rule = next(x for x in health_score.HEALTH_RULES if x.ratio == "equity_to_assets")
    assert health_score.band_points(rule, np.array([r["equity_to_assets"]]))[0] == 25  # the sheet gave 50
    assert r["equity_to_risky_loans"] == pytest.approx(listed_equity / 12_550_000 * 100)


def test_zero_denominators_are_missing_never_infinite():
    zeros = dict(
        current_liabilities=0.0,
        total_liabilities=0.0,
        equity=100.0,
        gross_participation=0.0,
        other_revenue=0.0,
        operating_expenses=0.0,
        personnel_expenses=0.0,
        net_income=0.0,
        principal_savings=0.0,
        mandatory_savings=0.0,
        voluntary_savings=0.0,
        external_borrowings=0.0,
    )
    ds = make_dataset(
        cooperatives=[coop("A")],
        financials=[statement("A", 2020, **zeros)],
        staffing=[
            staff(
                "A",
                2020,
                members=0,
                board_members=0,
                employees=0,
                certified_staff=0,
                trained_staff=0,
                staff_departures=0,
            )
        ],
    )
    r = one_row(ds, 2020)
    for name in (
        "cash_ratio",
        "operational_self_sufficiency",
        "participation_ratio",
        "loans_to_funds",
        "opex_to_gross_shu",
        "employees_per_100_members",
        "certified_share",
        "trained_share",
        "staff_departure_rate",
    ):
        assert math.isnan(r[name]), name
    numeric = r.drop(["coop_id", "year", *CATEGORICAL]).to_numpy(dtype=float)
    assert not np.isinf(numeric).any()
    # gross SHU zero: the rule gives the worst band; with so few rules it still scores
    assert not math.isnan(r["official_score"])


def test_a_year_without_statement_or_staffing_report():
    ds = make_dataset(
        cooperatives=[coop("A")], financials=[statement("A", 2019), statement("A", 2021)], staffing=[staff("A", 2019)]
    )
    feats = build_features(ds, Settings()).set_index("year")
    gap = feats.loc[2020]
    assert gap["no_financial_statement"] == 1.0 and gap["no_staffing_report"] == 1.0
    for name in ("equity_to_assets", "official_score", "net_loss", "total_assets", "members", "has_manager"):
        assert math.isnan(gap[name]), name
    nxt = feats.loc[2021]
    assert math.isnan(nxt["equity_to_assets_chg1"]) and math.isnan(nxt["asset_growth_1y"])  # nothing in 2020
    assert nxt["no_financial_statement"] == 0.0 and nxt["no_staffing_report"] == 1.0


def test_trends_one_and_three_years():
    years = {2017: (100.0, 10.0), 2018: (110.0, 12.0), 2019: (120.0, 15.0), 2020: (150.0, 18.0)}
    fin = [
        statement(
            "A",
            y,
            total_assets=ta,
            total_liabilities=ta - 50.0,
            loans_loss=loss,
            loans_substandard=0.0,
            loans_doubtful=0.0,
        )
        for y, (ta, loss) in years.items()
    ]
    st = [staff("A", y, members=m) for y, m in ((2017, 200), (2019, 240), (2020, 180))]
    ds = make_dataset(cooperatives=[coop("A")], financials=fin, staffing=st)
    r = one_row(ds, 2020)
    assert r["bad_loan_ratio"] == pytest.approx(36.0)  # 18 / 50
    assert r["bad_loan_ratio_chg1"] == pytest.approx(36.0 - 30.0)  # 15 / 50 in 2019
    assert r["bad_loan_ratio_chg3"] == pytest.approx(36.0 - 20.0)  # 10 / 50 in 2017
    assert r["equity_to_assets_chg1"] == pytest.approx(50 / 150 * 100 - 50 / 120 * 100)
    assert r["asset_growth_1y"] == pytest.approx(25.0)  # 150 / 120 - 1
    assert r["asset_growth_3y"] == pytest.approx(50.0)  # 150 / 100 - 1
    assert r["member_growth_1y"] == pytest.approx(-25.0)  # 180 / 240 - 1
    assert r["member_growth_3y"] == pytest.approx(-10.0)  # 180 / 200 - 1
    assert r["official_score_chg1"] == pytest.approx(r["official_score"] - one_row(ds, 2019)["official_score"])


def test_people_features():
    ds = make_dataset(
        cooperatives=[coop("A")],
        staffing=[
            staff(
                "A",
                2020,
                members=400,
                board_members=5,
                supervisors=3,
                employees=7,
                has_manager=False,
                certified_staff=6,
                trained_staff=20,
                staff_departures=3,
            )
        ],
    )
    r = one_row(ds, 2020)
    assert r["employees_per_100_members"] == pytest.approx(7 / 4)
    assert r["certified_share"] == pytest.approx(6 / 12 * 100)  # of board members + employees
    assert r["trained_share"] == 100.0  # 20 trained of 12: capped at 100%
    assert r["staff_departure_rate"] == pytest.approx(3 / 10 * 100)  # left / (employees at year end + left)
    assert r["has_manager"] == 0.0 and r["members"] == 400 and r["supervisors"] == 3
    assert r["no_staffing_report"] == 0.0
