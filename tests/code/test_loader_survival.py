"""Whatever a person puts in a dataset folder ends in a clear problem naming the file, never a traceback."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from klinik.data.loader import load_dataset
from klinik.data.validation import DATASET, DatasetInvalid


def _refused(folder, **kwargs) -> list:
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(folder, **kwargs)
    assert err.value.report()  # the report renders for every kind of problem
    return err.value.problems


def _only(problems, table=None):
    found = [p for p in problems if table is None or p.table == table]
    assert len(found) == 1, "\n".join(map(str, problems))
    return found[0]


@pytest.fixture
def folder(contract_tables, write_tables, tmp_path):
    return write_tables(contract_tables, tmp_path / "data", "csv")


def test_a_folder_that_does_not_exist(tmp_path):
    p = _only(_refused(tmp_path / "nowhere"))
    assert p.table == DATASET and "does not exist" in p.rule and "nowhere" in p.file


def test_a_file_instead_of_a_folder(folder):
    p = _only(_refused(folder / "financials.csv"))
    assert "not a dataset folder" in p.rule


def test_a_missing_table_names_what_was_expected_and_found(folder):
    (folder / "staffing.csv").unlink()
    p = _only(_refused(folder))
    assert p.table == "staffing" and "staffing.csv or staffing.parquet" in p.rule and "financials.csv" in p.rule


def test_an_empty_file(folder):
    (folder / "financials.csv").write_bytes(b"")
    p = _only(_refused(folder))
    assert (p.table, p.file) == ("financials", "financials.csv") and "empty (0 bytes)" in p.rule


@pytest.mark.parametrize("table", ["meetings", "clinic_cases"])
def test_a_header_only_table_of_events_is_valid_and_empty(folder, contract_tables, table):
    pd.DataFrame(columns=contract_tables[table].columns).to_csv(folder / f"{table}.csv", index=False)
    ds = load_dataset(folder)
    assert len(getattr(ds, table)) == 0
    if table == "meetings":
        assert str(ds.meetings["held_on"].dtype) == "datetime64[ns]"


def test_a_header_only_cooperatives_table_is_refused(folder, contract_tables):
    pd.DataFrame(columns=contract_tables["cooperatives"].columns).to_csv(folder / "cooperatives.csv", index=False)
    problems = _refused(folder)
    assert any(p.table == "cooperatives" and p.rule == "has no rows" for p in problems)


def test_a_missing_column_and_an_extra_one(folder, contract_tables):
    fin = contract_tables["financials"].drop(columns=["cash"]).assign(catatan="audit")
    fin.to_csv(folder / "financials.csv", index=False)
    p = _only(_refused(folder))
    assert (p.table, p.row, p.column) == ("financials", None, "cash") and "required column is missing" in p.rule


def test_extra_columns_are_ignored_with_a_warning(folder, contract_tables):
    contract_tables["cooperatives"].assign(alamat="Jl. Ahmad Yani").to_csv(folder / "cooperatives.csv", index=False)
    (folder / "README.txt").write_text("export dari Dinas")
    ds = load_dataset(folder)
    assert "alamat" not in ds.cooperatives.columns
    assert any("alamat" in w for w in ds.warnings) and any("README.txt" in w for w in ds.warnings)


def test_trailing_commas_of_a_spreadsheet_export(folder):
    lines = (folder / "health.csv").read_text().splitlines()
    lines = [line + ",," for line in lines]
    lines[2] = lines[2][:-1] + "catatan,"  # a note in a column without a header
    (folder / "health.csv").write_text("\n".join(lines) + "\n")
    ds = load_dataset(folder)
    assert len(ds.health) == 3
    assert ds.warnings == ["health.csv: health has columns outside the data contract, ignored: (no header, column E)"]


def test_binary_junk_named_csv(folder):
    (folder / "health.csv").write_bytes(bytes(range(256)) * 40)
    p = _only(_refused(folder))
    assert p.file == "health.csv" and "binary file" in p.rule


def test_an_html_page_named_csv(folder):
    (folder / "meetings.csv").write_text("<!DOCTYPE html>\n<html><body>Login required</body></html>\n")
    p = _only(_refused(folder))
    assert p.file == "meetings.csv" and "HTML" in p.rule


def test_an_excel_workbook_named_csv(folder, contract_tables, write_tables, tmp_path):
    book = write_tables({"financials": contract_tables["financials"]}, tmp_path / "book", "xlsx")
    shutil.copy(book / "dataset.xlsx", folder / "financials.csv")
    p = _only(_refused(folder))
    assert "Excel workbook" in p.rule


def test_a_non_utf8_file_says_where(folder, contract_tables):
    contract_tables["cooperatives"].loc[2, "name"] = "Koperasi Tani Sejahtera Café"
    contract_tables["cooperatives"].to_csv(folder / "cooperatives.csv", index=False, encoding="latin-1")
    p = _only(_refused(folder))
    assert p.file == "cooperatives.csv" and "not UTF-8" in p.rule and p.row == 4 and "0xe9" in p.rule


def test_a_utf8_file_with_byte_order_mark_reads(folder, contract_tables):
    contract_tables["cooperatives"].to_csv(folder / "cooperatives.csv", index=False, encoding="utf-8-sig")
    assert load_dataset(folder).cooperatives["coop_id"].iloc[0] == "K001"


def test_semicolon_separated_file(folder, contract_tables):
    contract_tables["staffing"].to_csv(folder / "staffing.csv", index=False, sep=";")
    p = _only(_refused(folder))
    assert "semicolons" in p.rule and p.row == 1


def test_a_row_with_too_many_cells(folder):
    lines = (folder / "cooperatives.csv").read_text().splitlines()
    lines[2] = lines[2] + ",Jl. Raya, Seririt"
    (folder / "cooperatives.csv").write_text("\n".join(lines) + "\n")
    p = _only(_refused(folder))
    assert (p.file, p.row) == ("cooperatives.csv", 3) and "cells in a row" in p.rule


def test_a_duplicated_header(folder):
    text = (folder / "health.csv").read_text().splitlines()
    text = [line + ",x" for line in text]
    text[0] = text[0][:-2] + ",score"
    (folder / "health.csv").write_text("\n".join(text) + "\n")
    p = _only(_refused(folder))
    assert "more than once: score" in p.rule


def test_blank_lines_keep_row_numbers(folder):
    lines = (folder / "financials.csv").read_text().splitlines()
    lines.insert(3, "")  # a blank line 4
    lines[5] = lines[5].replace("K002,2021,1000.0", "K002,2021,-1.0")  # file line 6: coop K002, 2021
    (folder / "financials.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(folder)
    p = _only(err.value.problems)
    assert (p.row, p.column, p.value) == (6, "cash", "-1")


def test_blank_lines_are_ignored_with_a_warning(folder):
    lines = (folder / "financials.csv").read_text().splitlines()
    lines.insert(3, ",,,,")
    (folder / "financials.csv").write_text("\n".join(lines) + "\n\n\n")
    ds = load_dataset(folder)
    assert len(ds.financials) == 6 and any("1 blank row(s) in financials ignored (row 4)" in w for w in ds.warnings)


def test_text_in_a_money_column_and_words_for_missing(folder, contract_tables):
    contract_tables["financials"].loc[0, "cash"] = "1,000,000"  # English grouping: not a form the contract reads
    contract_tables["financials"].loc[1, "cash"] = "NA"
    contract_tables["financials"].loc[2, "cash"] = "nan"
    contract_tables["financials"].to_csv(folder / "financials.csv", index=False)
    problems = _refused(folder)
    assert [(p.row, p.rule.split(" (")[0], p.value) for p in problems] == [
        (2, "must be a number", "1,000,000"),
        (3, "must be a number", "NA"),
        (4, "must be a number", "nan"),
    ]


def test_duplicated_keys(folder, contract_tables):
    fin = contract_tables["financials"]
    pd.concat([fin, fin.iloc[[0]]]).to_csv(folder / "financials.csv", index=False)
    problems = _refused(folder)
    assert sorted(p.row for p in problems) == [2, 8]
    assert all(p.column == "coop_id, year" and p.value == "K001, 2020" for p in problems)


def test_dates_in_the_wrong_format(folder, contract_tables):
    contract_tables["clinic_cases"].loc[0, "opened_on"] = "2022/01/10"
    contract_tables["clinic_cases"].loc[1, "opened_on"] = "2021-06-01 08:30"
    contract_tables["clinic_cases"].to_csv(folder / "clinic_cases.csv", index=False)
    problems = _refused(folder)
    assert [(p.row, p.column, p.value) for p in problems] == [
        (2, "opened_on", "2022/01/10"),
        (3, "opened_on", "2021-06-01 08:30"),
    ]


def test_two_formats_of_the_same_table_are_ambiguous(folder, contract_tables):
    contract_tables["health"].infer_objects().to_parquet(folder / "health.parquet")
    p = _only(_refused(folder))
    assert p.table == "health" and "more than once" in p.rule and "health.parquet" in p.rule


def test_a_damaged_parquet_file(folder):
    (folder / "truth.parquet").write_bytes(b"PAR1" + b"\x00" * 100)
    p = _only(_refused(folder))
    assert p.file == "truth.parquet" and "cannot be read as Parquet" in p.rule


def test_a_csv_renamed_parquet(folder):
    shutil.copy(folder / "health.csv", folder / "truth.parquet")
    p = _only(_refused(folder))
    assert "is not a Parquet file" in p.rule


def test_a_wrong_sheet_name_says_what_was_found_and_expected(contract_tables, write_tables, tmp_path):
    book = write_tables(contract_tables, tmp_path / "xlsx", "xlsx") / "dataset.xlsx"
    from openpyxl import load_workbook

    wb = load_workbook(book)
    wb["financials"].title = "Keuangan 2021"
    wb.save(book)
    problems = _refused(book.parent)
    p = _only(problems, "financials")
    assert "no sheet named 'financials' in dataset.xlsx" in p.rule and "Keuangan 2021" in p.rule
    assert "expected: cooperatives, financials, staffing, meetings, health" in p.rule


def test_two_workbooks_are_ambiguous(contract_tables, write_tables, tmp_path):
    folder = write_tables(contract_tables, tmp_path / "xlsx", "xlsx")
    shutil.copy(folder / "dataset.xlsx", folder / "salinan.xlsx")
    p = _only(_refused(folder))
    assert p.table == DATASET and "more than one Excel workbook" in p.rule


def test_junk_named_xlsx(folder):
    (folder / "data.xlsx").write_text("coop_id,name\n")
    problems = _refused(folder)
    assert any(p.file == "data.xlsx" and "not an Excel .xlsx workbook" in p.rule for p in problems)


def test_health_may_be_missing_for_scoring(folder):
    (folder / "health.csv").unlink()
    assert len(load_dataset(folder, require_health=False).health) == 0
    assert _only(_refused(folder)).table == "health"


def test_reading_beside_checking_finds_what_reading_then_checking_finds(tmp_path):
    """load_dataset checks each table while the next file is read; it must report exactly the problems and
    warnings of reading every file first and checking after, in the same order, even with unreadable files."""
    from klinik.data.io import write_dataset
    from klinik.data.loader import read_tables
    from klinik.data.simulator import simulate
    from klinik.data.validation import check_tables

    folder = tmp_path / "dirty"
    write_dataset(simulate(n_coops=200, years=(2019, 2023), seed=5, dirty=True), folder, fmt="csv")
    (folder / "clinic_cases.csv").write_bytes(bytes(range(256)) * 40)  # unreadable, read before the others
    (folder / "staffing.csv").write_text("<html><body>not a table</body></html>")
    (folder / "notes.txt").write_text("ignored")
    frames, files, problems, warnings = read_tables(folder)
    with pytest.raises(DatasetInvalid) as first:
        check_tables(
            frames,
            files,
            source=str(folder),
            require_health=True,
            quarantine=None,
            problems=problems,
            warnings=warnings,
        )
    with pytest.raises(DatasetInvalid) as second:
        load_dataset(folder)
    assert len(first.value.problems) >= 10
    assert {p.table for p in first.value.problems} >= {"clinic_cases", "staffing", "financials"}
    assert second.value.problems == first.value.problems
    assert second.value.report() == first.value.report()
