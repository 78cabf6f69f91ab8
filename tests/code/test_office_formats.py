"""Cells as an Indonesian office writes them read to the right value (amounts, dates, flags, headers, sheet
names); what still cannot be read is named by its cell, with the forms that are read."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from office_formats import day_first, fill_template, grouped

from klinik.data.cells import parse_table
from klinik.data.contract import TABLE
from klinik.data.loader import load_dataset
from klinik.data.messages import Msg
from klinik.data.template import write_template
from klinik.data.validation import DatasetInvalid, validate_tables

FINANCIALS, STAFFING, MEETINGS = TABLE["financials"], TABLE["staffing"], TABLE["meetings"]


def _read(table, **columns) -> dict:
    """Columns of ``table`` given as lists of cells, parsed together (one table, one form)."""
    frame = pd.DataFrame({name: pd.Series(cells, dtype=object) for name, cells in columns.items()})
    return parse_table(frame, table)


def _values(parsed) -> list:
    return [None if pd.isna(v) else v for v in parsed.values.tolist()]


def _refused(parsed) -> dict[str, list[int]]:
    """rule -> positions of the cells refused under it."""
    return {rule: np.flatnonzero(bad).tolist() for bad, rule in parsed.failures if bad.any()}


@pytest.mark.parametrize(
    "cell,value",
    [
        ("Rp 570.584.777", 570584777.0),
        ("570.584.777,50", 570584777.5),
        ("Rp570.584.777", 570584777.0),
        ("Rp. 570.584.777,-", 570584777.0),
        ("rp 1.000", 1000.0),
        ("RP 1.000", 1000.0),
        ("Rp\u00a0570.584.777", 570584777.0),  # Excel's no-break space
        ("570584777,5", 570584777.5),
        ("12,5", 12.5),
        ("-Rp 1.000", -1000.0),
        ("Rp -1.000", -1000.0),
        ("\u2212Rp 1.000", -1000.0),  # a typographic minus
        ("(1.000)", -1000.0),
        ("(Rp 1.000,50)", -1000.5),
        ("570584777.5", 570584777.5),  # the contract's plain form, as always
        ("1e6", 1e6),
        (570584777.5, 570584777.5),  # a number Excel holds
    ],
)
def test_each_accepted_form_of_an_amount(cell, value):
    parsed = _read(FINANCIALS, equity=[cell])["equity"]
    assert _values(parsed) == [value] and _refused(parsed) == {}


@pytest.mark.parametrize(
    "cell",
    ["Rp 1,000.00", "1,000,000", "Rp 3,1 jt", "1.23.456", "Rp", "--5", "-Rp -5", "(-5)", "lima ribu", "Rp 1234.5"],
)
def test_an_amount_in_no_form_is_refused_with_the_forms_that_are_read(cell):
    parsed = _read(FINANCIALS, cash=["Rp 1.000", cell])["cash"]
    assert _values(parsed) == [1000.0, None] and _refused(parsed) == {Msg("not_money"): [1]}


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=-1e13, max_value=1e13, allow_nan=False).filter(lambda x: "e" not in repr(abs(x))),
    st.booleans(),
    st.sampled_from(["-", "rp-", "()"]),
)
def test_indonesian_amounts_read_back_exactly(x, rp, negative):
    parsed = _read(FINANCIALS, equity=[grouped(x, rp=rp, negative=negative), "Rp 1.000,5"])["equity"]
    assert _values(parsed) == [x + 0.0, 1000.5]


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e13, max_value=1e13, allow_nan=False))
def test_plain_amounts_read_as_they_always_did(x):
    parsed = _read(FINANCIALS, equity=[repr(x), "1.234"])["equity"]
    assert _values(parsed) == [x + 0.0, 1.234]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_counts_with_a_dot_between_thousands(n):
    parsed = _read(STAFFING, members=[grouped(n, rp=False), "1.250"])["members"]
    assert _values(parsed) == [n, 1250]


def test_1_234_is_judged_by_the_form_the_table_uses():
    indonesian = _read(FINANCIALS, cash=["1.234"], equity=["Rp 5.000"])
    assert _values(indonesian["cash"]) == [1234.0]
    plain = _read(FINANCIALS, cash=["1.234"], equity=["1234.5"])
    assert _values(plain["cash"]) == [1.234]
    alone = _read(FINANCIALS, cash=["1.234"])  # nothing says Indonesian: the contract's reading
    assert _values(alone["cash"]) == [1.234]
    numbers = _read(FINANCIALS, cash=["1.234"], equity=[1234.5])  # cells Excel holds as numbers say nothing
    assert _values(numbers["cash"]) == [1.234]
    both = _read(FINANCIALS, cash=["1.234", "1234.5"], equity=["Rp 5.000", "7"])
    assert _values(both["cash"]) == [None, 1234.5] and _refused(both["cash"]) == {Msg("ambiguous_number"): [0]}
    assert _values(both["equity"]) == [5000.0, 7.0]


def test_a_whole_number_column_reads_1_250_only_one_way():
    """1.250 members cannot be one and a quarter: the Indonesian form is the only reading, and tells the table."""
    parsed = _read(STAFFING, members=["1.250", "2.000"], employees=["3", "1.000"])
    assert _values(parsed["members"]) == [1250, 2000] and _values(parsed["employees"]) == [3, 1000]
    assert _refused(parsed["members"]) == {} and _refused(parsed["employees"]) == {}


@pytest.mark.parametrize(
    "cell,day",
    [
        ("14/09/2024", "2024-09-14"),
        ("14-09-2024", "2024-09-14"),
        ("1/9/2024", "2024-09-01"),
        ("05/06/2024", "2024-06-05"),  # day first, always
        ("2024-09-14", "2024-09-14"),
        (dt.datetime(2024, 9, 14), "2024-09-14"),  # an Excel date
        (dt.date(2024, 9, 14), "2024-09-14"),
    ],
)
def test_each_accepted_form_of_a_date(cell, day):
    parsed = _read(MEETINGS, held_on=[cell])["held_on"]
    assert parsed.values.tolist() == [pd.Timestamp(day)] and _refused(parsed) == {}


@pytest.mark.parametrize("cell", ["09/14/2024", "31/02/2024", "14/09/24", "14.09.2024", "14/09-2024", "2024-9-14"])
def test_a_date_in_no_form_is_refused_with_the_forms_that_are_read(cell):
    parsed = _read(MEETINGS, held_on=[cell])["held_on"]
    assert _refused(parsed) == {Msg("not_date"): [0]}


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)), st.sampled_from(["/", "-"]))
def test_dates_written_day_first_read_back(day, sep):
    parsed = _read(MEETINGS, held_on=[day_first(day, sep)])["held_on"]
    assert parsed.values.tolist() == [pd.Timestamp(day)]


@pytest.mark.parametrize(
    "cell,flag",
    [("ya", True), ("YA", True), ("Ya ", True), ("tidak", False), ("Tidak", False), ("true", True), ("0", False)],
)
def test_each_accepted_form_of_a_flag(cell, flag):
    parsed = _read(STAFFING, has_manager=[cell])["has_manager"]
    assert _values(parsed) == [flag] and _refused(parsed) == {}


@pytest.mark.parametrize("cell", ["y", "t", "mungkin", "ada"])
def test_a_flag_in_no_form_is_refused(cell):
    assert _refused(_read(STAFFING, has_manager=[cell])["has_manager"]) == {Msg("not_flag"): [0]}


def test_indonesian_headers_in_any_case_and_the_contract_names_read_alike(contract_tables):
    fin = contract_tables["financials"]
    headers = {c.name: c.header for c in FINANCIALS.columns}
    headers["cash"] = "  KAS DAN   bank "
    indonesian = dict(contract_tables, financials=fin.rename(columns=headers))
    expected = validate_tables(contract_tables, require_health=True)
    got = validate_tables(indonesian, require_health=True)
    pd.testing.assert_frame_equal(got.financials, expected.financials)
    assert got.warnings == []
    twice = dict(contract_tables, financials=fin.assign(**{"Kas dan bank": fin["cash"]}))
    with pytest.raises(DatasetInvalid) as err:
        validate_tables(twice)
    assert [(p.column, p.rule) for p in err.value.problems] == [("cash", Msg("column_twice"))]


def test_a_csv_file_named_and_headed_as_the_template_reads_like_the_contract(contract_tables, write_tables, tmp_path):
    """keuangan.csv with Indonesian headers and amounts; ID koperasi keeps its leading zeros."""
    for name in contract_tables:
        contract_tables[name]["coop_id"] = contract_tables[name]["coop_id"].str.replace("K", "00")
    expected = load_dataset(write_tables(contract_tables, tmp_path / "contract", "csv"))
    folder = write_tables(contract_tables, tmp_path / "office", "csv")
    fin = contract_tables["financials"].copy()
    fin["cash"] = [grouped(v) for v in fin["cash"]]
    fin["net_income"] = [grouped(v, rp=False) for v in fin["net_income"]]  # -700,5
    (folder / "financials.csv").unlink()
    fin.rename(columns={c.name: c.header for c in FINANCIALS.columns}).to_csv(folder / "Keuangan.csv", index=False)
    got = load_dataset(folder)
    pd.testing.assert_frame_equal(got.financials, expected.financials)
    assert got.financials["coop_id"].iloc[0] == "00001" and got.financials["net_income"].iloc[0] == -700.5


def test_a_csv_count_with_a_dot_between_thousands(contract_tables, write_tables, tmp_path):
    """1.250 members in a CSV: the reader's 1.25 is no count, so the file is read again as written."""
    contract_tables["staffing"]["members"] = ["1.250", "2.000", "120", "120", "120", "120"]
    contract_tables["financials"]["cash"] = "1.000"  # another file, judged by its own cells
    contract_tables["financials"]["current_assets"] = "5.000"
    ds = load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    assert ds.staffing["members"].tolist() == [1250, 2000, 120, 120, 120, 120]
    assert ds.financials["cash"].tolist() == [1.0] * 6  # the financials file says nothing Indonesian: 1.000 is 1


