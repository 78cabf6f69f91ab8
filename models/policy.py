"""The clinic's decision policy: from two probabilities, the cause and the legal facts to one recommended action.

The policy recommends; it never decides. Every action is a suggestion to a clinic officer, who decides (and who
alone may start a dissolution under UU 25/1992 Pasal 46-47). Every threshold is a setting (klinik/settings.py).

The rules, for cooperatives not sick now (SEHAT, and BELUM_DINILAI, which we treat as not sick):
- JANGKAU (reach out now) when ``p_sick_next >= jangkau_threshold`` AND the cooperative is among the ``capacity``
  highest ``p_sick_next`` of those above the threshold (the clinic cannot visit more); ties are broken by the
  ``tie_break`` key (the coop_id), so the list is the same on every run. Where the population is not the
  cooperatives at hand (the service's /score, a few cooperatives at a time), the capacity is that of the
  population: the cut-off where its outreach list ended (``OutreachCutoff``, from the latest batch run), so a
  cooperative's action never depends on who else is in a request.
- PANTAU (watch) otherwise.

For cooperatives sick now (SAKIT):
- PERTIMBANGKAN_PEMBUBARAN (consider closure) only when the upper end of the 80% interval of ``p_recover``
  (``p_recover_hi``, models/intervals.py) is below ``closure_recover_threshold`` -- the model must be sure, not
  merely estimate a low chance (without an interval, ``p_recover`` itself) -- and on either ground:
  * sick for ``closure_min_years_sick`` years or more in a row; or
  * legally inactive -- ``rat_missed_years >= inactive_years_without_rat`` consecutive years without an RAT --
    with governance (KELEMBAGAAN) the main cause. When finances or people drive the trouble, a missing RAT is
    more often a symptom (accounts that cannot be closed) the other clinics can treat, so the legal fact alone
    does not send the cooperative to closure review. (Before intervals this ground asked only ``p_recover <
    bina_threshold``; on the simulator that sent cooperatives with exact chances of 0.29-0.32 to closure review.)
- BINA (treat) when ``p_recover >= bina_threshold``.
- PANTAU_KETAT (close watch) otherwise.
A missing probability compares false: the cooperative falls to PANTAU / PANTAU_KETAT, never to closure.

When the interval of a sick cooperative's ``p_recover`` straddles a line the advice depends on (the closure line,
where the other evidence for closure holds, or the treatment line ``bina_threshold``), :func:`uncertain` says so,
and :func:`uncertain_text` says in words that the estimate is uncertain and what would settle it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from klinik.data.contract import ACTIONS_HEALTHY, ACTIONS_SICK, STATUS_SAKIT
from klinik.wording import WORDS, chance, say, span

if TYPE_CHECKING:
    import pandas as pd

    from klinik.settings import Settings

DISCLAIMER_ID, DISCLAIMER_EN = WORDS["disclaimer"]
# code -> (Indonesian, English), for lists and reports (the words live in klinik/wording.py)
ACTION_LABELS = {a: WORDS[f"action.{a}"] for a in (*ACTIONS_HEALTHY, *ACTIONS_SICK)}


@dataclass(frozen=True)
class OutreachCutoff:
    """Where a population's outreach list ended, so a cooperative scored apart from it gets the action it would
    get within it.

    ``p_sick_next`` and ``coop_id``: the last cooperative on the list when the clinic's capacity cut it (a
    cooperative is then JANGKAU above that probability, or at it with a coop_id not after that one: the batch
    job's tie-break); both None when the threshold alone decided (fewer above it than the capacity).
    ``as_of_year``, ``capacity``, ``listed``: the population's year, capacity and number of JANGKAU.
    """

    p_sick_next: float | None
    coop_id: str | None
    as_of_year: int | None = None
    capacity: int | None = None
    listed: int = 0

    def admits(self, p_sick_next: np.ndarray, coop_id: np.ndarray) -> np.ndarray:
        """Whether each (probability, coop_id) falls within the list's cut (the threshold is checked apart)."""
        p = np.asarray(p_sick_next, dtype=float)
        if self.p_sick_next is None:
            return np.ones(p.shape, dtype=bool)
        ids = np.asarray(coop_id, dtype=object)
        with np.errstate(invalid="ignore"):
            return (p > self.p_sick_next) | ((p == self.p_sick_next) & (ids <= self.coop_id))


