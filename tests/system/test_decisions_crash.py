"""kill -9 during an import or a batch run loses no recorded decision, on SQLite and on a real PostgreSQL server.

The import is killed inside its transaction (SQLite: while its rollback journal exists; PostgreSQL: while one of
its inserts waits on a row another session holds): afterwards the record holds all of the import or none of it,
and everything recorded before. The batch run is killed after it recorded the decisions typed into the workbook
it would replace: they are in the record, and the old workbook is still whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from klinik.serving import records as rec
from klinik.settings import get_settings

pytestmark = pytest.mark.slow

KLINIK = str(Path(sys.executable).with_name("klinik"))
OFFICER = "ketut"
YEAR = 2023
N_COOPS = 20_000  # enough rows that the import's transaction lasts long enough to be caught in it


@pytest.fixture
def record(database_url, monkeypatch):
    monkeypatch.setenv("KLINIK_DATABASE_URL", database_url)
    records = rec.open_records(get_settings())
    records.add_user(OFFICER, "petugas", "kopi-tubruk-pagi")
    yield records
    records.close()


def big_output(folder: Path) -> list[str]:
    """A batch output folder of N_COOPS cooperatives on the outreach list, every one decided in its workbook."""
    from openpyxl import Workbook

    folder.mkdir(parents=True)
    ids = [f"KOP-{i:06d}" for i in range(N_COOPS)]
    pd.DataFrame(
        {
            "coop_id": ids,
            "as_of_year": YEAR,
            "status": "SEHAT_NOW",
            "p_sick_next": 0.4,
            "p_recover": float("nan"),
            "clinic": "KEUANGAN",
            "reasons": "",
            "action": "JANGKAU",
            "rank": range(1, N_COOPS + 1),
            "model_version": "koperasi-risk/1,koperasi-recovery/1",
        }
    ).to_parquet(folder / "scores.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps({"as_of_year": YEAR}))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Jangkau")
    ws.append(["ID koperasi", "Keputusan petugas", "Catatan"])
    for coop_id in ids:
        ws.append([coop_id, "dijangkau", None])
    wb.save(folder / f"klinik-koperasi-{YEAR}.xlsx")
    return ids


def start_import(folder: Path) -> subprocess.Popen:
    workbook = folder / f"klinik-koperasi-{YEAR}.xlsx"
    return subprocess.Popen(
        [KLINIK, "decisions", "import", str(workbook), "--officer", OFFICER],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(what: str, ready, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"the import ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        time.sleep(0.0005)


def counts(records: rec.Records) -> int:
    with records.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(rec.decisions)).scalar_one()


def test_a_killed_import_records_all_of_it_or_none(record, database_url, tmp_path):
    ids = big_output(tmp_path / "out")
    from klinik.serving.decisions_io import advice_book

    before, _ = record.record_decision(
        rec.NewDecision(advice_book(tmp_path / "out").advice[ids[0]], "dijadwalkan", None, OFFICER), "web"
    )
    proc = start_import(tmp_path / "out")
    holder = None
    try:
        if database_url.startswith("sqlite"):
            journal = Path(sa.make_url(database_url).database + "-journal")
            wait_until("its transaction wrote", journal.exists, proc)  # the rollback journal: a write is open
        else:
            # hold the last cooperative's first entry in an open transaction: the import's insert waits on it
            holder = record.engine.connect()
            holder.begin()
            holder.execute(
                rec.decisions.insert().values(
                    coop_id=ids[-1],
                    as_of_year=YEAR,
                    version=1,
                    action="JANGKAU",
                    model_version="m",
                    decision="DIJANGKAU",
                    officer=OFFICER,
                    source="web",
                    recorded_at=rec.utcnow(),
                )
            )
            waiting = sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )

            def insert_waits() -> bool:
                with record.engine.connect() as probe:  # a new transaction each time: the view is a snapshot
                    return probe.execute(waiting).scalar_one() > 0

            wait_until("its insert waited", insert_waits, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if holder is not None:
            holder.rollback()
            holder.close()
    assert proc.returncode == -signal.SIGKILL
    # a new connection's view (SQLite rolls the hot journal back here; PostgreSQL never saw a COMMIT)
    fresh = rec.open_records(get_settings())
    try:
        assert counts(fresh) == 1, "the killed import left part of itself in the record"
        assert fresh.decisions_for(ids[0]) == [before]
        if database_url.startswith("sqlite"):
            with fresh.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    finally:
        fresh.close()

    done = start_import(tmp_path / "out")
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    assert f"{N_COOPS} decision(s) recorded" in out
    assert counts(record) == N_COOPS + 1
    assert [d.decision for d in record.decisions_for(ids[0])] == ["DIJADWALKAN", "DIJANGKAU"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_killed_batch_run_loses_no_decision(record, trained_registry, world_dir, tmp_path, monkeypatch):
    """kill -9 a ``klinik score --officer`` that recorded the decisions typed into the workbook it replaces."""
    from test_decisions_flow import decision_cells, type_into

    from klinik.serving.cmd import run_score
    from klinik.serving.decisions_io import advice_book

    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained_registry.tracking_uri)
    folder = tmp_path / "scores" / str(YEAR)
    assert run_score(world_dir, YEAR, folder, quiet=True) == 0
    book = advice_book(folder)
    reach, other = [c for c, a in book.advice.items() if a.action == "JANGKAU"][:2]
    record.record_decision(rec.NewDecision(book.advice[other], "dijangkau", None, OFFICER), "api")
    [workbook] = folder.glob("*.xlsx")
    type_into(workbook, [("Jangkau", reach, "tidak perlu", "sudah pulih sendiri")])
    typed = workbook.read_bytes()

    proc = subprocess.Popen(
        [KLINIK, "score", "--data", str(world_dir), "--as-of", str(YEAR), "--out", str(folder), "--quiet"]
        + ["--officer", OFFICER],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until("it began writing", lambda: bool(list(folder.parent.glob(f".{YEAR}.tmp-*"))), proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    in_force = record.latest_decisions(YEAR)
    assert (in_force[reach].decision, in_force[reach].note) == ("TIDAK_PERLU", "sudah pulih sendiri")
    assert in_force[other].decision == "DIJANGKAU"
    assert workbook.read_bytes() == typed  # the old output is whole

    assert run_score(world_dir, YEAR, folder, quiet=True) == 0  # everything typed is in the record: no stop
    cells = decision_cells(workbook, "Jangkau")
    assert cells[reach] == ("tidak perlu", "sudah pulih sendiri") and cells[other] == ("dijangkau", None)
