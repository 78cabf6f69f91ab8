"""The real `klinik` commands when the world around them goes wrong: a file where a folder belongs, a full disk,
Ctrl-C at any moment (the forked workbook writer included), a registry that does not answer, a broken setting,
bad paths. Each ends in one line and an exit code, never a traceback; `--debug` shows the traceback.

The previous batch output (the session's `klinik score` run) must come out of every failure whole.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from service_helpers import AS_OF, KLINIK, free_port, klinik, klinik_env

pytestmark = pytest.mark.slow


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def one_line(done: subprocess.CompletedProcess | tuple, *words: str) -> str:
    """The failure's one line (the last of stderr), with no traceback anywhere; it holds every word given."""
    out, err = (done.stdout, done.stderr) if isinstance(done, subprocess.CompletedProcess) else done
    assert "Traceback" not in out + err, err[-3000:]
    line = err.strip().splitlines()[-1]
    for word in words:
        assert word in line, (word, err[-2000:])
    return line


@pytest.fixture
def previous(batch, tmp_path) -> Path:
    """A copy of the session's batch output, to be replaced (or not) by the run under test."""
    out = tmp_path / "scores"
    shutil.copytree(batch.parent, out)
    return out


def leftovers(out: Path) -> list[Path]:
    return list(out.parent.glob(f".{out.name}.*"))


def score_args(world_dir: Path, out: Path) -> list[str]:
    return ["score", "--data", str(world_dir), "--as-of", str(AS_OF), "--out", str(out), "--quiet"]


# ------------------------------------------------------------------------------------------- --out
def test_out_naming_a_file_is_refused_before_any_work(trained_registry, tmp_path):
    a_file = tmp_path / "scores.csv"
    a_file.write_text("not a folder\n")
    # The dataset does not even exist: the --out check comes first, so only its line is said.
    done = klinik(["score", "--data", str(tmp_path / "nowhere"), "--as-of", "2024", "--out", str(a_file)],
                  trained_registry, tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == one_line(done, "klinik score: --out", str(a_file), "is a file")
    assert a_file.read_text() == "not a folder\n"
    inside = klinik(score_args(tmp_path / "nowhere", a_file / "2024"), trained_registry, tmp_path)
    assert inside.returncode == 2 and "is a file" in one_line(inside)


def test_debug_shows_the_traceback(trained_registry, tmp_path):
    a_file = tmp_path / "scores.csv"
    a_file.write_text("x")
    for args, extra in ((["--debug"], {}), ([], {"KLINIK_DEBUG": "1"})):
        done = klinik([*args, *score_args(tmp_path, a_file)], trained_registry, tmp_path, **extra)
        assert done.returncode != 0
        assert "klinik score: --out" in done.stderr and "Traceback" in done.stderr


# ------------------------------------------------------------------------------------------- a full disk
def _tmpfs(folder: Path, kib: int) -> bool:
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)], capture_output=True)
    return mounted.returncode == 0


