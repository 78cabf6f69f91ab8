"""The sick spell on a hand-made cooperative: the state in the last year before the spell, the change since then,
the RAT held while sick and the clinic's current case (features/build.py "The sick spell")."""

from __future__ import annotations

import math

import pytest
from test_features_kit import assessed, case, coop, make_dataset, rat, staff, statement

from klinik.features.build import build_features
from klinik.features.catalog import FEATURES, SICK_ONLY
from klinik.settings import Settings

YEARS = range(2017, 2024)
# year: (loans_loss of 50 lent -> bad loans %, equity of 100 assets -> equity %, net income -> return on assets %)
BOOKS = {2017: (5, 50, 4), 2018: (4, 40, 4), 2019: (10, 30, 1), 2021: (6, 35, 2), 2022: (2, 45, -2), 2023: (8, 20, 1)}


def world():
    """S: healthy 2017-2018, sick 2019, not assessed 2020, sick 2021, healthy 2022, sick again 2023. No statement in
    2020, no staffing report in 2022; a manager until 2018 and again in 2023. RATs of book years 2017, 2018, 2020 and
    2023 on time, 2019 and 2022 late, 2021 none. Cases: KEUANGAN May 2019 - January 2021, SDM from February 2021,
    KELEMBAGAAN from January 2023."""
    fin = [
        statement(
            "S",
            y,
            loans_substandard=0.0,
            loans_doubtful=0.0,
            loans_loss=float(loss),
            equity=float(eq),
            total_liabilities=100.0 - eq,
            net_income=float(ni),
        )
        for y, (loss, eq, ni) in BOOKS.items()
    ]
    st = [staff("S", y, has_manager=y in (2017, 2018, 2023)) for y in YEARS if y != 2022]
    health = [
        assessed("S", 2017, "SEHAT"),
        assessed("S", 2018, "CUKUP_SEHAT"),
        assessed("S", 2019, "DALAM_PENGAWASAN"),
        assessed("S", 2021, "DALAM_PENGAWASAN_KHUSUS"),
        assessed("S", 2022, "SEHAT"),
        assessed("S", 2023, "DALAM_PENGAWASAN"),
    ]
    meetings = [
        rat("S", 2017, "2018-03-10"),
        rat("S", 2018, "2019-03-20"),
        rat("S", 2019, "2020-06-01"),  # after the office's deadline (31 March)
        rat("S", 2020, "2021-03-01"),
        rat("S", 2022, "2023-05-01"),  # late
        rat("S", 2023, "2024-03-01"),
    ]
    cases = [
        case("K1", "S", "KEUANGAN", "2019-05-01", "2021-01-15", "PULIH"),
        case("K2", "S", "SDM", "2021-02-01"),
        case("K3", "S", "KELEMBAGAAN", "2023-01-10"),
    ]
    return make_dataset(
        cooperatives=[coop("S", 2010)],
        financials=fin,
        staffing=st,
        meetings=meetings,
        health=health,
        clinic_cases=cases,
    )


def series(feats, name):
    return [None if math.isnan(v) else round(v, 6) for v in feats.set_index("year")[name].to_numpy(dtype=float)]


@pytest.fixture(scope="module")
def feats():
    return build_features(world(), Settings())


def test_the_spell_and_its_onset_year(feats):
    # the onset year is the last before the spell: 2018 for the spell of 2019-2021 (2020 unassessed inside it),
    # 2022 for the one that begins in 2023
    assert series(feats, "years_sick") == [0, 0, 1, 2, 3, 0, 1]


