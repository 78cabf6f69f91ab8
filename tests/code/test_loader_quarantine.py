"""Rows that break rules are never dropped silently: refused, or quarantined to a file and counted."""

from __future__ import annotations

import pandas as pd
import pytest

from klinik.data.loader import load_dataset
from klinik.data.messages import Msg
from klinik.data.validation import DatasetInvalid, Problem, validate_tables


def _break_some_rows(tables):
    tables["financials"].loc[1, "cash"] = -5000  # financials.csv row 3
    tables["financials"].loc[4, "total_assets"] = "banyak"  # row 6
    tables["financials"].loc[4, "cash"] = -1  # same row, second problem
    tables["cooperatives"].loc[2, "coop_type"] = "BANK"  # cooperatives.csv row 4: K003 and all its rows go
    tables["meetings"].loc[0, "held_on"] = "2020-06-30"  # a RAT before its fiscal year ended


def test_without_quarantine_the_dataset_is_refused(contract_tables, write_tables, tmp_path):
    _break_some_rows(contract_tables)
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    assert len(err.value.problems) == 5


def test_quarantine_writes_the_rows_and_returns_the_rest(contract_tables, write_tables, tmp_path):
    _break_some_rows(contract_tables)
    folder = write_tables(contract_tables, tmp_path / "data", "csv")
    out = tmp_path / "out" / "quarantine.csv"
    ds = load_dataset(folder, quarantine=out)

    assert ds.cooperatives["coop_id"].tolist() == ["K001", "K002"]
    assert ds.financials[["coop_id", "year"]].values.tolist() == [["K001", 2020], ["K002", 2020], ["K002", 2021]]
    assert ds.staffing["coop_id"].tolist() == ["K001", "K001", "K002", "K002"]
    assert ds.health["coop_id"].tolist() == ["K001", "K002"]
    assert ds.meetings["held_on"].astype(str).tolist() == ["2021-05-02", "2021-07-01"]
    assert str(ds.financials["year"].dtype) == "int64"

    q = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(q.columns[:6]) == ["table", "file", "row", "column", "rule", "value"]
    by_place = {(r.table, r.row, r.column): r for r in q.itertuples()}
    cash = by_place[("financials", "3", "cash")]
    assert (cash.rule, cash.value, cash.coop_id, cash.year, cash.cash) == (
        "must be >= 0",
        "-5000",
        "K001",
        "2021",
        "-5000",
    )
    assert by_place[("financials", "6", "total_assets")].total_assets == "banyak"
    assert ("financials", "6", "cash") in by_place
    assert by_place[("cooperatives", "4", "coop_type")].value == "BANK"
    cascaded = q[q["rule"].str.startswith("its cooperative was quarantined (cooperatives.csv row 4)")]
    # K003's financials (rows 6 and 7; row 6 already had its own problems), staffing x2 and health
    assert sorted(zip(cascaded["table"], cascaded["row"])) == [
        ("financials", "7"),
        ("health", "4"),
        ("staffing", "6"),
        ("staffing", "7"),
    ]
    assert by_place[("meetings", "2", "held_on")].rule == "a RAT must be held after the end of its fiscal_year"
    [note] = [w for w in ds.warnings if w.startswith("quarantined")]
    assert "quarantined 8 row(s)" in note and "4 of them because their cooperative was quarantined" in note
    assert str(out) in note and len(q) == 9


def test_a_clean_dataset_quarantines_nothing(contract_tables, write_tables, tmp_path):
    out = tmp_path / "q.csv"
    ds = load_dataset(write_tables(contract_tables, tmp_path / "data", "csv"), quarantine=out)
    assert len(pd.read_csv(out)) == 0 and any("no rows quarantined" in w for w in ds.warnings)


def test_table_problems_refuse_even_with_quarantine(contract_tables, write_tables, tmp_path):
    contract_tables["financials"].loc[1, "cash"] = -5000
    folder = write_tables(contract_tables, tmp_path / "data", "csv")
    (folder / "staffing.csv").unlink()
    out = tmp_path / "q.csv"
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(folder, quarantine=out)
    assert {p.table for p in err.value.problems} == {"staffing", "financials"}
    assert not out.exists()


def test_in_memory_rows_are_numbered_from_zero(contract_tables):
    contract_tables["financials"].loc[1, "cash"] = "lima ribu"
    contract_tables["staffing"].loc[0, "members"] = -3
    with pytest.raises(DatasetInvalid) as err:
        validate_tables(contract_tables, source="POST /score")
    assert err.value.problems == [
        Problem("financials", "POST /score", 1, "cash", Msg("not_money"), "lima ribu"),
        Problem("staffing", "POST /score", 0, "members", "must be >= 0", "-3"),
    ]
    assert (
        str(err.value.problems[0]) == f"POST /score [financials] row 1, column cash: {Msg('not_money')} (got lima ribu)"
    )


def test_in_memory_tables_from_json_rows(tmp_path):
    """Tables as the service gets them: lists of JSON objects, absent optional tables, empty lists."""
    tables = {
        "cooperatives": pd.DataFrame(
            [
                {
                    "coop_id": "K9",
                    "name": "KSP Baru",
                    "coop_type": "KSP",
                    "district": "Banjar",
                    "founded_year": 2019,
                    "dissolved_year": None,
                }
            ]
        ),
        "financials": pd.DataFrame(
            [
                {
                    "coop_id": "K9",
                    "year": 2024,
                    "cash": 10,
                    "current_assets": 20,
                    "total_assets": 100,
                    "loans_outstanding": 0,
                    "loans_to_members": 0,
                    "loans_substandard": 0,
                    "loans_doubtful": 0,
                    "loans_loss": 0,
                    "loan_loss_reserve": 0,
                    "current_liabilities": 5,
                    "total_liabilities": 50,
                    "voluntary_savings": 0,
                    "external_borrowings": 0,
                    "equity": 50.5,
                    "principal_savings": 1,
                    "mandatory_savings": 1,
                    "gross_participation": 3,
                    "other_revenue": 0,
                    "operating_expenses": 2,
                    "personnel_expenses": 1,
                    "net_income": 1,
                }
            ]
        ),
        "staffing": pd.DataFrame(
            [
                {
                    "coop_id": "K9",
                    "year": 2024,
                    "members": 30,
                    "board_members": 3,
                    "supervisors": 1,
                    "employees": 0,
                    "has_manager": False,
                    "certified_staff": 0,
                    "trained_staff": 0,
                    "staff_departures": 0,
                }
            ]
        ),
        "meetings": pd.DataFrame([]),
    }
    ds = validate_tables(tables)
    assert len(ds.meetings) == 0 and len(ds.health) == 0 and ds.financials["cash"].iloc[0] == 10.0
    with pytest.raises(DatasetInvalid) as err:
        validate_tables(tables, require_health=True)
    assert [(p.table, p.rule) for p in err.value.problems] == [("health", "required table is missing")]


def test_in_memory_quarantine(contract_tables, tmp_path):
    contract_tables["health"].loc[1, "score"] = 150
    ds = validate_tables(contract_tables, quarantine=tmp_path / "q.csv")
    assert ds.health["coop_id"].tolist() == ["K001", "K003"]
    q = pd.read_csv(tmp_path / "q.csv")
    assert q[["table", "file", "row", "column", "value"]].values.tolist() == [["health", "request", 1, "score", 150]]
