"""Benchmark of ``klinik score`` at national scale, beside the bare cost of the models (the floor).

    .venv/bin/python bench/bench_score.py --data work/national --as-of 2024 [--out work/bench/score]

Needs champions in the MLflow store of the settings. The goal's ratio is judged with champions trained on the
national data itself, what an office scoring the country registers (docs/benchmarks.md, Score):

    KLINIK_WORK_DIR=$PWD/work/nattrain3 .venv/bin/klinik train --data work/national-parquet
    MLFLOW_TRACKING_URI=sqlite:///$PWD/work/nattrain3/mlflow.db .venv/bin/python bench/bench_score.py ...

``make demo``'s Buleleng-trained champions work too (the features are the same for any dataset); their floor is
small, so the ratio then mostly shows the job's fixed costs. Prints the champions' size (trees, leaves, depth),
which the floor follows. Measures, each in its own process so memory figures do not mix:
1. end to end: ``klinik score`` as a subprocess (wall time, peak memory of the process), and the time of each
   of its stages as its manifest records them (stages that run beside others, in threads or a child process,
   are not listed apart: loading the models overlaps building the features, hashing the inputs overlaps
   reading them, the workbook is written beside the other outputs);
2. in one process, stage by stage: load and validate, features, the scoring core (score_dataset), and the
   FLOOR: the models' predict_proba (risk on the coops not sick, recovery on the sick) plus LightGBM's
   pred_contrib on the risk model's encoded matrix, with the batch job's thread count, on the same features.
Prints a table and writes the figures to <out>/bench_score.json. Goal: under 2 minutes and 8 GB end to end,
end to end under 3x the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _peak_rss_gb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024 / 1024  # Linux: KiB


def end_to_end(data: Path, as_of: int, out: Path) -> dict:
    klinik = Path(sys.executable).with_name("klinik")
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(klinik), "score", "--data", str(data), "--as-of", str(as_of), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"klinik score failed ({done.returncode}):\n{done.stderr[-3000:]}")
    stages = json.loads((out / "manifest.json").read_text())["stage_seconds"]  # as the job timed them
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(_peak_rss_gb(resource.RUSAGE_CHILDREN), 2),
        "stages": stages,
    }


def _booster_size(booster, version: str) -> dict:
    """What the floor depends on: TreeSHAP costs about trees x leaves x depth^2 per row."""
    import numpy as np

    from klinik.models.estimators import tree_depths

    leaves = [t["num_leaves"] for t in booster.dump_model()["tree_info"]]
    return {
        "version": version,
        "trees": len(leaves),
        "leaves": round(float(np.mean(leaves)), 1),
        "depth": round(float(np.mean(tree_depths(booster))), 1),
    }


def stages(data: Path, as_of: int, repeats: int) -> dict:
    """Run in a child process (``--stages``) so its memory is its own."""
    import numpy as np
    import pandas as pd

    from klinik.data.loader import load_dataset
    from klinik.features.build import build_features
    from klinik.serving.scoring import health_facts, load_models, registered_coops, score_dataset
    from klinik.settings import get_settings

    settings = get_settings()
    threads = os.cpu_count() or 1
    out: dict = {"threads": threads}
    t0 = time.perf_counter()
    ds = load_dataset(data, require_health=False)
    out["load_validate_s"] = round(time.perf_counter() - t0, 2)
    out["coops"] = int(len(ds.cooperatives))
    models = load_models(settings, n_threads=threads)
    out["models"] = {
        kind: _booster_size(getattr(models, kind)[-1].booster, getattr(models, f"{kind}_version"))
        for kind in ("risk", "recovery")
    }

    t0 = time.perf_counter()
    feats = build_features(ds, settings, years=[as_of])
    out["features_s"] = round(time.perf_counter() - t0, 2)
    ids = registered_coops(ds, as_of)["coop_id"]
    out["scored"] = int(len(ids))
    feats = feats.set_index("coop_id").reindex(ids)
    sick = (health_facts(ds, pd.Index(ids, name="coop_id"), as_of, settings)["status"] == "SAKIT").to_numpy()
    X_risk = feats[list(models.risk.feature_names_in_)]
    X_rec = feats[list(models.recovery.feature_names_in_)]
    Xt = models.risk[:-1].transform(X_risk)  # the encoded matrix the booster reads
    booster = models.risk[-1].booster

    floors, cores = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        models.risk.predict_proba(X_risk.loc[~sick])
        models.recovery.predict_proba(X_rec.loc[sick])
        booster.predict(Xt, pred_contrib=True, num_threads=threads)
        floors.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        score_dataset(ds, as_of, models, settings)
        cores.append(time.perf_counter() - t0)
    out["floor_s"] = round(float(np.median(floors)), 2)
    out["score_dataset_s"] = round(float(np.median(cores)), 2)
    out["score_dataset_over_floor"] = round(out["score_dataset_s"] / out["floor_s"], 2)
    out["peak_rss_gb"] = round(_peak_rss_gb(resource.RUSAGE_SELF), 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "work" / "national")
    ap.add_argument("--as-of", type=int, default=None, help="default: the dataset's last year")
    ap.add_argument("--out", type=Path, default=ROOT / "work" / "bench" / "score")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--stages", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()
    if args.as_of is None:
        from klinik.data.loader import load_dataset

        args.as_of = load_dataset(args.data, require_health=False).last_year
    if args.stages:
        print(json.dumps(stages(args.data, args.as_of, args.repeats)))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    e2e = end_to_end(args.data, args.as_of, args.out / "scores")
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--data",
            str(args.data),
            "--as-of",
            str(args.as_of),
            "--repeats",
            str(args.repeats),
            "--stages",
        ],
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise SystemExit(child.stderr[-3000:])
    parts = json.loads(child.stdout.strip().splitlines()[-1])
    result = {
        "data": str(args.data),
        "as_of": args.as_of,
        "end_to_end": e2e,
        "stages": parts,
        "end_to_end_over_floor": round(e2e["seconds"] / parts["floor_s"], 1),
    }
    (args.out / "bench_score.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"klinik score, {parts['scored']:,} cooperatives scored ({parts['coops']:,} registered), "
        f"as of {args.as_of}, {parts['threads']} threads"
    )
    print(f"  end to end (subprocess)     {e2e['seconds']:>7.1f} s   peak {e2e['peak_rss_gb']:.2f} GB")
    job = e2e["stages"]
    print(
        "    stages in that run: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in job.items())
        + f"; the rest (start-up, imports, manifest, swap) {e2e['seconds'] - sum(job.values()):.1f} s"
    )
    print("  in one process, stage by stage:")
    print(f"    load + validate           {parts['load_validate_s']:>7.1f} s")
    print(f"    features (one year)       {parts['features_s']:>7.1f} s")
    print(
        f"  scoring core (score_dataset){parts['score_dataset_s']:>7.1f} s   "
        f"= {parts['score_dataset_over_floor']:.1f}x the floor"
    )
    print(
        "  champions: "
        + "; ".join(
            f"{k} v{m['version']} {m['trees']} trees, {m['leaves']} leaves, depth {m['depth']} (means)"
            for k, m in parts["models"].items()
        )
    )
    print(
        f"  floor (predict_proba + pred_contrib) {parts['floor_s']:.1f} s; "
        f"end to end = {result['end_to_end_over_floor']:.1f}x the floor"
    )
    print(f"figures in {args.out / 'bench_score.json'}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