@pytest.mark.parametrize("full", ["tmpfs", "file-size-limit"])
def test_a_full_disk_is_one_line_and_nothing_is_replaced(trained_registry, world_dir, batch, tmp_path, full):
    """tmpfs: a small file system holding the previous output, too small for a second one (ENOSPC; needs the
    right to mount, as root). file-size-limit: RLIMIT_FSIZE below the largest output file (EFBIG, anywhere)."""
    size = sum(p.stat().st_size for p in batch.parent.iterdir())
    limit = None
    if full == "tmpfs":
        disk = tmp_path / "disk"
        if not _tmpfs(disk, kib=size * 3 // 2 // 1024):
            pytest.skip("no right to mount a tmpfs here (run as root); the file-size-limit case still runs")
    else:
        disk, limit = tmp_path, max(p.stat().st_size for p in batch.parent.iterdir()) // 2
    try:
        out = disk / "scores"
        shutil.copytree(batch.parent, out)
        before = digest(out)
        done = subprocess.run(
            [KLINIK, *score_args(world_dir, out)],
            env=klinik_env(trained_registry.tracking_uri, tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=None if limit is None else lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
        )
        assert done.returncode == 1, done.stderr[-3000:]
        words = ("no space left on the device of",) if full == "tmpfs" else ("file size limit",)
        one_line(done, "klinik score:", *words, str(out), "nothing was replaced")
        assert digest(out) == before
        assert not leftovers(out)
    finally:
        if full == "tmpfs":
            subprocess.run(["umount", str(disk)], check=True)


# ------------------------------------------------------------------------------------------- Ctrl-C
def _interrupt(world_dir: Path, out: Path, env: dict, when) -> tuple[subprocess.Popen, str, str]:
    """Start `klinik score` as a terminal would (its own process group), press Ctrl-C (SIGINT to the whole group)
    when ``when(proc)`` says so, and collect what it wrote."""
    proc = subprocess.Popen(
        [KLINIK, *score_args(world_dir, out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal: a test suite started in the background (`make test &`) ignores Ctrl-C, and so would
        # every process it starts
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        when(proc)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, stdout, stderr


def _after(seconds: float):
    return lambda proc: time.sleep(seconds)


def _while_the_command_line_loads(proc) -> None:
    """klinik/cli.py holds Ctrl-C back while it imports: seen from outside as SIGINT in the blocked set."""
    deadline = time.monotonic() + 30
    while True:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        blocked = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
        if blocked & (1 << (signal.SIGINT - 1)):
            return
        assert proc.poll() is None and time.monotonic() < deadline, "the command line's loading was not seen"
        time.sleep(0.001)


def _while_the_workbook_is_written(out: Path):
    """Once the run's temporary folder holds scores.csv, the forked workbook writer is at work (the slowest
    writer, started first): Ctrl-C reaches it and the parent together."""

    def when(proc):
        deadline = time.monotonic() + 240
        while not list(out.parent.glob(f".{out.name}.tmp-*/scores.csv")):
            assert proc.poll() is None and time.monotonic() < deadline, "the writing stage was not seen"
            time.sleep(0.005)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert children, "no writer process beside the run at that moment"

    return when


@pytest.mark.parametrize(
    "moment", ["loading the command line", "loading the libraries", "reading the data", "writing the workbook"]
)
def test_ctrl_c_at_any_moment_exits_130_cleanly(trained_registry, world_dir, previous, tmp_path, moment):
    before = digest(previous)
    when = {
        "loading the command line": _while_the_command_line_loads,
        "loading the libraries": _after(1),
        "reading the data": _after(4),
        "writing the workbook": _while_the_workbook_is_written(previous),
    }[moment]
    proc, stdout, stderr = _interrupt(world_dir, previous, klinik_env(trained_registry.tracking_uri, tmp_path), when)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    assert stderr.strip() in ("", "klinik score: interrupted"), stderr[-3000:]
    assert digest(previous) == before
    assert not leftovers(previous)


# ------------------------------------------------------------------------------------------- surroundings
@pytest.mark.parametrize("command", ["score", "train"])
def test_a_tracking_server_that_does_not_answer_is_one_line(trained_registry, world_dir, tmp_path, command):
    args = score_args(world_dir, tmp_path / "out") if command == "score" else ["train", "--data", str(world_dir)]
    nobody = f"http://user:secret@127.0.0.1:{free_port()}"
    done = subprocess.run(
        [KLINIK, *args],
        env={**klinik_env(trained_registry.tracking_uri, tmp_path), "MLFLOW_TRACKING_URI": nobody},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    line = one_line(done, f"klinik {command}:", "tracking server", "does not answer")
    assert "secret" not in done.stderr and line.count("\n") == 0


def test_a_broken_setting_is_one_line_without_its_value(trained_registry, world_dir, tmp_path):
    done = klinik(score_args(world_dir, tmp_path / "out"), trained_registry, tmp_path, KLINIK_MAX_BODY_BYTES="abc")
    assert done.returncode == 1
    assert "abc" not in one_line(done, "klinik score:", "KLINIK_MAX_BODY_BYTES")


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{tmp}/nowhere"],
        ["features", "--data", "{tmp}/nowhere", "--out", "{tmp}/f.parquet"],
        ["features", "--data", "{world}", "--out", "{tmp}/a_file/f.parquet"],
        ["simulate", "--out", "{tmp}/a_file/world", "--coops", "3"],
        ["template", "--out", "{tmp}/a_file/template.xlsx"],
        ["score", "--data", "{tmp}/nowhere", "--as-of", "2024", "--out", "{tmp}/out"],
        ["train", "--data", "{tmp}/nowhere"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_bad_paths_end_without_a_traceback(trained_registry, world_dir, tmp_path, args):
    (tmp_path / "a_file").write_text("x")
    args = [a.format(tmp=tmp_path, world=world_dir) for a in args]
    done = klinik(args, trained_registry, tmp_path)
    assert done.returncode == 1, (done.stdout + done.stderr)[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    said = (done.stderr or done.stdout).strip().splitlines()
    assert said and ("nowhere" in said[-1] or "a_file" in said[-1] or "failed validation" in said[-1]), said[-3:]


# ------------------------------------------------------------------------------------------- the decision record
def _damage(workbook: Path, how: str) -> None:
    """The batch's workbook made unreadable as a person's copy or a disk could make it."""
    import zipfile

    good = workbook.read_bytes()
    if how == "not a zip":
        workbook.write_bytes(b"Keputusan petugas\n")
    elif how == "cut short":
        workbook.write_bytes(good[: len(good) // 3])
    else:  # a zip, but its sheets' XML cut in half ("damaged sheets") or no workbook in it at all ("another zip")
        with zipfile.ZipFile(workbook) as src:
            members = [(i, src.read(i.filename)) for i in src.infolist()]
        with zipfile.ZipFile(workbook, "w") as dst:
            if how == "another zip":
                dst.writestr("notes.txt", "hello")
            for info, data in members if how == "damaged sheets" else ():
                dst.writestr(info, data[: len(data) // 2] if info.filename.startswith("xl/worksheets/") else data)


def _refused(done: subprocess.CompletedProcess, name: str, *words: str) -> None:
    """Exit 1 with what is wrong in a few lines on stderr, naming ``words``, never a traceback."""
    assert done.returncode == 1, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stdout + done.stderr and "╭" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.startswith(f"klinik {name}: ") and len(done.stderr.splitlines()) <= 3, done.stderr[-3000:]
    for word in words:
        assert word in done.stderr, (word, done.stderr[-2000:])


@pytest.mark.parametrize(
    "case",
    ["no such file", "a folder", "not a zip", "cut short", "another zip", "damaged sheets", "broken scores",
     "database down", "no such database driver"],
)  # fmt: skip
def test_decisions_import_ends_in_one_line_for_what_it_cannot_read(trained_registry, batch, previous, tmp_path, case):
    from klinik.serving.records import open_records
    from klinik.settings import get_settings

    records = open_records(get_settings(work_dir=tmp_path / "work"))  # the record the command opens
    records.add_user("ketut", "petugas", "kopi-tubruk-pagi")
    records.close()
    workbook = next(previous.glob("klinik-koperasi-*.xlsx"))
    extra, words = {}, ["cannot read", str(workbook)]
    if case == "no such file":
        workbook, words = previous / "nothing.xlsx", ["no file", "nothing.xlsx"]
    elif case == "a folder":
        workbook, words = previous, ["no file"]
    elif case == "broken scores":
        (previous / "scores.parquet").write_bytes(b"PAR1 cut")
        words = ["cannot read", "scores.parquet"]
    elif case == "database down":
        extra, words = {"KLINIK_DATABASE_URL": f"postgresql://klinik@127.0.0.1:{free_port()}/klinik"}, ["cannot open"]
    elif case == "no such database driver":
        extra, words = {"KLINIK_DATABASE_URL": "mysql://klinik:secret@127.0.0.1/klinik"}, ["cannot be used"]
    else:
        _damage(workbook, case)
    done = klinik(["decisions", "import", str(workbook), "--officer", "ketut"], trained_registry, tmp_path, **extra)
    _refused(done, "decisions import", *words)
    assert "secret" not in done.stderr


DOWN = "postgresql://klinik:secret@127.0.0.1:{port}/klinik"


@pytest.mark.parametrize(
    ("args", "url", "words"),
    [
        (["users", "add", "ketut", "--role", "petugas", "--password-stdin"], DOWN, ["cannot open"]),
        (["users", "add", "ketut", "--role", "petugas", "--password-stdin"], "not a url", ["not a URL"]),
        (["db", "upgrade"], DOWN, ["cannot open"]),
        (["db", "upgrade"], "klinik.db", ["not a URL"]),
        (["db", "current"], "mysql://klinik:secret@127.0.0.1/klinik", ["cannot be used", "MySQLdb"]),
        (["db", "copy", DOWN], None, ["cannot open"]),
        (["db", "copy", "not a url"], None, ["the target", "not a URL"]),
        (["db", "copy", "oracle2://klinik:secret@dbserver/klinik"], None, ["the target", "cannot be used"]),
    ],
    ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else None,
)
def test_the_record_commands_end_in_one_line_when_the_database_cannot_be_used(trained_registry, tmp_path, args, url,
                                                                              words):  # fmt: skip
    port = free_port()
    args = [a.format(port=port) for a in args]
    extra = {"KLINIK_DATABASE_URL": url.format(port=port)} if url else {}
    done = subprocess.run(
        [KLINIK, *args],
        input="kopi-tubruk-pagi\n",
        env=klinik_env(trained_registry.tracking_uri, tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    _refused(done, " ".join(args[:2]), *words)
    assert "secret" not in done.stderr
