"""How often closure advice falls on a cooperative that could still recover: the policy against the exact chances.

On simulated worlds of every variant (data/simulator_worlds.py), the two models are fitted as ``klinik train``
fits its holdout models (training's ``judge``, then the interval's jackknife copies, ``with_intervals``) on the
years before each task's last labelled year, and the cooperatives sick in each year from that one to the world's
last are advised by the policy (models/policy.decide) as ``klinik score`` would: clinic by the risk model's
contributions (main_cause of spell_contributions), years sick and years without an RAT from the features, and
``p_recover`` with its 80% interval from the recovery model. The measure: among the closure advice
(PERTIMBANGKAN_PEMBUBARAN), the share whose exact probability of recovery (the simulator's truth) is above
``closure_recover_threshold`` (goal: at most 2%), for the policy with the interval (the hopeless ground needs
``p_recover_hi`` below the line) and without it (``p_recover`` below the line), split by ground.

    nice .venv/bin/python bench/bench_closure.py --worlds 3 --out work/bench/closure.md
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from klinik.data.atomic import atomic_file  # noqa: E402
from klinik.data.dataset import Dataset  # noqa: E402
from klinik.data.simulator import simulate  # noqa: E402
from klinik.data.simulator_worlds import VARIANTS, variant  # noqa: E402
from klinik.features.labels import make_labels  # noqa: E402
from klinik.models.explain import main_cause, spell_contributions  # noqa: E402
from klinik.models.intervals import predict_with_interval  # noqa: E402
from klinik.models.policy import decide, uncertain  # noqa: E402
from klinik.settings import get_settings  # noqa: E402
from klinik.training.data_prep import feature_table, task_data  # noqa: E402
from klinik.training.train import judge, with_intervals  # noqa: E402

YEARS = (2014, 2024)
SEED = 2000


def world(name: str, seed: int, n: int, settings) -> pd.DataFrame:
    """The sick cooperatives of one world's scoring years, with the policy's inputs, both actions and truth."""
    ds = Dataset(**simulate(n_coops=n, years=YEARS, seed=seed, spec=variant(name)))
    feats, columns = feature_table(ds, settings)
    labels = make_labels(ds, settings)
    fitted = {}
    for task in ("risk", "recovery"):
        td = task_data(ds, task, settings, feats, columns)
        fitted[task] = (with_intervals(judge(td, td.years[-1], settings, with_baselines=False), td, settings), td)
    recovery, td = fitted["recovery"]
    first = recovery.test_year
    sick = labels[(labels["year"] >= first) & labels["sick"].astype(bool)][["coop_id", "year"]]
    X = sick.merge(feats, on=["coop_id", "year"], how="inner").reset_index(drop=True)
    if X.empty:
        return pd.DataFrame()
    risk, risk_td = fitted["risk"]
    clinic = main_cause(spell_contributions(risk.model, X, feats, columns, "years_sick"), risk_td.groups).to_numpy()
    p, lo, hi = predict_with_interval(recovery.model, X[td.feature_columns])
    status = np.full(len(X), "SAKIT", dtype=object)
    inputs = (status, np.full(len(X), np.nan), p, clinic, X["rat_missed_years"], X["years_sick"], settings)
    out = X[["coop_id", "year", "years_sick", "rat_missed_years"]].assign(
        variant=name, seed=seed, coops=n, clinic=clinic, p=p, lo=lo, hi=hi
    )
    out["with_interval"] = decide(*inputs, capacity=None, p_recover_hi=hi)
    out["point_only"] = decide(*inputs, capacity=None)
    out["uncertain"] = uncertain(status, lo, hi, clinic, X["rat_missed_years"], X["years_sick"], settings)
    truth = ds.truth[["coop_id", "year", "p_recover"]].rename(columns={"p_recover": "exact"})
    return out.merge(truth, on=["coop_id", "year"], how="left")


def table(rows: pd.DataFrame, settings) -> str:
    """Per policy and ground: closure advice, how many of them have an exact chance above the line, the share. The
    hopeless ground: sick long enough and the chance (with the interval: its upper end) below the closure line;
    lapsed: no RAT for long enough, governance the cause and the chance below the treatment line."""
    line = settings.closure_recover_threshold
    lapsed = (
        (rows["rat_missed_years"] >= settings.inactive_years_without_rat)
        & (rows["clinic"] == "KELEMBAGAAN")
        & (rows["p"] < settings.bina_threshold)
    )
    out = ["| policy | ground | closure advice | exact p_recover above the line | share (goal <= 2%) |"]
    out.append("|---|---|---|---|---|")
    for policy, upper in (("point_only", rows["p"]), ("with_interval", rows["hi"])):
        advised = rows[policy] == "PERTIMBANGKAN_PEMBUBARAN"
        hopeless = (rows["years_sick"] >= settings.closure_min_years_sick) & (upper < line)
        for ground, part in (
            ("hopeless", advised & hopeless),
            ("lapsed only", advised & lapsed & ~hopeless),
            ("all", advised),
        ):
            n, above = int(part.sum()), int((part & (rows["exact"] > line)).sum())
            share = f"{above / n:.1%}" if n else "—"
            out.append(f"| {policy.replace('_', ' ')} | {ground} | {n} | {above} | {share} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="all")
    ap.add_argument("--worlds", type=int, default=3, help="worlds per variant")
    ap.add_argument("--coops", type=int, default=308)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--tables-only", type=Path, default=None, help="only the table of a CSV this script wrote")
    args = ap.parse_args(argv)
    if args.tables_only:
        print(table(pd.read_csv(args.tables_only), get_settings()))
        return 0
    warnings.filterwarnings("ignore")
    settings = get_settings()
    names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
    started, parts = time.perf_counter(), []
    for name in names:
        for k in range(args.worlds):
            t0 = time.perf_counter()
            parts.append(world(name, SEED + k, args.coops, settings))
            print(f"{name} {SEED + k}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    rows = pd.concat(parts, ignore_index=True)
    command = " ".join(["bench/bench_closure.py", *(sys.argv[1:] if argv is None else argv)])
    straddle = rows["uncertain"].value_counts().to_dict()
    text = "\n".join(
        [
            f"bench_closure: `{command}` ({time.perf_counter() - started:.0f} s; {len(names)} variants x "
            f"{args.worlds} worlds of {args.coops:,} cooperatives; {len(rows):,} sick cooperative-years scored)\n",
            table(rows, settings),
            f"\nIntervals straddling a line (the advice says the estimate is uncertain): closure "
            f"{straddle.get('closure', 0)}, treatment {straddle.get('bina', 0)} of {len(rows):,}.",
        ]
    )
    print(text)
    if args.out:
        with atomic_file(args.out) as tmp:
            tmp.write_text(text + "\n")
        rows.to_csv(args.out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
