"""Governance (RAT timing, meetings), health history and clinic treatment on hand-made cooperatives."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_features_kit import assessed, case, coop, make_dataset, meeting, rat, staff

from klinik.features.build import build_features
from klinik.settings import Settings

YEARS = range(2018, 2023)


def world():
    """A (founded 2010): RATs on time, late for the office only, late for both, then none.
    B (founded 2020) and C (founded 2000) never hold one. The data start in 2018."""
    return make_dataset(
        cooperatives=[coop("A", 2010), coop("B", 2020), coop("C", 2000)],
        staffing=[staff(c, y) for c in "AC" for y in YEARS] + [staff("B", y) for y in (2020, 2021, 2022)],
        meetings=[
            rat("A", 2018, "2019-03-15", attendees=50),
            rat("A", 2019, "2020-05-20"),  # after 31 March, before 30 June
            rat("A", 2020, "2021-08-10"),  # after both
            meeting("A", "RAPAT_PENGURUS", "2019-02-01"),
            meeting("A", "RAPAT_PENGURUS", "2019-07-01"),
            meeting("A", "RAPAT_PENGAWAS", "2019-12-31"),
        ],
        health=[
            assessed("A", 2018, "SEHAT", 85),
            assessed("A", 2019, "DALAM_PENGAWASAN", 60),
            assessed("A", 2021, "DALAM_PENGAWASAN_KHUSUS", 40),
            assessed("A", 2022, "CUKUP_SEHAT", 70),
            assessed("C", 2018, "SEHAT", 90),
        ],
        clinic_cases=[
            case("K1", "A", "KEUANGAN", "2019-06-01", "2021-03-01", "PULIH"),
            case("K2", "A", "KELEMBAGAAN", "2021-09-01"),
        ],
    )


def series(feats, coop_id, name):
    rows = feats[feats["coop_id"] == coop_id].set_index("year")[name]
    return [None if math.isnan(v) else v for v in rows.to_numpy(dtype=float)]


@pytest.fixture(scope="module")
def feats():
    return build_features(world(), Settings())


def test_rows_are_registered_cooperatives_sorted(feats):
    assert list(zip(feats["coop_id"], feats["year"])) == (
        [("A", y) for y in YEARS] + [("B", y) for y in (2020, 2021, 2022)] + [("C", y) for y in YEARS]
    )


def test_rat_held_and_missed_years(feats):
    # A's RAT of 2019 came in May 2020, after the office's deadline: not held for 2019's features, but
    # known (held late) from 2020 on; the RAT of 2020 came in August 2021 and counts from 2021.
    assert series(feats, "A", "rat_held") == [1, 0, 0, 0, 0]
    assert series(feats, "A", "rat_missed_years") == [0, 1, 1, 1, 2]
    assert series(feats, "B", "rat_missed_years") == [1, 2, 3]  # since founding in 2020
    assert series(feats, "C", "rat_missed_years") == [1, 2, 3, 4, 5]  # counted from the data's first year


def test_days_late_for_last_years_rat(feats):
    # 2019: the RAT of 2018 on 15 March 2019, on time; 2020: the RAT of 2019 on 20 May 2020 (50 days after
    # 31 March, before 30 June); 2021: the RAT of 2020 on 10 August 2021 (132 and 41 days late); 2022: no RAT
    # of 2021 by 31 December 2022 -- counted to then (275 and 184 days).
    assert series(feats, "A", "rat_prev_days_late_office") == [None, 0, 50, 132, 275]
    assert series(feats, "A", "rat_prev_days_late_legal") == [None, 0, 0, 41, 184]
    assert series(feats, "B", "rat_prev_days_late_office") == [None, 275, 275]  # no book year before 2020


def test_deadlines_are_settings():
    feats = build_features(
        world(), Settings(rat_office_deadline_month=2, rat_office_deadline_day=28, rat_legal_deadline_months=3)
    )
    # 15 March 2019 is now after the office's deadline: the RAT of 2018 no longer counts for 2018
    assert series(feats, "A", "rat_held")[:2] == [0, 0]
    assert series(feats, "A", "rat_missed_years")[:2] == [1, 1]
    assert series(feats, "A", "rat_prev_days_late_office")[1] == 15  # 28 Feb -> 15 Mar 2019
    assert series(feats, "A", "rat_prev_days_late_legal")[2] == 50  # legal deadline 31 March: 20 May 2020


def test_attendance_and_meetings(feats):
    assert series(feats, "A", "rat_attendance_share") == [25.0, None, None, None, None]  # 50 of 200 members
    assert series(feats, "A", "board_meetings") == [0, 2, 0, 0, 0]
    assert series(feats, "A", "supervisory_meetings") == [0, 1, 0, 0, 0]


def test_health_history(feats):
    # A: SEHAT 2018, DALAM_PENGAWASAN 2019, not assessed 2020, DPK 2021, CUKUP_SEHAT 2022
    assert series(feats, "A", "assessed_this_year") == [1, 1, 0, 1, 1]
    assert series(feats, "A", "health_category_rank") == [0, 2, None, 3, 1]
    assert series(feats, "A", "health_score") == [85, 60, None, 40, 70]
    assert series(feats, "A", "prev_health_category_rank") == [None, 0, 2, 2, 3]
    assert series(feats, "A", "years_sick") == [0, 1, 2, 3, 0]  # the unassessed year inside the spell counts
    assert series(feats, "A", "sick_years_total") == [0, 1, 1, 2, 2]
    assert series(feats, "A", "years_since_assessment") == [0, 0, 1, 0, 0]
    assert series(feats, "B", "never_assessed") == [1, 1, 1]
    assert series(feats, "B", "years_since_assessment") == [None, None, None]
    assert series(feats, "C", "years_since_assessment") == [0, 1, 2, 3, 4]
    assert series(feats, "C", "never_assessed") == [0, 0, 0, 0, 0]


def test_clinic_treatment(feats):
    # K1 (KEUANGAN) open June 2019 to March 2021, recovered; K2 (KELEMBAGAAN) open from September 2021
    assert series(feats, "A", "clinic_cases_total") == [0, 1, 1, 2, 2]
    assert series(feats, "A", "clinic_case_open") == [0, 1, 1, 1, 1]
    assert series(feats, "A", "clinic_keuangan") == [0, 1, 1, 0, 0]
    assert series(feats, "A", "clinic_kelembagaan") == [0, 0, 0, 1, 1]
    assert series(feats, "A", "clinic_cases_recovered") == [0, 0, 0, 1, 1]  # known once closed
    assert series(feats, "A", "clinic_years_since_first_case") == [None, 0, 1, 2, 3]
    # KEUANGAN without a statement is a matching weakness; KELEMBAGAAN while the RAT is missing too
    assert series(feats, "A", "clinic_matches_weakness") == [None, 1, 1, 1, 1]
    assert series(feats, "C", "clinic_case_open") == [0, 0, 0, 0, 0]
    assert series(feats, "C", "clinic_matches_weakness") == [None] * 5


def test_no_clinic_table_and_no_meetings():
    ds = make_dataset(cooperatives=[coop("A")], staffing=[staff("A", 2020)])
    r = build_features(ds, Settings()).iloc[0]
    assert r["clinic_cases_total"] == 0 and r["clinic_case_open"] == 0
    assert r["board_meetings"] == 0 and r["rat_held"] == 0 and r["rat_missed_years"] == 1
    assert math.isnan(r["clinic_years_since_first_case"])


def test_a_dissolved_cooperative_has_no_rows_from_its_dissolution():
    ds = make_dataset(
        cooperatives=[coop("A", 2015, dissolved=2020), coop("B", 2021)],
        staffing=[staff("A", y) for y in (2018, 2019)] + [staff("B", 2022)],
    )
    feats = build_features(ds, Settings())
    assert list(zip(feats["coop_id"], feats["year"])) == [("A", 2018), ("A", 2019), ("B", 2021), ("B", 2022)]
    assert pd.api.types.is_string_dtype(feats["coop_id"]) and feats["year"].dtype == "int64"


def test_recent_sick_assessments(feats):
    # A: SEHAT 2018, DALAM_PENGAWASAN 2019, not assessed 2020, DPK 2021, CUKUP_SEHAT 2022
    assert series(feats, "A", "sick_assessments_3y") == [0, 1, 1, 2, 1]
    assert series(feats, "B", "sick_assessments_3y") == [0, 0, 0]


def test_weakest_aspect_and_its_clinic(feats):
    # A files no statement (finance unreadable), keeps a manager and trained staff (no SDM sign); governance:
    # few board meetings and no statement every year, the RAT of the year late from 2019, two years without
    # one by 2022
    assert series(feats, "A", "weakness_keuangan") == [None] * 5
    assert series(feats, "A", "weakness_sdm") == [0, 0, 0, 0, 0]
    assert series(feats, "A", "weakness_kelembagaan") == [50, 75, 75, 75, 100]
    # K1 (KEUANGAN) is not the weakest aspect's clinic; K2 (KELEMBAGAAN, from September 2021) is
    assert series(feats, "A", "clinic_at_weakest") == [None, 0, 0, 1, 1]
    assert series(feats, "C", "clinic_at_weakest") == [None] * 5


def test_previous_year_values(feats):
    assert series(feats, "A", "clinic_keuangan_prev") == [None, 0, 1, 1, 0]
    assert series(feats, "A", "clinic_at_weakest_prev") == [None, None, 0, 0, 1]
    assert series(feats, "A", "has_manager_prev") == [None, 1, 1, 1, 1]
    assert series(feats, "B", "has_manager_prev") == [None, 1, 1]  # founded 2020: no row before
    # one year asked for: its previous year is read too, and the row is the same as in the full table
    one = build_features(world(), Settings(), years=[2021])
    full = feats[feats["year"] == 2021].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, full)
