"""Small hand-written Datasets for the feature tests, typed exactly as data/contract.py DTYPES says.

Other feature tests import ``make_dataset`` and the row helpers from here; the tests in this file check the
kit itself (so a broken helper fails loudly instead of making every other test meaningless).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from data.contract import COLUMNS, DTYPES
from data.dataset import Dataset

TABLES = ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases")


def typed(table: str, rows: list[dict]) -> pd.DataFrame:
    """A DataFrame of ``table`` with the contract's columns and in-memory dtypes."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS[table]))
    return frame.astype(DTYPES[table])


def make_dataset(**tables: list[dict]) -> Dataset:
    """A Dataset from lists of row dicts per table; absent tables are empty with the contract's columns."""
    frames = {name: typed(name, tables.get(name, [])) for name in TABLES}
    return Dataset(**frames, source="hand-made")


def coop(coop_id: str, founded: int = 2000, dissolved: int | None = None, coop_type: str = "KSP",
         district: str = "Buleleng") -> dict:
    return {"coop_id": coop_id, "name": f"Koperasi {coop_id}", "coop_type": coop_type, "district": district,
            "founded_year": founded, "dissolved_year": dissolved}


def statement(coop_id: str, year: int, **money: float) -> dict:
    """A consistent statement (assets = liabilities + equity) of a small lending cooperative; override any field."""
    row = dict(
        coop_id=coop_id, year=year, cash=10.0, current_assets=60.0, total_assets=100.0, loans_outstanding=50.0,
        loans_to_members=40.0, loans_substandard=4.0, loans_doubtful=2.0, loans_loss=1.0, loan_loss_reserve=3.0,
        current_liabilities=50.0, total_liabilities=50.0, voluntary_savings=30.0, external_borrowings=10.0,
        equity=50.0, principal_savings=5.0, mandatory_savings=15.0, gross_participation=18.0, other_revenue=2.0,
        operating_expenses=16.0, personnel_expenses=4.0, net_income=4.0,
    )
    row.update(money)
    return row


def staff(coop_id: str, year: int, **people) -> dict:
    row = dict(coop_id=coop_id, year=year, members=200, board_members=5, supervisors=3, employees=4,
               has_manager=True, certified_staff=3, trained_staff=2, staff_departures=1)
    row.update(people)
    return row


def rat(coop_id: str, fiscal_year: int, held_on: str, attendees: int | None = 100) -> dict:
    return {"coop_id": coop_id, "meeting_type": "RAT", "fiscal_year": fiscal_year,
            "held_on": pd.Timestamp(held_on), "attendees": attendees}


def meeting(coop_id: str, kind: str, held_on: str) -> dict:
    d = pd.Timestamp(held_on)
    return {"coop_id": coop_id, "meeting_type": kind, "fiscal_year": d.year, "held_on": d, "attendees": None}


def assessed(coop_id: str, year: int, category: str, score: float | None = None) -> dict:
    return {"coop_id": coop_id, "year": year, "category": category, "score": score}


def case(case_id: str, coop_id: str, clinic: str, opened_on: str, closed_on: str | None = None,
         outcome: str | None = None) -> dict:
    return {"case_id": case_id, "coop_id": coop_id, "clinic": clinic, "opened_on": pd.Timestamp(opened_on),
            "closed_on": pd.Timestamp(closed_on) if closed_on else pd.NaT, "outcome": outcome}


def test_make_dataset_has_contract_columns_and_dtypes():
    ds = make_dataset(cooperatives=[coop("A")], financials=[statement("A", 2020)], staffing=[staff("A", 2020)],
                      meetings=[rat("A", 2020, "2021-03-01")], health=[assessed("A", 2020, "SEHAT", 85.0)],
                      clinic_cases=[case("K1", "A", "SDM", "2020-05-01")])
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
