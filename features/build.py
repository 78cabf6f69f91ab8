"""Contract tables -> one row per (cooperative, year), point in time, each feature in a clinic group.

Point in time. The features of year t are what the office could know at the office's RAT deadline in t+1
(``rat_office_deadline_month/day``, 31 March in Buleleng), following docs/data-contract.md:
  * yearly tables (financials, staffing, health) of years <= t; the health assessment of year t is the
    status at t and may be used;
  * board and supervisory meetings held in years <= t;
  * the RAT of book year t only when held on or before the office's deadline in t+1; an RAT of an earlier
    book year only when held by 31 December of t (a late RAT counts from the year it was held);
  * clinic cases opened by 31 December of t; a case's close and outcome only when closed by then.
Nothing later, ever: tests/code/test_features_point_in_time.py changes everything dated later and checks
that the features of year t do not move.

How it is computed: on dense (cooperative x year) arrays (features/panel.py), no Python loop per
cooperative. With ``years`` only the statements and staffing reports of those years and of their comparison
years (t-1, t-3) are read; the histories (RAT streak, health spells, clinic cases) look back to the data's
first year.

Governance. ``rat_held``: the RAT of book year t was held by the office's deadline in t+1.
``rat_missed_years``: consecutive book years up to t without a known RAT (a late RAT counts from the year it
was held); before the data's first year nothing is known, so a cooperative never seen holding one counts
from the later of its founding and that year. ``rat_prev_days_late_office`` / ``_legal``: days after each
deadline (settings ``rat_office_deadline_month/day``, ``rat_legal_deadline_months``) at which the RAT of
book year t-1 was held; when it was not held by 31 December of t, the days from the deadline to then. (For
book year t itself the delay is not yet known at the cutoff: only whether it was held.)

Missing and zero. A ratio whose denominator is zero (a cooperative that does not lend has no loan ratios) is
NaN, never an infinity. A year without a statement leaves its financial features NaN and sets
``no_financial_statement``; likewise ``no_staffing_report``. Flags are 0/1 floats, NaN when their source is
missing. Shares that cannot exceed 100% (training, RAT attendance) are capped there.

Inconsistent inputs are taken at face value: each ratio divides the figures as filed (equity as listed, not
assets minus liabilities), and ``balance_sheet_gap`` says how far the filed totals disagree. The loader's
checks (total assets = liabilities + equity within 1%) are where wrong books are refused.

Sick years and the recovery model. The same table serves both models; the recovery model is trained on the
rows sick at t. What tells a sick year apart is in CONTEXT: ``years_sick`` (years since the current sick
spell began, counting unassessed years in between), ``sick_years_total``, ``prev_health_category_rank``,
the clinic's treatment (``clinic_case_open``, which clinic, ``clinic_years_since_first_case``,
``clinic_cases_recovered``) and ``clinic_matches_weakness``: whether an open case sits in a clinic whose
area shows the weakness that clinic treats (``WEAKNESS_RULES``). For a healthy row these are 0 or NaN.

The sick spell (catalog ``SICK_ONLY``, NaN on a row not sick). The spell's onset year is the last year before
the current sick spell began, ``t - years_sick``: the year whose records the office saw before it first found the
cooperative sick. ``onset_<name>`` is that year's own value (its statement, staffing report and RAT; NaN when
that year's report was not filed, or lies before the data's first year): ``ONSET_RATIOS``, ``has_manager`` and
``rat_held``. ``<name>_chg_onset`` is the value at t minus the onset year's (``SINCE_ONSET``: improving or not).
``rat_share_since_onset``: the share of the spell's book years (onset + 1 .. t) whose RAT was held by the
office's deadline. With ``years`` the onset years are read too. The clinic's current case:
``clinic_case_years``, years since the latest case still open at t was opened (NaN without one), and
``clinic_matches_onset_weakness``: whether an open case sits in a clinic whose area showed, in the onset year,
the weakness it treats (``WEAKNESS_RULES`` on that year's score, manager and RAT; NaN without a case or without a
known onset year).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from klinik.data.contract import CLINICS, HEALTH_CATEGORIES, MONEY_COLUMNS, SICK_CATEGORIES
from klinik.data.dataset import Dataset
from klinik.features import health_score
from klinik.features.catalog import CATEGORICAL, FEATURES, PREVIOUS_YEAR
from klinik.features.panel import (  # noqa: F401  (dataset_years, registered_coop_years: part of this module's API)
    Panel,
    alive,
    arrow_text,
    dataset_years,
    day_numbers,
    day_of,
    ffill,
    month_end,
    registered_coop_years,
    sorted_coops,
    target_years,
)
from klinik.settings import Settings

MAIN_TRENDS = (
    "equity_to_assets",
    "bad_loan_ratio",
    "risky_loan_ratio",
    "cash_ratio",
    "return_on_assets",
    "operational_self_sufficiency",
    "participation_ratio",
    "official_score",
)
# the ratios read in the last year before the current sick spell, and those whose change since then is a feature
ONSET_RATIOS = ("official_score", "bad_loan_ratio", "equity_to_assets", "return_on_assets")
SINCE_ONSET = ("official_score", "bad_loan_ratio", "equity_to_assets")
# An open clinic case "matches the weakness" when its clinic's area shows the weakness it treats at t:
WEAKNESS_RULES = {
    "KEUANGAN": "no statement, or the ratio-based category is DALAM_PENGAWASAN or worse",
    "SDM": "no staffing report, no hired manager, or under half of board and staff certified",
    "KELEMBAGAAN": "the RAT of the year not held, or last year's RAT after the office's deadline",
}
# The weakest aspect: per clinic group, the share of its warning signs the cooperative shows at t (signs that
# cannot be read are left out of the share). The group with the largest share is the weakest aspect, the
# clinic the office's own reading of the records points to; ties count for every tied group.
WARNING_SIGNS = {
    "KEUANGAN": "ratio-based category DALAM_PENGAWASAN or worse; a loss; negative equity; bad loans rising",
    "SDM": "no hired manager; over a quarter of the staff left; nobody trained; no staffing report",
    "KELEMBAGAAN": "the RAT of the year not held; two or more years without one; fewer than four (quarterly) "
    "board meetings; no financial statement",
}


def _ratio(num: np.ndarray, den: np.ndarray, *, scale: float = 100.0, positive: bool = False) -> np.ndarray:
    """num / den * scale; NaN where den is zero (or not positive), never an infinity."""
    ok = (den > 0) if positive else (den != 0)
    ok &= np.isfinite(num) & np.isfinite(den)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0) * scale, np.nan)


def _flag(condition: np.ndarray, known: np.ndarray) -> np.ndarray:
    return np.where(known, condition.astype(float), np.nan)


# ---------------------------------------------------------------- KEUANGAN
def _finance(fin: pd.DataFrame, panel: Panel, targets: np.ndarray, onset: np.ndarray) -> dict[str, np.ndarray]:
    rows, cols = panel.rows_of(fin["coop_id"]), panel.cols_of(fin["year"].to_numpy())
    m = {c: panel.scatter(rows, cols, fin[c].to_numpy(dtype=float)) for c in MONEY_COLUMNS}
    filed = panel.scatter(rows, cols, 1.0, fill=0.0) > 0
    loans = m["loans_outstanding"]
    risky = m["loans_substandard"] + m["loans_doubtful"] + m["loans_loss"]
    w_sub, w_dbt, w_loss = health_score.BAD_LOAN_WEIGHTS
    bad = w_sub * m["loans_substandard"] + w_dbt * m["loans_doubtful"] + w_loss * m["loans_loss"]
    gross_shu = m["operating_expenses"] + m["net_income"]
    revenue = m["gross_participation"] + m["other_revenue"]
    funds = m["principal_savings"] + m["mandatory_savings"] + m["voluntary_savings"] + m["external_borrowings"]
    ta = m["total_assets"]
    f = {
        "equity_to_assets": _ratio(m["equity"], ta),
        "equity_to_risky_loans": _ratio(m["equity"], risky),
        "loans_to_members_ratio": _ratio(m["loans_to_members"], loans),
        "bad_loan_ratio": _ratio(bad, loans),
        "reserve_to_bad_loans": _ratio(m["loan_loss_reserve"], bad),
        "risky_loan_ratio": _ratio(risky, loans),
        "opex_to_gross_shu": _ratio(m["operating_expenses"], gross_shu, positive=True),
        "personnel_to_loans": _ratio(m["personnel_expenses"], loans),
        "cash_ratio": _ratio(m["cash"], m["current_liabilities"]),
        "loans_to_funds": _ratio(loans, funds),
        "return_on_assets": _ratio(m["net_income"], ta),
        "operational_self_sufficiency": _ratio(revenue, m["operating_expenses"]),
        "participation_ratio": _ratio(m["gross_participation"], revenue),
    }
    undefined = {
        "equity_to_risky_loans": filed & (risky == 0),
        "reserve_to_bad_loans": filed & (bad == 0),
        "opex_to_gross_shu": filed & (gross_shu <= 0),
    }
    score = health_score.official_score(f, filed, filed & (loans > 0), undefined)
    f["official_score"] = score
    f["official_category_rank"] = health_score.category_rank(score)

    out = {name: panel.at(a, targets) for name, a in f.items()}
    for name in MAIN_TRENDS:
        for k in (1, 3):
            out[f"{name}_chg{k}"] = out[name] - panel.at(f[name], targets - k)
    for name in ONSET_RATIOS:
        out[f"onset_{name}"] = panel.at_each(f[name], onset)
    for name in SINCE_ONSET:
        out[f"{name}_chg_onset"] = out[name] - out[f"onset_{name}"]
    ta_t = panel.at(ta, targets)
    out["total_assets"] = ta_t
    for k in (1, 3):
        before = panel.at(ta, targets - k)
        out[f"asset_growth_{k}y"] = _ratio(ta_t - before, before, positive=True)
    filed_t = panel.at(filed, targets) > 0
    out["net_loss"] = _flag(panel.at(m["net_income"], targets) < 0, filed_t)
    out["negative_equity"] = _flag(panel.at(m["equity"], targets) < 0, filed_t)
    out["balance_sheet_gap"] = _ratio(
        ta_t - panel.at(m["total_liabilities"], targets) - panel.at(m["equity"], targets), ta_t
    )
    out["no_financial_statement"] = (~filed_t).astype(float)
    return out


# ---------------------------------------------------------------- SDM
def _staffing(st: pd.DataFrame, panel: Panel, targets: np.ndarray, onset: np.ndarray) -> dict[str, np.ndarray]:
    rows, cols = panel.rows_of(st["coop_id"]), panel.cols_of(st["year"].to_numpy())

    def now(column: str) -> np.ndarray:
        return panel.at(panel.scatter(rows, cols, st[column].to_numpy(dtype=float)), targets)

    members_all = panel.scatter(rows, cols, st["members"].to_numpy(dtype=float))
    members = panel.at(members_all, targets)
    board, employees = now("board_members"), now("employees")
    staff = board + employees
    departures = now("staff_departures")
    out = {
        "board_members": board,
        "supervisors": now("supervisors"),
        "employees": employees,
        "employees_per_100_members": _ratio(employees, members),
        "has_manager": now("has_manager"),
        "certified_share": _ratio(now("certified_staff"), staff),
        "trained_share": np.minimum(_ratio(now("trained_staff"), staff), 100.0),
        "staff_departures": departures,
        "staff_departure_rate": _ratio(departures, employees + departures),
        "no_staffing_report": np.isnan(members).astype(float),
        "members": members,
        "onset_has_manager": panel.at_each(panel.scatter(rows, cols, st["has_manager"].to_numpy(dtype=float)), onset),
    }
    for k in (1, 3):
        before = panel.at(members_all, targets - k)
        out[f"member_growth_{k}y"] = _ratio(members - before, before, positive=True)
    return out


# ---------------------------------------------------------------- KELEMBAGAAN
def _meetings(
    meet: pd.DataFrame,
    panel: Panel,
    targets: np.ndarray,
    members: np.ndarray,
    coops: pd.DataFrame,
    first_year: int,
    settings: Settings,
    onset: np.ndarray,
) -> dict[str, np.ndarray]:
    """RAT streak, delays and attendance; board and supervisory meetings; the RAT in the sick spell's onset year
    and since. ``panel`` is the history panel."""
    month, day = settings.rat_office_deadline_month, settings.rat_office_deadline_day
    last = int(targets.max())
    kind = arrow_text(meet["meeting_type"])
    all_fy = meet["fiscal_year"].to_numpy(dtype=np.int64)
    all_held = day_numbers(meet["held_on"])
    coop_ids = arrow_text(meet["coop_id"])

    def select(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mask &= ~np.isnan(all_held)
        rows = panel.rows_of(coop_ids.filter(pa.array(mask)))
        keep = rows >= 0
        return np.flatnonzero(mask)[keep], rows[keep], all_fy[mask][keep], all_held[mask][keep]

    def of_kind(code: str) -> np.ndarray:
        return pc.equal(kind, code).fill_null(False).to_numpy(zero_copy_only=False)

    where, rows, fy, held = select(of_kind("RAT"))
    attendees = meet["attendees"].to_numpy(dtype=float, na_value=np.nan)[where]
    on_time = held <= day_of(fy + 1, month, day)  # by the office's deadline in fy+1: counts for book year fy
    held_year = held.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    known_from = np.where(on_time, fy, np.maximum(fy, held_year))

    # last book year with a known RAT, for every year of the history panel (cumulative maximum)
    keep = known_from <= last
    cols = np.maximum(known_from[keep] - panel.years[0], 0)
    last_fy = np.full(panel.shape, np.nan)
    np.fmax.at(last_fy, (rows[keep], cols), fy[keep].astype(float))
    last_fy = np.fmax.accumulate(last_fy, axis=1)
    last_t = panel.at(last_fy, targets)
    t = targets[None, :].astype(float)
    since = np.maximum(coops["founded_year"].to_numpy(dtype=float)[:, None], float(first_year))
    missed = np.where(np.isnan(last_t), t - since + 1, t - last_t)
    out = {"rat_held": (missed <= 0).astype(float), "rat_missed_years": np.maximum(missed, 0.0)}

    # last book year's RAT: days after each deadline, counted up to 31 December of t when not yet held
    fy_cols = panel.cols_of(fy)
    earliest = np.full(panel.shape, np.inf)
    ok = fy_cols >= 0
    np.fmin.at(earliest, (rows[ok], fy_cols[ok]), held[ok])
    prev_held = panel.at(earliest, targets - 1)
    end_t = day_of(targets, 12, 31)[None, :]
    seen = prev_held <= end_t
    for name, deadline in (
        ("office", day_of(targets, month, day)),
        ("legal", month_end(targets - 1, settings.rat_legal_deadline_months)),
    ):
        late = np.where(
            seen, np.maximum(prev_held - deadline[None, :], 0.0), np.maximum(end_t - deadline[None, :], 0.0)
        )
        due = (coops["founded_year"].to_numpy()[:, None] <= targets[None, :] - 1) & (targets[None, :] - 1 >= first_year)
        out[f"rat_prev_days_late_{name}"] = np.where(due & ~np.isnan(prev_held), late, np.nan)

    # attendance at the RAT of book year t (held by the office's deadline), over members at the end of t
    att = np.full(panel.shape, np.nan)
    ok = on_time & (fy_cols >= 0) & ~np.isnan(attendees)
    np.fmax.at(att, (rows[ok], fy_cols[ok]), attendees[ok])
    out["rat_attendance_share"] = np.minimum(_ratio(panel.at(att, targets), members), 100.0)

    # the sick spell: the onset year's RAT held by the office's deadline (when one was due), and the share of the
    # spell's book years (onset + 1 .. t) whose RAT was
    ok = on_time & (fy_cols >= 0)
    held_by_deadline = panel.scatter(rows[ok], fy_cols[ok], 1.0, fill=0.0)
    due = coops["founded_year"].to_numpy(dtype=float)[:, None] <= onset
    out["onset_rat_held"] = np.where(due, panel.at_each(held_by_deadline, onset), np.nan)
    so_far = np.cumsum(held_by_deadline, axis=1)
    spell_held = panel.at(so_far, targets) - np.nan_to_num(panel.at_each(so_far, onset), nan=0.0)
    with np.errstate(invalid="ignore"):
        out["rat_share_since_onset"] = 100.0 * spell_held / (t - onset)

    # board and supervisory meetings held in year t (their fiscal_year is the year held)
    in_targets = np.isin(all_fy, targets)
    for name, code in (("board_meetings", "RAPAT_PENGURUS"), ("supervisory_meetings", "RAPAT_PENGAWAS")):
        _, rows, year, held = select(of_kind(code) & in_targets)
        in_year = held <= day_of(year, 12, 31)
        out[name] = panel.at(panel.count(rows[in_year], panel.cols_of(year[in_year])), targets)
    return out


# ---------------------------------------------------------------- CONTEXT: health history
def _health(health: pd.DataFrame, panel: Panel, targets: np.ndarray) -> dict[str, np.ndarray]:
    rows, year = panel.rows_of(health["coop_id"]), health["year"].to_numpy(dtype=np.int64)
    category = arrow_text(health["category"])
    rank = pc.index_in(category, value_set=pa.array(HEALTH_CATEGORIES)).to_numpy(zero_copy_only=False)
    rank = np.asarray(rank, dtype=float)  # None (an unknown category) -> NaN
    sick = pc.is_in(category, value_set=pa.array(SICK_CATEGORIES)).fill_null(False).to_numpy(zero_copy_only=False)
    score = health["score"].to_numpy(dtype=float)
    order = np.lexsort((year, rows))
    rows, year, rank, sick, score = rows[order], year[order], rank[order], sick[order], score[order]
    cols = panel.cols_of(year)
    # the year the current sick spell began: runs of consecutive sick assessments per cooperative
    new_run = np.ones(len(rows), dtype=bool)
    new_run[1:] = (rows[1:] != rows[:-1]) | (sick[1:] != sick[:-1])
    run = np.cumsum(new_run) - 1
    start = year[new_run].astype(float)[run]  # rows are sorted by year within a cooperative

    rank_all = panel.scatter(rows, cols, rank)
    assessed_year = panel.scatter(rows, cols, year.astype(float))
    spell = ffill(panel.scatter(rows, cols, np.where(sick, start, -1.0)))
    latest_year = panel.at(ffill(assessed_year), targets)
    t = targets[None, :].astype(float)
    spell_t = panel.at(spell, targets)
    sick_count = np.cumsum(panel.scatter(rows, cols, sick.astype(float), fill=0.0), axis=1)
    rank_t = panel.at(rank_all, targets)
    return {
        "never_assessed": np.isnan(latest_year).astype(float),
        "assessed_this_year": (~np.isnan(rank_t)).astype(float),
        "health_category_rank": rank_t,
        "health_score": panel.at(panel.scatter(rows, cols, score), targets),
        "prev_health_category_rank": panel.at(ffill(rank_all), targets - 1),
        "years_since_assessment": t - latest_year,
        "years_sick": np.where(spell_t > 0, t - spell_t + 1, 0.0),
        "sick_years_total": np.nan_to_num(panel.at(sick_count, targets), nan=0.0),
    }


def _recent_sickness(health: pd.DataFrame, panel: Panel, targets: np.ndarray) -> dict[str, np.ndarray]:
    """``sick_assessments_3y``: how many of the assessments of t-2, t-1 and t found the cooperative sick
    (the office's recent supervision history; years before the data's first year count as not sick)."""
    rows, year = panel.rows_of(health["coop_id"]), health["year"].to_numpy(dtype=np.int64)
    sick = pc.is_in(arrow_text(health["category"]), value_set=pa.array(SICK_CATEGORIES))
    sick = sick.fill_null(False).to_numpy(zero_copy_only=False).astype(float)
    ok = rows >= 0
    found = panel.scatter(rows[ok], panel.cols_of(year[ok]), sick[ok], fill=0.0)
    return {"sick_assessments_3y": sum(np.nan_to_num(panel.at(found, targets - k), nan=0.0) for k in range(3))}


# ---------------------------------------------------------------- CONTEXT: the clinic's treatment
def _clinic(cases: pd.DataFrame, panel: Panel, targets: np.ndarray) -> dict[str, np.ndarray]:
    if cases.empty:  # no clinic table: nothing treated, ever
        zero = np.zeros((panel.shape[0], len(targets)))
        out = {f"clinic_{c.lower()}": zero for c in CLINICS}
        return {
            **out,
            "clinic_cases_total": zero,
            "clinic_case_open": zero,
            "clinic_cases_recovered": zero,
            "clinic_years_since_first_case": np.full_like(zero, np.nan),
            "clinic_case_years": np.full_like(zero, np.nan),
        }
    cases = cases[cases["opened_on"].notna()]
    rows = panel.rows_of(cases["coop_id"])
    last = int(targets.max())

    def cumulative(years: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per year of the history panel: how many of the masked cases happened in that year or before."""
        keep = mask & (years <= last) & (rows >= 0)
        cols = np.maximum(years[keep] - panel.years[0], 0)
        return np.cumsum(panel.count(rows[keep], cols), axis=1)

    opened = cases["opened_on"].dt.year.to_numpy(dtype=np.int64)
    closed = cases["closed_on"].dt.year.to_numpy(dtype=float, na_value=np.nan)
    is_closed = ~np.isnan(closed)
    closed = np.where(is_closed, closed, 0).astype(np.int64)
    clinic = cases["clinic"].to_numpy(dtype=object)
    everything = np.ones(len(cases), dtype=bool)

    def open_at(which: np.ndarray) -> np.ndarray:
        return panel.at(cumulative(opened, which) - cumulative(closed, which & is_closed), targets)

    out = {"clinic_cases_total": panel.at(cumulative(opened, everything), targets)}
    out["clinic_case_open"] = (open_at(everything) > 0).astype(float)
    for c in CLINICS:
        out[f"clinic_{c.lower()}"] = (open_at(clinic == c) > 0).astype(float)
    first = np.full(panel.shape[0], np.inf)
    ok = rows >= 0
    np.fmin.at(first, rows[ok], opened[ok].astype(float))
    since = targets[None, :] - first[:, None]
    out["clinic_years_since_first_case"] = np.where(since >= 0, since, np.nan)
    # the current case: the latest opened of the cases still open at the end of t (one pass per target year)
    latest = np.full((panel.shape[0], len(targets)), np.nan)
    for j, t in enumerate(targets):
        live = ok & (opened <= t) & ~(is_closed & (closed <= t))
        np.fmax.at(latest, (rows[live], j), opened[live].astype(float))
    out["clinic_case_years"] = targets[None, :] - latest
    recovered = is_closed & (cases["outcome"].to_numpy(dtype=object) == "PULIH")
    out["clinic_cases_recovered"] = panel.at(cumulative(closed, recovered), targets)
    return out


