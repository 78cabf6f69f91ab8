"""The status rule (features/status.py) on hand-made assessments, and its two users: the labels and scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_features_kit import assessed, coop, make_dataset, staff

from klinik.features.labels import make_labels
from klinik.features.status import latest_assessment, status_of
from klinik.serving.scoring import health_facts
from klinik.settings import Settings

S, C, D, K = "SEHAT", "CUKUP_SEHAT", "DALAM_PENGAWASAN", "DALAM_PENGAWASAN_KHUSUS"
IDS = pd.Index(["A", "B", "C", "D"], name="coop_id")
YEARS = range(2018, 2024)


def dataset():
    """A: healthy, then sick in 2020, then not assessed; B: supervised (special) in 2021, healthy in 2023;
    C: never assessed; D: one assessment in 2018 only (and a health row of a cooperative not registered)."""
    health = [assessed("A", 2018, S), assessed("A", 2020, D), assessed("B", 2021, K), assessed("B", 2023, C)]
    health += [assessed("D", 2018, C), assessed("Z", 2022, D)]
    return make_dataset(
        cooperatives=[coop(c) for c in IDS],
        staffing=[staff(c, y) for c in IDS for y in YEARS],
        health=health,
    )


def statuses(max_age: int) -> list[list[str]]:
    h = dataset().health
    return status_of(h, latest_assessment(h, IDS, list(YEARS), max_age)).tolist()


def test_the_latest_assessment_at_most_max_age_old_sets_the_status():
    #          2018         2019         2020         2021         2022         2023
    assert statuses(1) == [
        ["SEHAT", "SEHAT", "SAKIT", "SAKIT", "BELUM_DINILAI", "BELUM_DINILAI"],
        ["BELUM_DINILAI", "BELUM_DINILAI", "BELUM_DINILAI", "SAKIT", "SAKIT", "SEHAT"],
        ["BELUM_DINILAI"] * 6,
        ["SEHAT", "SEHAT", "BELUM_DINILAI", "BELUM_DINILAI", "BELUM_DINILAI", "BELUM_DINILAI"],
    ]
    assert statuses(0)[0] == ["SEHAT", "BELUM_DINILAI", "SAKIT", "BELUM_DINILAI", "BELUM_DINILAI", "BELUM_DINILAI"]
    assert statuses(10)[0] == ["SEHAT", "SEHAT", "SAKIT", "SAKIT", "SAKIT", "SAKIT"]
    assert statuses(10)[3] == ["SEHAT"] * 6  # CUKUP_SEHAT is not sick


def test_positions_point_at_the_assessment_that_sets_the_status():
    h = dataset().health
    pos = latest_assessment(h, IDS, [2021], 1)[:, 0]
    assert pos.tolist() == [1, 2, -1, -1]  # A's 2020 row, B's 2021 row; none for C and D
    assert latest_assessment(h.iloc[:0], IDS, [2021], 1).tolist() == [[-1]] * 4
    assert status_of(h.iloc[:0], np.full(2, -1)).tolist() == ["BELUM_DINILAI"] * 2


@pytest.mark.parametrize("max_age", [0, 1, 3])
def test_labels_and_scoring_apply_the_same_rule(max_age):
    ds, settings = dataset(), Settings(status_max_age_years=max_age)
    labels = make_labels(ds, settings)
    for year in YEARS:
        facts = health_facts(ds, IDS, year, settings)
        assert facts["status"].tolist() == labels.loc[labels["year"] == year, "status"].tolist(), year
    assert labels["status"].tolist() == [s for c in range(4) for s in (statuses(max_age)[c])]
