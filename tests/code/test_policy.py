"""The decision policy: every rule, the capacity cap, the outreach order, and its thresholds as settings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from klinik.data.contract import ACTIONS_HEALTHY, ACTIONS_SICK
from klinik.models.policy import (
    OutreachCutoff,
    decide,
    outreach_capacity,
    outreach_cutoff,
    outreach_rank,
    uncertain,
    uncertain_text,
)
from klinik.settings import get_settings

NAN = float("nan")


@pytest.fixture(scope="module")
def s():
    return get_settings(
        jangkau_threshold=0.30,
        bina_threshold=0.40,
        closure_recover_threshold=0.15,
        closure_min_years_sick=2,
        inactive_years_without_rat=2,
        clinic_capacity_share=0.10,
    )


def one(s, status, p_sick=NAN, p_rec=NAN, clinic="KEUANGAN", rat=0, years_sick=0, capacity=None):
    return decide([status], [p_sick], [p_rec], [clinic], [rat], [years_sick], s, capacity=capacity)[0]


def test_healthy_rules(s):
    assert one(s, "SEHAT", p_sick=0.30) == "JANGKAU"  # at the threshold counts
    assert one(s, "SEHAT", p_sick=0.2999) == "PANTAU"
    assert one(s, "BELUM_DINILAI", p_sick=0.9) == "JANGKAU"  # unassessed is treated as not sick
    assert one(s, "SEHAT", p_sick=NAN) == "PANTAU"  # a missing probability never reaches out
    # the legal facts do not move a healthy coop into a sick coop's actions
    assert one(s, "SEHAT", p_sick=0.1, rat=5, years_sick=3, clinic="KELEMBAGAAN") == "PANTAU"


def test_sick_rules(s):
    assert one(s, "SAKIT", p_rec=0.40) == "BINA"
    assert one(s, "SAKIT", p_rec=0.39, years_sick=1) == "PANTAU_KETAT"
    # survival no longer expected: long sick and unlikely to recover
    assert one(s, "SAKIT", p_rec=0.14, years_sick=2) == "PERTIMBANGKAN_PEMBUBARAN"
    assert one(s, "SAKIT", p_rec=0.14, years_sick=1) == "PANTAU_KETAT"
    assert one(s, "SAKIT", p_rec=0.15, years_sick=4) == "PANTAU_KETAT"
    # legally inactive (no RAT for 2 years) with governance the main cause and recovery not expected
    assert one(s, "SAKIT", p_rec=0.10, years_sick=1, rat=2, clinic="KELEMBAGAAN") == "PERTIMBANGKAN_PEMBUBARAN"
    assert one(s, "SAKIT", p_rec=0.10, years_sick=1, rat=1, clinic="KELEMBAGAAN") == "PANTAU_KETAT"
    assert one(s, "SAKIT", p_rec=0.10, years_sick=1, rat=3, clinic="KEUANGAN") == "PANTAU_KETAT"
    # the legal fact alone is not enough: a chance of recovery above the closure line keeps it in treatment
    assert one(s, "SAKIT", p_rec=0.30, years_sick=1, rat=2, clinic="KELEMBAGAAN") == "PANTAU_KETAT"
    assert one(s, "SAKIT", p_rec=0.50, years_sick=1, rat=3, clinic="KELEMBAGAAN") == "BINA"
    # a missing recovery probability is never a ground for closure
    assert one(s, "SAKIT", p_rec=NAN, years_sick=9, rat=9, clinic="KELEMBAGAAN") == "PANTAU_KETAT"


def test_closure_on_the_hopeless_ground_needs_the_whole_interval_below_the_line(s):
    def sick_long(p, hi):
        return decide(["SAKIT"], [NAN], [p], ["KEUANGAN"], [0], [3], s, capacity=None, p_recover_hi=[hi])[0]

    assert sick_long(0.08, 0.14) == "PERTIMBANGKAN_PEMBUBARAN"
    assert sick_long(0.08, 0.15) == "PANTAU_KETAT"  # the interval reaches the line: not sure enough
    assert sick_long(0.08, 0.45) == "PANTAU_KETAT"
    assert sick_long(0.08, NAN) == "PERTIMBANGKAN_PEMBUBARAN"  # no interval (an older model): the estimate itself

    def lapsed(p, hi):  # the legal ground asks the same
        return decide(["SAKIT"], [NAN], [p], ["KELEMBAGAAN"], [3], [1], s, capacity=None, p_recover_hi=[hi])[0]

    assert lapsed(0.08, 0.14) == "PERTIMBANGKAN_PEMBUBARAN"
    assert lapsed(0.08, 0.20) == "PANTAU_KETAT"


def test_a_straddling_interval_says_the_estimate_is_uncertain_and_what_would_settle_it(s):
    status = ["SAKIT", "SAKIT", "SAKIT", "SAKIT", "SEHAT", "SAKIT"]
    lo = [0.08, 0.05, 0.30, 0.20, 0.30, NAN]
    hi = [0.25, 0.12, 0.55, 0.35, 0.50, NAN]
    years_sick = [3, 3, 1, 1, 0, 3]
    kind = uncertain(status, lo, hi, ["KEUANGAN"] * 6, [0] * 6, years_sick, s)
    # straddles the closure line (sick long enough); sure it is below; straddles the treatment line; sure between
    # them; a healthy cooperative's p_recover is not asked; no interval says nothing
    assert kind.tolist() == ["closure", "", "bina", "", "", ""]
    # the closure line matters only where the rest of the closure evidence holds
    assert uncertain(["SAKIT"], [0.08], [0.25], ["KEUANGAN"], [0], [1], s).tolist() == [""]
    assert uncertain(["SAKIT"], [0.08], [0.25], ["KELEMBAGAAN"], [2], [1], s).tolist() == ["closure"]
    said = uncertain_text("closure", 0.08, 0.25, s, "id")
    assert "belum pasti" in said and "8–25%" in said and "15%" in said and "laporan keuangan" in said
    said = uncertain_text("bina", 0.30, 0.55, s, "en")
    assert "uncertain" in said and "30–55%" in said and "40%" in said and "financial statement" in said
    assert uncertain_text("", 0.3, 0.5, s) == ""


def test_thresholds_are_settings(s):
    strict = get_settings(jangkau_threshold=0.5, bina_threshold=0.6, inactive_years_without_rat=3)
    assert one(s, "SEHAT", p_sick=0.4) == "JANGKAU"
    assert one(strict, "SEHAT", p_sick=0.4) == "PANTAU"
    assert one(strict, "SAKIT", p_rec=0.5) == "PANTAU_KETAT"
    assert one(s, "SAKIT", p_rec=0.1, years_sick=1, rat=2, clinic="KELEMBAGAAN") == "PERTIMBANGKAN_PEMBUBARAN"
    assert one(strict, "SAKIT", p_rec=0.1, years_sick=1, rat=2, clinic="KELEMBAGAAN") == "PANTAU_KETAT"


def test_capacity_keeps_the_highest_and_breaks_ties_by_id(s):
    p = np.array([0.9, 0.5, 0.7, 0.7, 0.2, 0.95])
    ids = np.array(["e", "a", "d", "c", "b", "f"])
    status = ["SEHAT"] * 5 + ["SAKIT"]  # the sick one's p_sick is ignored
    actions = decide(status, p, [NAN] * 5 + [0.5], ["SDM"] * 6, [0] * 6, [0] * 5 + [1], s, capacity=2, tie_break=ids)
    assert list(actions) == ["JANGKAU", "PANTAU", "PANTAU", "JANGKAU", "PANTAU", "BINA"]  # 0.7 tie: "c" wins
    actions = decide(status, p, [NAN] * 5 + [0.5], ["SDM"] * 6, [0] * 6, [0] * 5 + [1], s, capacity=1, tie_break=ids)
    assert list(actions[:4]) == ["JANGKAU", "PANTAU", "PANTAU", "PANTAU"]
    # ties at the boundary: "c" before "d"
    tied = decide(
        ["SEHAT"] * 2, [0.7, 0.7], [NAN] * 2, ["SDM"] * 2, [0, 0], [0, 0], s, capacity=1, tie_break=["d", "c"]
    )
    assert list(tied) == ["PANTAU", "JANGKAU"]
    unlimited = decide(status, p, [NAN] * 5 + [0.5], ["SDM"] * 6, [0] * 6, [0] * 6, s, capacity=None)
    assert list(unlimited[:5]) == ["JANGKAU", "JANGKAU", "JANGKAU", "JANGKAU", "PANTAU"]


def test_outreach_capacity(s):
    assert outreach_capacity(308, s) == 30
    assert outreach_capacity(5, s) == 1  # at least one when anything is scored
    assert outreach_capacity(0, s) == 0


def test_rank_puts_the_outreach_list_first(s):
    status = np.array(["SEHAT", "SAKIT", "SEHAT", "BELUM_DINILAI", "SAKIT", "SAKIT"])
    p_sick = np.array([0.2, NAN, 0.8, 0.5, NAN, NAN])
    p_rec = np.array([NAN, 0.1, NAN, NAN, 0.9, 0.3])
    ids = np.array(["a", "b", "c", "d", "e", "f"])
    action = decide(status, p_sick, p_rec, ["SDM"] * 6, [0] * 6, [0, 3, 0, 0, 1, 1], s, capacity=1, tie_break=ids)
    assert list(action) == ["PANTAU", "PERTIMBANGKAN_PEMBUBARAN", "JANGKAU", "PANTAU", "BINA", "PANTAU_KETAT"]
    rank = outreach_rank(status, p_sick, p_rec, action, tie_break=ids)
    assert list(rank) == [3, 6, 1, 2, 4, 5]


@hsettings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["SEHAT", "SAKIT", "BELUM_DINILAI"]),
            st.floats(0, 1),
            st.floats(0, 1),
            st.sampled_from(["KEUANGAN", "SDM", "KELEMBAGAAN"]),
            st.integers(0, 4),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 10),
)
def test_policy_invariants(rows, capacity):
    s = get_settings()
    status, p_sick, p_rec, clinic, rat, ys = (np.array(c) for c in zip(*rows))
    sick = status == "SAKIT"
    p_sick = np.where(sick, np.nan, p_sick)
    p_rec = np.where(sick, p_rec, np.nan)
    ids = np.array([f"K{i:03d}" for i in range(len(rows))])
    action = decide(status, p_sick, p_rec, clinic, rat, ys, s, capacity=capacity, tie_break=ids)
    assert set(action[~sick]) <= set(ACTIONS_HEALTHY) and set(action[sick]) <= set(ACTIONS_SICK)
    jangkau = action == "JANGKAU"
    assert jangkau.sum() <= capacity
    assert (p_sick[jangkau] >= s.jangkau_threshold).all()
    left_out = ~sick & ~jangkau & (p_sick >= s.jangkau_threshold)
    if left_out.any():  # the capacity was full, and everyone on the list is at least as risky as anyone left out
        assert jangkau.sum() == capacity
        assert p_sick[jangkau].min(initial=1.0) >= p_sick[left_out].max()
    rank = outreach_rank(status, p_sick, p_rec, action, tie_break=ids)
    assert sorted(rank) == list(range(1, len(rows) + 1))
    assert set(rank[jangkau]) == set(range(1, jangkau.sum() + 1))
    if sick.any() and (~sick).any():
        assert rank[~sick].max() < rank[sick].min()


def test_a_cooperatives_action_within_its_population_does_not_depend_on_who_is_scored_with_it(s):
    """The population's cut-off decides JANGKAU one cooperative at a time; a capacity decides within a group."""
    import pandas as pd

    rng = np.random.default_rng(1)
    n = 200
    p = rng.uniform(0, 0.6, n)
    p[[10, 11]] = p[12]  # ties at the cut-off are broken by coop_id, as in the batch
    ids = np.array([f"KOP-{i:06d}" for i in range(n)], dtype=object)
    status = np.array(["SEHAT"] * n, dtype=object)
    zero = np.zeros(n)
    clinic = np.array(["KEUANGAN"] * n, dtype=object)
    action = decide(status, p, np.full(n, NAN), clinic, zero, zero, s, capacity=20, tie_break=ids)
    rank = outreach_rank(status, p, np.full(n, NAN), action, tie_break=ids)
    population = pd.DataFrame(
        {"coop_id": ids, "as_of_year": 2024, "status": status, "p_sick_next": p, "action": action, "rank": rank}
    )
    cut = outreach_cutoff(population, get_settings(clinic_capacity_share=0.10))
    assert cut.listed == 20 and cut.p_sick_next is not None and cut.capacity == 20
    for size in (1, 3, 50):
        for start in range(0, n, size):
            part = slice(start, start + size)
            alone = decide(
                status[part],
                p[part],
                np.full(n, NAN)[part],
                clinic[part],
                zero[part],
                zero[part],
                s,
                capacity=None,
                tie_break=ids[part],
                cutoff=cut,
            )
            assert list(alone) == list(action[part])
    # fewer above the threshold than the capacity: the threshold alone decides
    few = population.assign(p_sick_next=np.minimum(p, 0.2), action="PANTAU")
    few.loc[0, ["p_sick_next", "action"]] = [0.35, "JANGKAU"]
    assert outreach_cutoff(few, s) == OutreachCutoff(None, None, 2024, 20, 1)
    with pytest.raises(ValueError):
        decide(status, p, p, clinic, zero, zero, s, capacity=3, cutoff=cut)
