"""Every world of the family keeps the contract and an exact truth, and each switch does what docs/simulator.md says.

Exact truth is judged the way the simulator promises it: the labels are draws from truth's probabilities, so in
every band of p_sick_next the share that fell sick matches the mean probability up to the draw's noise (a
Hosmer-Lemeshow test over ten bands), whatever mechanism the world follows.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from klinik.data import simulator_risk as risk
from klinik.data.contract import COLUMNS, DTYPES
from klinik.data.dataset import Dataset
from klinik.data.simulator import VARIANTS, WorldSpec, YearRecord, simulate, variant
from klinik.data.validation import validate_tables
from klinik.features.labels import make_labels
from klinik.settings import get_settings

YEARS = (2014, 2024)
COOPS = 1500


def _keep(records: dict[int, YearRecord], record: YearRecord) -> None:
    records[record.year] = record


@pytest.fixture(scope="module")
def family() -> dict[str, tuple[dict[str, pd.DataFrame], dict[int, YearRecord]]]:
    """Every variant's tables, with the simulator's own record of each year (its probe: the true states)."""
    out = {}
    for name, spec in VARIANTS.items():
        records: dict[int, YearRecord] = {}
        tables = simulate(n_coops=COOPS, years=YEARS, seed=3, spec=spec, probe=partial(_keep, records))
        out[name] = (tables, records)
    return out


@pytest.fixture(scope="module")
def worlds(family) -> dict[str, dict[str, pd.DataFrame]]:
    return {name: tables for name, (tables, _) in family.items()}


def _risk_rows(tables) -> pd.DataFrame:
    lab = make_labels(Dataset(**tables), get_settings())
    rows = lab[lab["risk_label"].notna()].merge(tables["truth"][["coop_id", "year", "p_sick_next"]])
    assert rows["p_sick_next"].notna().all()  # a risk label exists only for a cooperative not sick
    return rows


def test_at_least_six_named_variants_and_the_baseline_is_the_default():
    assert len(VARIANTS) >= 6
    assert VARIANTS["baseline"] == WorldSpec()
    for name in VARIANTS:
        assert variant(name) is VARIANTS[name]
    with pytest.raises(ValueError, match="baseline"):
        variant("no-such-world")
    with pytest.raises(ValueError, match="effects"):
        WorldSpec(effects="multiplicative")


def test_the_default_world_is_the_one_the_models_were_built_on():
    """The baseline world, drawn for drawn: a fingerprint of a small world's tables. A change here changes every
    measured figure in the docs (re-measure them, then update the fingerprint)."""
    tables = simulate(n_coops=40, years=(2016, 2020), seed=5)
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(pd.util.hash_pandas_object(tables[name].astype(str), index=False).to_numpy().tobytes())
    assert digest.hexdigest()[:16] == "37ae47968eb64de2"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_world_holds_the_contract(worlds, name):
    tables = worlds[name]
    for table, frame in tables.items():
        assert tuple(frame.columns) == COLUMNS[table], (name, table)
        assert {c: str(t) for c, t in frame.dtypes.items()} == DTYPES[table], (name, table)
    few = set(tables["cooperatives"]["coop_id"].iloc[:300])  # the rules on a part: validation takes a while
    part = {t: f[f["coop_id"].isin(few)] for t, f in tables.items()}
    ds = validate_tables(part, source=name, require_health=True)
    assert ds.warnings == []


def _drawn_from(p: np.ndarray, y: np.ndarray, name: str) -> None:
    """0/1 outcomes ``y`` are draws from the probabilities ``p``: in each tenth of ``p`` the events match the summed
    probabilities up to the draws' noise (Hosmer-Lemeshow), and so does the overall rate."""
    band = np.minimum((pd.Series(p).rank(pct=True).to_numpy() * 10).astype(int), 9)
    expected = np.bincount(band, weights=p)
    observed = np.bincount(band, weights=y)
    variance = np.bincount(band, weights=p * (1 - p))
    statistic = float(np.sum((observed - expected) ** 2 / variance))
    assert chi2.sf(statistic, df=10) > 1e-3, (name, observed.round(), expected.round())
    assert abs(y.mean() - p.mean()) < 3.5 * np.sqrt(np.sum(p * (1 - p))) / len(p)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_world_draws_its_risk_labels_from_truth(worlds, name):
    rows = _risk_rows(worlds[name])
    _drawn_from(rows["p_sick_next"].to_numpy(), rows["risk_label"].to_numpy(), name)


