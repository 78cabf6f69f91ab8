"""How long the simulator takes and how much memory it needs, from Buleleng to national scale.

Each case runs in a fresh child process (so peak memory is that case's alone) and reports wall time and
peak resident memory. The goal: 130,000 cooperatives x 2014-2024 written as CSV in under 2 minutes and 8 GB.

    .venv/bin/python bench/bench_simulate.py                      # all cases, national scale included
    .venv/bin/python bench/bench_simulate.py --coops 5000         # the cases at one smaller size
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS, GOAL_GB = 120.0, 8.0

CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
start = time.perf_counter()
from klinik.data.simulator import simulate
tables = simulate(n_coops={coops}, years=({first}, {last}), seed={seed})
simulated = time.perf_counter()
if {out!r}:
    from klinik.data.io import write_dataset
    write_dataset(tables, Path({out!r}), fmt="csv")
done = time.perf_counter()
rows = sum(len(t) for t in tables.values())
print(json.dumps({{"simulate_s": simulated - start, "total_s": done - start, "rows": rows,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}}))
"""


def run_case(coops: int, years: tuple[int, int], seed: int, out: Path | None) -> dict:
    code = CHILD.format(
        root=str(ROOT), coops=coops, first=years[0], last=years[1], seed=seed, out=str(out) if out else ""
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coops", type=int, nargs="*", default=[308, 5000, 130_000])
    parser.add_argument("--years", default="2014-2024")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    years = tuple(int(y) for y in args.years.split("-"))

    print(f"{'case':<34}{'rows':>12}{'simulate s':>12}{'total s':>10}{'peak GB':>10}")
    scratch = Path(tempfile.mkdtemp(prefix="bench_simulate_", dir=ROOT / "work" if (ROOT / "work").is_dir() else None))
    try:
        for coops in args.coops:
            for write in (False, True):
                out = scratch / f"ds_{coops}" if write else None
                r = run_case(coops, years, args.seed, out)
                label = f"{coops:,} coops {args.years}" + (" + write CSV" if write else "")
                print(f"{label:<34}{r['rows']:>12,}{r['simulate_s']:>12.1f}{r['total_s']:>10.1f}{r['peak_gb']:>10.2f}")
                if write and coops >= 130_000:
                    ok = r["total_s"] < GOAL_SECONDS and r["peak_gb"] < GOAL_GB
                    print(f"  goal (< {GOAL_SECONDS:.0f} s, < {GOAL_GB:.0f} GB): {'met' if ok else 'NOT met'}")
                if out:
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
