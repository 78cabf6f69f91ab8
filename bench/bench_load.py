"""How long loading a dataset folder takes: reading the files alone vs reading + validating (load_dataset).

Usage:
    .venv/bin/python bench/bench_load.py work/national            # a folder made by `klinik simulate`
    .venv/bin/python bench/bench_load.py work/national --coops 130000   # simulate it first if it is missing
    .venv/bin/python bench/bench_load.py work/national --write-parquet work/national-parquet   # and a Parquet copy

National scale is about 130,000 cooperatives x 11 years; the budget for load + validate is "well under 30 s"
(batch scoring has 2 minutes end to end). Reports wall time and CPU time (user + system, all threads) for
each stage, since on a shared machine wall time also measures the neighbours; and the peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(label: str, fn):
    wall, cpu = time.perf_counter(), _cpu()
    out = fn()
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    print(f"{label:<28} wall {wall:6.1f} s   cpu {cpu:6.1f} s", flush=True)
    return out, wall, cpu


def simulate_if_missing(parser: argparse.ArgumentParser, folder: Path, coops: int | None, fmt: str) -> None:
    """Simulate a 2014-2024 world of ``coops`` cooperatives into ``folder`` when it does not exist yet."""
    if folder.exists():
        return
    if coops is None:
        parser.error(f"{folder} does not exist (give --coops N to simulate it)")
    from klinik.data.io import write_dataset
    from klinik.data.simulator import simulate

    _timed(
        f"simulate {coops} coops",
        lambda: write_dataset(simulate(n_coops=coops, years=(2014, 2024), seed=1), folder, fmt=fmt),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--coops", type=int, default=None, help="simulate this many cooperatives if the folder is missing"
    )
    parser.add_argument("--format", default="csv", choices=("csv", "parquet", "xlsx"))
    parser.add_argument(
        "--write-parquet",
        type=Path,
        default=None,
        metavar="DIR",
        help="then write the loaded dataset as Parquet into DIR (the same tables, for a Parquet run)",
    )
    args = parser.parse_args()

    simulate_if_missing(parser, args.folder, args.coops, args.format)

    from klinik.data.loader import load_dataset, read_tables
    from klinik.data.validation import check_tables

    read, _, _ = _timed("read files only", lambda: read_tables(args.folder))
    frames, files, problems, warnings = read
    if problems:
        print("the folder has problems:", *problems[:5], sep="\n  ")
    rows = {name: len(frame) for name, frame in frames.items()}
    _timed(
        "validate only (in memory)",
        lambda: check_tables(
            frames,
            files,
            source=str(args.folder),
            require_health=True,
            quarantine=None,
            problems=problems,
            warnings=warnings,
        ),
    )
    frames.clear()  # free the tables before the second read
    ds, _, _ = _timed("read + validate (load)", lambda: load_dataset(args.folder))
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory {peak_gib:.1f} GiB; rows: " + ", ".join(f"{n} {r:,}" for n, r in rows.items()))
    print(f"warnings: {ds.warnings or 'none'}")
    if args.write_parquet is not None:
        from klinik.data.contract import COLUMNS
        from klinik.data.io import write_dataset

        tables = {name: getattr(ds, name) for name in COLUMNS}  # every table of the contract, truth included
        write_dataset({k: v for k, v in tables.items() if v is not None}, args.write_parquet, fmt="parquet")
        print(f"written as Parquet into {args.write_parquet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
