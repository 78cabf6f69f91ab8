"""The catalog matches the feature table, and describe() says every feature in plain words."""

from __future__ import annotations

import math

import pytest
from test_features_kit import coop, make_dataset, staff, statement

from klinik.features.build import build_features
from klinik.features.catalog import CATEGORICAL, FEATURES, GROUPS, FeatureSpec, describe, feature_groups
from klinik.features.labels import LABEL_COLUMNS
from klinik.settings import Settings


def test_catalog_is_the_feature_table():
    ds = make_dataset(cooperatives=[coop("A")], financials=[statement("A", 2020)], staffing=[staff("A", 2020)])
    feats = build_features(ds, Settings())
    assert list(feats.columns) == ["coop_id", "year", *FEATURES]
    for name in FEATURES:
        if name in CATEGORICAL:
            assert feats[name].dtype == "str", name
        else:
            assert feats[name].dtype == "float64", name


def test_specs_are_consistent():
    groups = feature_groups()
    assert set(groups) == set(FEATURES) and set(groups.values()) == set(GROUPS)
    for name, spec in FEATURES.items():
        assert spec.name == name
        if spec.change_of is not None:
            base = FEATURES[spec.change_of]
            assert (base.unit, base.group) == (spec.unit, spec.group), name
            assert spec.delta == (spec.change_of, 1)
        if spec.delta is not None:
            assert spec.delta[0] in FEATURES and name == f"{spec.delta[0]}_chg{spec.delta[1]}"
        if spec.unit == "flag":
            assert spec.risk_direction in (-1, 0, 1)
    for name in CATEGORICAL:
        assert FEATURES[name].group == "CONTEXT" and FEATURES[name].risk_direction == 0
    # the label table is merged with the features on (coop_id, year): no other name may be shared
    assert not set(FEATURES) & set(LABEL_COLUMNS)
    for group in ("KEUANGAN", "SDM", "KELEMBAGAAN"):
        assert any(s.group == group and s.risk_direction != 0 for s in FEATURES.values()), group
    # the domain is sure of these directions
    assert FEATURES["bad_loan_ratio"].risk_direction == 1
    assert FEATURES["rat_missed_years"].risk_direction == 1
    assert FEATURES["official_score"].risk_direction == -1
    assert FEATURES["equity_to_assets"].risk_direction == 0  # best in the middle (41-60%)
    assert FEATURES["cash_ratio"].risk_direction == 0  # best at 10-15%


def test_a_spec_with_a_wrong_group_is_refused():
    with pytest.raises(ValueError, match="group"):
        FeatureSpec("x", "FINANCE", "x", "x", "pct", 1)
    with pytest.raises(ValueError, match="unit"):
        FeatureSpec("x", "SDM", "x", "x", "percent", 1)


def test_describe_level_with_its_one_year_change():
    row = {"bad_loan_ratio": 18.0, "bad_loan_ratio_chg1": 9.0}
    assert describe("bad_loan_ratio", row) == (
        "pinjaman bermasalah naik ke 18% (naik 9 poin)",
        "bad loans rose to 18% (up 9 points)",
    )
    row = {"cash_ratio": 7.5, "cash_ratio_chg1": -2.5}
    assert describe("cash_ratio", row) == (
        "rasio kas turun ke 7,5% (turun 2,5 poin)",
        "cash ratio fell to 7.5% (down 2.5 points)",
    )
    assert describe("cash_ratio", {"cash_ratio": 12.0, "cash_ratio_chg1": 0.0}) == (
        "rasio kas tetap 12%",
        "cash ratio unchanged at 12%",
    )
    assert describe("cash_ratio", {"cash_ratio": 12.0}) == ("rasio kas 12%", "cash ratio at 12%")
    assert describe("bad_loan_ratio_chg3", {"bad_loan_ratio_chg3": -5.0}) == (
        "pinjaman bermasalah turun 5 poin dalam 3 tahun",
        "bad loans down 5 points over 3 year(s)",
    )


def test_describe_governance_people_and_context():
    assert describe("rat_missed_years", {"rat_missed_years": 2.0}) == (
        "RAT tidak diadakan 2 tahun berturut-turut",
        "no annual members' meeting (RAT) for 2 years running",
    )
    assert (
        describe("rat_missed_years", {"rat_missed_years": 0.0})[1] == "annual members' meeting (RAT) held for this year"
    )
    assert describe("has_manager", {"has_manager": 0.0}) == ("tidak ada manajer profesional", "no hired manager")
    assert (
        describe("rat_prev_days_late_office", {"rat_prev_days_late_office": 50.0})[1]
        == "last year's RAT came 50 days after the office's deadline"
    )
    assert describe("health_category_rank", {"health_category_rank": 2.0}) == (
        "predikat kesehatan DALAM_PENGAWASAN",
        "health category DALAM_PENGAWASAN",
    )
    assert describe("total_assets", {"total_assets": 1.25e9}) == (
        "total aset Rp 1,2 miliar",
        "total assets at Rp 1.2 billion",
    )
    assert describe("district", {"district": "Sawan"}) == ("kecamatan Sawan", "district Sawan")
    assert describe("members", {"members": 1234.0}) == ("jumlah anggota: 1.234", "members: 1,234")


def test_describe_missing_values_in_words():
    assert describe("bad_loan_ratio", {"bad_loan_ratio": math.nan, "no_financial_statement": 1.0}) == (
        "tidak ada laporan keuangan",
        "no financial statement filed",
    )
    assert (
        describe("bad_loan_ratio", {"bad_loan_ratio": math.nan, "no_financial_statement": 0.0})[1]
        == "bad loans: no figure (what it is computed on is zero)"
    )
    assert (
        describe("certified_share", {"certified_share": math.nan, "no_staffing_report": 1.0})[0]
        == "tidak ada laporan SDM"
    )
    assert describe("health_category_rank", {"never_assessed": 1.0})[1] == "never had a health assessment"
    assert (
        describe("bad_loan_ratio_chg1", {"bad_loan_ratio_chg1": math.nan})[1]
        == "1-year change in bad loans: no earlier year to compare with"
    )


@pytest.mark.parametrize("value", [0.0, 1.0, 37.5, math.nan])
def test_every_feature_has_words(value):
    for name, _spec in FEATURES.items():
        v = ("KSP" if value == 1.0 else math.nan) if name in CATEGORICAL else value
        id_words, en_words = describe(name, {name: v})
        for words in (id_words, en_words):
            assert words and "{" not in words and "nan" not in words.lower().split(), (name, words)
    with pytest.raises(KeyError, match="unknown feature"):
        describe("no_such_feature", {})
