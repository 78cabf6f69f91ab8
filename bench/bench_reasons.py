"""Benchmark of the reasons in words: what they add to the scoring core, at a size of your choosing.

    .venv/bin/python bench/bench_reasons.py work/bench20k --coops 20000 [--as-of 2024] [--runs 3]

Simulates the world into the folder when it does not exist (2014-2024, seed 1), loads the champions of the
settings' MLflow store (``make demo``'s work), and times ``score_dataset`` end to end and, inside it, the reasons
(the risk reasons of everyone, the recovery reasons of the sick: models/reasons.py, models/facts.py) and the
clinic basis, over ``--runs`` runs in one process. Prints one line per run; docs/benchmarks.md gives the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import simulate_if_missing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--coops", type=int, default=None, help="simulate this many cooperatives if missing")
    parser.add_argument("--as-of", type=int, default=2024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    simulate_if_missing(parser, args.folder, args.coops, "parquet")

    import klinik.serving.scoring as scoring
    from klinik.data.loader import load_dataset
    from klinik.settings import get_settings

    spent: dict[str, float] = {}

    def timed(name, fn):
        def run(*a, **kw):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            spent[name] = time.perf_counter() - t0
            if name == "reasons":
                spent["n"] = len(out)
            return out

        return run

    scoring._reasons = timed("reasons", scoring._reasons)
    scoring.clinic_basis = timed("basis", scoring.clinic_basis)
    settings = get_settings()
    ds = load_dataset(args.folder, require_health=False)
    models = scoring.load_models(settings)
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = scoring.score_dataset(ds, args.as_of, models, settings)
        total = time.perf_counter() - t0
        sick = int((result.scores["status"] == "SAKIT").sum())
        print(
            f"{len(result.scores)} cooperatives ({sick} sick): score_dataset {total:.1f} s, of which the reasons "
            f"{spent['reasons']:.1f} s ({int(spent['n'])} reasons) and the clinic basis {spent['basis']:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
