"""The feature table and labels hold their promises on a loaded Buleleng-sized world (the shared ``world``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klinik.data.contract import SICK_CATEGORIES
from klinik.features.build import build_features, dataset_years, registered_coop_years
from klinik.features.catalog import CATEGORICAL, FEATURES
from klinik.features.labels import make_labels
from klinik.settings import Settings


@pytest.fixture(scope="module")
def feats(world):
    return build_features(world, Settings())


@pytest.fixture(scope="module")
def labels(world):
    return make_labels(world, Settings())


def test_one_row_per_registered_cooperative_and_year(world, feats):
    grid = registered_coop_years(world)
    assert feats[["coop_id", "year"]].equals(grid)
    assert not feats.duplicated(["coop_id", "year"]).any()
    first, last = dataset_years(world)
    assert feats["year"].min() == first and feats["year"].max() == last
    coops = world.cooperatives.set_index("coop_id")
    founded = coops.loc[feats["coop_id"], "founded_year"].to_numpy()
    dissolved = coops.loc[feats["coop_id"], "dissolved_year"].to_numpy(dtype=float, na_value=np.nan)
    years = feats["year"].to_numpy()
    assert (founded <= years).all() and (np.isnan(dissolved) | (dissolved > years)).all()


def test_values_are_finite_typed_and_in_range(feats):
    numeric = feats[[c for c in FEATURES if c not in CATEGORICAL]]
    assert (numeric.dtypes == "float64").all()
    assert not np.isinf(numeric.to_numpy()).any()
    for name, spec in FEATURES.items():
        if name in CATEGORICAL:
            assert feats[name].notna().all(), name
            continue
        col = numeric[name].dropna()
        if spec.unit == "flag":
            assert col.isin([0.0, 1.0]).all(), name
        elif spec.unit == "category":
            assert col.isin([0.0, 1.0, 2.0, 3.0]).all(), name
        elif spec.unit in ("count", "days", "years"):
            assert (col >= 0).all(), name
    for share in (
        "certified_share",
        "trained_share",
        "rat_attendance_share",
        "loans_to_members_ratio",
        "participation_ratio",
        "staff_departure_rate",
    ):
        col = feats[share].dropna()
        assert ((col >= 0) & (col <= 100)).all(), share
    score = feats["official_score"].dropna()
    assert ((score >= 0) & (score <= 100)).all()
    assert feats["official_score"].notna().mean() > 0.8  # most cooperatives file a statement


def test_single_year_path_is_the_full_build(world, feats):
    last = dataset_years(world)[1]
    one = build_features(world, Settings(), years=[last])
    pd.testing.assert_frame_equal(one, feats[feats["year"] == last].reset_index(drop=True))


def test_labels_follow_the_contract(world, feats, labels):
    assert labels[["coop_id", "year"]].equals(feats[["coop_id", "year"]])
    health = world.health.set_index(["coop_id", "year"])["category"]
    keyed = labels.set_index(["coop_id", "year"])
    category = health.reindex(keyed.index)
    assert (keyed["assessed"] == category.notna()).all()
    assert (keyed["sick"] == category.isin(SICK_CATEGORIES)).all()
    risk = labels["risk_label"]
    assert risk.dropna().isin([0.0, 1.0]).all() and labels["recovery_label"].dropna().isin([0.0, 1.0]).all()
    assert (labels.loc[risk.notna(), "assessed"] & ~labels.loc[risk.notna(), "sick"]).all()
    assert labels.loc[labels["recovery_label"].notna(), "sick"].all()
    assert 0.01 < risk.mean() < 0.5  # some, not most, healthy cooperatives fall sick
    assert set(labels["status"]) <= {"SEHAT", "SAKIT", "BELUM_DINILAI"}
    assert (labels.loc[labels["sick"], "status"] == "SAKIT").all()


def test_sick_rows_look_sicker(feats, labels):
    # a data check of features and world together: the office's sick cooperatives have worse ratios,
    # and years_sick is positive exactly on rows assessed sick
    both = feats.merge(labels, on=["coop_id", "year"])
    sick, well = both[both["sick"]], both[both["assessed"] & ~both["sick"]]
    assert sick["official_score"].mean() < well["official_score"].mean()
    assert sick["bad_loan_ratio"].mean() > well["bad_loan_ratio"].mean()
    assert (sick["years_sick"] >= 1).all() and (well["years_sick"] == 0).all()
