"""Small hand-written Datasets for the feature tests, typed exactly as data/contract.py DTYPES says.

Other feature tests import ``make_dataset`` and the row helpers from here; the tests in this file check the
kit itself (so a broken helper fails loudly instead of making every other test meaningless).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from klinik.data.contract import CASE_OUTCOMES, CLINICS, COLUMNS, DTYPES, HEALTH_CATEGORIES
from klinik.data.dataset import Dataset

TABLES = ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases")


def typed(table: str, rows: list[dict]) -> pd.DataFrame:
    """A DataFrame of ``table`` with the contract's columns and in-memory dtypes."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS[table]))
    return frame.astype(DTYPES[table])


def make_dataset(**tables: list[dict]) -> Dataset:
    """A Dataset from lists of row dicts per table; absent tables are empty with the contract's columns."""
    frames = {name: typed(name, tables.get(name, [])) for name in TABLES}
    return Dataset(**frames, source="hand-made")


def coop(
    coop_id: str, founded: int = 2000, dissolved: int | None = None, coop_type: str = "KSP", district: str = "Buleleng"
) -> dict:
    return {
        "coop_id": coop_id,
        "name": f"Koperasi {coop_id}",
        "coop_type": coop_type,
        "district": district,
        "founded_year": founded,
        "dissolved_year": dissolved,
    }


def statement(coop_id: str, year: int, **money: float) -> dict:
    """A consistent statement (assets = liabilities + equity) of a small lending cooperative; override any field."""
    row = dict(
        coop_id=coop_id,
        year=year,
        cash=10.0,
        current_assets=60.0,
        total_assets=100.0,
        loans_outstanding=50.0,
        loans_to_members=40.0,
        loans_substandard=4.0,
        loans_doubtful=2.0,
        loans_loss=1.0,
        loan_loss_reserve=3.0,
        current_liabilities=50.0,
        total_liabilities=50.0,
        voluntary_savings=30.0,
        external_borrowings=10.0,
        equity=50.0,
        principal_savings=5.0,
        mandatory_savings=15.0,
        gross_participation=18.0,
        other_revenue=2.0,
        operating_expenses=16.0,
        personnel_expenses=4.0,
        net_income=4.0,
    )
    row.update(money)
    return row


def staff(coop_id: str, year: int, **people) -> dict:
    row = dict(
        coop_id=coop_id,
        year=year,
        members=200,
        board_members=5,
        supervisors=3,
        employees=4,
        has_manager=True,
        certified_staff=3,
        trained_staff=2,
        staff_departures=1,
    )
    row.update(people)
    return row


def rat(coop_id: str, fiscal_year: int, held_on: str, attendees: int | None = 100) -> dict:
    return {
        "coop_id": coop_id,
        "meeting_type": "RAT",
        "fiscal_year": fiscal_year,
        "held_on": pd.Timestamp(held_on),
        "attendees": attendees,
    }


def meeting(coop_id: str, kind: str, held_on: str) -> dict:
    d = pd.Timestamp(held_on)
    return {"coop_id": coop_id, "meeting_type": kind, "fiscal_year": d.year, "held_on": d, "attendees": None}


def assessed(coop_id: str, year: int, category: str, score: float | None = None) -> dict:
    return {"coop_id": coop_id, "year": year, "category": category, "score": score}


def case(
    case_id: str, coop_id: str, clinic: str, opened_on: str, closed_on: str | None = None, outcome: str | None = None
) -> dict:
    return {
        "case_id": case_id,
        "coop_id": coop_id,
        "clinic": clinic,
        "opened_on": pd.Timestamp(opened_on),
        "closed_on": pd.Timestamp(closed_on) if closed_on else pd.NaT,
        "outcome": outcome,
    }


def test_make_dataset_has_contract_columns_and_dtypes():
    ds = make_dataset(
        cooperatives=[coop("A")],
        financials=[statement("A", 2020)],
        staffing=[staff("A", 2020)],
        meetings=[rat("A", 2020, "2021-03-01")],
        health=[assessed("A", 2020, "SEHAT", 85.0)],
        clinic_cases=[case("K1", "A", "SDM", "2020-05-01")],
    )
    for name in TABLES:
        frame = getattr(ds, name)
        assert tuple(frame.columns) == COLUMNS[name], name
        for column, dtype in DTYPES[name].items():
            assert str(frame[column].dtype) == dtype, (name, column, frame[column].dtype)
    assert ds.last_year == 2020
    assert ds.meetings["held_on"].iloc[0] == pd.Timestamp(dt.date(2021, 3, 1))


def test_default_statement_balances():
    row = statement("A", 2020)
    assert row["total_assets"] == row["total_liabilities"] + row["equity"]
    assert row["loans_substandard"] + row["loans_doubtful"] + row["loans_loss"] <= row["loans_outstanding"]


# ---------------------------------------------------------------- random small worlds (property tests)


