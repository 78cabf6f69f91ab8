"""CSV, Parquet and one Excel workbook load to the same typed tables, exactly as data/contract.py DTYPES says."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import Workbook

from klinik.data.contract import DTYPES
from klinik.data.loader import load_dataset
from klinik.data.validation import DatasetInvalid, validate_tables

TABLES = ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases")


def _assert_same(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


def test_three_formats_load_to_the_same_typed_tables(contract_tables, write_tables, tmp_path):
    loaded = {
        fmt: load_dataset(write_tables(contract_tables, tmp_path / fmt, fmt)) for fmt in ("csv", "parquet", "xlsx")
    }
    for fmt in ("parquet", "xlsx"):
        _assert_same(loaded["csv"], loaded[fmt])
    ds = loaded["csv"]
    for name in TABLES:
        frame = getattr(ds, name)
        assert list(frame.columns) == list(DTYPES[name]), name
        assert {c: str(t) for c, t in frame.dtypes.items()} == DTYPES[name], name
    assert ds.truth is None and ds.warnings == []
    assert ds.meetings["held_on"].tolist()[0] == pd.Timestamp("2021-03-20")
    assert ds.cooperatives["dissolved_year"].isna().tolist() == [True, True, False]
    assert ds.staffing["has_manager"].tolist() == [True, True, True, True, False, False]
    assert ds.financials["net_income"].iloc[0] == -700.5


def test_in_memory_tables_load_like_files(contract_tables, write_tables, tmp_path):
    from_files = load_dataset(write_tables(contract_tables, tmp_path / "csv", "csv"))
    _assert_same(from_files, validate_tables(contract_tables, require_health=True))


def test_text_cells_as_a_spreadsheet_holds_them(contract_tables, write_tables, tmp_path):
    """Numbers, booleans and dates typed as text in a workbook (or sent as JSON strings) read the same."""
    as_text = {name: df.map(lambda v: None if pd.isna(v) else str(v)) for name, df in contract_tables.items()}
    as_text["staffing"]["has_manager"] = as_text["staffing"]["has_manager"].str.upper()  # TRUE / FALSE
    expected = load_dataset(write_tables(contract_tables, tmp_path / "csv", "csv"))
    _assert_same(expected, validate_tables(as_text, require_health=True))
    # in the workbook every cell is a text cell except the dates, which the writer turns into date cells
    _assert_same(expected, load_dataset(write_tables(as_text, tmp_path / "xlsx", "xlsx")))


def test_excel_rows_are_numbered_as_the_sheet_shows_them(contract_tables, tmp_path):
    """Blank rows inside a sheet keep their numbers; the problem is reported at the sheet's row."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in contract_tables.items():
        ws = wb.create_sheet(name.upper() if name == "staffing" else name)  # sheet names match case-blind
        ws.append(list(df.columns))
        for i, row in enumerate(df.itertuples(index=False)):
            if name == "financials" and i == 2:
                ws.append([])  # a blank row 4
            cells = [None if v is None or v != v else v for v in row]
            if name == "financials" and i == 3:
                cells[2] = -1.0  # cash of the 4th data row: sheet row 6 because of the blank row
            if name == "meetings":
                cells[3] = dt.datetime.fromisoformat(cells[3])
            ws.append(cells)
    wb.save(tmp_path / "kantor.xlsx")
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(tmp_path)
    [problem] = err.value.problems
    assert (problem.table, problem.file, problem.row, problem.column) == ("financials", "kantor.xlsx", 6, "cash")
    assert str(problem) == "kantor.xlsx [financials] row 6, column cash: must be >= 0 (got -1)"


def test_parquet_rows_are_record_numbers(contract_tables, write_tables, tmp_path):
    contract_tables["financials"].loc[4, "total_assets"] = -1.0
    folder = write_tables(contract_tables, tmp_path, "parquet")
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(folder)
    rows = {(p.file, p.row, p.column) for p in err.value.problems}
    assert ("financials.parquet", 5, "total_assets") in rows


def test_csv_header_is_row_one(contract_tables, write_tables, tmp_path):
    contract_tables["financials"].loc[0, "cash"] = -5000
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    assert [str(p) for p in err.value.problems] == ["financials.csv row 2, column cash: must be >= 0 (got -5000)"]


def test_identifiers_keep_leading_zeros_and_whitespace_is_trimmed(contract_tables, write_tables, tmp_path):
    for name in ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases"):
        contract_tables[name]["coop_id"] = contract_tables[name]["coop_id"].str.replace("K", "00")
    contract_tables["cooperatives"].loc[0, "name"] = "  KSP Sari Dana  "
    ds = load_dataset(write_tables(contract_tables, tmp_path, "csv"))
    assert ds.cooperatives["coop_id"].tolist() == ["00001", "00002", "00003"]
    assert ds.cooperatives["name"].iloc[0] == "KSP Sari Dana"


def test_optional_tables_absent_become_empty_typed_tables(contract_tables, write_tables, tmp_path):
    del contract_tables["clinic_cases"], contract_tables["health"]
    ds = load_dataset(write_tables(contract_tables, tmp_path, "csv"), require_health=False)
    for name in ("clinic_cases", "health"):
        frame = getattr(ds, name)
        assert len(frame) == 0 and {c: str(t) for c, t in frame.dtypes.items()} == DTYPES[name]
    with pytest.raises(DatasetInvalid, match="health"):
        load_dataset(tmp_path)  # training needs it


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_foreign_keys_among_many_cooperatives(contract_tables, write_tables, tmp_path, fmt):
    """Beyond a thousand cooperatives the coop_id check takes the arrow path: same answer."""
    coops = contract_tables["cooperatives"]
    many = pd.concat([coops.iloc[[0]].assign(coop_id=f"M{i:05d}") for i in range(1200)], ignore_index=True)
    contract_tables["cooperatives"] = pd.concat([coops, many], ignore_index=True)
    for table in ("financials", "clinic_cases"):
        contract_tables[table].loc[1, "coop_id"] = "M99999"
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(write_tables(contract_tables, tmp_path, fmt))
    first = 3 if fmt == "csv" else 2
    assert sorted((p.table, p.row, p.column, p.value) for p in err.value.problems) == [
        ("clinic_cases", first, "coop_id", "M99999"),
        ("financials", first, "coop_id", "M99999"),
    ]


def test_workbook_whose_last_column_is_empty_in_every_row(contract_tables, write_tables, tmp_path):
    """No cooperative dissolved: dissolved_year, the last column, has no cell filled in any row."""
    contract_tables["cooperatives"]["dissolved_year"] = None
    ds = load_dataset(write_tables(contract_tables, tmp_path / "xlsx", "xlsx"))
    assert ds.cooperatives["dissolved_year"].isna().all()
    assert len(ds.cooperatives) == 3