def test_state_in_the_onset_year(feats):
    # 2018: bad loans 4/50, equity 40/100, surplus 4/100, a manager, the RAT of 2018 on time;
    # 2022: bad loans 2/50, equity 45/100, a loss of 2, no staffing report, the RAT of 2022 late
    assert series(feats, "onset_bad_loan_ratio") == [None, None, 8.0, 8.0, 8.0, None, 4.0]
    assert series(feats, "onset_equity_to_assets") == [None, None, 40.0, 40.0, 40.0, None, 45.0]
    assert series(feats, "onset_return_on_assets") == [None, None, 4.0, 4.0, 4.0, None, -2.0]
    assert series(feats, "onset_has_manager") == [None, None, 1.0, 1.0, 1.0, None, None]
    assert series(feats, "onset_rat_held") == [None, None, 1.0, 1.0, 1.0, None, 0.0]
    score = dict(zip(feats["year"], feats["official_score"]))
    assert series(feats, "onset_official_score") == [
        None,
        None,
        *[round(score[2018], 6)] * 3,
        None,
        round(score[2022], 6),
    ]


def test_change_since_the_onset_year(feats):
    # bad loans 20% in 2019, no statement in 2020, 12% in 2021, 16% in 2023; equity 30%, -, 35%, 20%
    assert series(feats, "bad_loan_ratio_chg_onset") == [None, None, 12.0, None, 4.0, None, 12.0]
    assert series(feats, "equity_to_assets_chg_onset") == [None, None, -10.0, None, -5.0, None, -25.0]
    score = dict(zip(feats["year"], feats["official_score"]))
    expected = [None, None, score[2019] - score[2018], None, score[2021] - score[2018], None, score[2023] - score[2022]]
    assert series(feats, "official_score_chg_onset") == [None if v is None else round(v, 6) for v in expected]


def test_rat_share_while_sick(feats):
    # the spell's book years: 2019 (late) -> 0 of 1; 2019, 2020 -> 1 of 2; 2019-2021 (none in 2021) -> 1 of 3;
    # the new spell: 2023 (on time) -> 1 of 1
    assert series(feats, "rat_share_since_onset") == [None, None, 0.0, 50.0, round(100 / 3, 6), None, 100.0]


def test_the_current_clinic_case(feats):
    # K1 open from May 2019 to January 2021 (open at the end of 2020); K2 from 2021; K3 from 2023, the latest
    assert series(feats, "clinic_case_years") == [None, None, 0.0, 1.0, 0.0, 1.0, 0.0]
    # K1 (KEUANGAN): the 2018 score is not DALAM_PENGAWASAN or worse -> no match; K2 (SDM) in 2021: a manager in
    # 2018 -> no match; healthy 2022 -> no onset; 2023: no staffing report in 2022 (and its RAT late) -> match
    assert series(feats, "official_category_rank")[1] < 2
    assert series(feats, "clinic_matches_onset_weakness") == [None, None, 0.0, 0.0, 0.0, None, 1.0]


def test_sick_only_features_are_nan_on_healthy_rows_and_named_in_both_languages(feats):
    healthy = feats[feats["years_sick"] == 0]
    assert healthy[list(SICK_ONLY)].isna().all().all()
    for name in SICK_ONLY:
        spec = FEATURES[name]
        assert "sebelum sakit" in spec.label_id or "selama sakit" in spec.label_id, name
        assert "before the sickness" in spec.label_en or "while sick" in spec.label_en, name


def test_one_year_asked_for_reads_its_onset_year():
    # years=[2020]: the onset year 2018 is none of the years read for the comparisons (2020, 2019, 2017); 2023's
    # onset 2022 is its previous year. Both equal the full build's rows.
    full = build_features(world(), Settings())
    for t in (2020, 2023):
        one = build_features(world(), Settings(), years=[t])
        assert one.equals(full[full["year"] == t].reset_index(drop=True)), t
    assert build_features(world(), Settings(), years=[2020])["onset_bad_loan_ratio"].iloc[0] == 8.0


def test_onset_and_since_onset_specs_follow_their_base():
    for name, spec in FEATURES.items():
        base = spec.onset_of or spec.since_onset_of
        if base is None:
            continue
        assert name in SICK_ONLY and base in FEATURES, name
        assert (FEATURES[base].group, FEATURES[base].unit) == (spec.group, spec.unit), name
        assert name == (f"onset_{base}" if spec.onset_of else f"{base}_chg_onset")
        # a direction only where the base has one, and the same one
        assert spec.risk_direction in (0, FEATURES[base].risk_direction), name