def random_statement(rng: np.random.Generator, coop_id: str, year: int) -> dict:
    """A statement with random figures, zeros included (zero denominators must stay NaN)."""

    def money(p_zero: float = 0.15) -> float:
        return 0.0 if rng.random() < p_zero else float(rng.integers(1, 1000))

    loans = money(0.3)
    parts = [money(0.4) * loans / 3000 for _ in range(3)]
    assets = float(rng.integers(1, 5000))
    equity = float(rng.integers(-500, 3000))
    return statement(
        coop_id,
        year,
        cash=money(),
        current_assets=money(),
        total_assets=assets,
        loans_outstanding=loans,
        loans_to_members=loans * rng.random(),
        loans_substandard=parts[0],
        loans_doubtful=parts[1],
        loans_loss=parts[2],
        loan_loss_reserve=money(),
        current_liabilities=money(),
        total_liabilities=assets - equity,
        voluntary_savings=money(),
        external_borrowings=money(),
        equity=equity,
        principal_savings=money(),
        mandatory_savings=money(),
        gross_participation=money(),
        other_revenue=money(),
        operating_expenses=money(),
        personnel_expenses=money(),
        net_income=float(rng.integers(-300, 300)),
    )


def random_staff(rng: np.random.Generator, coop_id: str, year: int) -> dict:
    n = lambda high: int(rng.integers(0, high))  # noqa: E731
    return staff(
        coop_id,
        year,
        members=n(300),
        board_members=n(8),
        supervisors=n(4),
        employees=n(10),
        has_manager=bool(rng.random() < 0.5),
        certified_staff=n(5),
        trained_staff=n(20),
        staff_departures=n(4),
    )


def random_date(rng: np.random.Generator, first: pd.Timestamp, last: pd.Timestamp) -> str:
    days = (last - first).days
    return str((first + pd.Timedelta(days=int(rng.integers(0, days + 1)))).date())


def random_rat(rng: np.random.Generator, coop_id: str, fy: int) -> dict:
    held = random_date(rng, pd.Timestamp(fy + 1, 1, 2), pd.Timestamp(fy + 2, 12, 31))
    return rat(coop_id, fy, held, attendees=None if rng.random() < 0.2 else int(rng.integers(0, 400)))


def random_case(rng: np.random.Generator, case_id: str, coop_id: str, first: int, last: int) -> dict:
    opened = random_date(rng, pd.Timestamp(first, 1, 1), pd.Timestamp(last, 12, 31))
    closed = None
    if rng.random() < 0.6:
        closed = random_date(rng, pd.Timestamp(opened), pd.Timestamp(last + 2, 12, 31))
    return case(
        case_id, coop_id, str(rng.choice(CLINICS)), opened, closed, str(rng.choice(CASE_OUTCOMES)) if closed else None
    )


def random_tables(seed: int, n_coops: int, first: int = 2015, last: int = 2022) -> dict[str, list[dict]]:
    """Rows of a random small world: gaps in every yearly table, late and missing RATs, clinic cases."""
    rng = np.random.default_rng(seed)
    tables: dict[str, list[dict]] = {t: [] for t in TABLES}
    for i in range(n_coops):
        c = f"K{i:03d}"
        founded = int(rng.integers(first - 8, last + 1))
        dissolved = int(rng.integers(founded + 1, last + 3)) if rng.random() < 0.3 else None
        tables["cooperatives"].append(coop(c, founded, dissolved, coop_type=str(rng.choice(["KSP", "KUD"]))))
        for y in range(max(first, founded), min(last, (dissolved or last + 1) - 1) + 1):
            if rng.random() < 0.8:
                tables["financials"].append(random_statement(rng, c, y))
            if rng.random() < 0.85:
                tables["staffing"].append(random_staff(rng, c, y))
            if rng.random() < 0.7:
                tables["health"].append(
                    assessed(c, y, str(rng.choice(HEALTH_CATEGORIES)), float(rng.integers(20, 100)))
                )
            if rng.random() < 0.75:
                tables["meetings"].append(random_rat(rng, c, y))
            for _ in range(int(rng.integers(0, 3))):
                kind = str(rng.choice(["RAPAT_PENGURUS", "RAPAT_PENGAWAS"]))
                tables["meetings"].append(
                    meeting(c, kind, random_date(rng, pd.Timestamp(y, 1, 1), pd.Timestamp(y, 12, 31)))
                )
        for k in range(int(rng.integers(0, 3))):
            tables["clinic_cases"].append(random_case(rng, f"{c}-{k}", c, max(first, founded), last))
    return tables


def test_random_tables_make_a_valid_looking_dataset():
    ds = make_dataset(**random_tables(seed=3, n_coops=6))
    assert len(ds.cooperatives) == 6 and len(ds.financials) > 0 and len(ds.meetings) > 0
    assert not ds.financials.duplicated(["coop_id", "year"]).any()
