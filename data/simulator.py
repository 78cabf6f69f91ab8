"""A simulated cooperatives office: every contract table plus ``truth``, the probabilities behind the labels.

No real data is public, so this is how the models learn and are judged. Each year, for every cooperative at
once (numpy over cooperatives, a loop over years): its hidden qualities move, its records for the year are
written (staffing, a statement if it files one, meetings, the office's assessment if it makes one, clinic
cases), what those records show decides the probabilities (data/simulator_risk.py), and the draws decide
its state next year. The generative process, its parameters and its simplifications are in docs/simulator.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from klinik.data import simulator_risk as risk
from klinik.data.contract import (
    BULELENG_DISTRICTS,
    CASE_OUTCOMES,
    CLINICS,
    COLUMNS,
    COOP_TYPES,
    DTYPES,
    HEALTH_CATEGORIES,
    MEETING_TYPES,
)
from klinik.data.simulator_defects import inject_defects
from klinik.data.simulator_records import (
    Cooperatives,
    filing_probability,
    financials_year,
    random_dates,
    rat_year,
    staffing_year,
)
from klinik.data.simulator_worlds import BASELINE, VARIANTS, WorldSpec, variant

__all__ = ["simulate", "inject_defects", "WorldSpec", "VARIANTS", "variant", "YearRecord"]

BURN_IN_YEARS = 10  # simulated before the first year and not written, so the first year starts in balance
CLINIC_OPENED = 2017  # Buleleng's Klinik Koperasi opened on 9 August 2017: no cases before
CASE_OPEN_SHARE = 0.5  # share of newly assessed-sick cooperatives (without a case) the clinic takes each year
CLINIC_MAPPING_HIT = 0.75  # the office sends a case to the clinic of the dominant observed weakness this often
MAX_CASE_YEARS = 2  # a case not recovered after two years closes as BERLANJUT

DISTRICT_WEIGHTS = (0.10, 0.12, 0.07, 0.11, 0.11, 0.20, 0.10, 0.09, 0.10)  # BULELENG_DISTRICTS order
NAME_PREFIX = (
    "KSP",
    "KSU",
    "KUD",
    "KPRI",
    "Koperasi Konsumen",
    "Koperasi Produsen",
    "Koperasi Pemasaran",
    "Koperasi Jasa",
)
NAME_WORDS = (
    "Dharma",
    "Sari",
    "Merta",
    "Sejahtera",
    "Mandiri",
    "Artha",
    "Giri",
    "Amerta",
    "Santhi",
    "Jaya",
    "Makmur",
    "Sedana",
    "Werdhi",
    "Bhakti",
    "Upadana",
    "Kerta",
    "Sukha",
    "Wibawa",
    "Guna",
    "Mitra",
    "Usaha",
    "Bersama",
    "Tunas",
    "Harapan",
    "Karya",
    "Widya",
    "Sentosa",
    "Lestari",
    "Abadi",
    "Bakti",
    "Pertiwi",
    "Segara",
    "Tirta",
    "Bumi",
    "Kencana",
    "Laksmi",
    "Yasa",
    "Prima",
    "Utama",
    "Suci",
)


def simulate(
    n_coops: int,
    years: tuple[int, int],
    seed: int,
    dirty: bool = False,
    *,
    spec: WorldSpec = BASELINE,
    probe: Callable[[YearRecord], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate ``n_coops`` cooperatives over fiscal years ``years`` (inclusive), reproducibly from ``seed``.

    Returns every contract table plus ``truth``, with the columns and dtypes of data/contract.py. ``spec`` is the
    reading of the domain the world follows (data/simulator_worlds.py; the default is the ``baseline`` world).
    With ``dirty`` the defects of ``inject_defects(tables, seed)`` are added (some columns then hold text).
    ``probe``, when given, is called once per simulated year (the burn-in years before ``years`` too) with what the
    simulator computed (a :class:`YearRecord`): diagnostics such as the routing ceiling (bench/routing_ceiling.py).
    """
    first, last = years
    if n_coops < 1:
        raise ValueError(f"n_coops must be at least 1, got {n_coops}")
    if last < first:
        raise ValueError(f"last year {last} is before first year {first}")
    rng = np.random.default_rng(seed)
    coops = Cooperatives(rng, n_coops, first, last, start=first - BURN_IN_YEARS)
    out = _Output()
    _run(rng, coops, first=first, last=last, out=out, spec=spec, probe=probe)
    tables = out.tables(_registry(rng, coops))
    if dirty:
        tables, _ = inject_defects(tables, seed)
    return tables


