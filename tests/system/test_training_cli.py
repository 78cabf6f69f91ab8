"""``klinik train`` as a user runs it: success prints the judged versions, bad data exits 1 naming the place."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from klinik.cli import app

pytestmark = pytest.mark.slow


def test_klinik_train_registers_both_models(world_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("KLINIK_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("KLINIK_TRAIN_FOLDS", "3")
    result = CliRunner().invoke(app, ["train", "--data", str(world_dir)])
    assert result.exit_code == 0, result.output
    assert "koperasi-risk v1" in result.output and "koperasi-recovery v1" in result.output
    assert "champion v1" in result.output
    assert (tmp_path / "work" / "mlflow.db").is_file()


def test_klinik_train_refuses_invalid_data_before_touching_the_store(world_dir, tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    shutil.copytree(world_dir, bad)
    lines = (bad / "financials.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("total_assets")] = "-5"
    lines[2] = ",".join(cells)
    (bad / "financials.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("KLINIK_WORK_DIR", str(tmp_path / "work"))
    result = CliRunner().invoke(app, ["train", "--data", str(bad)])
    assert result.exit_code == 1
    assert "financials.csv row 3" in result.output and "total_assets" in result.output
    assert not (tmp_path / "work" / "mlflow.db").exists()
