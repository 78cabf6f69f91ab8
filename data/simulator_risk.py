"""The simulator's probabilities, written as functions of what the office can observe and nothing hidden.

Every number the simulator draws a label from (falling sick, its cause, recovering, being dissolved, being
assessed) comes from here, and every input is in ``Observed``: quantities a feature engineer can compute from
the contract tables up to year t. Hidden qualities (see data/simulator.py) move the line items, never these
probabilities directly, so the probabilities written to ``truth`` are the ceiling a model can reach.
docs/simulator.md gives the equations in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

FIN, SDM, GOV = 0, 1, 2  # cause / clinic index: KEUANGAN, SDM, KELEMBAGAAN (contract.CLINICS order)

# The mechanisms a world can follow (data/simulator_worlds.py names the combinations; docs/simulator.md says why)
Effects = Literal["thresholds", "additive", "interactions"]
CauseRule = Literal["dominant", "mix"]
RecoveryState = Literal["current", "onset"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Observed:
    """What the contract tables say about each cooperative at year t (one array entry per cooperative).

    Financial ratios are from the latest statement filed at or before t within the dataset (a year with no
    statement keeps the previous values; before any statement they take the neutral values in
    ``RiskParams``). Counts of years start at the first year of the dataset.
    """

    filed: np.ndarray  # bool: a financials row exists for t
    years_unfiled: np.ndarray  # consecutive years up to t without a financials row
    bad_loan_ratio: np.ndarray  # (loans_substandard + loans_doubtful + loans_loss) / loans_outstanding; 0 if no loans
    bad_loan_change: np.ndarray  # bad_loan_ratio(t) - bad_loan_ratio(t-1) when both years were filed, else 0
    equity_ratio: np.ndarray  # equity / total_assets
    roa: np.ndarray  # net_income / total_assets
    liquidity: np.ndarray  # cash / current_liabilities (cash / 1 Rupiah guarded: liabilities 0 -> very liquid)
    has_manager: np.ndarray  # bool, staffing
    turnover: np.ndarray  # staff_departures / max(employees, 1)
    trained: np.ndarray  # bool: trained_staff > 0
    rat_on_time: np.ndarray  # bool: the RAT for fiscal year t held by the office deadline (end of March t+1)
    rat_missed_years: np.ndarray  # consecutive fiscal years up to t without an RAT by the deadline
    board_meetings: np.ndarray  # RAPAT_PENGURUS rows held in year t
    coop_type: np.ndarray  # index into contract.COOP_TYPES
    age: np.ndarray  # t - founded_year
    sick_years: np.ndarray  # assessed DALAM_PENGAWASAN[_KHUSUS] in t-2..t (0..3)
    assessed_sick: np.ndarray  # bool: assessed sick at t
    clinic_open: np.ndarray  # clinic index of the case open at the end of year t, -1 for none


@dataclass(frozen=True)
class RiskParams:
    """Coefficients on the log-odds scale (tuned so base rates match docs/simulator.md)."""

    # neutral values before any statement is filed
    neutral_equity_ratio: float = 0.30
    neutral_roa: float = 0.02
    neutral_liquidity: float = 0.15
    # falling sick: finance
    base: float = -5.0
    weakness_weight: float = 0.85  # scales every domain component (sets the spread, hence the ceiling AUC)
    bad_loan_knee: float = 0.06
    bad_loan_slope: float = 6.0  # per unit of bad-loan ratio above the knee
    bad_loan_high_at: float = 0.15
    bad_loan_high: float = 0.9
    bad_loan_rise: float = 6.0  # per unit of rise in the bad-loan ratio (capped at +0.2)
    equity_knee: float = 0.15
    equity_slope: float = 6.0  # per unit of equity ratio below the knee (capped at 0.5)
    loss: float = 0.9  # net_income < 0
    illiquid_below: float = 0.04
    illiquid: float = 0.5
    # falling sick: people (SDM)
    no_manager: float = 0.9
    turnover_slope: float = 3.0  # per unit of turnover (capped at 0.6)
    untrained: float = 0.6
    # falling sick: governance (KELEMBAGAAN)
    rat_late: float = 1.4
    rat_streak: float = 0.8  # two or more fiscal years in a row without RAT by the deadline
    few_meetings_below: int = 2
    few_meetings: float = 0.7
    unfiled: float = 0.6  # per year without a statement (capped at 2)
    # interactions
    no_manager_bad_loans: float = 0.9  # no manager and bad-loan ratio above 10%: split between finance and SDM
    rat_late_loss: float = 0.8  # RAT late and a loss: split between governance and finance
    young_thin_equity: float = 0.7  # age < 5 and equity ratio < 15%: finance
    # interactions added only by the "interactions" reading of the effects (risk_components)
    turnover_rat_late: float = 1.6  # turnover above 25% and RAT late: split between SDM and governance
    unfiled_no_manager: float = 1.6  # no statement and no manager: split between governance and SDM
    loss_thin_equity: float = 1.6  # a loss on equity below 15%: finance
    # context
    type_effect: tuple[float, ...] = (0.15, 0.0, 0.35, -0.5, 0.1, 0.2, 0.2, 0.0)  # in COOP_TYPES order
    young_below: int = 3
    young: float = 0.4
    old_from: int = 20
    old: float = -0.2
    relapse: float = 0.8  # assessed sick in the last three years
    # cause of the sickness: softmax of log(base share) + cause_sharpness * component
    cause_base: tuple[float, float, float] = (0.27, 0.31, 0.42)
    cause_sharpness: float = 3.0
    # recovery (hazard of the transition one year after the observation, see docs/simulator.md)
    recover_base: float = -0.9
    recover_bad_loans_below: float = 0.10
    recover_bad_loans: float = 0.5
    recover_equity_from: float = 0.15
    recover_equity: float = 0.4
    recover_profit: float = 0.4
    recover_manager: float = 0.4
    recover_rat: float = 0.5
    recover_per_sick_year: float = -0.45
    recover_clinic_fit: float = 1.8  # an open case at the clinic of the dominant observed weakness
    recover_clinic_other: float = 0.1  # an open case at another clinic
    recover_type: tuple[float, ...] = (0.0, 0.0, -0.2, 0.3, 0.0, -0.1, -0.1, 0.0)
    recover_first_year: float = 0.8  # constant hazard for the first dataset year (nothing observed before)
    # dissolution (only for a cooperative sick at the transition)
    dissolve_base: float = -6.2
    dissolve_rat_streak: float = 3.0
    dissolve_per_sick_year: float = 1.0
    dissolve_negative_equity: float = 1.0
    dissolve_unfiled: float = 0.8  # two or more years without a statement
    dissolve_first_year: float = -5.5
    # assessment next year
    assess_base: float = 1.7
    assess_sick: float = 1.8  # the office keeps watching the sick: ~97% assessed again
    assess_unfiled: float = -0.6
    assess_first_year: float = 1.8


PARAMS = RiskParams()


def ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, a straight line between: a threshold made gradual."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def risk_components(o: Observed, p: RiskParams = PARAMS, effects: Effects = "thresholds") -> np.ndarray:
    """Log-odds added by each domain, shape (3, n): finance, people (SDM), governance.

    Every term is >= 0 (a weakness adds risk), so the largest component is the weakness that drives a
    cooperative's risk, and it tilts the cause it is given when it falls sick. ``effects`` is how the
    weaknesses add up (docs/simulator.md, "A family of worlds"):

    - ``thresholds``: knees, steps at thresholds and two interactions between domains;
    - ``additive``: the same coefficients, each step made a ramp across a band around its threshold, and no
      interactions: the log-odds are a sum of one smooth function per quantity;
    - ``interactions``: ``thresholds`` plus three more interactions (``turnover_rat_late``,
      ``unfiled_no_manager``, ``loss_thin_equity``), whose weakness shows only in the combination.
    """
    if effects == "additive":
        return _additive_components(o, p)
    fin = (
        p.bad_loan_slope * np.maximum(o.bad_loan_ratio - p.bad_loan_knee, 0.0)
        + p.bad_loan_high * (o.bad_loan_ratio > p.bad_loan_high_at)
        + p.bad_loan_rise * np.clip(o.bad_loan_change, 0.0, 0.2)
        + p.equity_slope * np.clip(p.equity_knee - o.equity_ratio, 0.0, 0.5)
        + p.loss * (o.roa < 0)
        + p.illiquid * (o.liquidity < p.illiquid_below)
        + p.young_thin_equity * ((o.age < 5) & (o.equity_ratio < p.equity_knee))
    )
    sdm = p.no_manager * ~o.has_manager + p.turnover_slope * np.minimum(o.turnover, 0.6) + p.untrained * ~o.trained
    gov = (
        p.rat_late * ~o.rat_on_time
        + p.rat_streak * (o.rat_missed_years >= 2)
        + p.few_meetings * (o.board_meetings < p.few_meetings_below)
        + p.unfiled * np.minimum(o.years_unfiled, 2)
    )
    both_fs = p.no_manager_bad_loans * (~o.has_manager & (o.bad_loan_ratio > 0.10)) / 2
    both_gf = p.rat_late_loss * (~o.rat_on_time & (o.roa < 0)) / 2
    comps = np.stack([fin + both_fs + both_gf, sdm + both_fs, gov + both_gf])
    if effects == "interactions":
        both_sg = p.turnover_rat_late * ((o.turnover > 0.25) & ~o.rat_on_time) / 2
        both_gs = p.unfiled_no_manager * ((o.years_unfiled >= 1) & ~o.has_manager) / 2
        comps[FIN] += p.loss_thin_equity * ((o.roa < 0) & (o.equity_ratio < p.equity_knee))
        comps[SDM] += both_sg + both_gs
        comps[GOV] += both_sg + both_gs
    elif effects != "thresholds":
        raise ValueError(f"effects must be 'thresholds', 'additive' or 'interactions', got {effects!r}")
    return comps


def _additive_components(o: Observed, p: RiskParams) -> np.ndarray:
    """The ``additive`` reading: every step of ``thresholds`` a ramp over a band around its threshold (as wide as
    the quantity's usual spread), no term that needs two quantities at once."""
    fin = (
        p.bad_loan_slope * np.maximum(o.bad_loan_ratio - p.bad_loan_knee, 0.0)
        + p.bad_loan_high * ramp(o.bad_loan_ratio, p.bad_loan_high_at - 0.10, p.bad_loan_high_at + 0.10)
        + p.bad_loan_rise * np.clip(o.bad_loan_change, 0.0, 0.2)
        + p.equity_slope * np.clip(p.equity_knee - o.equity_ratio, 0.0, 0.5)
        + p.loss * ramp(-o.roa, -0.03, 0.02)
        + p.illiquid * ramp(-o.liquidity, -2 * p.illiquid_below, 0.0)
        + p.young_thin_equity * ramp(-o.age.astype(float), -10.0, 0.0)
    )
    sdm = p.no_manager * ~o.has_manager + p.turnover_slope * np.minimum(o.turnover, 0.6) + p.untrained * ~o.trained
    gov = (
        p.rat_late * ~o.rat_on_time
        + p.rat_streak * ramp(o.rat_missed_years.astype(float), 0.0, 3.0)
        + p.few_meetings * ramp(-o.board_meetings.astype(float), -2.0 * p.few_meetings_below - 1, 0.0)
        + p.unfiled * np.minimum(o.years_unfiled, 2)
    )
    return np.stack([fin, sdm, gov])


def context_logit(o: Observed, p: RiskParams = PARAMS) -> np.ndarray:
    """Log-odds from who the cooperative is and its history, not tied to one clinic."""
    return (
        np.asarray(p.type_effect)[o.coop_type]
        + p.young * (o.age < p.young_below)
        + p.old * (o.age >= p.old_from)
        + p.relapse * (o.sick_years > 0)
    )


def p_sick_next(components: np.ndarray, o: Observed, p: RiskParams = PARAMS) -> np.ndarray:
    """Probability of being sick at t+1 for a cooperative not sick at t."""
    return sigmoid(p.base + p.weakness_weight * components.sum(axis=0) + context_logit(o, p))


def cause_probabilities(components: np.ndarray, p: RiskParams = PARAMS, rule: CauseRule = "dominant") -> np.ndarray:
    """Probability of each cause (finance, SDM, governance) for a cooperative that falls sick, shape (3, n).

    ``rule``: ``dominant`` is a softmax of log(base share) + ``cause_sharpness`` x component (mostly the
    dominant weakness); ``mix`` draws the cause in proportion to base share + component (a sickness is as
    likely to come from each weakness as that weakness is large).
    """
    if rule == "mix":
        w = np.asarray(p.cause_base)[:, None] + components
        return w / w.sum(axis=0)
    if rule != "dominant":
        raise ValueError(f"rule must be 'dominant' or 'mix', got {rule!r}")
    logits = np.log(np.asarray(p.cause_base))[:, None] + p.cause_sharpness * components
    logits -= logits.max(axis=0)
    w = np.exp(logits)
    return w / w.sum(axis=0)


def dominant_weakness(components: np.ndarray) -> np.ndarray:
    """The domain adding the most risk: the clinic the observations point to."""
    return components.argmax(axis=0)


def recovery_state(o: Observed, p: RiskParams = PARAMS, start: np.ndarray | float = 0.0) -> np.ndarray:
    """``start`` plus the log-odds of recovery from the state of the records (bad loans, equity, profit, manager,
    RAT), added in this order."""
    return (
        start
        + p.recover_bad_loans * (o.bad_loan_ratio < p.recover_bad_loans_below)
        + p.recover_equity * (o.equity_ratio >= p.recover_equity_from)
        + p.recover_profit * (o.roa > 0)
        + p.recover_manager * o.has_manager
        + p.recover_rat * o.rat_on_time
    )


def recovery_hazard(
    components: np.ndarray, o: Observed, p: RiskParams = PARAMS, onset_state: np.ndarray | None = None
) -> np.ndarray:
    """Probability that a cooperative sick at t+1 is healthy at t+2, from what is observed at t.

    The one-year lag makes the two-year recovery probability in ``truth`` exact (docs/simulator.md).
    ``onset_state``: the ``recovery_state`` of the last year the cooperative was not assessed sick (the
    ``onset`` reading: recovery is fixed by the state the sickness began in); None reads the state at t.
    """
    fit = (o.clinic_open >= 0) & (o.clinic_open == dominant_weakness(components))
    other = (o.clinic_open >= 0) & ~fit
    head = p.recover_base + np.asarray(p.recover_type)[o.coop_type]
    logit = recovery_state(o, p, start=head) if onset_state is None else head + onset_state
    logit = logit + p.recover_per_sick_year * o.sick_years + p.recover_clinic_fit * fit + p.recover_clinic_other * other
    return sigmoid(logit)


def dissolution_hazard(o: Observed, p: RiskParams = PARAMS) -> np.ndarray:
    """Probability that a cooperative sick at t+1 is dissolved in t+2, from what is observed at t."""
    logit = (
        p.dissolve_base
        + p.dissolve_rat_streak * (o.rat_missed_years >= 2)
        + p.dissolve_per_sick_year * o.sick_years
        + p.dissolve_negative_equity * (o.equity_ratio < 0)
        + p.dissolve_unfiled * (o.years_unfiled >= 2)
    )
    return sigmoid(logit)


def assessment_probability(o: Observed, p: RiskParams = PARAMS) -> np.ndarray:
    """Probability the office assesses the cooperative at t+1 (independent of its state at t+1)."""
    return sigmoid(p.assess_base + p.assess_sick * o.assessed_sick + p.assess_unfiled * ~o.filed)


def first_year_hazards(coop_type: np.ndarray, p: RiskParams = PARAMS) -> tuple[np.ndarray, np.ndarray]:
    """Recovery and dissolution hazards for the first dataset year, when nothing earlier is observed."""
    recover = sigmoid(p.recover_base + p.recover_first_year + np.asarray(p.recover_type)[coop_type])
    dissolve = np.full(len(coop_type), sigmoid(p.dissolve_first_year))
    return recover, dissolve


def two_year_recovery(recover_now, dissolve_now, recover_next, dissolve_next) -> np.ndarray:
    """P(not sick at t+1 or t+2, and not dissolved first) for a cooperative sick at t."""
    return (1 - dissolve_now) * (recover_now + (1 - recover_now) * (1 - dissolve_next) * recover_next)