@dataclass(frozen=True)
class YearRecord:
    """What the simulator computed in one year, for the cooperatives alive in it (``simulate``'s probe).

    ``alive`` holds simulator indices: index i is the cooperative ``KOP-<i+1>`` (zero-padded) of the tables.
    """

    year: int
    alive: np.ndarray
    sick: np.ndarray  # the true state at the year
    cause: np.ndarray  # cause index of a sick cooperative (FIN, SDM, GOV), -1 otherwise
    sick_years: np.ndarray  # true consecutive years sick, counting this one
    components: np.ndarray  # (3, m): risk.risk_components at the year
    cause_probabilities: np.ndarray  # (3, m): the cause of a sickness that begins at year + 1 is drawn from these


@dataclass
class _History:
    """What the written tables say so far, per cooperative: the inputs of ``risk.Observed`` that need memory."""

    n: int
    bad_loans_last: np.ndarray = field(init=False)
    equity_last: np.ndarray = field(init=False)
    roa_last: np.ndarray = field(init=False)
    liquidity_last: np.ndarray = field(init=False)
    bad_loans_prev: np.ndarray = field(init=False)
    filed_prev: np.ndarray = field(init=False)
    years_unfiled: np.ndarray = field(init=False)
    rat_missed: np.ndarray = field(init=False)
    sick_1: np.ndarray = field(init=False)  # assessed sick at t-1
    sick_2: np.ndarray = field(init=False)  # assessed sick at t-2
    clinic_open: np.ndarray = field(init=False)  # clinic of the open case, -1 none
    case_no: np.ndarray = field(init=False)
    case_year: np.ndarray = field(init=False)
    onset_state: np.ndarray = field(init=False)  # risk.recovery_state of the last year not assessed sick

    def __post_init__(self):
        n = self.n
        for name in ("bad_loans_last", "equity_last", "roa_last", "liquidity_last", "bad_loans_prev", "onset_state"):
            setattr(self, name, np.full(n, np.nan))
        self.filed_prev = np.zeros(n, bool)
        self.years_unfiled = np.zeros(n, int)
        self.rat_missed = np.zeros(n, int)
        self.sick_1 = np.zeros(n, bool)
        self.sick_2 = np.zeros(n, bool)
        self.clinic_open = np.full(n, -1)
        self.case_no = np.full(n, -1)
        self.case_year = np.zeros(n, int)

    def remember_onset(self, a: np.ndarray, state: np.ndarray, assessed_sick: np.ndarray) -> np.ndarray:
        """Keep ``state`` for the cooperatives ``a`` not assessed sick this year; return, per cooperative, the
        state of its last year not assessed sick (this year's when the tables show none)."""
        self.onset_state[a] = np.where(assessed_sick, self.onset_state[a], state)
        return np.where(np.isnan(self.onset_state[a]), state, self.onset_state[a])


@dataclass
class _Records:
    """Year t's records of the cooperatives alive in it (``a``, simulator indices), before they are written."""

    a: np.ndarray
    staff: dict[str, np.ndarray]
    fin: dict[str, np.ndarray]
    filed: np.ndarray
    rat_on_time: np.ndarray
    rat_late: np.ndarray
    board_meetings: np.ndarray
    supervisor_meetings: np.ndarray
    assessed: np.ndarray
    assessed_sick: np.ndarray


