"""The batch job's small parts on real folders: --model-version syntax, the atomic swap and its recovery."""

from __future__ import annotations

import os

import pytest

from serving.batch import recover, swap_into_place
from serving.scoring import parse_model_version


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


def test_swap_replaces_a_folder_whole(tmp_path):
    out = tmp_path / "scores"
    swap_into_place(_folder(tmp_path / ".scores.tmp-1", "first"), out)
    assert (out / "scores.csv").read_text() == "first"
    swap_into_place(_folder(tmp_path / ".scores.tmp-2", "second"), out)
    assert (out / "scores.csv").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        swap_into_place(_folder(tmp_path / ".file.tmp-3", "third"), tmp_path / "file")


def test_recover_puts_back_a_half_swapped_output_and_clears_dead_runs(tmp_path):
    out = tmp_path / "scores"
    _folder(tmp_path / ".scores.old-123", "previous")  # a fallback swap killed between its two renames
    dead = _folder(tmp_path / ".scores.tmp-999999999", "half written")  # no such process
    alive = _folder(tmp_path / f".scores.tmp-{os.getpid()}", "in progress")  # a running run's folder stays
    recover(out)
    assert (out / "scores.csv").read_text() == "previous"
    assert not dead.exists() and alive.exists()
    assert not (tmp_path / ".scores.old-123").exists()
