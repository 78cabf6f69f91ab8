"""make_labels on hand-made cases: the Labels section of docs/data-contract.md, rule by rule."""

from __future__ import annotations

import math

import pytest
from test_features_kit import assessed, coop, make_dataset, staff

from klinik.features.build import build_features
from klinik.features.labels import LABEL_COLUMNS, make_labels
from klinik.settings import Settings

S, C, D, K = "SEHAT", "CUKUP_SEHAT", "DALAM_PENGAWASAN", "DALAM_PENGAWASAN_KHUSUS"


def labels_of(
    history: dict[int, str | None],
    founded: int = 2000,
    dissolved: int | None = None,
    years=range(2018, 2024),
    max_age: int = 1,
):
    """Labels of one cooperative whose assessments per year are ``history`` (None: not assessed)."""
    ds = make_dataset(
        cooperatives=[coop("A", founded, dissolved)],
        staffing=[staff("A", y) for y in years if dissolved is None or y < dissolved],
        health=[assessed("A", y, c) for y, c in history.items() if c is not None],
    )
    return make_labels(ds, Settings(status_max_age_years=max_age)).set_index("year")


def values(frame, column):
    return [None if isinstance(v, float) and math.isnan(v) else v for v in frame[column]]


def test_columns_and_types():
    lab = labels_of({2018: S})
    assert ("year", *lab.columns) == ("year", *(c for c in LABEL_COLUMNS if c != "year"))
    assert lab["assessed"].dtype == bool and lab["sick"].dtype == bool
    assert lab["risk_label"].dtype == "float64" and lab["recovery_label"].dtype == "float64"


def test_risk_label():
    # t: 2018 S -> 2019 C (healthy next: 0); 2019 C -> 2020 D (sick next: 1); 2020 D (sick: no risk label);
    # 2021 not assessed (no label); 2022 S -> 2023 S (0); 2023 S, nothing after (no label)
    lab = labels_of({2018: S, 2019: C, 2020: D, 2021: None, 2022: S, 2023: S})
    assert values(lab, "risk_label") == [0, 1, None, None, 0, None]
    assert values(lab, "assessed") == [True, True, True, False, True, True]
    assert values(lab, "sick") == [False, False, True, False, False, False]
    # healthy at t, not assessed at t+1: not labelled
    lab = labels_of({2018: S, 2019: None, 2020: S})
    assert values(lab, "risk_label")[0] is None


def test_risk_label_dissolved_next_year_is_a_positive():
    lab = labels_of({2018: S, 2019: S, 2020: C}, dissolved=2021)
    assert list(lab.index) == [2018, 2019, 2020]  # no row from the year of dissolution
    assert values(lab, "risk_label") == [0, 0, 1]


def test_recovery_label():
    # 2018 D -> 2019 S: recovered at t+1 (1); 2019 S: not sick (no recovery label)
    # 2020 K -> 2021 K, 2022 D: sick at both (0); 2021 K -> 2022 D, 2023 C: recovered at t+2 (1)
    # 2022 D -> 2023 C (1); 2023 C: not sick
    lab = labels_of({2018: D, 2019: S, 2020: K, 2021: K, 2022: D, 2023: C})
    assert values(lab, "recovery_label") == [1, None, 0, 1, 1, None]
    assert values(lab, "risk_label") == [None, 1, None, None, None, None]


def test_recovery_label_when_unassessed_or_dissolved():
    # sick in 2018, not assessed in 2019 or 2020: not labelled
    lab = labels_of({2018: D, 2019: None, 2020: None, 2021: S})
    assert values(lab, "recovery_label")[0] is None
    # sick in 2018, not assessed 2019, sick 2020: not "sick at both" -> not labelled
    lab = labels_of({2018: D, 2019: None, 2020: D})
    assert values(lab, "recovery_label")[0] is None
    # sick in 2019 and 2020, dissolved in 2021 (by t+2 for both): 0
    lab = labels_of({2018: S, 2019: D, 2020: K}, dissolved=2021)
    assert values(lab, "recovery_label") == [None, 0, 0]
    assert values(lab, "risk_label") == [1, None, None]
    # healthy again at t+1, dissolved at t+2: the first rule wins (recovered)
    lab = labels_of({2018: D, 2019: C}, dissolved=2020)
    assert values(lab, "recovery_label") == [1, None]


def test_status_from_the_latest_assessment():
    history = {2018: S, 2019: D, 2020: None, 2021: None, 2022: C, 2023: None}
    lab = labels_of(history, founded=2018, max_age=1)
    assert values(lab, "status") == ["SEHAT", "SAKIT", "SAKIT", "BELUM_DINILAI", "SEHAT", "SEHAT"]
    lab = labels_of(history, founded=2018, max_age=10)
    assert values(lab, "status")[3] == "SAKIT"  # an older assessment still counts
    lab = labels_of({2020: S}, founded=2018, max_age=10)
    assert values(lab, "status")[:2] == ["BELUM_DINILAI", "BELUM_DINILAI"]  # never before the first assessment


def test_labels_have_the_rows_of_the_features():
    ds = make_dataset(
        cooperatives=[coop("A", 2019), coop("B", 2000, 2021), coop("C", 2030)],
        staffing=[staff("A", 2019), staff("B", 2020), staff("A", 2022)],
        health=[assessed("A", 2019, S)],
    )
    lab, feats = make_labels(ds, Settings()), build_features(ds, Settings())
    assert list(zip(lab["coop_id"], lab["year"])) == list(zip(feats["coop_id"], feats["year"]))


@pytest.mark.parametrize("category", [D, K])
def test_both_supervision_categories_are_sick(category):
    lab = labels_of({2018: S, 2019: category})
    assert values(lab, "sick")[:2] == [False, True] and values(lab, "risk_label")[0] == 1