def _recovered(records: dict[int, YearRecord], t: int) -> tuple[np.ndarray, np.ndarray]:
    """The cooperatives truly sick in ``t`` (simulator indices) and whether each recovered by t+2 as truth's p_recover
    means it: not sick at t+1, or sick at t+1 and not sick at t+2, never dissolved before (then it is gone)."""
    now, then = records[t], [records[t + 1], records[t + 2]]
    sick_then = [dict(zip(r.alive.tolist(), r.sick.tolist())) for r in then]
    ids = now.alive[now.sick]
    event = np.zeros(len(ids), dtype=int)
    for k, i in enumerate(ids.tolist()):
        for later in sick_then:
            if i not in later:  # dissolved while sick
                break
            if not later[i]:
                event[k] = 1
                break
    return ids, event


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_world_draws_recoveries_from_truth(family, name):
    """truth's p_recover is exact for the true event (docs/simulator.md), whichever year's state recovery reads
    and whatever the clinic does: judged on the simulator's own record of the states."""
    tables, records = family[name]
    truth = tables["truth"]
    index = truth["coop_id"].str.removeprefix("KOP-").astype(int) - 1  # KOP-<i+1> is the simulator's index i
    p_recover = pd.Series(
        truth["p_recover"].to_numpy(dtype=float), index=pd.MultiIndex.from_arrays([index, truth["year"]])
    )
    p, y = [], []
    for t in range(YEARS[0], YEARS[1] - 1):
        ids, event = _recovered(records, t)
        p.append(p_recover.loc[list(zip(ids.tolist(), [t] * len(ids)))].to_numpy())
        y.append(event)
    p, y = np.concatenate(p), np.concatenate(y)
    assert len(p) > 400 and not np.isnan(p).any()
    _drawn_from(p, y, name)


def test_base_rate_and_effect_size_switches(worlds):
    base, rare = _risk_rows(worlds["baseline"]), _risk_rows(worlds["rare-weak"])
    assert rare["p_sick_next"].mean() < 0.7 * base["p_sick_next"].mean()
    # weaker effects: the probabilities spread less around their mean (on the log-odds scale)
    spread = lambda p: np.std(np.log(p / (1 - p)))  # noqa: E731
    assert spread(rare["p_sick_next"]) < spread(base["p_sick_next"])


def test_missing_statement_switch(worlds):
    filed = {name: len(t["financials"]) / len(t["staffing"]) for name, t in worlds.items()}
    assert filed["unfiled-strong"] < filed["baseline"] - 0.08, filed


def _observed(**values) -> risk.Observed:
    """Two cooperatives that differ only where ``values`` say; the rest a healthy, filed, staffed one."""
    base = dict(
        filed=[True, True],
        years_unfiled=[0, 0],
        bad_loan_ratio=[0.05, 0.05],
        bad_loan_change=[0.0, 0.0],
        equity_ratio=[0.3, 0.3],
        roa=[0.03, 0.03],
        liquidity=[0.2, 0.2],
        has_manager=[True, True],
        turnover=[0.05, 0.05],
        trained=[True, True],
        rat_on_time=[True, True],
        rat_missed_years=[0, 0],
        board_meetings=[5, 5],
        coop_type=[0, 0],
        age=[20, 20],
        sick_years=[0, 0],
        assessed_sick=[False, False],
        clinic_open=[-1, -1],
    )
    base.update(values)
    return risk.Observed(**{k: np.asarray(v) for k, v in base.items()})


def test_additive_effects_have_no_steps_and_no_interactions():
    # just below and just above the bad-loan threshold: a step in "thresholds", nearly nothing in "additive"
    o = _observed(bad_loan_ratio=[0.1499, 0.1501])
    step = np.diff(risk.risk_components(o, effects="thresholds")[risk.FIN])[0]
    smooth = np.diff(risk.risk_components(o, effects="additive")[risk.FIN])[0]
    assert step > 0.8 and 0 < smooth < 0.01
    # no manager with bad loans: in "additive" the two weaknesses add, with nothing for the pair
    pair = _observed(has_manager=[True, False], bad_loan_ratio=[0.05, 0.12])
    alone = [_observed(has_manager=[True, False]), _observed(bad_loan_ratio=[0.05, 0.12])]
    total = lambda o, e: risk.risk_components(o, effects=e).sum(axis=0)  # noqa: E731
    for effects, extra in (("additive", 0.0), ("thresholds", risk.PARAMS.no_manager_bad_loans)):
        joint = np.diff(total(pair, effects))[0]
        apart = sum(np.diff(total(o, effects))[0] for o in alone)
        assert joint == pytest.approx(apart + extra), effects


def test_interactions_add_weakness_only_in_combination():
    both = _observed(turnover=[0.05, 0.4], rat_on_time=[True, False])
    one = [_observed(turnover=[0.05, 0.4]), _observed(rat_on_time=[True, False])]
    total = lambda o, e: risk.risk_components(o, effects=e).sum(axis=0)  # noqa: E731
    apart = sum(np.diff(total(o, "interactions"))[0] for o in one)
    assert np.diff(total(both, "interactions"))[0] == pytest.approx(apart + risk.PARAMS.turnover_rat_late)
    assert np.diff(total(both, "thresholds"))[0] == pytest.approx(sum(np.diff(total(o, "thresholds"))[0] for o in one))


