"""Each rule of docs/data-contract.md, broken on purpose in a CSV file, gives its own located problem."""

from __future__ import annotations

import datetime as dt

import pytest

from klinik.data.loader import load_dataset
from klinik.data.validation import DatasetInvalid

NEXT_YEAR = dt.date.today().year + 1

# (table, 0-based data row, {column: new value}, reported column, words of the rule, reported value)
CASES = [
    # cooperatives
    ("cooperatives", 1, {"coop_id": None}, "coop_id", "must not be empty", None),
    ("cooperatives", 1, {"coop_id": "K001"}, "coop_id", "coop_id must be unique: the same as row 2", "K001"),
    ("cooperatives", 0, {"name": ""}, "name", "must not be empty", None),
    ("cooperatives", 2, {"coop_type": "BANK"}, "coop_type", "must be one of KSP, KSU", "BANK"),
    ("cooperatives", 0, {"district": None}, "district", "must not be empty", None),
    ("cooperatives", 0, {"founded_year": 1899}, "founded_year", "must be a year from 1900", "1899"),
    ("cooperatives", 0, {"founded_year": NEXT_YEAR}, "founded_year", "must be a year from 1900", str(NEXT_YEAR)),
    ("cooperatives", 0, {"founded_year": "1995a"}, "founded_year", "must be a whole number", "1995a"),
    (
        "cooperatives",
        2,
        {"dissolved_year": 2005},
        "dissolved_year",
        "must be >= founded_year",
        "dissolved_year=2005, founded_year=2010",
    ),
    ("cooperatives", 2, {"dissolved_year": NEXT_YEAR}, "dissolved_year", "must be a year from 1900", str(NEXT_YEAR)),
    # financials
    ("financials", 3, {"coop_id": "K404"}, "coop_id", "must be a coop_id listed in cooperatives", "K404"),
    ("financials", 3, {"year": 2020}, "coop_id, year", "coop_id, year must be unique: the same as row 4", "K002, 2020"),
    ("financials", 0, {"year": NEXT_YEAR}, "year", "must be a year from 1900", str(NEXT_YEAR)),
    ("financials", 0, {"year": "2020.5"}, "year", "must be a whole number", "2020.5"),
    ("financials", 12 // 3, {"cash": -5000}, "cash", "must be >= 0", "-5000"),
    ("financials", 1, {"cash": "Rp 1,000.00"}, "cash", "must be a number", "Rp 1,000.00"),  # English grouping
    ("financials", 1, {"cash": 6000}, "current_assets", "must be >= cash", "current_assets=5000, cash=6000"),
    (
        "financials",
        1,
        {"total_assets": 4000, "total_liabilities": 0, "equity": 4000},
        "total_assets",
        "must be >= current_assets",
        "total_assets=4000, current_assets=5000",
    ),
    (
        "financials",
        1,
        {"total_assets": 0, "current_assets": 0, "cash": 0, "total_liabilities": 0, "equity": 0},
        "total_assets",
        "must be > 0",
        "0",
    ),
    (
        "financials",
        1,
        {"loans_to_members": 9000},
        "loans_to_members",
        "must be <= loans_outstanding",
        "loans_to_members=9000, loans_outstanding=8000",
    ),
    (
        "financials",
        1,
        {"loans_loss": 7600},
        "loans_outstanding",
        "must be >= loans_substandard + loans_doubtful + loans_loss",
        "loans_outstanding=8000, loans_substandard=300, loans_doubtful=200, loans_loss=7600",
    ),
    ("financials", 1, {"loans_doubtful": -1}, "loans_doubtful", "must be >= 0", "-1"),
    (
        "financials",
        1,
        {"current_liabilities": 13000},
        "total_liabilities",
        "must be >= current_liabilities",
        "total_liabilities=12000, current_liabilities=13000",
    ),
    (
        "financials",
        1,
        {"equity": 7000},
        "total_assets",
        "must equal total_liabilities + equity within 1%",
        "total_assets=20000, total_liabilities=12000, equity=7000",
    ),
    (
        "financials",
        1,
        {"personnel_expenses": 2600},
        "personnel_expenses",
        "must be <= operating_expenses",
        "personnel_expenses=2600, operating_expenses=2500",
    ),
    ("financials", 2, {"net_income": None}, "net_income", "must not be empty", None),
    # staffing
    ("staffing", 0, {"members": -3}, "members", "must be >= 0", "-3"),
    ("staffing", 0, {"employees": 2.5}, "employees", "must be a whole number", "2.5"),
    ("staffing", 0, {"has_manager": "mungkin"}, "has_manager", "must be true or false", "mungkin"),
    (
        "staffing",
        0,
        {"certified_staff": 8},
        "certified_staff",
        "must be <= board_members + employees",
        "certified_staff=8, board_members=3, employees=4",
    ),
    ("staffing", 5, {"coop_id": "K404"}, "coop_id", "must be a coop_id listed in cooperatives", "K404"),
    # meetings
    ("meetings", 0, {"meeting_type": "RAPAT"}, "meeting_type", "must be one of RAT, RAPAT_PENGURUS", "RAPAT"),
    (
        "meetings",
        0,
        {"held_on": "2020-12-31"},
        "held_on",
        "a RAT must be held after the end of its fiscal_year",
        "meeting_type=RAT, fiscal_year=2020, held_on=2020-12-31",
    ),
    ("meetings", 0, {"held_on": "03/20/2021"}, "held_on", "must be a date YYYY-MM-DD", "03/20/2021"),  # month first
    ("meetings", 0, {"held_on": "2021-3-20"}, "held_on", "must be a date YYYY-MM-DD", "2021-3-20"),
    ("meetings", 0, {"held_on": "2021-02-30"}, "held_on", "must be a date YYYY-MM-DD", "2021-02-30"),
    (
        "meetings",
        2,
        {"held_on": f"{NEXT_YEAR}-01-05", "fiscal_year": NEXT_YEAR},
        "held_on",
        "must be a date from 1900-01-01",
        f"{NEXT_YEAR}-01-05",
    ),
    ("meetings", 1, {"attendees": -1}, "attendees", "must be >= 0", "-1"),
    # health
    ("health", 0, {"category": "SAKIT"}, "category", "must be one of SEHAT, CUKUP_SEHAT", "SAKIT"),
    ("health", 0, {"score": 101}, "score", "must be between 0 and 100", "101"),
    ("health", 0, {"score": 79.9}, "category", "must match the score band", "category=SEHAT, score=79.9"),
    ("health", 1, {"score": 50.9}, "category", "must match the score band", "category=DALAM_PENGAWASAN, score=50.9"),
    ("health", 1, {"year": 2021, "coop_id": "K001"}, "coop_id, year", "must be unique", "K001, 2021"),
    # clinic_cases
    ("clinic_cases", 1, {"case_id": "KK-1"}, "case_id", "case_id must be unique: the same as row 2", "KK-1"),
    ("clinic_cases", 0, {"clinic": "HUKUM"}, "clinic", "must be one of KEUANGAN, SDM, KELEMBAGAAN", "HUKUM"),
    (
        "clinic_cases",
        1,
        {"closed_on": "2021-05-31"},
        "closed_on",
        "must be on or after opened_on",
        "closed_on=2021-05-31, opened_on=2021-06-01",
    ),
    ("clinic_cases", 1, {"outcome": "SELESAI"}, "outcome", "must be one of PULIH, BERLANJUT, DIBUBARKAN", "SELESAI"),
    ("clinic_cases", 0, {"opened_on": None}, "opened_on", "must not be empty", None),
    ("clinic_cases", 0, {"opened_on": "1850-06-01"}, "opened_on", "must be a date from 1900-01-01", "1850-06-01"),
    ("clinic_cases", 0, {"opened_on": "1500-06-01"}, "opened_on", "must be a date from 1900-01-01", "1500-06-01"),
    ("clinic_cases", 0, {"coop_id": "K404"}, "coop_id", "must be a coop_id listed in cooperatives", "K404"),
]


@pytest.mark.parametrize("table,row,cells,column,rule,value", CASES, ids=[f"{c[0]}-{c[3]}-{c[4][:24]}" for c in CASES])
def test_a_broken_rule_is_reported_where_it_is(
    contract_tables, write_tables, tmp_path, table, row, cells, column, rule, value
):
    for col, v in cells.items():
        contract_tables[table].loc[row, col] = v
    folder = write_tables(contract_tables, tmp_path, "csv")
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(folder)
    problems = err.value.problems
    matching = [p for p in problems if p.table == table and p.column == column and rule in p.rule]
    assert matching, "\n".join(map(str, problems))
    found = next((p for p in matching if p.row == row + 2), None)  # header is row 1, data row 0 is row 2
    assert found is not None, "\n".join(map(str, problems))
    assert found.file == f"{table}.csv" and found.value == value
    assert str(found).startswith(f"{table}.csv row {row + 2}, column {column}: ")


def test_every_problem_is_reported_at_once(contract_tables, write_tables, tmp_path):
    contract_tables["financials"].loc[0, "cash"] = -1
    contract_tables["financials"].loc[5, "cash"] = "x"
    contract_tables["staffing"].loc[2, "members"] = -1
    contract_tables["meetings"].loc[1, "held_on"] = "kemarin"
    contract_tables["health"].loc[2, "category"] = "?"
    contract_tables["cooperatives"].loc[0, "coop_type"] = "?"
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    where = sorted((p.table, p.row, p.column) for p in err.value.problems)
    assert where == sorted(
        [
            ("financials", 2, "cash"),
            ("financials", 7, "cash"),
            ("staffing", 4, "members"),
            ("meetings", 3, "held_on"),
            ("health", 4, "category"),
            ("cooperatives", 2, "coop_type"),
        ]
    )
    report = err.value.report()
    assert "is invalid: 6 problems in 5 tables" in report
    assert (
        "financials: 2 problems" in report
        and "financials.csv row 7, column cash: must be a number (an amount" in report
    )


def test_missing_cells_are_allowed_only_where_the_contract_says(contract_tables, write_tables, tmp_path):
    for table, col in [
        ("cooperatives", "dissolved_year"),
        ("meetings", "attendees"),
        ("health", "score"),
        ("clinic_cases", "closed_on"),
        ("clinic_cases", "outcome"),
    ]:
        contract_tables[table][col] = None
    ds = load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    assert ds.health["score"].isna().all() and ds.meetings["attendees"].isna().all()


def test_money_may_be_negative_only_in_equity_and_net_income(contract_tables, write_tables, tmp_path):
    fin = contract_tables["financials"]
    fin.loc[0, ["equity", "total_liabilities", "net_income"]] = [-1000.0, 21000.0, -5000.0]
    fin.loc[0, "current_liabilities"] = 4000.0
    ds = load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    assert ds.financials.loc[0, "equity"] == -1000.0


def test_balance_within_one_percent_is_accepted(contract_tables, write_tables, tmp_path):
    contract_tables["financials"].loc[0, "equity"] = 8000.0 - 0.0099 * 20000.0  # 0.99% off
    load_dataset(write_tables(contract_tables, tmp_path, "csv"))


def test_a_health_score_on_a_band_edge_takes_the_upper_category(contract_tables, write_tables, tmp_path):
    contract_tables["health"].loc[:, "score"] = [80.0, 51.0, 66.0]
    contract_tables["health"].loc[:, "category"] = ["SEHAT", "DALAM_PENGAWASAN", "CUKUP_SEHAT"]
    load_dataset(write_tables(contract_tables, tmp_path, "csv"))


def test_non_rat_meetings_may_be_held_within_their_year(contract_tables, write_tables, tmp_path):
    contract_tables["meetings"].loc[2, "held_on"] = "2021-01-05"  # RAPAT_PENGURUS of fiscal_year 2021
    load_dataset(write_tables(contract_tables, tmp_path, "csv"))


def test_dates_are_parsed_by_the_reader_and_bad_ones_kept_as_text(tmp_path):
    # clean files: pyarrow parses YYYY-MM-DD while reading; a file with one date it refuses is read again with
    # the dates as text (not by the slow careful reader), so validation can name the cell
    from klinik.data.loader import read_csv_table

    head = "coop_id,meeting_type,fiscal_year,held_on,attendees\n"
    clean = tmp_path / "meetings.csv"
    clean.write_text(head + "K1,RAT,2020,2021-03-20,10\nK1,RAT,2021,,\n", encoding="utf-8")
    frame = read_csv_table(clean, "meetings")
    assert str(frame["held_on"].dtype).startswith("datetime64")
    assert frame["held_on"].iloc[0] == dt.datetime(2021, 3, 20) and frame["held_on"].isna().iloc[1]
    assert list(frame.index) == [2, 3]
    dirty = tmp_path / "dirty" / "meetings.csv"
    dirty.parent.mkdir()
    dirty.write_text(head + "K1,RAT,2020,2021-03-20,10\nK1,RAT,2021,2021-3-5,\n", encoding="utf-8")
    frame = read_csv_table(dirty, "meetings")
    assert frame["held_on"].tolist()[1] == "2021-3-5" and frame["held_on"].tolist()[0] == "2021-03-20"
