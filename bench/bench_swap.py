"""What the folder swap of klinik.data.atomic costs and what a reader sees while it runs.

Usage:
    .venv/bin/python bench/bench_swap.py                 # 2,000 swaps each way, in a temporary folder
    .venv/bin/python bench/bench_swap.py --swaps 5000 --dir work
    .venv/bin/python bench/bench_swap.py --dataset-coops 20000   # and the dataset writer with and without fsync

A second process reads ``<out>/scores.csv`` in a loop (as the service's /lookup reads the latest batch output)
while this one replaces ``<out>`` again and again: once with the one-step exchange (Linux renameat2
RENAME_EXCHANGE), once with two renames (the portable way: the previous folder aside, the new one in).
Reported: how often the reader found the file missing, and the time of one swap with the removal of the previous
folder. Then the cost of flushing the files to disk (fsync) in ``atomic_folder``, for a folder the size of a
scored district's outputs, and (``--dataset-coops``) for ``write_dataset`` of a simulated world.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from klinik.data import atomic  # noqa: E402


def _reader(path: Path, stop, counts) -> None:
    reads = misses = 0
    while not stop.is_set():
        try:
            with open(path, "rb") as f:
                f.read(64)
        except FileNotFoundError:
            misses += 1
        reads += 1
    counts[:] = [reads, misses]


def _swaps(root: Path, n: int, exchange: bool) -> tuple[int, int, float]:
    """(reads, misses, seconds per swap) of ``n`` swaps of root/out, one way."""
    out = root / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    (out / "scores.csv").write_text("coop_id\n")
    ctx = multiprocessing.get_context("spawn")
    stop, counts = ctx.Event(), ctx.Manager().list([0, 0])
    reader = ctx.Process(target=_reader, args=(out / "scores.csv", stop, counts))
    reader.start()
    time.sleep(1.0)  # the reader is reading
    kept = atomic._exchange
    if not exchange:
        atomic._exchange = lambda a, b: False
    spent = 0.0
    try:
        for i in range(n):
            new = root / f".out.tmp-{i}"
            new.mkdir()
            (new / "scores.csv").write_text(f"coop_id\n{i}\n")
            t0 = time.perf_counter()
            atomic._swap(new, out)
            shutil.rmtree(new, ignore_errors=True)  # after an exchange: the previous folder (as atomic_folder does)
            spent += time.perf_counter() - t0
    finally:
        atomic._exchange = kept
        stop.set()
        reader.join()
    return counts[0], counts[1], spent / n


def _fsync_cost(root: Path, files: int, megabytes: float) -> tuple[float, float]:
    """Seconds for atomic_folder with and without flushing, ``files`` files of ``megabytes`` MB in all."""
    block = os.urandom(int(megabytes * 1e6 / files))
    times = []
    for flush in (True, False):
        kept = atomic._fsync
        if not flush:
            atomic._fsync = lambda path: None
        try:
            t0 = time.perf_counter()
            with atomic.atomic_folder(root / "scored") as tmp:
                for i in range(files):
                    (tmp / f"part-{i}").write_bytes(block)
            times.append(time.perf_counter() - t0)
        finally:
            atomic._fsync = kept
    return times[0], times[1]


def _dataset_cost(root: Path, coops: int) -> None:
    """write_dataset of a simulated world, csv and parquet, with and without fsync, three times each."""
    from klinik.data.io import write_dataset
    from klinik.data.simulator import simulate

    tables = simulate(n_coops=coops, years=(2014, 2024), seed=1)
    kept = atomic._fsync
    for fmt in ("csv", "parquet"):
        for flush in (True, False) * 3:
            atomic._fsync = kept if flush else (lambda path: None)
            try:
                t0 = time.perf_counter()
                out = write_dataset(tables, root / "dataset", fmt=fmt)
                seconds = time.perf_counter() - t0
            finally:
                atomic._fsync = kept
            size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
            how = "with" if flush else "without"
            print(f"write_dataset {coops} coops, {fmt:<7} {size:4.0f} MB: {seconds:5.2f} s {how} fsync")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="where to work (default: a temporary folder)")
    parser.add_argument("--dataset-coops", type=int, default=0, help="also time write_dataset of this many coops")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_swap_", dir=args.dir))
    try:
        print(f"bench_swap: {args.swaps} swaps each way in {root}")
        for name, exchange in (("exchange (renameat2)", True), ("two renames", False)):
            reads, misses, seconds = _swaps(root, args.swaps, exchange)
            print(f"{name:<22} reader: {reads:>9,} reads, {misses:>6,} found no file   {seconds * 1e3:.3f} ms a swap")
        with_sync, without = _fsync_cost(root, files=6, megabytes=5)
        print(f"atomic_folder, 6 files, 5 MB: {with_sync * 1e3:.1f} ms with fsync, {without * 1e3:.1f} ms without")
        if args.dataset_coops:
            _dataset_cost(root, args.dataset_coops)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