def test_cause_rules():
    comps = np.array([[2.0, 0.0], [0.5, 0.0], [0.0, 0.0]])
    dominant = risk.cause_probabilities(comps, rule="dominant")
    mix = risk.cause_probabilities(comps, rule="mix")
    np.testing.assert_allclose(dominant.sum(axis=0), 1.0)
    np.testing.assert_allclose(mix.sum(axis=0), 1.0)
    base = np.asarray(risk.PARAMS.cause_base)
    np.testing.assert_allclose(mix[:, 0], (base + comps[:, 0]) / (base + comps[:, 0]).sum())
    np.testing.assert_allclose(mix[:, 1], base / base.sum())  # no weakness: the base shares
    assert dominant[0, 0] > 0.95 > mix[0, 0]


def _routing_ceiling(spec: WorldSpec) -> float:
    """Share of the newly sick whose drawn cause is the most probable one (from the simulator's probe)."""
    before: dict[str, np.ndarray] = {}
    hits: list[np.ndarray] = []

    def probe(r: YearRecord) -> None:
        if before and r.year >= YEARS[0]:
            where = dict(zip(before["alive"].tolist(), range(len(before["alive"]))))
            new = np.flatnonzero(r.sick & (r.sick_years == 1))
            argmax = before["argmax"][[where[i] for i in r.alive[new]]]
            hits.append(argmax == r.cause[new])
        before.update(alive=r.alive, argmax=r.cause_probabilities.argmax(axis=0))

    simulate(n_coops=800, years=YEARS, seed=4, spec=spec, probe=probe)
    return float(np.concatenate(hits).mean())


def test_a_mixed_cause_is_harder_to_route_and_the_probe_changes_nothing():
    dominant, mixed = _routing_ceiling(VARIANTS["baseline"]), _routing_ceiling(VARIANTS["cause-mix"])
    assert dominant > 0.8 and mixed < dominant - 0.15, (dominant, mixed)
    plain = simulate(n_coops=50, years=(2018, 2021), seed=9)
    probed = simulate(n_coops=50, years=(2018, 2021), seed=9, probe=lambda r: None)
    for name in plain:
        pd.testing.assert_frame_equal(plain[name], probed[name], obj=name)


def test_recovery_at_onset_ignores_the_state_now_and_treatment():
    spec = VARIANTS["recovery-onset"]
    p = spec.params
    assert p.recover_clinic_fit == 0.0 and p.recover_clinic_other == 0.0
    comps = np.zeros((3, 2))
    # now: one in bad shape, one in good shape, both in a case at the right clinic; same state at onset
    now = _observed(bad_loan_ratio=[0.3, 0.02], roa=[-0.05, 0.05], has_manager=[False, True], clinic_open=[0, 0])
    onset = risk.recovery_state(_observed(), p)
    fixed = risk.recovery_hazard(comps, now, p, onset_state=onset)
    assert fixed[0] == pytest.approx(fixed[1])
    current = risk.recovery_hazard(comps, replace(now, clinic_open=np.array([-1, -1])), risk.PARAMS)
    assert current[1] > current[0] + 0.2


def test_the_onset_state_is_that_of_the_last_year_not_assessed_sick():
    from klinik.data.simulator import _History

    hist = _History(3)
    a = np.arange(3)
    got = hist.remember_onset(a, np.array([1.0, 2.0, 3.0]), np.array([True, False, False]))
    np.testing.assert_array_equal(got, [1.0, 2.0, 3.0])  # none kept yet for the first: its state now
    got = hist.remember_onset(a, np.array([5.0, 6.0, 7.0]), np.array([True, True, False]))
    np.testing.assert_array_equal(got, [5.0, 2.0, 7.0])
    got = hist.remember_onset(a[1:], np.array([9.0, 9.0]), np.array([True, True]))
    np.testing.assert_array_equal(got, [2.0, 7.0])


def test_world_spec_params_apply_the_switches():
    spec = WorldSpec(base_shift=-0.5, effect_scale=2.0, treatment=0.5)
    p = spec.params
    assert p.base == pytest.approx(risk.PARAMS.base - 0.5)
    assert p.weakness_weight == pytest.approx(2 * risk.PARAMS.weakness_weight)
    assert p.recover_clinic_fit == pytest.approx(0.5 * risk.PARAMS.recover_clinic_fit)
    assert WorldSpec().params == risk.PARAMS
    custom = WorldSpec(risk=replace(risk.PARAMS, cause_sharpness=1.0))
    assert custom.params.cause_sharpness == 1.0
