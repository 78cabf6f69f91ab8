"""Point in time: rewriting everything dated after year t never moves the features of year t.

"Dated after t" is what features/build.py promises not to read: yearly rows of years > t; an RAT of book year
t held after the office's deadline in t+1, or of an earlier book year held after 31 December of t, or of a
later book year; board and supervisory meetings of later years; clinic cases opened after t, and the close
and outcome of cases still open at the end of t; dissolutions and foundings after t.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_features_kit import (
    TABLES,
    make_dataset,
    random_case,
    random_date,
    random_rat,
    random_staff,
    random_statement,
    random_tables,
)

from klinik.data.contract import CASE_OUTCOMES, HEALTH_CATEGORIES
from klinik.features.build import build_features
from klinik.features.catalog import SICK_ONLY
from klinik.features.panel import dataset_years
from klinik.settings import Settings

FIRST, LAST = 2015, 2022
SETTINGS = Settings()


def rat_seen_at(row: dict, t: int) -> bool:
    """Whether build_features may read this RAT for year t (the rule in features/build.py)."""
    fy, held = row["fiscal_year"], row["held_on"]
    cutoff = pd.Timestamp(fy + 1, SETTINGS.rat_office_deadline_month, SETTINGS.rat_office_deadline_day)
    return fy <= t and (held <= cutoff or held <= pd.Timestamp(t, 12, 31))


def rewrite_later(tables: dict[str, list[dict]], t: int, seed: int) -> dict[str, list[dict]]:
    """A copy of ``tables`` with everything dated after ``t`` dropped, changed or replaced at random."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(tables)
    end_t = pd.Timestamp(t, 12, 31)
    for row in out["cooperatives"]:
        if row["founded_year"] > t:
            row["founded_year"] = int(rng.integers(t + 1, t + 4))
        if row["dissolved_year"] is not None and row["dissolved_year"] > t:
            row["dissolved_year"] = (
                None if rng.random() < 0.5 else int(rng.integers(max(t, row["founded_year"]) + 1, t + 5))
            )
    ids = [row["coop_id"] for row in out["cooperatives"]]
    for name, make in (("financials", random_statement), ("staffing", random_staff)):
        out[name] = [r for r in out[name] if r["year"] <= t]
        out[name] += [make(rng, c, y) for c in ids for y in range(t + 1, LAST + 2) if rng.random() < 0.7]
    out["health"] = [r for r in out["health"] if r["year"] <= t]
    out["health"] += [
        {"coop_id": c, "year": y, "category": str(rng.choice(HEALTH_CATEGORIES)), "score": None}
        for c in ids
        for y in range(t + 1, LAST + 2)
        if rng.random() < 0.7
    ]

    meetings = []
    for r in out["meetings"]:
        if r["meeting_type"] == "RAT" and not rat_seen_at(r, t):
            if rng.random() < 0.5:
                continue  # dropped
            if r["fiscal_year"] <= t:  # still late: another date after what year t may see
                limit = max(
                    end_t,
                    pd.Timestamp(
                        r["fiscal_year"] + 1, SETTINGS.rat_office_deadline_month, SETTINGS.rat_office_deadline_day
                    ),
                )
                r["held_on"] = pd.Timestamp(random_date(rng, limit + pd.Timedelta(days=1), pd.Timestamp(t + 3, 12, 31)))
            else:
                r = random_rat(rng, r["coop_id"], int(rng.integers(t + 1, LAST + 2)))
        elif r["meeting_type"] != "RAT" and r["fiscal_year"] > t:
            if rng.random() < 0.5:
                continue
            r["attendees"] = int(rng.integers(0, 50))
        meetings.append(r)
    for c in ids:  # late RATs for book years up to t, held after year t's information
        if rng.random() < 0.5:
            fy = int(rng.integers(FIRST, t + 1))
            late = random_rat(rng, c, fy)
            late["held_on"] = pd.Timestamp(t + 1, 4, 1) + pd.Timedelta(days=int(rng.integers(0, 400)))
            meetings.append(late)
    out["meetings"] = meetings

    cases = []
    for r in out["clinic_cases"]:
        if r["opened_on"] > end_t:
            if rng.random() < 0.5:
                continue
            r = random_case(rng, r["case_id"], r["coop_id"], t + 1, LAST)
        elif pd.isna(r["closed_on"]) or r["closed_on"] > end_t:
            closed = rng.random() < 0.6
            r["closed_on"] = end_t + pd.Timedelta(days=int(rng.integers(1, 500))) if closed else pd.NaT
            r["outcome"] = str(rng.choice(CASE_OUTCOMES)) if closed else None
        cases.append(r)
    cases += [random_case(rng, f"new-{c}", c, t + 1, LAST) for c in ids if rng.random() < 0.3]
    out["clinic_cases"] = cases
    return out