def outreach_cutoff(scores: pd.DataFrame, settings: Settings) -> OutreachCutoff:
    """The cut-off of the outreach list in ``scores`` (a Scores table: a batch run's whole population)."""
    jangkau = scores.loc[scores["action"] == "JANGKAU"]
    year = int(scores["as_of_year"].iloc[0]) if len(scores) else None
    above = scores.loc[
        (scores["status"] != STATUS_SAKIT) & (scores["p_sick_next"] >= settings.jangkau_threshold), "coop_id"
    ]
    capacity = outreach_capacity(len(scores), settings)
    if len(above) <= len(jangkau):  # the threshold alone decided who is on the list
        return OutreachCutoff(None, None, year, capacity, len(jangkau))
    if jangkau.empty:  # a capacity of nobody
        return OutreachCutoff(math.inf, "", year, capacity, 0)
    last = jangkau.sort_values("rank").iloc[-1]
    return OutreachCutoff(float(last["p_sick_next"]), str(last["coop_id"]), year, capacity, len(jangkau))


def outreach_capacity(n_scored: int, settings: Settings) -> int:
    """How many cooperatives the outreach list may hold: the clinic's share of those scored (rounded down)."""
    if n_scored <= 0:
        return 0
    return max(settings.outreach_min_capacity, math.floor(settings.clinic_capacity_share * n_scored))


def _order(primary: np.ndarray, tie_break: np.ndarray | None) -> np.ndarray:
    """Positions sorted by ``primary`` descending (NaN last), ties by ``tie_break`` ascending: one stable order."""
    # np.lexsort: stable, last key first; the keys hold no NaN, so this is pandas' sort_values on ["p", "t"]
    # without building a frame (which costs more than the sort for the few rows of a request)
    t = np.arange(len(primary)) if tie_break is None else np.asarray(tie_break, dtype=object)
    return np.lexsort((t, -np.nan_to_num(np.asarray(primary, dtype=float), nan=-np.inf)))


def decide(
    status,
    p_sick_next,
    p_recover,
    clinic,
    rat_missed_years,
    years_sick,
    settings: Settings,
    *,
    capacity: int | None,
    tie_break=None,
    cutoff: OutreachCutoff | None = None,
    p_recover_hi=None,
) -> np.ndarray:
    """The recommended action for each cooperative (arrays of equal length in, an array of action codes out).

    ``status``: SEHAT, SAKIT or BELUM_DINILAI; ``p_sick_next`` / ``p_recover``: calibrated probabilities
    (NaN where not applicable); ``clinic``: the main cause group; ``rat_missed_years``: consecutive years without
    an RAT; ``years_sick``: years in the current sick spell (the years_sick feature); ``capacity``: the most
    JANGKAU actions among these cooperatives (None: no limit, the threshold alone); ``tie_break``: a sortable key
    (coop_id) that orders equal probabilities; ``cutoff``: the cut-off of the population these cooperatives
    belong to (with ``capacity`` None): JANGKAU only within it, whoever else is scored here; ``p_recover_hi``: the
    upper end of each ``p_recover``'s 80% interval (None or NaN: ``p_recover`` itself).
    """
    if cutoff is not None and capacity is not None:
        raise ValueError("decide: give a capacity (rank these cooperatives) or a cutoff (their population's), not both")
    status = np.asarray(status, dtype=object)
    p_sick = np.asarray(p_sick_next, dtype=float)
    p_rec = np.asarray(p_recover, dtype=float)
    clinic = np.asarray(clinic, dtype=object)
    rat_missed = np.nan_to_num(np.asarray(rat_missed_years, dtype=float), nan=0.0)
    years_sick = np.nan_to_num(np.asarray(years_sick, dtype=float), nan=0.0)
    tie = None if tie_break is None else np.asarray(tie_break, dtype=object)

    sick = status == STATUS_SAKIT
    with np.errstate(invalid="ignore"):
        above = ~sick & (p_sick >= settings.jangkau_threshold)
    if cutoff is not None:
        keys = np.arange(len(p_sick)).astype(str) if tie is None else tie
        above &= cutoff.admits(p_sick, keys)
    with np.errstate(invalid="ignore"):
        sure = _upper(p_rec, p_recover_hi) < settings.closure_recover_threshold
        hopeless = (years_sick >= settings.closure_min_years_sick) & sure
        lapsed = (rat_missed >= settings.inactive_years_without_rat) & (clinic == "KELEMBAGAAN") & sure
        treatable = p_rec >= settings.bina_threshold

    jangkau = above.copy()
    if capacity is not None and above.sum() > capacity:
        candidates = np.flatnonzero(above)
        ranked = candidates[_order(p_sick[candidates], None if tie is None else tie[candidates])]
        jangkau[:] = False
        jangkau[ranked[:capacity]] = True

    closure = sick & (hopeless | lapsed)
    return np.select(
        [jangkau, ~sick, closure, treatable],
        ["JANGKAU", "PANTAU", "PERTIMBANGKAN_PEMBUBARAN", "BINA"],
        default="PANTAU_KETAT",
    ).astype(object)


