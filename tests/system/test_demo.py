"""The README's main command (`make demo` -> `klinik demo`) runs end to end on embedded defaults."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest


@pytest.mark.slow
def test_demo_simulates_trains_scores_and_shows_the_outreach_list(tmp_path):
    work = tmp_path / "work"
    env = {**os.environ, "KLINIK_WORK_DIR": str(work)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    run = subprocess.run([sys.executable, "-m", "klinik.cli", "demo", "--out", str(tmp_path / "demo")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = run.stdout
    assert "Top " in out and "outreach list (JANGKAU)" in out
    # The store is the embedded default under the work folder, not the current directory.
    assert (work / "mlflow.db").exists()
    assert not (tmp_path / "mlflow.db").exists()
    latest = work / "scores" / "latest"
    assert latest.is_symlink() and latest.resolve() == (work / "scores" / "2024").resolve()
    scores = pd.read_parquet(latest / "scores.parquet")
    jangkau = scores.loc[scores["action"] == "JANGKAU"].sort_values("rank")
    # Every cooperative on the printed list is on the outreach list, in rank order.
    for coop_id in jangkau["coop_id"].head(10):
        assert coop_id in out
    for name in ("scores.csv", "klinik-koperasi-2024.xlsx", "report.html", "manifest.json"):
        assert (latest / name).exists(), name
