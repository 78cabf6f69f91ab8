"""How a simulated cooperative's records come out of its hidden qualities and its state, one year at a time.

Three hidden qualities per cooperative (finance, people, governance; each a standard normal AR(1)) plus its
state (sick or not, and the cause) decide its line items, staffing and meetings. Sickness pushes the
quality of its cause down hard and the other two a little, so a finance-sick cooperative shows worsening
bad loans, losses and falling equity; an SDM-sick one loses staff, its manager and training; a
governance-sick one misses its RAT and holds fewer board meetings. Nothing here decides a label: the
probabilities are in data/simulator_risk.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from klinik.data.simulator_risk import FIN, GOV, SDM, sigmoid


@dataclass(frozen=True)
class TypeProfile:
    share: float  # share of cooperatives of this type
    median_assets: float  # Rupiah
    loan_share: float  # loans_outstanding / total_assets for a lender
    lends: float  # probability it lends at all
    savings_share: float  # voluntary_savings / total_liabilities
    equity_ratio: float  # long-run equity / total_assets
    turnover: float  # revenue from members per Rupiah of non-loan assets (trade, services)
    employees: float  # typical staff at median size
    members: float  # median members


# In contract.COOP_TYPES order: KSP and KSU most common, then KPRI, KUD, the rest.
TYPE_PROFILES = (
    TypeProfile(0.30, 3.0e9, 0.75, 1.0, 0.75, 0.22, 0.10, 6, 600),  # KSP
    TypeProfile(0.28, 1.5e9, 0.55, 1.0, 0.60, 0.30, 0.60, 4, 400),  # KSU
    TypeProfile(0.10, 1.2e9, 0.30, 0.9, 0.40, 0.40, 1.20, 5, 900),  # KUD
    TypeProfile(0.12, 2.0e9, 0.70, 1.0, 0.50, 0.35, 0.30, 3, 300),  # KPRI
    TypeProfile(0.07, 0.4e9, 0.20, 0.4, 0.30, 0.45, 1.50, 3, 200),  # KONSUMEN
    TypeProfile(0.05, 0.8e9, 0.20, 0.4, 0.20, 0.45, 1.20, 4, 150),  # PRODUSEN
    TypeProfile(0.04, 0.6e9, 0.20, 0.4, 0.20, 0.45, 1.50, 3, 150),  # PEMASARAN
    TypeProfile(0.04, 0.5e9, 0.20, 0.3, 0.20, 0.45, 1.00, 3, 120),  # JASA
)

# How far sickness pushes the hidden quality of its cause (main) and of the other two (spill).
SICK_MAIN = (1.8, 2.2, 2.6)  # finance, SDM, governance
SICK_SPILL = 0.4
LATENT_RHO = 0.85
TREATMENT_LIFT = 0.4  # a year in a clinic lifts the quality of that clinic's domain


def _profile(field: str, coop_type: np.ndarray) -> np.ndarray:
    return np.array([getattr(p, field) for p in TYPE_PROFILES])[coop_type]


class Cooperatives:
    """Fixed traits and changing state of every cooperative, as parallel numpy arrays."""

    def __init__(self, rng: np.random.Generator, n: int, first: int, last: int, start: int):
        self.n = n
        shares = np.array([p.share for p in TYPE_PROFILES])
        self.coop_type = rng.choice(len(TYPE_PROFILES), size=n, p=shares / shares.sum())
        new = rng.random(n) < 0.08  # registered during the years (none when there is only one)
        self.founded = np.where(
            new & (last > first),
            first + 1 + np.floor(rng.random(n) * max(last - first, 1)).astype(int),
            first - np.clip(np.floor(rng.exponential(14.0, size=n)), 0, max(first - 1960, 0)).astype(int),
        )
        t = self.coop_type
        self.scale = rng.normal(0.0, 0.9, n)  # log size relative to the type's median
        self.lends = rng.random(n) < _profile("lends", t)
        loan_share = _profile("loan_share", t) * np.exp(rng.normal(0, 0.15, n))
        self.loan_share = np.where(self.lends, np.clip(loan_share, 0.05, 0.85), 0.0)
        self.member_loan_share = np.clip(rng.normal(0.95, 0.04, n), 0.75, 1.0)
        self.savings_share = np.clip(_profile("savings_share", t) * np.exp(rng.normal(0, 0.15, n)), 0.05, 0.8)
        self.borrow_share = np.clip(rng.normal(0.10, 0.06, n), 0.0, 0.2)
        self.current_liab_share = rng.uniform(0.5, 0.85, n)
        self.equity_target = np.clip(_profile("equity_ratio", t) + rng.normal(0, 0.07, n), 0.05, 0.8)
        self.bad_loan_bias = rng.normal(0, 0.3, n)
        self.cash_bias = rng.normal(0, 0.3, n)
        self.loan_yield = rng.uniform(0.13, 0.22, n)
        self.trade_turnover = _profile("turnover", t) * np.exp(rng.normal(0, 0.2, n))
        staff = _profile("employees", t) * np.exp(0.6 * self.scale + rng.normal(0, 0.3, n))
        self.staff_target = np.maximum(0, np.round(staff))
        self.board = rng.integers(3, 8, n)
        self.supervisors = rng.integers(1, 4, n)
        self.cert_bias = rng.normal(0, 0.5, n)
        # changing state
        self.quality = rng.normal(0, 1, (3, n))  # finance, SDM, governance
        self.log_assets = np.log(_profile("median_assets", t)) + self.scale
        self.equity_ratio = self.equity_target.copy()
        self.members = _profile("members", t) * np.exp(rng.normal(0, 0.6, n))
        self.employees = rng.poisson(self.staff_target)
        self.has_manager = rng.random(n) < sigmoid(-0.3 + 0.8 * self.scale + 0.5 * self.quality[SDM])
        self.sick = np.zeros(n, bool)
        self.cause = np.full(n, -1)
        self.sick_years = np.zeros(n, int)  # consecutive years sick (true state, hidden)
        self.dissolved = np.zeros(n, int)  # dissolved_year, 0 while it exists
        self.start = start

    def alive(self, t: int) -> np.ndarray:
        return (self.founded <= t) & ((self.dissolved == 0) | (self.dissolved > t))

    def found(self, rng: np.random.Generator, t: int) -> None:
        """A cooperative registered in year t starts small, with members' capital and a few staff."""
        born = self.founded == t
        k = int(born.sum())
        if t == self.start or not k:
            return
        self.log_assets[born] = np.log(_profile("median_assets", self.coop_type[born])) + self.scale[born] - 1.5
        self.equity_ratio[born] = np.clip(self.equity_target[born] + 0.2, 0.05, 0.9)
        self.members[born] = rng.uniform(20, 80, k)
        self.employees[born] = rng.poisson(1.0, k)
        self.has_manager[born] = False
        self.sick[born] = False
        self.cause[born] = -1
        self.sick_years[born] = 0

    def evolve(self, rng: np.random.Generator, treated: np.ndarray) -> None:
        """One year passes for the hidden qualities; a clinic case lifts its domain's quality."""
        shock = rng.normal(0, np.sqrt(1 - LATENT_RHO**2), self.quality.shape)
        self.quality = LATENT_RHO * self.quality + shock
        has_case = treated >= 0
        for k in (FIN, SDM, GOV):
            self.quality[k, has_case & (treated == k)] += TREATMENT_LIFT

    def effective_quality(self) -> np.ndarray:
        """The qualities as sickness bends them: the cause hard, the rest a little."""
        q = self.quality.copy()
        for k in (FIN, SDM, GOV):
            main = self.sick & (self.cause == k)
            q[k] -= np.where(main, SICK_MAIN[k], np.where(self.sick, SICK_SPILL, 0.0))
        return q


