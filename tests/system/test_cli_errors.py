"""Every command ends the same way when it cannot do its job (klinik/cli.py): one line ``klinik <command>: ...``
on stderr, after the full report for invalid data, and the pattern's exit code; never a traceback."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from klinik.cli import app
from klinik.commands import EXIT_FAILED, EXIT_NO_MODEL, EXIT_USAGE


@pytest.fixture(scope="module")
def broken_dir(world_dir, tmp_path_factory):
    """The world with one cell that breaks the contract (financials.csv row 6, column cash)."""
    bad = tmp_path_factory.mktemp("broken") / "data"
    shutil.copytree(world_dir, bad)
    fin = pd.read_csv(bad / "financials.csv")
    fin.loc[4, "cash"] = -5.0
    fin.to_csv(bad / "financials.csv", index=False)
    return bad


def _ends_with_one_line(args: list, code: int, *words: str, report: bool = False) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args])
    command = args[0]
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output  # ended, not crashed
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith(f"klinik {command}: "), result.stderr
    assert all(w in lines[-1] for w in words), lines[-1]
    assert [line for line in lines if line.startswith("klinik ")] == lines[-1:], result.stderr  # one line of ours
    if report:  # the loader's report first: every problem with its file, row and column
        assert "financials.csv row 6, column cash" in result.stderr


def test_usage_errors_exit_2(world_dir, tmp_path):
    _ends_with_one_line(["features", "--data", world_dir, "--out", tmp_path / "f.csv"], EXIT_USAGE, ".parquet")
    _ends_with_one_line(
        ["simulate", "--out", tmp_path / "big", "--coops", 100_000, "--format", "xlsx"],
        EXIT_USAGE,
        "do not fit an Excel sheet",
        "--format csv",
    )
    score = ["score", "--data", world_dir, "--out", tmp_path / "scores", "--quiet"]
    _ends_with_one_line([*score, "--as-of", 2031], EXIT_USAGE, "--as-of 2031 is outside", "2014-2024")
    _ends_with_one_line([*score, "--as-of", 2024, "--model-version", "risk=abc def"], EXIT_USAGE, "'abc def'")
    assert not list(tmp_path.iterdir())  # nothing was written


def test_invalid_data_and_failed_steps_exit_1(world_dir, broken_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("KLINIK_WORK_DIR", str(tmp_path / "work"))
    _ends_with_one_line(["train", "--data", tmp_path / "nowhere"], EXIT_FAILED, "does not exist")
    _ends_with_one_line(["train", "--data", broken_dir], EXIT_FAILED, "nothing was trained", report=True)
    _ends_with_one_line(
        ["features", "--data", broken_dir, "--out", tmp_path / "f.parquet"],
        EXIT_FAILED,
        "failed validation",
        report=True,
    )
    _ends_with_one_line(
        ["score", "--data", broken_dir, "--as-of", 2024, "--out", tmp_path / "scores", "--quiet"],
        EXIT_FAILED,
        "nothing was scored",
        report=True,
    )
    (tmp_path / "a-file").write_text("not a folder")
    _ends_with_one_line(
        ["simulate", "--out", tmp_path / "a-file", "--coops", 3, "--years", "2020-2021"], EXIT_FAILED, "not a folder"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_no_usable_model_exits_3(world_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    _ends_with_one_line(
        ["score", "--data", world_dir, "--as-of", 2024, "--out", tmp_path / "scores", "--quiet"],
        EXIT_NO_MODEL,
        "no registered model",
        "klinik train",
    )
    assert not (tmp_path / "scores").exists() and not list(tmp_path.glob(".scores.*"))