def _office_workbook(tables, folder):
    book = write_template(folder / "kantor.xlsx")
    fill_template(book, tables)
    return book


def test_a_filled_template_loads_to_the_same_tables_as_the_contract_csv(contract_tables, write_tables, tmp_path):
    expected = load_dataset(write_tables(contract_tables, tmp_path / "csv", "csv"))
    got = load_dataset(_office_workbook(contract_tables, tmp_path / "office").parent)
    for name in ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), obj=name)
    assert got.warnings == []


@pytest.mark.parametrize(
    "table,column,cell,rule",
    [
        ("financials", "cash", "Rp 3,1 jt", Msg("not_money")),
        ("meetings", "held_on", "03/20/2021", Msg("not_date")),
        ("staffing", "has_manager", "mungkin", Msg("not_flag")),
        ("staffing", "members", "seratus", Msg("not_whole")),
    ],
)
def test_a_wrong_value_in_the_template_names_its_cell(contract_tables, tmp_path, table, column, cell, rule):
    book = _office_workbook(contract_tables, tmp_path)
    from openpyxl import load_workbook

    spec = TABLE[table]
    wb = load_workbook(book)
    wb[spec.sheet].cell(row=3, column=spec.column_names.index(column) + 1, value=cell)
    wb.save(book)
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(tmp_path)
    [problem] = err.value.problems
    where = (problem.file, problem.sheet, problem.row, problem.column, problem.rule, problem.value)
    assert where == ("kantor.xlsx", spec.sheet, 3, column, rule, cell)
    header = spec.column(column).header
    assert problem.say("id").startswith(f"kantor.xlsx, lembar '{spec.sheet}', baris 3, kolom '{header}' ({column}): ")
    assert problem.say("id").endswith(f"{rule.say('id')} (tertulis: {cell})")