def staffing_year(rng: np.random.Generator, c: Cooperatives, idx: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """People at year end for the cooperatives ``idx`` (updates their state)."""
    hr = q[SDM, idx]
    sick = c.sick[idx]
    c.members[idx] *= np.exp(rng.normal(0.02 - 0.05 * sick, 0.04))
    emp = c.employees[idx]
    departures = rng.binomial(emp, sigmoid(-2.6 - 0.7 * hr))
    gap = np.maximum(c.staff_target[idx] - (emp - departures), 0)
    hires = rng.poisson(gap * np.where(hr < -1.5, 0.3, 0.8))
    emp = emp - departures + hires
    c.employees[idx] = emp
    had = c.has_manager[idx]
    keep = rng.random(len(idx)) < sigmoid(2.5 + 0.8 * hr)
    hire = rng.random(len(idx)) < sigmoid(-2.0 + 0.6 * hr + 0.5 * c.scale[idx])
    manager = np.where(had, keep, hire)
    c.has_manager[idx] = manager
    people = c.board[idx] + emp
    return {
        "members": np.round(c.members[idx]).astype(np.int64),
        "board_members": c.board[idx].astype(np.int64),
        "supervisors": c.supervisors[idx].astype(np.int64),
        "employees": emp.astype(np.int64),
        "has_manager": manager,
        "certified_staff": rng.binomial(people, sigmoid(-1.0 + 0.5 * c.quality[SDM, idx] + c.cert_bias[idx])),
        "trained_staff": rng.binomial(people, sigmoid(-1.6 + 0.7 * hr)).astype(np.int64),
        "staff_departures": departures.astype(np.int64),
    }


def financials_year(rng: np.random.Generator, c: Cooperatives, idx: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """The year's statement for the cooperatives ``idx`` (whether filed or not; updates their state).

    Amounts are whole Rupiah and satisfy every rule of the contract by construction.
    """
    n = len(idx)
    fin = q[FIN, idx]
    fin_sick = c.sick[idx] & (c.cause[idx] == FIN)
    c.log_assets[idx] += rng.normal(0.06 + 0.03 * fin, 0.07) - 0.08 * fin_sick
    assets = np.maximum(np.round(np.exp(c.log_assets[idx])), 1e6)
    loans = np.floor(assets * c.loan_share[idx])
    bad_ratio = np.where(c.lends[idx], sigmoid(-3.0 - 0.8 * fin + c.bad_loan_bias[idx] + rng.normal(0, 0.25, n)), 0.0)
    roa = 0.025 + 0.015 * fin - 0.3 * np.maximum(bad_ratio - 0.08, 0) + rng.normal(0, 0.01, n)
    e = c.equity_ratio[idx]
    e = 0.9 * e + 0.1 * c.equity_target[idx] + 0.8 * (roa - 0.025) - 0.03 * fin_sick + rng.normal(0, 0.015, n)
    e = np.clip(e, -0.6, 0.9)
    c.equity_ratio[idx] = e
    cash = np.floor(assets * np.minimum(sigmoid(-2.6 + 0.35 * fin + c.cash_bias[idx] + rng.normal(0, 0.25, n)), 0.12))
    current_assets = np.minimum(assets, cash + np.floor(0.85 * loans) + np.floor(assets * rng.uniform(0, 0.08, n)))
    bad = bad_ratio * loans
    split = rng.dirichlet((5.0, 3.0, 2.0), n) if n else np.zeros((0, 3))
    worse = np.clip(-fin / 4, 0, 0.5)[:, None] * np.array([-1.0, 0.0, 1.0])  # bad finances: more macet
    split = np.clip(split + split[:, [0]] * worse, 0, 1)
    split /= split.sum(axis=1, keepdims=True)
    substandard, doubtful, loss = (np.floor(bad * split[:, k]) for k in range(3))
    reserve = np.floor((0.5 * substandard + 0.75 * doubtful + loss) * sigmoid(0.5 * fin + rng.normal(0, 0.3, n)))
    liabilities = np.round(assets * (1 - e))
    equity = assets - liabilities
    capital = np.maximum(equity, 0.05 * assets)
    revenue = np.round(loans * c.loan_yield[idx] + (assets - loans) * c.trade_turnover[idx])
    other = np.round(revenue * rng.uniform(0.02, 0.12, n))
    net_income = np.minimum(np.round(roa * assets), np.floor(0.6 * (revenue + other)))
    opex = revenue + other - net_income
    return {
        "cash": cash,
        "current_assets": current_assets,
        "total_assets": assets,
        "loans_outstanding": loans,
        "loans_to_members": np.floor(loans * c.member_loan_share[idx]),
        "loans_substandard": substandard,
        "loans_doubtful": doubtful,
        "loans_loss": loss,
        "loan_loss_reserve": reserve,
        "current_liabilities": np.floor(liabilities * c.current_liab_share[idx]),
        "total_liabilities": liabilities,
        "voluntary_savings": np.floor(liabilities * c.savings_share[idx]),
        "external_borrowings": np.floor(liabilities * c.borrow_share[idx]),
        "equity": equity,
        "principal_savings": np.floor(capital * rng.uniform(0.03, 0.10, n)),
        "mandatory_savings": np.floor(capital * rng.uniform(0.3, 0.6, n)),
        "gross_participation": revenue,
        "other_revenue": other,
        "operating_expenses": opex,
        "personnel_expenses": np.floor(opex * rng.uniform(0.25, 0.5, n)),
        "net_income": net_income,
    }


def filing_probability(c: Cooperatives, idx: np.ndarray, q: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Sick cooperatives, and badly governed ones, file fewer statements; ``shift`` moves the log-odds of filing
    for everyone (a world's missing-statement rate, data/simulator_worlds.py)."""
    logit = 3.4 + 0.5 * q[GOV, idx] - 1.3 * c.sick[idx]
    return sigmoid(logit + shift if shift else logit)


def rat_year(rng: np.random.Generator, q_gov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The RAT for the fiscal year: (on time by end of March, held late in the following year)."""
    n = len(q_gov)
    on_time = rng.random(n) < sigmoid(2.9 + 1.0 * q_gov)
    late = ~on_time & (rng.random(n) < 0.5)
    return on_time, late


def random_dates(rng: np.random.Generator, n: int, first: str, last: str) -> np.ndarray:
    """n dates (datetime64[D]) drawn uniformly from first..last inclusive (ISO strings)."""
    lo, hi = np.datetime64(first, "D"), np.datetime64(last, "D")
    return lo + rng.integers(0, int((hi - lo).astype(int)) + 1, n).astype("timedelta64[D]")