@dataclass
class _Hazards:
    """The probabilities computed at t that decide each cooperative's state at t+1."""

    p_sick: np.ndarray
    cause_p: np.ndarray
    recover: np.ndarray  # recovery hazard of the step t -> t+1 (fixed at t-1)
    dissolve: np.ndarray  # dissolution hazard of the step t -> t+1 (fixed at t-1)


class _Output:
    """Rows of every table as numpy chunks (one per year), joined once at the end."""

    def __init__(self):
        self.chunks: dict[str, list[dict[str, np.ndarray]]] = {t: [] for t in COLUMNS}
        self.closures: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # case_no, closed_on, outcome
        self.n_cases = 0

    def add(self, table: str, **columns) -> None:
        self.chunks[table].append(columns)

    def joined(self, table: str) -> dict[str, np.ndarray]:
        parts = self.chunks[table]
        if not parts:
            return {}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def tables(self, registry: pd.DataFrame) -> dict[str, pd.DataFrame]:
        ids = pa.array(registry["coop_id"].to_numpy(dtype=object))
        tables = {"cooperatives": registry}
        for name in ("financials", "staffing", "meetings", "health", "clinic_cases", "truth"):
            cols = self.joined(name)
            if name == "clinic_cases":
                cols = self._cases(cols)
            tables[name] = _frame(name, cols, ids)
        return tables

    def _cases(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = self.n_cases
        closed = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        outcome = np.full(n, -1)
        for case_no, when, what in self.closures:
            closed[case_no] = when
            outcome[case_no] = what
        if not cols:
            cols = {
                "case_no": np.zeros(0, int),
                "coop": np.zeros(0, int),
                "clinic": np.zeros(0, int),
                "opened_on": np.zeros(0, "datetime64[D]"),
            }
        order = np.argsort(cols["case_no"])
        cols = {k: v[order] for k, v in cols.items()}
        year = cols["opened_on"].astype("datetime64[Y]").astype(int) + 1970
        cols["case_id"] = np.array([f"KK-{y}-{k + 1:06d}" for y, k in zip(year, cols["case_no"])], dtype=object)
        cols["closed_on"] = closed[cols["case_no"]]
        cols["outcome"] = outcome[cols["case_no"]]
        return cols


def _run(
    rng: np.random.Generator,
    c: Cooperatives,
    *,
    first: int,
    last: int,
    out: _Output,
    spec: WorldSpec,
    probe: Callable[[YearRecord], None] | None,
) -> None:
    n = c.n
    p = spec.params
    hist = _History(n)
    recover_now = np.zeros(n)
    dissolve_now = np.zeros(n)
    assess_now = np.ones(n)
    for t in range(c.start, last + 1):
        visible = t >= first
        if t == first:  # from here on, the written tables are all a model will see
            hist = _History(n)
            recover_now, dissolve_now = risk.first_year_hazards(c.coop_type, p)
            assess_now = np.full(n, risk.sigmoid(p.assess_first_year))
        c.found(rng, t)
        if t > c.start:
            c.evolve(rng, hist.clinic_open)
        a = np.flatnonzero(c.alive(t))
        q = c.effective_quality()
        rec = _draw_records(rng, c, a=a, q=q, assess=assess_now[a], filing_shift=spec.filing_shift)

        o = _observe(hist, rec, c=c, t=t, p=p)
        comps = risk.risk_components(o, p, effects=spec.effects)
        if visible and t >= CLINIC_OPENED:
            _open_cases(rng, hist, a=a, t=t, assessed_sick=rec.assessed_sick, comps=comps, out=out)
        o.clinic_open = hist.clinic_open[a]
        onset = None
        if spec.recovery == "onset":
            onset = hist.remember_onset(a, risk.recovery_state(o, p), rec.assessed_sick)
        p_sick = risk.p_sick_next(comps, o, p)
        cause_p = risk.cause_probabilities(comps, p, rule=spec.cause)
        recover_next = risk.recovery_hazard(comps, o, p, onset_state=onset)
        dissolve_next = risk.dissolution_hazard(o, p)

        if visible:
            sick = c.sick[a]
            health = _health(rng, c, a=a, q=q, assessed=rec.assessed, comps=comps)
            _write_year(rng, out, t=t, rec=rec, c=c, health=health)
            p_recover = risk.two_year_recovery(recover_now[a], dissolve_now[a], recover_next, dissolve_next)
            out.add(
                "truth",
                coop=a,
                year=np.full(len(a), t),
                p_sick_next=np.where(sick, np.nan, p_sick),
                p_recover=np.where(sick, p_recover, np.nan),
                cause=np.where(sick, c.cause[a], -1),
            )

        if probe is not None:
            probe(YearRecord(t, a.copy(), c.sick[a], c.cause[a], c.sick_years[a], comps, cause_p))
        hazards = _Hazards(p_sick=p_sick, cause_p=cause_p, recover=recover_now[a], dissolve=dissolve_now[a])
        _transition(rng, c, hist, a=a, t=t, first=first, last=last, hazards=hazards, out=out)
        recover_now[a] = recover_next
        dissolve_now[a] = dissolve_next
        assess_now[a] = risk.assessment_probability(o, p)


def _draw_records(
    rng: np.random.Generator, c: Cooperatives, *, a: np.ndarray, q: np.ndarray, assess: np.ndarray, filing_shift: float
) -> _Records:
    """Year t's records of the cooperatives ``a`` from their (sickness-bent) qualities ``q``; ``assess`` is the
    probability the office assesses each, decided the year before."""
    m = len(a)
    staff = staffing_year(rng, c, a, q)
    fin = financials_year(rng, c, a, q)
    filed = rng.random(m) < filing_probability(c, a, q, shift=filing_shift)
    rat_on_time, rat_late = rat_year(rng, q[risk.GOV, a])
    board_meetings = rng.poisson(4.0 * np.exp(0.35 * q[risk.GOV, a]))
    supervisor_meetings = rng.poisson(2.0 * np.exp(0.25 * q[risk.GOV, a]))
    assessed = rng.random(m) < assess
    return _Records(
        a=a,
        staff=staff,
        fin=fin,
        filed=filed,
        rat_on_time=rat_on_time,
        rat_late=rat_late,
        board_meetings=board_meetings,
        supervisor_meetings=supervisor_meetings,
        assessed=assessed,
        assessed_sick=assessed & c.sick[a],
    )


def _observe(hist: _History, rec: _Records, *, c: Cooperatives, t: int, p: risk.RiskParams) -> risk.Observed:
    """Update the memory with year t's written records and return what they show."""
    a, fin, filed, staff = rec.a, rec.fin, rec.filed, rec.staff
    loans = fin["loans_outstanding"]
    bad = fin["loans_substandard"] + fin["loans_doubtful"] + fin["loans_loss"]
    bad_ratio = np.divide(bad, loans, out=np.zeros_like(bad), where=loans > 0)
    both = filed & hist.filed_prev[a]
    change = np.where(both, bad_ratio - hist.bad_loans_prev[a], 0.0)
    hist.bad_loans_prev[a] = bad_ratio
    hist.filed_prev[a] = filed
    for name, value in (
        ("bad_loans_last", bad_ratio),
        ("equity_last", fin["equity"] / fin["total_assets"]),
        ("roa_last", fin["net_income"] / fin["total_assets"]),
        ("liquidity_last", fin["cash"] / np.maximum(fin["current_liabilities"], 1.0)),
    ):
        last = getattr(hist, name)
        last[a] = np.where(filed, value, last[a])
    hist.years_unfiled[a] = np.where(filed, 0, hist.years_unfiled[a] + 1)
    hist.rat_missed[a] = np.where(rec.rat_on_time, 0, hist.rat_missed[a] + 1)
    sick_years = rec.assessed_sick.astype(int) + hist.sick_1[a] + hist.sick_2[a]
    hist.sick_2[a] = hist.sick_1[a]
    hist.sick_1[a] = rec.assessed_sick
    return risk.Observed(
        filed=filed,
        years_unfiled=hist.years_unfiled[a],
        bad_loan_ratio=np.nan_to_num(hist.bad_loans_last[a], nan=0.0),
        bad_loan_change=change,
        equity_ratio=np.nan_to_num(hist.equity_last[a], nan=p.neutral_equity_ratio),
        roa=np.nan_to_num(hist.roa_last[a], nan=p.neutral_roa),
        liquidity=np.nan_to_num(hist.liquidity_last[a], nan=p.neutral_liquidity),
        has_manager=staff["has_manager"],
        turnover=staff["staff_departures"] / np.maximum(staff["employees"], 1),
        trained=staff["trained_staff"] > 0,
        rat_on_time=rec.rat_on_time,
        rat_missed_years=hist.rat_missed[a],
        board_meetings=rec.board_meetings,
        coop_type=c.coop_type[a],
        age=t - c.founded[a],
        sick_years=sick_years,
        assessed_sick=rec.assessed_sick,
        clinic_open=hist.clinic_open[a],
    )


def _open_cases(
    rng: np.random.Generator,
    hist: _History,
    *,
    a: np.ndarray,
    t: int,
    assessed_sick: np.ndarray,
    comps: np.ndarray,
    out: _Output,
) -> None:
    """The clinic takes some newly assessed-sick cooperatives; the office's mapping of the cause is imperfect."""
    candidates = assessed_sick & (hist.clinic_open[a] < 0)
    take = candidates & (rng.random(len(a)) < CASE_OPEN_SHARE)
    k = int(take.sum())
    if not k:
        return
    dominant = risk.dominant_weakness(comps[:, take])
    hit = rng.random(k) < CLINIC_MAPPING_HIT
    clinic = np.where(hit, dominant, (dominant + rng.integers(1, 3, k)) % 3)
    idx = a[take]
    case_no = out.n_cases + np.arange(k)
    out.n_cases += k
    hist.clinic_open[idx] = clinic
    hist.case_no[idx] = case_no
    hist.case_year[idx] = t
    out.add(
        "clinic_cases",
        case_no=case_no,
        coop=idx,
        clinic=clinic,
        opened_on=random_dates(rng, k, f"{t}-04-01", f"{t}-12-20"),
    )


def _transition(
    rng: np.random.Generator,
    c: Cooperatives,
    hist: _History,
    *,
    a: np.ndarray,
    t: int,
    first: int,
    last: int,
    hazards: _Hazards,
    out: _Output,
) -> None:
    """Draw each cooperative's state at t+1 from the probabilities computed at t."""
    m = len(a)
    sick = c.sick[a]
    falls = ~sick & (rng.random(m) < hazards.p_sick)
    cause = (rng.random(m)[None, :] > np.cumsum(hazards.cause_p, axis=0)).sum(axis=0).clip(0, 2)
    can_close = first <= t < last  # dissolutions and case outcomes are only written inside the years
    dissolve = sick & can_close & (rng.random(m) < hazards.dissolve)
    recover = sick & ~dissolve & (rng.random(m) < hazards.recover)
    stays = sick & ~dissolve & ~recover
    c.cause[a] = np.where(falls, cause, np.where(stays, c.cause[a], -1))
    c.sick[a] = falls | stays
    c.sick_years[a] = np.where(stays, c.sick_years[a] + 1, falls.astype(int))
    c.dissolved[a[dissolve]] = t + 1
    if not can_close:
        return
    has_case = hist.clinic_open[a] >= 0
    outcome = np.select(
        [dissolve, recover, stays & (hist.case_year[a] <= t + 1 - MAX_CASE_YEARS)],
        [CASE_OUTCOMES.index("DIBUBARKAN"), CASE_OUTCOMES.index("PULIH"), CASE_OUTCOMES.index("BERLANJUT")],
        -1,
    )
    close = has_case & (outcome >= 0)
    k = int(close.sum())
    if k:
        when = np.where(
            outcome[close] == CASE_OUTCOMES.index("BERLANJUT"),
            random_dates(rng, k, f"{t + 1}-01-05", f"{t + 1}-03-25"),
            random_dates(rng, k, f"{t + 1}-01-05", f"{t + 1}-12-20"),
        )
        out.closures.append((hist.case_no[a[close]], when, outcome[close]))
        hist.clinic_open[a[close]] = -1
        hist.case_no[a[close]] = -1


def _health(
    rng: np.random.Generator, c: Cooperatives, *, a: np.ndarray, q: np.ndarray, assessed: np.ndarray, comps: np.ndarray
) -> dict[str, np.ndarray]:
    """The office's assessment: the category follows the state; the score sits in the category's band."""
    k = int(assessed.sum())
    sick = c.sick[a][assessed]
    years_sick = c.sick_years[a][assessed]
    severe = rng.random(k) < risk.sigmoid(-1.0 + 0.9 * (years_sick - 1) + 0.8 * (q[risk.FIN, a][assessed] < -2))
    sound = rng.random(k) < risk.sigmoid(1.4 - 0.9 * comps[:, assessed].sum(axis=0))
    category = np.where(sick, np.where(severe, 3, 2), np.where(sound, 0, 1))
    low = np.array([80.0, 66.0, 51.0, 20.0])[category]
    width = np.array([20.0, 14.0, 15.0, 31.0])[category]
    score = np.floor((low + width * rng.random(k) * 0.999) * 10) / 10
    score[rng.random(k) < 0.05] = np.nan  # some assessments carry no score
    return {"coop": a[assessed], "category": category, "score": score}


def _write_year(
    rng: np.random.Generator, out: _Output, *, t: int, rec: _Records, c: Cooperatives, health: dict[str, np.ndarray]
) -> None:
    """Year t's rows of staffing, financials (the filed ones), health and meetings."""
    a, staff, fin, filed = rec.a, rec.staff, rec.fin, rec.filed
    m = len(a)
    out.add("staffing", coop=a, year=np.full(m, t), **staff)
    out.add("financials", coop=a[filed], year=np.full(int(filed.sum()), t), **{k: v[filed] for k, v in fin.items()})
    out.add("health", year=np.full(len(health["coop"]), t), **health)

    # meetings: the RAT approving year t (held in t+1), board and supervisors' meetings held in t
    on, late = a[rec.rat_on_time], a[rec.rat_late]
    rat_coop = np.concatenate([on, late])
    rat_date = np.concatenate(
        [
            random_dates(rng, len(on), f"{t + 1}-01-10", f"{t + 1}-03-31"),
            random_dates(rng, len(late), f"{t + 1}-04-01", f"{t + 1}-12-20"),
        ]
    )
    rat_att = np.round(c.members[rat_coop] * rng.uniform(0.3, 0.8, len(rat_coop)))
    board_coop = np.repeat(a, rec.board_meetings)
    sup_coop = np.repeat(a, rec.supervisor_meetings)
    coop = np.concatenate([rat_coop, board_coop, sup_coop])
    kind = np.concatenate([np.zeros(len(rat_coop), int), np.ones(len(board_coop), int), np.full(len(sup_coop), 2)])
    held = np.concatenate([rat_date, random_dates(rng, len(board_coop) + len(sup_coop), f"{t}-01-02", f"{t}-12-28")])
    attendees = np.concatenate([rat_att, c.board[board_coop], c.supervisors[sup_coop]]).astype(float)
    attendees[rng.random(len(attendees)) < np.where(kind == 0, 0.1, 0.3)] = np.nan
    days = (held - np.datetime64(f"{t}-01-01", "D")).astype(np.int64)  # 0..729: held in t or t+1
    order = np.argsort(coop.astype(np.int64) * 1024 + days, kind="stable")  # by cooperative, then date
    out.add(
        "meetings",
        coop=coop[order],
        meeting_type=kind[order],
        fiscal_year=np.full(len(coop), t),
        held_on=held[order],
        attendees=attendees[order],
    )


def _registry(rng: np.random.Generator, c: Cooperatives) -> pd.DataFrame:
    """The cooperatives table: ids, organisation names, type, kecamatan, founding and dissolution years.

    Every size keeps Buleleng's nine kecamatan (the contract's list), so validation and features run
    unchanged on a national-scale world (docs/simulator.md).
    """
    n = c.n
    width = max(6, len(str(n)))
    ids = [f"KOP-{i + 1:0{width}d}" for i in range(n)]
    w1, w2 = rng.integers(0, len(NAME_WORDS), (2, n))
    w2 = np.where(w2 == w1, (w2 + 1) % len(NAME_WORDS), w2)
    prefix = np.array(NAME_PREFIX, dtype=object)[c.coop_type]
    words = np.array(NAME_WORDS, dtype=object)
    names = prefix + " " + words[w1] + " " + words[w2]
    weights = np.array(DISTRICT_WEIGHTS)
    district = rng.choice(len(BULELENG_DISTRICTS), size=n, p=weights / weights.sum())
    return pd.DataFrame(
        {
            "coop_id": pd.Series(ids, dtype="str"),
            "name": pd.Series(names, dtype="str"),
            "coop_type": _codes(c.coop_type, COOP_TYPES),
            "district": _codes(district, BULELENG_DISTRICTS),
            "founded_year": c.founded.astype("int64"),
            "dissolved_year": pd.Series(c.dissolved, dtype="Int64").where(c.dissolved > 0),
        }
    )


def _codes(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Series:
    """Text column from integer codes (-1 = missing), built in Arrow: fast for tens of millions of rows."""
    codes = np.asarray(codes)
    arr = pa.array(labels).take(pa.array(codes, mask=codes < 0))
    return pd.Series(pa.chunked_array([arr]), dtype="str")


def _frame(name: str, cols: dict[str, np.ndarray], ids: pa.Array) -> pd.DataFrame:
    """One contract table with the dtypes of data/contract.py DTYPES."""
    dtypes = DTYPES[name]
    codes = {
        "meeting_type": MEETING_TYPES,
        "category": HEALTH_CATEGORIES,
        "clinic": CLINICS,
        "outcome": CASE_OUTCOMES,
        "cause": CLINICS,
    }
    data = {}
    for col in COLUMNS[name]:
        dtype = dtypes[col]
        if col == "coop_id":
            coop = cols.get("coop", np.zeros(0, int))
            data[col] = pd.Series(pa.chunked_array([ids.take(pa.array(coop))]), dtype="str")
        elif col in codes:
            data[col] = _codes(cols.get(col, np.zeros(0, int)), codes[col])
        elif col == "case_id":
            data[col] = pd.Series(cols.get(col, np.zeros(0, object)), dtype="str")
        elif dtype.startswith("datetime"):
            data[col] = pd.Series(cols.get(col, np.zeros(0, "datetime64[D]")).astype(dtype))
        elif dtype == "Int64":
            v = cols.get(col, np.zeros(0))
            whole = np.where(np.isnan(v), 0, v).astype("int64")
            data[col] = pd.Series(whole, dtype="Int64").where(~np.isnan(v))
        else:
            data[col] = pd.Series(cols.get(col, np.zeros(0)), dtype=dtype)
    return pd.DataFrame(data)
