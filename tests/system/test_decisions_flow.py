"""Decisions through the batch job's files, on SQLite and on a real PostgreSQL server: the workbook import and its
errors, the batch job writing the record into the workbook with drop-downs, the decision typed into a workbook
that a new run of the same year would have replaced (it is kept), and next year's report on what followed."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from klinik.serving import records as rec
from klinik.serving.decisions import CHOICES, labels
from klinik.settings import get_settings
from klinik.wording import say

pytestmark = pytest.mark.slow

KLINIK = str(Path(sys.executable).with_name("klinik"))
OFFICER, PASSWORD = "ketut", "kopi-tubruk-pagi"
SHEET_OF = {"JANGKAU": "Jangkau", "BINA": "Bina", "PANTAU_KETAT": "Pantau Ketat"}


@pytest.fixture(scope="module")
def outputs(trained_registry, world_dir, tmp_path_factory):
    """Batch outputs for 2023 and 2024, scored once with an empty record; tests copy them."""
    from klinik.serving.cmd import run_score

    base = tmp_path_factory.mktemp("outputs")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", trained_registry.tracking_uri)
    mp.setenv("KLINIK_DATABASE_URL", f"sqlite:///{base / 'empty.db'}")
    for year in (2023, 2024):
        assert run_score(world_dir, year, base / str(year), quiet=True) == 0
    mp.undo()
    return base


@pytest.fixture
def record(database_url, trained_registry, monkeypatch):
    """The record named by KLINIK_DATABASE_URL for this test (in-process and child processes), with one officer."""
    monkeypatch.setenv("KLINIK_DATABASE_URL", database_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained_registry.tracking_uri)
    records = rec.open_records(get_settings())
    records.add_user(OFFICER, "petugas", PASSWORD)
    yield records
    records.close()


def copy_output(outputs: Path, year: int, to: Path) -> Path:
    shutil.copytree(outputs / str(year), to)
    return to


def workbook(folder: Path) -> Path:
    [path] = folder.glob("klinik-koperasi-*.xlsx")
    return path


def scores_of(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "scores.parquet")


def first_of(folder: Path, action: str, n: int = 1) -> list[str]:
    s = scores_of(folder)
    ids = s.loc[s["action"] == action, "coop_id"].astype(str).tolist()
    assert len(ids) >= n, f"the simulated world has fewer than {n} {action} in {folder.name}"
    return ids[:n]


def type_into(path: Path, entries: list[tuple[str, str, str | None, str | None]]) -> dict[str, int]:
    """Type (sheet, coop_id, decision, note) into the workbook as an officer would; returns coop_id -> row."""
    wb = load_workbook(path)
    rows = {}
    for sheet, coop_id, decision, note in entries:
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        col_id, col_decision, col_note = (header.index(h) + 1 for h in ("ID koperasi", "Keputusan petugas", "Catatan"))
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col_id).value == coop_id)
        ws.cell(row, col_decision).value = decision
        ws.cell(row, col_note).value = note
        rows[coop_id] = row
    wb.save(path)
    return rows


def decision_cells(path: Path, sheet: str) -> dict[str, tuple]:
    """coop_id -> (decision, note) as the workbook shows them."""
    ws = load_workbook(path, read_only=True)[sheet]
    rows = ws.iter_rows(values_only=True)
    header = list(next(rows))
    i, d, n = (header.index(h) for h in ("ID koperasi", "Keputusan petugas", "Catatan"))
    rows = [r + (None,) * (len(header) - len(r)) for r in rows]  # a row ends at its last value
    return {r[i]: (r[d], r[n]) for r in rows if r[i]}


def klinik(*args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([KLINIK, *args], env=dict(os.environ), capture_output=True, text=True, timeout=600)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------- the import
def test_import_records_the_typed_decisions_once_and_all_or_none(record, outputs, tmp_path):
    folder = copy_output(outputs, 2023, tmp_path / "2023")
    path = workbook(folder)
    [reach] = first_of(folder, "JANGKAU")
    [treat] = first_of(folder, "BINA")
    type_into(path, [("Jangkau", reach, "Dijangkau", None), ("Bina", treat, "dirujuk ke klinik lain", "ke SDM")])

    done = klinik("decisions", "import", str(path), "--officer", OFFICER)
    assert done.returncode == 0, done.stderr
    assert "2 decision(s) recorded, 0 already in the record (fiscal year 2023)" in done.stdout
    entries = record.latest_decisions(2023)
    assert {c: (d.decision, d.note, d.source, d.officer) for c, d in entries.items()} == {
        reach: ("DIJANGKAU", None, "import", OFFICER),
        treat: ("DIRUJUK", "ke SDM", "import", OFFICER),
    }
    # the advice it answers comes from the batch output, with the hash of its manifest
    row = scores_of(folder).set_index("coop_id").loc[reach]
    d = entries[reach]
    assert (d.action, d.p_sick_next, d.clinic, d.model_version) == (
        "JANGKAU",
        pytest.approx(row["p_sick_next"]),
        row["clinic"],
        row["model_version"],
    )
    assert d.manifest_sha256 == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    # again: nothing new
    done = klinik("decisions", "import", str(path), "--officer", OFFICER)
    assert done.returncode == 0 and "0 decision(s) recorded, 2 already in the record" in done.stdout

    # a change and a bad entry: the whole import is refused, naming sheet, row and value
    rows = type_into(path, [("Jangkau", reach, "tidak perlu", "sudah sehat"), ("Bina", treat, "dibubarkan", None)])
    done = klinik("decisions", "import", str(path), "--officer", OFFICER)
    assert done.returncode == 1
    assert f"sheet 'Bina', row {rows[treat]}: 'dibubarkan' is not a decision on BINA" in done.stderr
    assert "choose one of: " + " / ".join(labels("BINA")) in done.stderr
    assert "Nothing was imported" in done.stderr
    assert [e.version for e in record.decisions_for(reach, 2023)] == [1]  # the good change waited too


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_import_errors_name_sheet_row_and_value(record, outputs, tmp_path):
    folder = copy_output(outputs, 2023, tmp_path / "2023")
    path = workbook(folder)
    reach, second = first_of(folder, "JANGKAU", 2)
    [treat] = first_of(folder, "BINA")

    done = klinik("decisions", "import", str(path), "--officer", "nobody")
    assert done.returncode == 1 and "no active staff account named 'nobody'" in done.stderr

    rows = type_into(
        path,
        [
            ("Jangkau", reach, "tidak perlu", None),  # needs its reason
            ("Jangkau", second, None, "dijangkau minggu depan"),  # a note, no decision
            ("Bina", treat, "dijangkau", None),  # JANGKAU's list, not BINA's
        ],
    )
    done = klinik("decisions", "import", str(path), "--officer", OFFICER)
    assert done.returncode == 1, done.stdout
    assert f"sheet 'Jangkau', row {rows[reach]}: 'tidak perlu' on JANGKAU needs a note" in done.stderr
    assert f"sheet 'Jangkau', row {rows[second]}: a note without a decision" in done.stderr
    assert f"sheet 'Bina', row {rows[treat]}: 'dijangkau' is not a decision on BINA" in done.stderr
    assert "3 problem(s)" in done.stderr

    # a workbook away from its batch output needs --scores, and the right year's
    type_into(
        path, [("Jangkau", reach, "dijangkau", None), ("Jangkau", second, None, None), ("Bina", treat, None, None)]
    )
    moved = tmp_path / "mail" / path.name
    moved.parent.mkdir()
    shutil.copy(path, moved)
    done = klinik("decisions", "import", str(moved), "--officer", OFFICER)
    assert done.returncode == 1 and "no scores.parquet" in done.stderr and "batch output" in done.stderr
    done = klinik("decisions", "import", str(moved), "--officer", OFFICER, "--scores", str(outputs / "2024"))
    assert done.returncode == 1 and "is for 2023, but the batch output" in done.stderr
    assert record.history() == []
    done = klinik("decisions", "import", str(moved), "--officer", OFFICER, "--scores", str(folder))
    assert done.returncode == 0 and "1 decision(s) recorded" in done.stdout, done.stderr

    # not a workbook at all
    bad = tmp_path / "klinik-koperasi-2023.xlsx"
    bad.write_text("not a workbook")
    done = klinik("decisions", "import", str(bad), "--officer", OFFICER, "--scores", str(folder))
    assert done.returncode == 1 and "cannot read" in done.stderr


# ---------------------------------------------------------------- the batch job
def test_a_decision_typed_in_the_workbook_survives_a_new_run_of_the_same_year(record, outputs, world_dir, tmp_path):
    """A decision and a note typed into the 2023 workbook, then ``klinik score --as-of 2023`` into the same folder:
    the run stops and says how to keep them; with --officer they are recorded and written into the new workbook."""
    folder = copy_output(outputs, 2023, tmp_path / "scores" / "2023")
    path = workbook(folder)
    [reach] = first_of(folder, "JANGKAU")
    rows = type_into(path, [("Jangkau", reach, "dijadwalkan", "kunjungan 14 Maret")])
    before = digest(folder)

    args = ["score", "--data", str(world_dir), "--as-of", "2023", "--out", str(folder), "--quiet"]
    done = klinik(*args)
    assert done.returncode == 1, done.stderr
    assert f"sheet 'Jangkau', row {rows[reach]}: {reach} 'dijadwalkan'" in done.stderr
    assert f"klinik decisions import {path} --officer NAME" in done.stderr and "--officer NAME" in done.stderr
    assert digest(folder) == before  # nothing replaced: the typed decision is still there
    assert record.history() == []

    done = klinik(*args, "--officer", OFFICER)
    assert done.returncode == 0, done.stderr
    [entry] = record.history()
    assert (entry.coop_id, entry.decision, entry.note, entry.source) == (
        reach,
        "DIJADWALKAN",
        "kunjungan 14 Maret",
        "batch",
    )
    assert decision_cells(path, "Jangkau")[reach] == ("dijadwalkan", "kunjungan 14 Maret")
    # the next run finds everything in the record: no stop, no new entry
    assert klinik(*args).returncode == 0
    assert len(record.history()) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_old_workbook_does_not_undo_a_newer_decision(record, outputs, world_dir, tmp_path):
    """The workbook shows the decision it was written with; the officer changes it on the page since. Neither a
    new run into that folder nor an import of that workbook brings the old decision back."""
    from klinik.serving.cmd import run_score
    from klinik.serving.decisions_io import advice_book

    advice = advice_book(outputs / "2023").advice
    [reach] = first_of(outputs / "2023", "JANGKAU")
    record.record_decision(rec.NewDecision(advice[reach], "dijadwalkan", None, OFFICER), "web")
    folder = tmp_path / "2023"
    assert run_score(world_dir, 2023, folder, quiet=True) == 0
    assert decision_cells(workbook(folder), "Jangkau")[reach] == ("dijadwalkan", None)
    old = shutil.copy(workbook(folder), tmp_path / "old.xlsx")
    newer, _ = record.record_decision(rec.NewDecision(advice[reach], "dijangkau", "14 Maret", OFFICER), "web")

    done = klinik("decisions", "import", str(old), "--officer", OFFICER, "--scores", str(folder))
    assert done.returncode == 0, done.stderr
    assert "0 decision(s) recorded, 0 already in the record, 1 left as the record holds a newer decision" in done.stdout
    assert run_score(world_dir, 2023, folder, quiet=True) == 0  # no stop: nothing typed since
    assert record.latest_decisions(2023) == {reach: newer}
    assert decision_cells(workbook(folder), "Jangkau")[reach] == ("dijangkau", "14 Maret")


def test_the_workbook_carries_the_record_and_a_dropdown_on_every_decision_cell(record, outputs, world_dir, tmp_path):
    from klinik.serving.cmd import run_score
    from klinik.serving.decisions_io import advice_book

    book = advice_book(outputs / "2024")
    decided = {}
    for action, sheet in SHEET_OF.items():
        ids = [c for c, a in book.advice.items() if a.action == action][:2]
        for coop_id, choice in zip(ids, CHOICES[action]):
            note = f"catatan {coop_id}" if choice.needs_note else None
            record.record_decision(rec.NewDecision(book.advice[coop_id], choice.code, note, OFFICER), "web")
            decided[coop_id] = (sheet, choice.label, note)
    assert decided

    out = tmp_path / "2024"
    assert run_score(world_dir, 2024, out, quiet=True) == 0
    wb = load_workbook(workbook(out))
    for sheet, action in (
        *((s, a) for a, s in SHEET_OF.items()),
        ("Berikutnya", "PANTAU"),  # the next to call: decisions on PANTAU advice
        ("Pertimbangan Pembubaran", "PERTIMBANGKAN_PEMBUBARAN"),
    ):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        column = header.index("Keputusan petugas") + 1
        cells = decision_cells(workbook(out), sheet)
        for coop_id, (where, label, note) in decided.items():
            if where == sheet:
                assert cells[coop_id] == (label, note)
        if ws.max_row < 2 or ws["A2"].value == say("sheet.empty"):  # an empty list says so, and asks nothing
            continue
        [dv] = ws.data_validations.dataValidation
        assert dv.type == "list" and dv.formula1 == '"' + ",".join(labels(action)) + '"'
        covered = {cell for cells in dv.sqref.ranges for cell in cells.cells}
        assert covered == {(row, column) for row in range(2, ws.max_row + 1)}  # every decision cell, empty or not


def test_next_years_report_shows_last_years_decisions_and_what_followed(record, outputs, world_dir, tmp_path):
    from klinik.data.contract import STATUS_SAKIT
    from klinik.serving.cmd import run_score
    from klinik.serving.decisions_io import advice_book

    book = advice_book(outputs / "2023")
    jangkau = [a for a in book.advice.values() if a.action == "JANGKAU"]
    reached, not_needed = jangkau[: len(jangkau) // 2 + 1], jangkau[len(jangkau) // 2 + 1 :]
    record.record_decisions(
        [rec.NewDecision(a, "dijangkau", None, OFFICER) for a in reached]
        + [rec.NewDecision(a, "tidak perlu", "sudah dibina dinas lain", OFFICER) for a in not_needed],
        "import",
    )
    out = tmp_path / "2024"
    assert run_score(world_dir, 2024, out, quiet=True) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    status = scores_of(out).set_index("coop_id")["status"]
    sick = sum(status.get(a.coop_id) == STATUS_SAKIT for a in reached)
    assert "Keputusan tahun lalu dan hasilnya" in page
    assert f"Dari {len(reached)} koperasi Jangkau sekarang yang dijangkau, {sick} sakit pada 2024" in page
    assert "Bukan bukti sebab-akibat" in page


# ---------------------------------------------------------------- the JSON API
def test_the_json_api_records_and_lists_decisions(record, database_url, outputs, trained_registry, tmp_path):
    import httpx
    from service_helpers import API_KEY, running_server

    work = tmp_path / "work"
    copy_output(outputs, 2024, work / "scores" / "latest")
    copy_output(outputs, 2023, work / "scores" / "2023")
    book = scores_of(work / "scores" / "latest")
    reach = str(book.loc[book["action"] == "JANGKAU", "coop_id"].iloc[0])
    treat = str(book.loc[book["action"] == "BINA", "coop_id"].iloc[0])
    [earlier] = first_of(work / "scores" / "2023", "JANGKAU")

    with (
        running_server(trained_registry, tmp_path, KLINIK_API_KEY=API_KEY, KLINIK_DATABASE_URL=database_url) as srv,
        httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as http,
    ):
        first = {"coop_id": reach, "decision": "dijadwalkan", "officer": OFFICER}
        answer = http.post("/decisions", json=first)
        assert answer.status_code == 201, answer.text
        entry = answer.json()["decision"]
        assert (entry["as_of_year"], entry["action"], entry["decision"], entry["label"], entry["version"]) == (
            2024,
            "JANGKAU",
            "DIJADWALKAN",
            "dijadwalkan",
            1,
        )
        assert entry["source"] == "api" and entry["manifest_sha256"]
        assert http.post("/decisions", json=first).status_code == 200  # the same again: no second entry
        changed = {**first, "decision": "DIJANGKAU", "note": "kunjungan 14 Maret"}
        assert http.post("/decisions", json=changed).json()["decision"]["version"] == 2
        older = {"coop_id": earlier, "as_of_year": 2023, "decision": "tidak perlu", "note": "x", "officer": OFFICER}
        assert http.post("/decisions", json=older).status_code == 201

        listed = http.get("/decisions", params={"coop_id": reach}).json()
        assert [d["decision"] for d in listed["decisions"]] == ["DIJADWALKAN", "DIJANGKAU"]
        assert listed["in_force"]["2024"]["note"] == "kunjungan 14 Maret"
        assert http.get("/decisions", params={"coop_id": "KOP-none"}).json()["decisions"] == []

        def refused(body: dict | None = None, params: dict | None = None, method: str = "POST") -> tuple[str, str]:
            r = http.request(method, "/decisions", json=body, params=params)
            assert r.status_code == 400, r.text
            [problem] = r.json()["detail"]
            return problem["field"], problem["msg"]

        field, msg = refused({"coop_id": treat, "decision": "dijangkau", "officer": OFFICER})
        assert field == "decision" and "is not a decision on BINA" in msg and "dibina" in msg
        field, msg = refused({"coop_id": treat, "decision": "tidak perlu", "officer": OFFICER})
        assert field == "note" and "needs a note" in msg
        assert refused({"coop_id": "KOP-none", "decision": "dibina", "officer": OFFICER})[0] == "coop_id"
        assert refused({"coop_id": treat, "decision": "dibina", "officer": "nobody"})[0] == "officer"
        assert refused({"coop_id": treat, "decision": "dibina", "officer": OFFICER, "as_of_year": 2019})[0] == (
            "as_of_year"
        )
        assert refused({"coop_id": treat, "officer": OFFICER})[0] == "decision"
        assert refused({**first, "approved": True})[0] == "approved"
        assert refused(method="GET")[0] == "coop_id"
        assert refused(params={"coop_id": reach, "as_of_year": "tahun lalu"}, method="GET")[0] == "as_of_year"
        # the API key guards both
        with httpx.Client(base_url=srv.url, timeout=30) as anonymous:
            assert anonymous.get("/decisions", params={"coop_id": reach}).status_code == 401
            assert anonymous.post("/decisions", json=first).status_code == 401
        # the other routes still answer
        assert http.get("/model").status_code == 200
        log = srv.log.read_text()
    assert OFFICER not in log and "kunjungan" not in log  # no names of people, no notes in the server's log
    assert [d.version for d in record.decisions_for(reach, 2024)] == [1, 2]