def _weakness_match(col: dict[str, np.ndarray]) -> np.ndarray:
    """WEAKNESS_RULES on the gathered rows: 1 when an open case's clinic shows its weakness, NaN without a case."""
    weak = {
        "KEUANGAN": (col["no_financial_statement"] == 1) | (col["official_category_rank"] >= 2),
        "SDM": (col["no_staffing_report"] == 1) | (col["has_manager"] == 0) | (col["certified_share"] < 50),
        "KELEMBAGAAN": (col["rat_held"] == 0) | (col["rat_prev_days_late_office"] > 0),
    }
    match = np.zeros(len(col["clinic_case_open"]), dtype=bool)
    for c in CLINICS:
        match |= (col[f"clinic_{c.lower()}"] == 1) & weak[c]
    return np.where(col["clinic_case_open"] == 1, match.astype(float), np.nan)


def _onset_weakness_match(col: dict[str, np.ndarray], onset_seen: np.ndarray) -> np.ndarray:
    """WEAKNESS_RULES read in the sick spell's onset year (its score, manager and RAT) on the gathered rows: 1 when
    an open case's clinic showed its weakness then; NaN without an open case or without an onset year in the data
    (``onset_seen``)."""
    score = col["onset_official_score"]
    weak = {
        "KEUANGAN": np.isnan(score) | (health_score.category_rank(score) >= 2),
        "SDM": col["onset_has_manager"] != 1,
        "KELEMBAGAAN": col["onset_rat_held"] == 0,
    }
    match = np.zeros(len(score), dtype=bool)
    for c in CLINICS:
        match |= (col[f"clinic_{c.lower()}"] == 1) & weak[c]
    return np.where((col["clinic_case_open"] == 1) & onset_seen, match.astype(float), np.nan)


