"""The batch job's small parts on real folders: --model-version syntax, the folder swap and its recovery, the
writers of the outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from klinik.data.atomic import atomic_folder, recover
from klinik.data.contract import SCORE_COLUMNS
from klinik.serving.outputs import WriterBeside
from klinik.serving.scoring import parse_model_version


def test_model_version_syntax():
    champion = ("alias", "champion")
    assert parse_model_version(None) == {"risk": champion, "recovery": champion}
    assert parse_model_version("3") == {"risk": ("version", "3"), "recovery": ("version", "3")}
    assert parse_model_version("risk=3,recovery=2") == {"risk": ("version", "3"), "recovery": ("version", "2")}
    assert parse_model_version("recovery=challenger") == {"risk": champion, "recovery": ("alias", "challenger")}
    assert parse_model_version("@challenger")["risk"] == ("alias", "challenger")
    for bad in ("risk=", "model=3", "risk=3;recovery=2", "3 4"):
        with pytest.raises(ValueError):
            parse_model_version(bad)


def _folder(path, text):
    path.mkdir()
    (path / "scores.csv").write_text(text)
    return path


def _swap_in(out, text):
    with atomic_folder(out) as tmp:
        (tmp / "scores.csv").write_text(text)


def test_swap_replaces_a_folder_whole(tmp_path):
    out = tmp_path / "scores"
    _swap_in(out, "first")
    assert (out / "scores.csv").read_text() == "first"
    _swap_in(out, "second")
    assert (out / "scores.csv").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        _swap_in(tmp_path / "file", "third")
    assert (tmp_path / "file").read_text() == "x"


def test_recover_puts_back_a_half_swapped_output_and_clears_dead_runs(tmp_path):
    out = tmp_path / "scores"
    _folder(tmp_path / ".scores.old-123", "previous")  # a fallback swap killed between its two renames
    dead = _folder(tmp_path / ".scores.tmp-999999999", "half written")  # no such process
    alive = _folder(tmp_path / f".scores.tmp-{os.getpid()}", "in progress")  # a running run's folder stays
    recover(out)
    assert (out / "scores.csv").read_text() == "previous"
    assert not dead.exists() and alive.exists()
    assert not (tmp_path / ".scores.old-123").exists()


@pytest.fixture()
def handmade_result():
    """A small hand-made ScoreResult: every action, an empty list, a column with no value at all."""
    import numpy as np
    import pandas as pd

    from klinik.models.policy import decide, outreach_rank
    from klinik.serving.scoring import EVIDENCE_COLUMNS, ScoreResult
    from klinik.settings import get_settings

    s = get_settings()
    ids = [f"K{i:02d}" for i in range(8)]
    status = ["SEHAT", "SEHAT", "BELUM_DINILAI", "SEHAT", "SAKIT", "SAKIT", "SAKIT", "SAKIT"]
    p_sick = [0.9, 0.35, 0.5, 0.1, np.nan, np.nan, np.nan, np.nan]
    p_rec = [np.nan] * 4 + [0.8, 0.3, 0.05, 0.6]
    clinic = ["KEUANGAN", "SDM", "KELEMBAGAAN", "SDM", "KEUANGAN", "SDM", "KELEMBAGAAN", "KEUANGAN"]
    years_sick = [0, 0, 0, 0, 1, 1, 3, 2]
    action = decide(status, p_sick, p_rec, clinic, [0] * 8, years_sick, s, capacity=2, tie_break=ids)
    rank = outreach_rank(status, p_sick, p_rec, action, tie_break=ids)
    scores = pd.DataFrame(
        {
            "coop_id": ids,
            "as_of_year": 2024,
            "status": status,
            "p_sick_next": p_sick,
            "p_recover": p_rec,
            "clinic": clinic,
            "reasons": "pinjaman bermasalah 30% (batas sehat: paling tinggi 1%) (+9 poin)",
            "action": action,
            "rank": rank,
            "model_version": "koperasi-risk/1,koperasi-recovery/1",
        }
    )
    for name, p in (("p_sick_next", p_sick), ("p_recover", p_rec)):  # 80% intervals around each chance
        scores[f"{name}_lo"] = np.clip(np.asarray(p) - 0.05, 0.0, 1.0)
        scores[f"{name}_hi"] = np.clip(np.asarray(p) + 0.05, 0.0, 1.0)
    scores = scores[list(SCORE_COLUMNS)].sort_values("rank").reset_index(drop=True)
    evidence = pd.DataFrame(
        {
            "coop_id": scores["coop_id"],
            "name": "Koperasi " + scores["coop_id"],
            "district": "Seririt",
            "coop_type": "KSP",
            "health_year": pd.NA,
            "health_category": None,
            "health_score": np.nan,
            "score_trend": "",
            "score_change": np.nan,
            "years_sick": scores["coop_id"].map(dict(zip(ids, years_sick))).astype(float),
            "rat_missed_years": 0.0,
            "reasons_en": "bad loans 30% (healthy: at most 1%) (+9 points)",
            "clinic_basis": "Keuangan 100%",
            "clinic_basis_en": "Finance 100%",
            "certainty": "",
            "certainty_en": "",
        }
    )
    reasons = pd.DataFrame(
        {
            "coop_id": ids,
            "position": 1,
            "kind": "risk",
            "fact": "bad_loan_ratio",
            "feature": "bad_loan_ratio",
            "value": 30.0,
            "contribution": 0.5,
            "points": [9.0] * 4 + [np.nan] * 4,
            "group": "KEUANGAN",
            "share": 0.5,
            "label_id": "pinjaman bermasalah di atas batas sehat",
            "label_en": "bad loans above the healthy range",
            "text_id": "pinjaman bermasalah 30% (batas sehat: paling tinggi 1%)",
            "text_en": "bad loans 30% (healthy: at most 1%)",
        }
    )
    assert tuple(evidence.columns) == EVIDENCE_COLUMNS
    return ScoreResult(
        scores=scores,
        reasons=reasons,
        evidence=evidence,
        capacity=2,
        as_of_year=2024,
        model_version="koperasi-risk/1,koperasi-recovery/1",
    ), s


def test_writers_on_a_handmade_result(handmade_result, tmp_path):
    from openpyxl import load_workbook

    from klinik.serving.excel import write_workbook
    from klinik.serving.report import render

    result, settings = handmade_result
    assert list(result.scores["action"]) == [
        "JANGKAU",
        "JANGKAU",
        "PANTAU",
        "PANTAU",
        "BINA",
        "BINA",
        "PANTAU_KETAT",
        "PERTIMBANGKAN_PEMBUBARAN",
    ]
    write_workbook(tmp_path / "x.xlsx", result, settings)
    wb = load_workbook(tmp_path / "x.xlsx")
    jangkau = wb["Jangkau"]
    assert [c.value for c in jangkau["B"]][1:] == ["K00", "K02"]  # capacity 2: 0.9 and 0.5, not 0.35
    assert jangkau["G2"].value == pytest.approx(0.9) and jangkau["G2"].number_format == "0.0%"
    assert (jangkau["H2"].value, jangkau["I2"].value) == (pytest.approx(0.85), pytest.approx(0.95))  # its range
    assert jangkau["L2"].value == "pinjaman bermasalah 30% (batas sehat: paling tinggi 1%) (+9 poin)"
    assert wb["Berikutnya"]["A2"].value == "Tidak ada koperasi dalam daftar ini tahun ini."  # capacity full
    bina = wb["Bina"]
    assert [c.value for c in bina["A"]][1:] == ["Keuangan", "Keuangan"]
    assert bina["L2"].value is None  # no health score: an empty cell, not "nan"
    assert bina["M2"].value == "pinjaman bermasalah 30% (batas sehat: paling tinggi 1%)"  # the sick: no points
    closure = wb["Pertimbangan Pembubaran"]
    assert closure.max_row == 2 and closure["A2"].value == "K06" and closure["E2"].value == 3
    assert [c.value for c in wb["Semua Koperasi"]["C"]][1:] == [f"Koperasi {i}" for i in result.scores["coop_id"]]
    page = render(result, settings)
    assert page.count("data:image/png;base64,") >= 4 and "Jangkau sekarang" in page


def test_swap_through_a_symlink_replaces_its_target(tmp_path):
    """--out work/scores/latest pointing at 2024/: the folder it points at is replaced, and the link stays."""
    target = _folder(tmp_path / "2024", "old")
    (tmp_path / "latest").symlink_to("2024")
    _swap_in(tmp_path / "latest", "new")
    assert (tmp_path / "latest").is_symlink() and (tmp_path / "latest" / "scores.csv").read_text() == "new"
    assert target.is_dir()


def _write_text(path, text):
    path.write_text(text)


def _fail_to_write(path, text):
    raise ValueError(f"cannot write {path.name}: {text}")


def test_a_writer_beside_the_job_writes_its_file_and_reports_its_failure(tmp_path):
    WriterBeside("note", _write_text, tmp_path / "note.txt", "hello").wait()
    assert (tmp_path / "note.txt").read_text() == "hello"
    failing = WriterBeside("workbook", _fail_to_write, tmp_path / "x.xlsx", "disk full")
    with pytest.raises(
        RuntimeError, match=r"writing the workbook failed:(.|\n)*ValueError: cannot write x.xlsx: disk full"
    ):
        failing.wait()
    assert not (tmp_path / "x.xlsx").exists()


def test_a_list_with_nobody_on_it_is_an_empty_sheet(handmade_result, tmp_path):
    """No cooperative for close watch: the sheet says so under its header (a sheet sorted by clinic once listed
    every cooperative scored, with empty cells, when its list was empty)."""
    import dataclasses

    from openpyxl import load_workbook

    from klinik.serving.excel import list_frames, write_workbook

    result, settings = handmade_result
    scores = result.scores.assign(action=result.scores["action"].replace({"PANTAU_KETAT": "BINA"}))
    result = dataclasses.replace(result, scores=scores)
    frames = list_frames(result)
    assert len(frames["Pantau Ketat"]) == 0 and len(frames["Bina"]) == 3
    write_workbook(tmp_path / "x.xlsx", result, settings)
    wb = load_workbook(tmp_path / "x.xlsx")
    assert wb["Pantau Ketat"].max_row == 2 and wb["Bina"].max_row == 4
    assert wb["Pantau Ketat"]["A2"].value == "Tidak ada koperasi dalam daftar ini tahun ini."


def _gone(pid: int) -> bool:
    """No such process, or one that has ended and waits to be reaped (a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the writer is forked on Linux only")
def test_a_writer_beside_ends_with_its_parent_even_after_kill_9():
    script = textwrap.dedent(
        """
        import time
        from klinik.serving.outputs import WriterBeside
        writer = WriterBeside("slow", time.sleep, 120)
        print(writer.proc.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert not _gone(child)
        parent.send_signal(signal.SIGKILL)
    finally:
        parent.wait()
    deadline = time.monotonic() + 10
    while not _gone(child):
        assert time.monotonic() < deadline, f"the writer {child} outlived its killed parent"
        time.sleep(0.02)


def test_leaving_early_ends_the_writer_beside_at_once():
    started = time.monotonic()
    with pytest.raises(ValueError), WriterBeside("slow", time.sleep, 120) as writer:
        raise ValueError("the scores could not be written")
    assert writer.proc is None or not writer.proc.is_alive()
    assert time.monotonic() - started < 30
