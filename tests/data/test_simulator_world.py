"""The shared Buleleng world (308 cooperatives, 2014-2024, written as CSV and loaded back) keeps the contract
and tells one consistent story: truth, assessments, records and clinic cases agree with each other."""

from __future__ import annotations

import numpy as np

from klinik.data.contract import BULELENG_DISTRICTS, COOP_TYPES, SICK_CATEGORIES


def test_buleleng_registry(world):
    coops = world.cooperatives
    assert len(coops) == 308 and coops["coop_id"].is_unique
    assert set(coops["district"]) == set(BULELENG_DISTRICTS)
    counts = coops["coop_type"].value_counts()
    assert set(counts.index) <= set(COOP_TYPES)
    top_two = set(counts.index[:2])
    assert top_two == {"KSP", "KSU"}, counts  # KSP and KSU most common, then KPRI and KUD
    assert set(counts.index[2:4]) == {"KPRI", "KUD"}, counts
    assert coops["founded_year"].between(1900, 2024).all()
    assert coops["name"].str.len().gt(5).all()


def test_one_row_per_living_cooperative_and_year(world):
    truth, staffing = world.truth, world.staffing
    assert truth[["coop_id", "year"]].equals(staffing[["coop_id", "year"]])
    coops = world.cooperatives.set_index("coop_id")
    founded = staffing["coop_id"].map(coops["founded_year"])
    assert (staffing["year"] >= founded).all()
    fin_keys = set(zip(world.financials["coop_id"], world.financials["year"]))
    assert fin_keys <= set(zip(staffing["coop_id"], staffing["year"]))
    assert 0.85 < len(world.financials) / len(staffing) < 0.99  # some statements are never filed
    assessed = len(world.health) / len(staffing)
    assert 0.78 < assessed < 0.92


def test_truth_agrees_with_the_assessments(world):
    truth = world.truth
    sick_now = truth["cause"].notna()
    assert (truth["p_sick_next"].notna() == ~sick_now).all()
    assert (truth["p_recover"].notna() == sick_now).all()
    assert truth["p_sick_next"].dropna().between(0, 1).all() and truth["p_recover"].dropna().between(0, 1).all()
    h = world.health.merge(truth, on=["coop_id", "year"], how="left")
    assessed_sick = h["category"].isin(SICK_CATEGORIES)
    assert (assessed_sick == h["cause"].notna()).all()  # the office sees the true state when it assesses


def test_scores_sit_in_their_category_band(world):
    h = world.health
    assert 0 < h["score"].isna().mean() < 0.15
    bands = {
        "SEHAT": (80, 100),
        "CUKUP_SEHAT": (66, 80),
        "DALAM_PENGAWASAN": (51, 66),
        "DALAM_PENGAWASAN_KHUSUS": (0, 51),
    }
    for category, (low, high) in bands.items():
        scores = h.loc[h["category"] == category, "score"].dropna()
        assert len(scores) and scores.ge(low).all() and scores.lt(high if high < 100 else 100.01).all(), category


def test_meetings_follow_the_calendar(world):
    m = world.meetings
    rat = m[m["meeting_type"] == "RAT"]
    assert (rat["held_on"].dt.year == rat["fiscal_year"] + 1).all()
    others = m[m["meeting_type"] != "RAT"]
    assert (others["held_on"].dt.year == others["fiscal_year"]).all()
    assert rat.groupby(["coop_id", "fiscal_year"]).size().max() == 1
    per_coop_year = len(m[m["meeting_type"] == "RAPAT_PENGURUS"]) / len(world.staffing)
    assert 2.5 < per_coop_year < 5.5


def test_clinic_cases_tell_a_consistent_story(world):
    cases = world.clinic_cases
    assert len(cases) > 20 and cases["case_id"].is_unique
    open_ = cases["closed_on"].isna()
    assert (open_ == cases["outcome"].isna()).all()
    assert (cases.loc[~open_, "closed_on"] > cases.loc[~open_, "opened_on"]).all()
    # a case is opened for a cooperative assessed sick that year
    opened = cases.assign(year=cases["opened_on"].dt.year)[["coop_id", "year"]]
    h = opened.merge(world.health, on=["coop_id", "year"], how="left")
    assert h["category"].isin(SICK_CATEGORIES).all()
    # a dissolved case closes in the dissolution year
    gone = cases[cases["outcome"] == "DIBUBARKAN"]
    dissolved = gone["coop_id"].map(world.cooperatives.set_index("coop_id")["dissolved_year"])
    assert (gone["closed_on"].dt.year.to_numpy() == dissolved.to_numpy()).all()
    # at most one open case per cooperative at any time
    assert cases[open_]["coop_id"].is_unique


def test_sick_records_show_their_cause(world):
    """A finance-sick year has worse bad loans, an SDM-sick year more departures, a governance-sick year
    more missed RATs than a healthy year."""
    t = world.truth
    f = world.financials
    fin = f.assign(
        bad=(f["loans_substandard"] + f["loans_doubtful"] + f["loans_loss"])
        / f["loans_outstanding"].where(f["loans_outstanding"] > 0)
    )
    s = world.staffing.assign(turnover=world.staffing["staff_departures"] / world.staffing["employees"].clip(lower=1))
    m = world.meetings
    rat = m[(m["meeting_type"] == "RAT") & (m["held_on"].dt.month <= 3)]
    x = (
        t.merge(fin[["coop_id", "year", "bad"]], how="left")
        .merge(s[["coop_id", "year", "turnover"]], how="left")
        .merge(rat[["coop_id", "fiscal_year"]].rename(columns={"fiscal_year": "year"}).assign(rat=1.0), how="left")
    )
    x["rat"] = x["rat"].fillna(0.0)
    x["cause"] = x["cause"].fillna("HEALTHY")
    means = x.groupby("cause")[["bad", "turnover", "rat"]].mean()
    assert means.loc["KEUANGAN", "bad"] > 1.5 * means.loc["HEALTHY", "bad"]
    assert means.loc["SDM", "turnover"] > 1.5 * means.loc["HEALTHY", "turnover"]
    assert means.loc["KELEMBAGAAN", "rat"] < means.loc["HEALTHY", "rat"] - 0.3
    assert np.isfinite(means.to_numpy()).all()
