"""End to end through the console: ``klinik simulate`` writes a dataset that ``klinik validate`` accepts; with
``--dirty`` the validator refuses it and its report names every injected defect (table, row, column)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from klinik.data.simulator import inject_defects, simulate

COOPS, FIRST, LAST, SEED = 60, 2018, 2023, 3
KLINIK = [str(Path(sys.executable).with_name("klinik"))]  # the console script installed in the venv


def _klinik(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KLINIK, *args], capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2]
    )


def _simulate(out: Path, *extra: str) -> None:
    done = _klinik(
        "simulate", "--out", str(out), "--coops", str(COOPS), "--years", f"{FIRST}-{LAST}", "--seed", str(SEED), *extra
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {COOPS} cooperatives" in done.stdout


def test_clean_simulation_validates(tmp_path):
    out = tmp_path / "clean"
    _simulate(out)
    done = _klinik("validate", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK:" in done.stdout and f"{COOPS} cooperatives" in done.stdout


def _names(report: list[str], defect: dict) -> bool:
    """Some report line is about the defect's file, one of its rows (or none), one of its columns."""
    file = f"{defect['table']}.csv"
    for line in report:
        place = line.strip().split(": ", 1)[0]  # "financials.csv row 12, column cash"
        if not place.startswith(file):
            continue
        rows_ok = (
            (" row " not in place) if defect["row"] is None else any(f" row {r}," in place for r in defect["rows"])
        )
        column = place.split("column ", 1)[-1] if "column " in place else ""
        if rows_ok and any(c in column.split(", ") for c in defect["columns"]):
            return True
    return False


def test_dirty_simulation_is_refused_naming_every_defect(tmp_path):
    out = tmp_path / "dirty"
    _simulate(out, "--dirty")
    done = _klinik("validate", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    _, defects = inject_defects(simulate(n_coops=COOPS, years=(FIRST, LAST), seed=SEED), seed=SEED)
    report = done.stdout.splitlines()
    missed = [d for d in defects if not _names(report, d)]
    assert not missed, f"not named in the report: {missed}\n{done.stdout}"
    elsewhere = dict(defects[0], row=10**6, rows=(10**6,))
    assert not _names(report, elsewhere)  # the matcher does tell rows apart