def _upper(p: np.ndarray, hi) -> np.ndarray:
    """The upper end of each interval, or the probability itself where there is none."""
    if hi is None:
        return p
    hi = np.asarray(hi, dtype=float)
    return np.where(np.isnan(hi), p, hi)


def uncertain(status, p_recover_lo, p_recover_hi, clinic, rat_missed_years, years_sick, settings: Settings):
    """Which line each sick cooperative's 80% interval of ``p_recover`` straddles (holds a value on either side of
    it): "closure" (the closure line, where the rest of the closure evidence holds: sick long enough, or lapsed
    with governance the cause), else "bina" (the treatment line), else "" (sure enough, not sick, or no
    interval)."""
    sick = np.asarray(status, dtype=object) == STATUS_SAKIT
    lo = np.asarray(p_recover_lo, dtype=float)
    hi = np.asarray(p_recover_hi, dtype=float)
    years_sick = np.nan_to_num(np.asarray(years_sick, dtype=float), nan=0.0)
    rat_missed = np.nan_to_num(np.asarray(rat_missed_years, dtype=float), nan=0.0)
    evidence = (years_sick >= settings.closure_min_years_sick) | (
        (rat_missed >= settings.inactive_years_without_rat) & (np.asarray(clinic, dtype=object) == "KELEMBAGAAN")
    )
    with np.errstate(invalid="ignore"):
        closure = (
            sick & evidence & (lo < settings.closure_recover_threshold) & (hi >= settings.closure_recover_threshold)
        )
        bina = sick & (lo < settings.bina_threshold) & (hi >= settings.bina_threshold)
    return np.select([closure, bina], ["closure", "bina"], default="").astype(object)


def uncertain_text(kind: str, lo: float, hi: float, settings: Settings, lang: str = "id") -> str:
    """The advice's words for an interval that straddles a line (:func:`uncertain`'s ``kind``): the estimate is
    uncertain, the range and the line, and what would settle it; "" for "" (nothing to say)."""
    if not kind:
        return ""
    threshold = settings.closure_recover_threshold if kind == "closure" else settings.bina_threshold
    return say(f"advice.uncertain_{kind}", lang, span=span(lo, hi, lang), threshold=chance(threshold, lang))


_SICK_ACTION_ORDER = {"BINA": 0, "PANTAU_KETAT": 1, "PERTIMBANGKAN_PEMBUBARAN": 2}


def outreach_rank(status, p_sick_next, p_recover, action, tie_break=None) -> np.ndarray:
    """The outreach order, 1 first, over every cooperative scored.

    Cooperatives not sick now come first, by ``p_sick_next`` descending, so the JANGKAU list holds exactly ranks
    1..n_jangkau (it is the top of this order) and the next ranks are who to call if the clinic has room. The sick
    ones follow, as the clinic takes them up: BINA, then PANTAU_KETAT, then PERTIMBANGKAN_PEMBUBARAN, each by
    ``p_recover`` descending. Ties are broken by ``tie_break`` (coop_id).
    """
    status = np.asarray(status, dtype=object)
    n = len(status)
    sick = status == STATUS_SAKIT
    action = np.asarray(action, dtype=object)
    group = np.array([_SICK_ACTION_ORDER.get(a, 0) for a in action], dtype=float)
    keys = (  # np.lexsort: stable, last key first (sick, group, p, t); no key holds NaN
        np.arange(n) if tie_break is None else np.asarray(tie_break, dtype=object),
        -np.nan_to_num(np.where(sick, np.asarray(p_recover, float), np.asarray(p_sick_next, float)), nan=-np.inf),
        np.where(sick, group, 0.0),
        sick,
    )
    order = np.lexsort(keys)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return rank
