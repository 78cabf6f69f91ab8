"""`klinik db`, `klinik users`: the decision record from the command line, in real processes and a real terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KLINIK = str(Path(sys.executable).with_name("klinik"))


def _env(tmp: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLINIK_")}
    return {**env, "KLINIK_WORK_DIR": str(tmp / "work"), "KLINIK_DATABASE_URL": database_url}


def klinik(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([KLINIK, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def at_terminal(args: list[str], env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """Run klinik with a pseudo-terminal as its controlling terminal; type each answer after each prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its terminal
        os.execve(KLINIK, [KLINIK, *args], env)
    screen, deadline = b"", time.monotonic() + 60
    pending = list(answers)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if pending and screen.endswith(b": "):  # a prompt waits (the answer itself is not echoed)
                os.write(fd, pending.pop(0).encode() + b"\n")
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), screen.decode(errors="replace")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # both backends: tests/code/test_records.py
def test_db_upgrade_then_users_from_stdin_and_terminal(tmp_path, database_url):
    env = _env(tmp_path, database_url)
    done = klinik(["db", "current"], env)
    assert done.returncode == 1 and "klinik db upgrade" in done.stderr
    done = klinik(["db", "upgrade"], env)
    assert done.returncode == 0 and "schema none -> 0001" in done.stdout, done.stderr
    assert klinik(["db", "upgrade"], env).returncode == 0
    assert klinik(["db", "current"], env).returncode == 0

    done = klinik(["users", "add", "ketut", "--role", "petugas", "--password-stdin"], env, "kopi-tubruk-pagi\n")
    assert done.returncode == 0 and "added ketut (petugas)" in done.stdout, done.stderr
    done = klinik(["users", "add", "made", "--role", "petugas", "--password-stdin"], env, "short\n")
    assert done.returncode == 1 and "at least 8" in done.stderr
    # a password is never an argument
    done = klinik(["users", "add", "made", "--role", "petugas", "kopi-tubruk-pagi"], env)
    assert done.returncode == 2

    code, screen = at_terminal(["users", "add", "wayan", "--role", "kepala"], env, ["rahasia-wayan", "rahasia-wayan"])
    assert code == 0 and "added wayan (kepala)" in screen
    assert "rahasia-wayan" not in screen  # not echoed
    code, screen = at_terminal(["users", "add", "made", "--role", "kepala"], env, ["rahasia-made", "rahasia-lain"])
    assert code == 1 and "differ" in screen

    listed = klinik(["users", "list"], env).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [["ketut", "petugas", "active"], ["wayan", "kepala", "active"]]
    assert klinik(["users", "deactivate", "ketut"], env).returncode == 0
    assert "inactive" in klinik(["users", "list"], env).stdout

    from klinik.serving.records import open_records
    from klinik.settings import get_settings

    records = open_records(get_settings(database_url=database_url))
    try:
        assert records.login("wayan", "rahasia-wayan").outcome == "ok"
        assert records.login("ketut", "kopi-tubruk-pagi").outcome == "inactive"
    finally:
        records.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unreachable_database_is_one_line(tmp_path, database_url):
    env = _env(tmp_path, "postgresql://nobody@127.0.0.1:1/none")
    done = klinik(["users", "list"], env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "cannot open the decision record" in done.stderr


def test_db_copy_moves_the_record_from_sqlite_to_postgresql(tmp_path, postgres_server):
    from klinik.serving import records as rec
    from klinik.settings import get_settings

    sqlite_url = f"sqlite:///{tmp_path / 'klinik.db'}"
    source = rec.open_records(get_settings(database_url=sqlite_url))
    source.add_user("ketut", "petugas", "kopi-tubruk-pagi")
    advice = rec.Advice("KOP-000120", 2024, "JANGKAU", 0.49, None, "KEUANGAN", "koperasi-risk/3", "ab" * 32)
    for decision in ("dijadwalkan", "dijangkau"):
        source.record_decision(rec.NewDecision(advice, decision, None, "ketut"), "api")
    assert source.login("ketut", "wrong-guess").outcome == "wrong"
    want = (source.list_users(), source.history(), source.events())
    source.close()

    target_url = postgres_server.new_database()
    env = _env(tmp_path, sqlite_url)
    done = klinik(["db", "copy", target_url], env)
    assert done.returncode == 0, done.stderr
    assert "copied 1 users, 2 decisions, 2 events" in done.stdout
    again = klinik(["db", "copy", target_url], env)
    assert again.returncode == 1 and "holds users already" in again.stderr

    target = rec.open_records(get_settings(database_url=target_url))
    try:
        assert (target.list_users(), target.history(), target.events()) == want
        assert target.login("ketut", "kopi-tubruk-pagi").outcome == "ok"  # the hash came along
        third, _ = target.record_decision(rec.NewDecision(advice, "tidak perlu", "sudah sehat", "ketut"), "web")
        assert third.version == 3 and third.id == max(d.id for d in want[1]) + 1  # ids go on after the copy
    finally:
        target.close()
