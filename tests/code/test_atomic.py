"""data/atomic.py on real files and folders: a reader sees the old or the new, never half; a failed, interrupted or
killed writer leaves the previous whole, and its leftovers are cleared by the next writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from klinik.data import atomic
from klinik.data.atomic import atomic_file, atomic_folder


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path):
    path = tmp_path / "sub" / "features.parquet"
    with atomic_file(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.startswith(".features.parquet.tmp-")
        tmp.write_text("first")
    assert path.read_text() == "first"
    for stop in (ValueError("disk full"), KeyboardInterrupt()):
        with pytest.raises(type(stop)):
            with atomic_file(path) as tmp:
                tmp.write_text("half")
                raise stop
        assert path.read_text() == "first"
        assert _names(path.parent) == ["features.parquet"]


def test_a_symlink_is_replaced_in_one_step(tmp_path):
    (tmp_path / "2023").mkdir()
    (tmp_path / "2024").mkdir()
    for target in ("2023", "2024"):
        with atomic_file(tmp_path / "latest") as tmp:
            tmp.symlink_to(target, target_is_directory=True)
        assert os.readlink(tmp_path / "latest") == target
    assert _names(tmp_path) == ["2023", "2024", "latest"]


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch, exchange):
    if not exchange:  # the portable way, as on a system without renameat2
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "scores"
    for text in ("first", "second"):
        with atomic_folder(out) as tmp:
            (tmp / "scores.csv").write_text(text)
            (tmp / "sub").mkdir()
            (tmp / "sub" / "part.txt").write_text(text)
        assert (out / "scores.csv").read_text() == text and (out / "sub" / "part.txt").read_text() == text
    assert _names(tmp_path) == ["scores"]
    for stop in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        with pytest.raises(type(stop)):
            with atomic_folder(out) as tmp:
                (tmp / "scores.csv").write_text("half")
                raise stop
        assert (out / "scores.csv").read_text() == "second"
        assert _names(tmp_path) == ["scores"]


def test_a_killed_writer_leaves_the_previous_folder_whole_and_the_next_clears_up(tmp_path):
    out = tmp_path / "data"
    with atomic_folder(out) as tmp:
        (tmp / "financials.csv").write_text("previous")
    script = textwrap.dedent(
        f"""
        import sys, time
        from klinik.data.atomic import atomic_folder
        with atomic_folder({str(out)!r}) as tmp:
            (tmp / "financials.csv").write_text("half")
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert (out / "financials.csv").read_text() == "previous"
    assert _names(tmp_path) == [f".data.tmp-{proc.pid}", "data"]  # the killed writer's leftover...
    with atomic_folder(out) as tmp:
        (tmp / "financials.csv").write_text("next")
    assert _names(tmp_path) == ["data"]  # ...is cleared by the next writer
    assert (out / "financials.csv").read_text() == "next"


def test_leftovers_of_a_dead_writer_go_and_those_of_a_live_one_stay(tmp_path):
    path = tmp_path / "features.parquet"
    (tmp_path / ".features.parquet.tmp-999999999").write_text("dead")  # no such process
    live = tmp_path / f".features.parquet.tmp-{os.getppid()}"  # a process that is running
    live.write_text("in progress")
    with atomic_file(path) as tmp:
        tmp.write_text("new")
    assert _names(tmp_path) == [live.name, "features.parquet"]
