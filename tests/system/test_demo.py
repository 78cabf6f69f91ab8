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
    run = subprocess.run(
        [sys.executable, "-m", "klinik.cli", "demo", "--out", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = run.stdout
    assert "Top 10 of the outreach list for 2024" in out and " JANGKAU (reach out now" in out
    # The store is the embedded default under the work folder, not the current directory.
    assert (work / "mlflow.db").exists()
    assert not (tmp_path / "mlflow.db").exists()
    latest = work / "scores" / "latest"
    assert latest.is_symlink() and latest.resolve() == (work / "scores" / "2024").resolve()
    scores = pd.read_parquet(latest / "scores.parquet")
    # The printed ten are the top of the outreach order (not sick now, by rank), JANGKAU first, in rank order.
    top = scores.loc[scores["status"] != "SAKIT"].sort_values("rank").head(10)
    where = [out.index(coop_id) for coop_id in top["coop_id"]]
    assert where == sorted(where)
    assert f"{(scores['action'] == 'JANGKAU').sum()} JANGKAU" in out
    for name in ("scores.csv", "klinik-koperasi-2024.xlsx", "report.html", "manifest.json", "evidence.parquet"):
        assert (latest / name).exists(), name
    # it ends by saying how to open the staff page
    closing = out.strip().splitlines()[-3:]
    assert "klinik users add" in closing[1] and "klinik serve" in closing[2] and "http://127.0.0.1:3000/" in closing[2]
