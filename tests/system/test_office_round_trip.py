"""The office's path end to end: `klinik template` with the office's cooperatives, the workbook filled in the way an
office writes (Indonesian headers and sheets, Rp amounts, day-first dates, ya/tidak), `klinik validate` in
Indonesian, `klinik score`: the same Scores table as the same data in contract CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from console import run_klinik
from office_formats import fill_template

from klinik.data.contract import OFFICE_TABLES
from klinik.data.io import write_dataset
from klinik.data.loader import load_dataset
from klinik.data.simulator import simulate

pytestmark = pytest.mark.slow

AS_OF = 2024


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """A small world of its own, with cents where an office's books have them."""
    tables = simulate(n_coops=40, years=(2018, AS_OF), seed=11)
    fin = tables["financials"]
    fin.loc[fin.index[::3], "other_revenue"] += 0.5
    fin.loc[fin.index[1::4], "loan_loss_reserve"] += 0.25
    return tables


@pytest.fixture(scope="module")
def folders(world, tmp_path_factory) -> tuple[Path, Path]:
    """The world as contract CSV, and as the office's filled template (nothing else in its folder)."""
    root = tmp_path_factory.mktemp("round-trip")
    csv = write_dataset(world, root / "csv", fmt="csv")
    book = root / "kantor" / "data-koperasi.xlsx"
    made = run_klinik("template", "--out", book, "--coops", csv)
    assert made.returncode == 0, made.stderr
    fill_template(book, {name: world[name] for name in OFFICE_TABLES if name != "cooperatives"})
    return csv, book.parent


def test_the_filled_template_validates_in_indonesian(folders):
    csv, office = folders
    english, indonesian = run_klinik("validate", csv), run_klinik("validate", office, KLINIK_LANGUAGE="id")
    assert english.returncode == 0, english.stdout
    assert indonesian.returncode == 0, indonesian.stdout
    assert "berisi dataset yang valid" in indonesian.stdout and "40 koperasi" in indonesian.stdout
    assert "Peringatan" not in indonesian.stdout  # no sheet or column left unread


def test_the_filled_template_loads_to_the_same_typed_tables(folders, world):
    csv, office = folders
    book = next(office.glob("*.xlsx"))
    from openpyxl import load_workbook

    sheet = load_workbook(book)["Keuangan"]
    cells = [sheet.cell(row=row, column=3).value for row in (2, 3, 4)]
    assert all(isinstance(v, str) and "." in v for v in cells)  # written the office's way, not as the contract's
    expected, got = load_dataset(csv), load_dataset(office)
    for name in OFFICE_TABLES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), obj=name)
    assert (expected.financials["other_revenue"] % 1 == 0.5).any()


def test_the_filled_template_scores_like_the_contract_csv(folders, trained_registry, tmp_path, monkeypatch):
    from klinik.serving.cmd import run_score

    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained_registry.tracking_uri)
    csv, office = folders
    assert run_score(csv, AS_OF, tmp_path / "csv", quiet=True) == 0
    monkeypatch.setenv("KLINIK_LANGUAGE", "id")
    assert run_score(office, AS_OF, tmp_path / "kantor", quiet=True) == 0
    scores = [pd.read_csv(tmp_path / run / "scores.csv", dtype={"coop_id": str}) for run in ("csv", "kantor")]
    assert len(scores[0]) > 30
    pd.testing.assert_frame_equal(scores[1], scores[0])
    assert (tmp_path / "kantor" / "scores.csv").read_bytes() == (tmp_path / "csv" / "scores.csv").read_bytes()


def test_the_batch_job_refuses_a_broken_template_in_indonesian(folders, trained_registry, tmp_path):
    _, office = folders
    broken = tmp_path / "rusak"
    broken.mkdir()
    book = broken / "data-koperasi.xlsx"
    book.write_bytes(next(office.glob("*.xlsx")).read_bytes())
    from openpyxl import load_workbook

    wb = load_workbook(book)
    wb["Keuangan"]["C5"] = "Rp 3,1 jt"
    wb.save(book)
    run = run_klinik(
        "score", "--data", broken, "--as-of", AS_OF, "--out", tmp_path / "hasil", "--quiet",
        KLINIK_LANGUAGE="id", MLFLOW_TRACKING_URI=trained_registry.tracking_uri,
    )  # fmt: skip
    assert run.returncode == 1
    assert "data-koperasi.xlsx, lembar 'Keuangan', baris 5, kolom 'Kas dan bank' (cash): harus berupa jumlah" in (
        run.stderr
    )
    assert "tidak lolos pemeriksaan; tidak ada yang dinilai" in run.stderr
    assert not (tmp_path / "hasil").exists()