def _known(condition: np.ndarray, value: np.ndarray) -> np.ndarray:
    """A warning sign: 1.0 / 0.0 where ``value`` is known, NaN where it is not."""
    return np.where(np.isnan(value), np.nan, condition.astype(float))


def _weakest_aspect(col: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """WARNING_SIGNS on the gathered rows: each group's share of signs shown (``weakness_<group>``) and
    ``clinic_at_weakest``, whether an open case sits in the clinic of the weakest aspect (NaN without a case)."""
    with np.errstate(invalid="ignore"):
        signs = {
            "KEUANGAN": [
                _known(col["official_category_rank"] >= 2, col["official_category_rank"]),
                col["net_loss"],
                col["negative_equity"],
                _known(col["bad_loan_ratio_chg1"] > 0, col["bad_loan_ratio_chg1"]),
            ],
            "SDM": [
                _known(col["has_manager"] == 0, col["has_manager"]),
                _known(col["staff_departure_rate"] > 25, col["staff_departure_rate"]),
                _known(col["trained_share"] == 0, col["trained_share"]),
                col["no_staffing_report"],
            ],
            "KELEMBAGAAN": [
                1.0 - col["rat_held"],
                _known(col["rat_missed_years"] >= 2, col["rat_missed_years"]),
                _known(col["board_meetings"] < 4, col["board_meetings"]),
                col["no_financial_statement"],
            ],
        }
    out = {}
    for c in CLINICS:
        stacked = np.stack(signs[c])
        shown, readable = np.nansum(stacked, axis=0), (~np.isnan(stacked)).sum(axis=0)
        out[f"weakness_{c.lower()}"] = np.where(readable > 0, 100.0 * shown / np.maximum(readable, 1), np.nan)
    shares = np.stack([np.nan_to_num(out[f"weakness_{c.lower()}"], nan=0.0) for c in CLINICS])
    weakest = shares == shares.max(axis=0)
    at = np.zeros(shares.shape[1], dtype=bool)
    for i, c in enumerate(CLINICS):
        at |= (col[f"clinic_{c.lower()}"] == 1) & weakest[i]
    out["clinic_at_weakest"] = np.where(col["clinic_case_open"] == 1, at.astype(float), np.nan)
    return out


def _previous_year(frame: pd.DataFrame, wanted: np.ndarray) -> pd.DataFrame:
    """The rows of the years ``wanted``, with ``<name>_prev`` (the same cooperative's value a year earlier,
    NaN when it had no row then) for every name in PREVIOUS_YEAR, placed where the catalog lists them."""
    year = frame["year"].to_numpy()
    now = np.isin(year, wanted)
    earlier = pd.MultiIndex.from_arrays([frame["coop_id"].to_numpy(), year + 1])
    keys = pd.MultiIndex.from_arrays([frame["coop_id"].to_numpy()[now], year[now]])
    where = earlier.get_indexer(keys)
    out = frame[now].reset_index(drop=True)
    for name in PREVIOUS_YEAR:
        values = frame[name].to_numpy()
        out[f"{name}_prev"] = np.where(where >= 0, values[np.maximum(where, 0)], np.nan)
    return out[["coop_id", "year", *FEATURES]]


# ---------------------------------------------------------------- the public function
def build_features(ds: Dataset, settings: Settings, years: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per (coop_id, year) of every cooperative registered (founded_year <= year) and not dissolved
    before that year (dissolved_year > year or missing), for every year from the data's first to its last
    (or only ``years``; trends and histories still look back).

    Columns: ``coop_id``, ``year``, then every feature of features.catalog.FEATURES in its order: float64
    (flags 0/1), except ``coop_type`` and ``district``, kept as strings. No infinities. Sorted by coop_id,
    year. ``settings`` gives the RAT deadlines (klinik.settings.FEATURE_LABEL_SETTINGS: a model is scored with
    the values it was trained with).
    """
    coops = sorted_coops(ds)
    wanted = target_years(ds, years)
    has_years = any(len(t) for t in (ds.financials, ds.staffing, ds.health))
    first_year = min(dataset_years(ds)[0], int(wanted.min())) if has_years else int(wanted.min())
    # each wanted year's previous year too (PREVIOUS_YEAR), from the data's first year on
    targets = np.union1d(wanted, (wanted - 1)[wanted - 1 >= first_year]).astype(np.int64)
    ids = pd.Index(coops["coop_id"].to_numpy())

    last = int(targets.max())
    history = Panel(ids, np.arange(first_year, last + 1))
    health = _only(ds.health, ds.health["year"] <= last)
    sickness = _health(health, history, targets)
    # the last year before the current sick spell (NaN when not sick)
    onset = np.where(sickness["years_sick"] > 0, targets[None, :] - sickness["years_sick"], np.nan)

    # statements and staffing reports: only the target years, their comparison years and the spells' onset years
    onset_years = np.unique(onset[~np.isnan(onset)]).astype(np.int64)
    recent = np.unique(np.concatenate([targets, targets - 1, targets - 3, onset_years]))
    recent_panel = Panel(ids, recent)
    fin = _only(ds.financials, ds.financials["year"].isin(recent))
    st = _only(ds.staffing, ds.staffing["year"].isin(recent))
    meet = _only(ds.meetings, ds.meetings["fiscal_year"] <= last)
    cases = ds.clinic_cases
    if len(cases):
        cases = _only(cases, cases["opened_on"].dt.year <= last)

    rows, cols = np.nonzero(alive(coops, targets))
    lagged = {f"{name}_prev" for name in PREVIOUS_YEAR}
    floats = [name for name in FEATURES if name not in CATEGORICAL and name not in lagged]
    matrix = np.empty((len(floats), len(rows)))  # one block: column i of the frame is matrix[i]
    gathered = {name: matrix[i] for i, name in enumerate(floats)}

    def gather(block: dict[str, np.ndarray]) -> None:
        for name, a in block.items():
            gathered[name][:] = a[rows, cols]

    gather(_finance(fin, recent_panel, targets, onset))
    people = _staffing(st, recent_panel, targets, onset)
    gather(_meetings(meet, history, targets, people["members"], coops, first_year, settings, onset))
    gather(people)
    gather(sickness)
    gather(_recent_sickness(health, history, targets))
    gather(_clinic(cases, history, targets))
    gathered["age_years"][:] = targets[cols] - coops["founded_year"].to_numpy()[rows]
    gathered["clinic_matches_weakness"][:] = _weakness_match(gathered)
    gathered["clinic_matches_onset_weakness"][:] = _onset_weakness_match(gathered, onset[rows, cols] >= first_year)
    for name, a in _weakest_aspect(gathered).items():
        gathered[name][:] = a

    frame = pd.DataFrame(matrix.T, columns=floats, copy=False)
    frame.insert(0, "coop_id", _text_take(coops["coop_id"], rows))
    frame.insert(1, "year", targets[cols])
    for name in CATEGORICAL:
        frame.insert(2 + [n for n in FEATURES if n not in lagged].index(name), name, _text_take(coops[name], rows))
    return _previous_year(frame, wanted)


def _only(frame: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """frame[keep], without copying a large table when every row is kept."""
    return frame if bool(keep.all()) else frame[keep]


def _text_take(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """column[rows] as a pandas string column (arrow's take; fast for a million rows)."""
    return pd.Series(column.astype("str").array.take(rows), dtype="str")
