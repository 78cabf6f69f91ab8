"""Writing a file or a folder so that a reader never sees half of it and a killed run leaves the previous one whole.

- :func:`atomic_file`: the caller writes into a temporary sibling (a file, or a symlink); once the block ends
  without error the file is flushed to disk (fsync) and renamed over ``path`` in one step.
- :func:`atomic_folder`: the caller fills a new temporary folder beside ``path``; once the block ends without
  error every file in it is flushed to disk and the folder takes the place of ``path`` in one step.

A temporary name carries the writer's process id (``.<name>.tmp-<pid>``), so a later writer of the same path
tells a killed run's leftovers from those of a run still going and removes only the former (:func:`recover`).
One writer of a path at a time in a process: two threads writing the same path would share the temporary name.
It sits on the lowest floor so that every writer can use it: the dataset, the quarantine file, the feature table,
the batch job's output folder, the demo's ``latest`` link, the generated data-contract page.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_TAG, OLD_TAG = ".tmp-", ".old-"


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; what the block leaves there replaces ``path`` when it ends.

    A regular file is flushed to disk before the rename; a symlink is renamed as it is. On an error the
    temporary path is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    tmp = _temporary(path, TMP_TAG)
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        if not tmp.is_symlink():
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a new empty folder beside ``path``; when the block ends without error it becomes ``path``.

    The previous ``path`` (if any) stays whole until the new folder is complete and on disk, and is removed after
    the swap. ``path`` a symlink to a folder (``work/scores/latest -> 2024``): the folder it points at is
    replaced and the link stays. On an error, or an interrupt, the new folder is removed and ``path`` is
    untouched; after a kill, the next writer of ``path`` clears what was left.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    tmp = _temporary(path, TMP_TAG)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        for file in sorted(p for p in tmp.rglob("*") if p.is_file() and not p.is_symlink()):
            _fsync(file)
        _fsync_folder(tmp)
        _swap(tmp, path)
        _fsync_folder(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # after an exchange it holds the previous folder


def recover(path: Path) -> None:
    """Clear the leftovers of writers of ``path`` that are no longer running.

    A folder swap killed between its two renames (where the system cannot exchange two paths in one step) left
    ``path`` missing beside ``.<name>.old-<pid>``: that folder is put back first. Then every temporary file or
    folder of a dead writer is removed; those of a writer still running stay.
    """
    path = Path(path)
    leftovers = _leftovers(path, OLD_TAG)
    if leftovers and not os.path.lexists(path):
        os.rename(leftovers.pop(), path)
    for leftover in leftovers + _leftovers(path, TMP_TAG):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _temporary(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}{tag}{os.getpid()}"


def _leftovers(path: Path, tag: str) -> list[Path]:
    """Temporary siblings of ``path`` left by writers no longer running, oldest name first."""
    if not path.parent.is_dir():
        return []
    prefix = f".{path.name}{tag}"
    found = []
    for entry in path.parent.iterdir():
        pid = entry.name[len(prefix) :]
        if entry.name.startswith(prefix) and pid.isdigit() and not _running(int(pid)):
            found.append(entry)
    return sorted(found)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(path: Path) -> None:
    """Make a rename in ``path`` durable; where a folder cannot be opened (Windows) the rename is left to the OS."""
    if os.name == "posix":
        _fsync(path)


def _swap(new: Path, path: Path) -> None:
    """Make ``new`` be ``path``; the previous ``path`` ends up in ``new`` (exchange) or is removed."""
    if not os.path.lexists(path):
        os.rename(new, path)
        return
    if _exchange(new, path):
        return
    old = _temporary(path, OLD_TAG)
    os.rename(path, old)
    try:
        os.rename(new, path)  # a kill right here leaves `path` missing: recover() puts `old` back
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 with RENAME_EXCHANGE); False where the system cannot.

    The standard library has no call for this; kept for what it measured (bench/bench_swap.py, 2 cores): a
    process reading ``<out>/scores.csv`` in a loop while ``<out>`` was swapped 2,000 times never found it missing
    with the exchange, and found no file 1,073 to 7,312 times in 95,000-183,000 reads with two renames (the
    moment between them, when the service's /lookup answers that there is no batch output; four runs). A swap
    took 1.3-3.5 ms either way.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:  # a C library older than glibc 2.28
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # a file system without the exchange
        return False
    raise OSError(code, os.strerror(code), str(b))
