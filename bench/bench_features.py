"""How long the feature table takes at national scale, beside the time to just read the tables (the floor).

Usage:
    .venv/bin/python bench/bench_features.py work/national                  # a folder made by `klinik simulate`
    .venv/bin/python bench/bench_features.py work/national_f --coops 130000  # simulate it first if missing

National scale is about 130,000 cooperatives x 11 years; the goal is a full build (every year) under 60 s.
Reported per stage: wall and CPU time (user + system; on a shared machine wall time also measures the
neighbours), and each build as a ratio of the read-only floor. The one-year build is what scoring runs.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from bench_load import _timed as _timed_cpu  # noqa: E402  (the same wall + CPU timer as the load benchmark)
from bench_load import simulate_if_missing  # noqa: E402


def _timed(label: str, fn):
    out, wall, _ = _timed_cpu(label, fn)
    return out, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--coops", type=int, default=None, help="simulate this many cooperatives if missing")
    parser.add_argument("--repeat", type=int, default=1, help="builds per stage (the best is reported)")
    args = parser.parse_args()

    simulate_if_missing(parser, args.folder, args.coops, "csv")

    from klinik.data.loader import load_dataset, read_tables
    from klinik.features.build import build_features, dataset_years
    from klinik.features.labels import make_labels
    from klinik.settings import get_settings

    _, floor = _timed("read files only (floor)", lambda: read_tables(args.folder))
    ds, load = _timed("load (read + validate)", lambda: load_dataset(args.folder))
    last = dataset_years(ds)[1]
    settings = get_settings()

    def best(label: str, fn):
        runs = [_timed(label, fn) for _ in range(args.repeat)]
        return runs[0][0], min(w for _, w in runs)

    feats, full = best("build_features, every year", lambda: build_features(ds, settings))
    _, one = best(f"build_features, years=[{last}]", lambda: build_features(ds, settings, years=[last]))
    _, lab = best("make_labels", lambda: make_labels(ds, settings))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\n{len(ds.cooperatives):,} cooperatives; feature table {feats.shape[0]:,} rows x {feats.shape[1]} columns")
    print(
        f"full build   {full:6.1f} s = {full / floor:4.2f} x the read floor ({floor:.1f} s); goal < 60 s: "
        f"{'met' if full < 60 else 'MISSED'}"
    )
    print(f"one year     {one:6.1f} s = {one / floor:4.2f} x the read floor")
    print(f"labels       {lab:6.1f} s;   load + full build {load + full:.1f} s;   peak memory {peak:.1f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
