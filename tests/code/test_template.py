"""`klinik template`: the workbook an office fills in opens in openpyxl with its sheets, headers, comments, Excel
checks and formats, lists the office's cooperatives, and reads back through the loader unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from console import run_klinik
from openpyxl import load_workbook

from klinik.data.contract import OFFICE_TABLES, TABLE, TEMPLATE_INSTRUCTIONS_SHEET
from klinik.data.loader import load_dataset, load_table
from klinik.data.template import MONEY_FORMAT, ROW_IS, write_template
from klinik.data.validation import DatasetInvalid


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("template") / "templat.xlsx")


def _checks(ws) -> dict[str, object]:
    """Column letter -> the data validation covering rows 2 to the last."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        (cells,) = str(dv.sqref).split()
        first, last = cells.split(":")
        assert first[1:] == "2" and last[1:] == "1048576"
        out[first[:-1]] = dv
    return out


def test_one_sheet_per_table_after_the_instructions(template):
    wb = load_workbook(template)
    assert wb.sheetnames == [TEMPLATE_INSTRUCTIONS_SHEET, *(TABLE[t].sheet for t in OFFICE_TABLES)]
    assert set(ROW_IS) == set(OFFICE_TABLES)
    for name in OFFICE_TABLES:
        ws, spec = wb[TABLE[name].sheet], TABLE[name]
        assert [c.value for c in ws[1]] == [c.header for c in spec.columns]
        assert ws.max_row == 1 and ws.freeze_panes == "A2"
        for cell, column in zip(ws[1], spec.columns):
            lines = cell.comment.text.splitlines()
            assert lines[0] == column.name and ("Boleh kosong." if column.optional else "Wajib diisi.") in lines


def test_the_instructions_list_every_column_with_its_contract_name(template):
    rows = list(load_workbook(template)[TEMPLATE_INSTRUCTIONS_SHEET].iter_rows(values_only=True))
    listed = {(r[0], r[1], r[2]) for r in rows if r[2] is not None}
    for name in OFFICE_TABLES:
        spec = TABLE[name]
        assert {(spec.sheet, c.header, c.name) for c in spec.columns} <= listed
    text = " ".join(str(v) for r in rows for v in r if v)
    assert "Rp 570.584.777" in text and "14/09/2024" in text and "klinik validate" in text


def test_excel_checks_where_they_help(template):
    wb = load_workbook(template)
    coops, fin = _checks(wb["Koperasi"]), _checks(wb["Keuangan"])
    assert coops["C"].type == "list" and coops["C"].formula1 == '"KSP,KSU,KUD,KPRI,KONSUMEN,PRODUSEN,PEMASARAN,JASA"'
    assert coops["D"].type == "list" and "Buleleng" in coops["D"].formula1 and coops["D"].errorStyle == "warning"
    assert coops["A"].type == "custom" and "COUNTIF" in coops["A"].formula1  # an ID only once
    assert (coops["E"].type, coops["E"].formula1, coops["E"].formula2) == ("whole", "1900", "YEAR(TODAY())")
    assert "B" not in coops  # a name is free text
    assert fin["A"].type == "list" and "'Koperasi'!$A$2" in fin["A"].formula1  # the IDs listed on Koperasi
    cash, total = fin["C"], fin["E"]
    assert (cash.type, cash.operator, cash.formula1, cash.errorStyle) == (
        "decimal",
        "greaterThanOrEqual",
        "0",
        "warning",
    )
    assert (total.operator, total.formula1) == ("greaterThan", "0")
    assert "tidak boleh kurang dari 0" in cash.prompt
    assert fin["P"].operator == "between"  # equity may be negative
    staffing, meetings = _checks(wb["SDM"]), _checks(wb["Rapat"])
    assert staffing["G"].type == "list" and staffing["G"].formula1 == '"ya,tidak"'
    assert staffing["C"].type == "whole"
    assert meetings["B"].formula1 == '"RAT,RAPAT_PENGURUS,RAPAT_PENGAWAS"' and meetings["D"].type == "date"
    assert _checks(wb["Kesehatan"])["D"].formula2 == "100"


def test_number_formats_for_rupiah_dates_and_identifiers(template):
    wb = load_workbook(template)
    fin, meetings, coops = wb["Keuangan"], wb["Rapat"], wb["Koperasi"]
    assert all(fin.column_dimensions[c].number_format == MONEY_FORMAT for c in "CDEFW")
    assert meetings.column_dimensions["D"].number_format == "dd/mm/yyyy"
    assert coops.column_dimensions["A"].number_format == "@"  # ID 007 stays 007


def test_an_empty_template_lacks_only_rows(template):
    with pytest.raises(DatasetInvalid) as err:
        load_dataset(template.parent, require_health=False)  # as klinik validate and klinik score read it
    assert sorted((p.table, p.sheet, p.rule) for p in err.value.problems) == [
        ("cooperatives", "Koperasi", "has no rows"),
        ("financials", "Keuangan", "has no rows"),
        ("staffing", "SDM", "has no rows"),
    ]


def test_the_command_lists_the_offices_cooperatives(contract_tables, write_tables, tmp_path):
    contract_tables["cooperatives"].loc[0, "coop_id"] = "007"
    contract_tables["financials"]["coop_id"] = contract_tables["financials"]["coop_id"].replace("K001", "007")
    data = write_tables(contract_tables, tmp_path / "data", "csv")
    out = tmp_path / "kantor" / "templat.xlsx"
    run = run_klinik("template", "--out", out, "--coops", data)
    assert run.returncode == 0, run.stderr
    assert "3 cooperatives listed" in run.stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["templat.xlsx"]  # written atomically, nothing left
    pd.testing.assert_frame_equal(load_table(out.parent, "cooperatives"), load_table(data, "cooperatives"))
    assert load_workbook(out)["Koperasi"]["A2"].value == "007"


def test_the_command_refuses_what_it_cannot_do(contract_tables, write_tables, tmp_path):
    run = run_klinik("template", "--out", tmp_path / "templat.csv")
    assert run.returncode == 2 and ".xlsx" in run.stderr
    contract_tables["cooperatives"].loc[1, "coop_type"] = "BANK"
    data = write_tables(contract_tables, tmp_path / "data", "csv")
    run = run_klinik("template", "--out", tmp_path / "templat.xlsx", "--coops", data)
    assert run.returncode == 1 and "coop_type" in run.stderr and "no template written" in run.stderr
    assert not (tmp_path / "templat.xlsx").exists()
