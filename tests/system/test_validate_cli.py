"""`klinik validate` as a person runs it: exit 0 with a summary, exit 1 with the full report."""

from __future__ import annotations

import pandas as pd
from console import run_klinik


def test_a_valid_dataset_exits_0_with_a_summary(contract_tables, write_tables, tmp_path):
    folder = write_tables(contract_tables, tmp_path / "data", "csv")
    (folder / "health.csv").unlink()  # not needed to validate (scoring does without it)
    run = run_klinik("validate", folder)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "holds a valid dataset" in run.stdout
    assert "financials" in run.stdout and "6 rows" in run.stdout
    assert "3 cooperatives (1 dissolved), fiscal years 2020-2021" in run.stdout
    assert "no health assessments" in run.stdout
    assert "Traceback" not in run.stderr


def test_an_invalid_dataset_exits_1_with_every_problem(contract_tables, write_tables, tmp_path):
    contract_tables["financials"].loc[12 // 3, "cash"] = -5000
    contract_tables["staffing"].loc[0, "has_manager"] = "mungkin"
    folder = write_tables(contract_tables, tmp_path / "data", "csv")
    run = run_klinik("validate", folder)
    assert run.returncode == 1
    assert "is invalid: 2 problems in 2 tables" in run.stdout
    assert "financials.csv row 6, column cash: must be >= 0 (got -5000)" in run.stdout
    assert "staffing.csv row 2, column has_manager: must be true or false (ya or tidak) (got mungkin)" in run.stdout
    assert "Traceback" not in run.stderr


def test_the_office_language_gives_the_same_report_in_indonesian(contract_tables, write_tables, tmp_path):
    """KLINIK_LANGUAGE=id: the same problems, places and values, in Indonesian words and the template's names."""
    contract_tables["financials"].loc[12 // 3, "cash"] = -5000
    contract_tables["staffing"].loc[0, "has_manager"] = "mungkin"
    folder = write_tables(contract_tables, tmp_path / "data", "csv")
    english, indonesian = run_klinik("validate", folder), run_klinik("validate", folder, KLINIK_LANGUAGE="id")
    assert indonesian.returncode == english.returncode == 1
    assert len(indonesian.stdout.splitlines()) == len(english.stdout.splitlines())  # the same structure
    assert "tidak valid: 2 masalah di 2 tabel" in indonesian.stdout
    assert "Keuangan: 1 masalah" in indonesian.stdout
    assert (
        "financials.csv, baris 6, kolom 'Kas dan bank' (cash): tidak boleh kurang dari 0 (tertulis: -5000)"
        in indonesian.stdout
    )
    assert "staffing.csv, baris 2, kolom 'Ada manajer' (has_manager): harus ya atau tidak" in indonesian.stdout
    contract_tables["financials"].loc[12 // 3, "cash"] = 5000
    contract_tables["staffing"].loc[0, "has_manager"] = "ya"
    valid = run_klinik("validate", write_tables(contract_tables, tmp_path / "ok", "csv"), KLINIK_LANGUAGE="id")
    assert valid.returncode == 0, valid.stdout
    assert "berisi dataset yang valid" in valid.stdout and "3 koperasi (1 dibubarkan), tahun buku 2020-2021" in (
        valid.stdout
    )


def test_a_missing_folder_exits_1_without_a_traceback(tmp_path):
    run = run_klinik("validate", tmp_path / "tidak-ada")
    assert run.returncode == 1 and "does not exist" in run.stdout and "Traceback" not in run.stderr


def test_quarantine_exits_0_and_counts_the_rows(contract_tables, write_tables, tmp_path):
    contract_tables["health"].loc[0, "score"] = 20.0  # SEHAT with a score of 20
    folder = write_tables(contract_tables, tmp_path / "data", "csv")
    out = tmp_path / "karantina.csv"
    run = run_klinik("validate", folder, "--quarantine", out)
    assert run.returncode == 0, run.stdout
    assert "quarantined 1 row(s)" in run.stdout and "health        " in run.stdout
    assert pd.read_csv(out)["rule"].str.startswith("must match the score band").tolist() == [True]