def year_rows(feats: pd.DataFrame, t: int) -> pd.DataFrame:
    return feats[feats["year"] == t].reset_index(drop=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_coops=st.integers(1, 6),
    t=st.integers(FIRST, LAST - 1),
    rewrite_seed=st.integers(0, 2**31 - 1),
)
def test_features_of_year_t_ignore_everything_later(seed, n_coops, t, rewrite_seed):
    tables = random_tables(seed, n_coops, FIRST, LAST)
    before = make_dataset(**tables)
    after = make_dataset(**rewrite_later(tables, t, rewrite_seed))
    one_before = build_features(before, SETTINGS, years=[t])
    one_after = build_features(after, SETTINGS, years=[t])
    pd.testing.assert_frame_equal(one_before, one_after)
    # the one-year path is the full build's year t, when t is one of the data's years (the full build covers the
    # data's first to last year, which needs some yearly rows to be known)
    if (len(before.financials) or len(before.staffing) or len(before.health)) and (
        dataset_years(before)[0] <= t <= dataset_years(before)[1]
    ):
        pd.testing.assert_frame_equal(one_before, year_rows(build_features(before, SETTINGS), t))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_coops=st.integers(1, 8))
@example(seed=1927239, n_coops=1)  # a world with no yearly rows at all
def test_random_worlds_give_finite_typed_features(seed, n_coops):
    ds = make_dataset(**random_tables(seed, n_coops))
    if not (len(ds.financials) or len(ds.staffing) or len(ds.health)):
        # nothing says which years the data cover: the full build refuses, naming the tables
        with pytest.raises(ValueError, match="no yearly rows"):
            build_features(ds, SETTINGS)
        return
    feats = build_features(ds, SETTINGS)
    numeric = feats.drop(columns=["coop_id", "year", "coop_type", "district"])
    assert (numeric.dtypes == "float64").all()
    assert not np.isinf(numeric.to_numpy()).any()
    flags = [
        c for c in numeric if c in ("net_loss", "rat_held", "has_manager", "clinic_case_open", "assessed_this_year")
    ]
    assert numeric[flags].isin([0.0, 1.0]).where(numeric[flags].notna(), True).all().all()
    assert feats.equals(feats.sort_values(["coop_id", "year"]).reset_index(drop=True))


def test_rewrite_later_really_changes_later_data():
    # the property above would pass vacuously if the rewrite changed nothing
    tables = random_tables(11, 6, FIRST, LAST)
    t = 2018
    rewritten = rewrite_later(tables, t, 5)
    before, after = make_dataset(**tables), make_dataset(**rewritten)
    later = lambda f: f[f["year"] > t].reset_index(drop=True)  # noqa: E731
    assert not later(before.financials).equals(later(after.financials))
    assert not before.meetings.equals(after.meetings)
    full_before = build_features(before, SETTINGS)
    full_after = build_features(after, SETTINGS)
    assert (
        not full_before[full_before["year"] > t]
        .reset_index(drop=True)
        .equals(full_after[full_after["year"] > t].reset_index(drop=True))
    )
    assert set(TABLES) == set(rewritten)


def test_random_worlds_exercise_the_sick_spell_features():
    # the property above covers every column; it says something of the sick spell's features only if the random
    # worlds give them values
    feats = [build_features(make_dataset(**random_tables(seed, 6, FIRST, LAST)), SETTINGS) for seed in range(8)]
    feats = pd.concat(feats, ignore_index=True)
    for name in (*SICK_ONLY, "clinic_case_years", "clinic_matches_onset_weakness"):
        assert feats[name].nunique() >= 2, name
