"""Benchmark of both models on simulated data: model vs baselines vs the truth ceiling.

Two tables, both through the same code as ``klinik train`` (training.train.judge, the rolling backtest):

1. large: one world of ``--coops`` cooperatives (2014-2024). Per task: the holdout metrics of the model,
   every baseline and truth; the 3-year backtest (mean ROC AUC, and ECE on the three years pooled, which
   is less noisy than one year's); cause routing (main_cause on the risk model's contributions against
   truth.cause) for the cooperatives sick in the risk holdout year.
2. small: ``--small-worlds`` Buleleng-sized worlds (308 cooperatives, seeds 1000+i). Per task: the mean over
   worlds of the holdout ROC AUC of the model, a plain LightGBM with default settings (same features and
   split, no calibration or constraints), the logistic baseline and truth; also over the 3-year backtest.

Goals: large -- ROC AUC within 0.02 (risk) / 0.03 (recovery) of truth, ECE <= 0.02, ahead of every
baseline, routing right for >= 85% of sick cooperatives; small -- risk ROC AUC within 0.03 of truth on
average.

    .venv/bin/python bench/bench_models.py --coops 5000 --seed 11 --small-worlds 10 --out work/bench/models.md

The routing ceiling (bench/routing_ceiling.py) is measured on the same cooperatives: the simulator draws the
cause, so even the exact cause probabilities route some of them wrong.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from klinik.data.atomic import atomic_file  # noqa: E402
from klinik.features.labels import TASKS  # noqa: E402
from klinik.settings import get_settings  # noqa: E402
from klinik.training.data_prep import feature_table, task_data  # noqa: E402
from klinik.training.evaluate import metrics  # noqa: E402
from klinik.training.train import judge, routing  # noqa: E402

COLS = ["roc_auc", "pr_auc", "brier", "log_loss", "ece", "precision_at_k", "recall_at_k"]


def markdown(df: pd.DataFrame, index: bool = True) -> str:
    """A pipe table (pandas' to_markdown needs tabulate, which we do not install)."""
    df = df.reset_index() if index else df
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def world(n: int, seed: int, years=(2014, 2024), tables=None):
    """Simulate (or take ``tables``), write as CSV and load back (the loader's path, as klinik train reads it)."""
    from klinik.data.io import write_dataset
    from klinik.data.loader import load_dataset
    from klinik.data.simulator import simulate

    with tempfile.TemporaryDirectory() as tmp:
        tables = tables if tables is not None else simulate(n_coops=n, years=years, seed=seed)
        write_dataset(tables, Path(tmp) / "w", fmt="csv")
        return load_dataset(Path(tmp) / "w")


def plain_lightgbm(td, train, test, seed: int) -> np.ndarray:
    """LightGBM with default settings on the same features and split (no calibration, no constraints)."""
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    from klinik.models.estimators import build_estimator

    prep = build_estimator(td.task, categorical=td.categorical)["prep"]
    model = Pipeline([("prep", prep), ("clf", LGBMClassifier(verbose=-1, n_jobs=1, random_state=seed))])
    model.fit(td.X(train), train["label"].to_numpy())
    return model.predict_proba(td.X(test))[:, 1]


def large(n: int, seed: int, settings, tasks=TASKS) -> str:
    from routing_ceiling import ceiling, instrumented

    started = time.perf_counter()
    tables, records = instrumented(n, seed)  # the same tables as simulate(); records for the routing ceiling
    ds = world(n, seed, tables=tables)
    feats, columns = feature_table(ds, settings)
    out = [f"### Large world: {n:,} cooperatives, 2014-2024, seed {seed}\n"]
    from klinik.features.labels import make_labels

    labels = make_labels(ds, settings)
    for task in tasks:
        td = task_data(ds, task, settings, feats, columns)
        test_years = td.years[-settings.backtest_years :]
        judged = [judge(td, y, settings) for y in test_years]
        holdout = judged[-1]
        table = holdout.metrics[COLS].copy()
        y_all = np.concatenate([j.test["label"].to_numpy() for j in judged])
        for name in table.index:
            p_all = np.concatenate([j.predictions[name] for j in judged])
            pooled = metrics(y_all, p_all, capacity_share=settings.clinic_capacity_share)
            table.loc[name, "backtest_auc_mean"] = np.mean([j.metrics.loc[name, "roc_auc"] for j in judged])
            table.loc[name, "backtest_ece_pooled"] = pooled["ece"]
        gap = table.loc["truth", "roc_auc"] - table.loc["model", "roc_auc"]
        gap_bt = table.loc["truth", "backtest_auc_mean"] - table.loc["model", "backtest_auc_mean"]
        best_baseline = table.drop(index=["model", "truth"])["roc_auc"].max()
        out.append(
            f"**{task}** -- holdout {holdout.test_year} ({int(holdout.metrics.loc['model', 'n']):,} rows, "
            f"{int(holdout.metrics.loc['model', 'events']):,} positive); backtest {test_years[0]}-"
            f"{test_years[-1]}; fit {holdout.fit_seconds:.0f} s, {holdout.model[-1].n_trees_} trees\n"
        )
        out.append(markdown(table.rename_axis("predictor")))
        out.append(
            f"\ngap to truth (ROC AUC): holdout {gap:.4f}, backtest mean {gap_bt:.4f}; "
            f"model minus best baseline: {table.loc['model', 'roc_auc'] - best_baseline:+.4f}\n"
        )
        if task == "risk":
            r = routing(holdout.model, feats, columns, labels, td.groups, ds.truth, holdout.test_year)
            out.append(
                f"cause routing ({int(r.get('cause_match_n', 0))} coops sick in {holdout.test_year}): "
                f"{r.get('cause_match', float('nan')):.1%} match truth.cause; routed KEUANGAN "
                f"{r['routed_keuangan']:.0%}, SDM {r['routed_sdm']:.0%}, KELEMBAGAAN "
                f"{r['routed_kelembagaan']:.0%}\n"
            )
            sick = ds.truth.merge(labels[labels["sick"].astype(bool)][["coop_id", "year"]])
            sick = sick[(sick["year"] == holdout.test_year) & sick["cause"].notna()]
            true_share = sick["cause"].value_counts(normalize=True)
            out.append("truth.cause of those: " + ", ".join(f"{k} {v:.0%}" for k, v in true_share.items()) + "\n")
            index = sick["coop_id"].str.removeprefix("KOP-").astype(int).to_numpy() - 1  # simulator ids
            c = ceiling(records, holdout.test_year, index)
            out.append(
                f"routing ceiling for the same coops (bench/routing_ceiling.py): the most probable cause "
                f"when the spell began {c['onset_argmax_sick']:.1%}, the dominant observed weakness now "
                f"{c['dominant_now_sick']:.1%}\n"
            )
    out.append(f"({time.perf_counter() - started:.0f} s)\n")
    return "\n".join(out)


def small(worlds: int, settings) -> str:
    started = time.perf_counter()
    rows = []
    for i in range(worlds):
        seed = 1000 + i
        ds = world(308, seed)
        feats, columns = feature_table(ds, settings)
        for task in TASKS:
            td = task_data(ds, task, settings, feats, columns)
            for year in td.years[-settings.backtest_years :]:
                j = judge(td, year, settings)
                if j.test["label"].nunique() < 2:
                    continue
                y = j.test["label"].to_numpy()
                plain = metrics(y, plain_lightgbm(td, j.train, j.test, seed))
                rows.append(
                    {
                        "task": task,
                        "world": seed,
                        "year": year,
                        "holdout": year == td.years[-1],
                        "model": j.metrics.loc["model", "roc_auc"],
                        "plain_lightgbm": plain["roc_auc"],
                        "logistic": j.metrics.loc["logistic", "roc_auc"],
                        "truth": j.metrics.loc["truth", "roc_auc"],
                        "model_ece": j.metrics.loc["model", "ece"],
                        "plain_ece": plain["ece"],
                        "events": j.metrics.loc["model", "events"],
                    }
                )
    df = pd.DataFrame(rows)
    out = [f"### Small worlds: {worlds} x 308 cooperatives (seeds 1000-{999 + worlds}), ROC AUC\n"]
    summary = []
    for (task, scope), part in [((t, "holdout"), df[(df.task == t) & df.holdout]) for t in TASKS] + [
        ((t, "3-year backtest"), df[df.task == t]) for t in TASKS
    ]:
        summary.append(
            {
                "task": task,
                "judged on": scope,
                "n": len(part),
                "events/test (mean)": part["events"].mean(),
                "truth": part["truth"].mean(),
                "model": part["model"].mean(),
                "gap model": (part["truth"] - part["model"]).mean(),
                "plain LightGBM": part["plain_lightgbm"].mean(),
                "gap plain": (part["truth"] - part["plain_lightgbm"]).mean(),
                "logistic": part["logistic"].mean(),
                "gap logistic": (part["truth"] - part["logistic"]).mean(),
                "sd of model gap": (part["truth"] - part["model"]).std(),
                "ECE model": part["model_ece"].mean(),
                "ECE plain": part["plain_ece"].mean(),
            }
        )
    out.append(markdown(pd.DataFrame(summary), index=False))
    out.append(f"\n({time.perf_counter() - started:.0f} s)\n")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coops", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--small-worlds", type=int, default=10)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--skip-small", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", default=",".join(TASKS), help="large world: which tasks (comma-separated)")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here (markdown)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    settings = get_settings(train_threads=args.threads)
    parts = [f"bench_models: `{' '.join(['bench/bench_models.py', *(argv or sys.argv[1:])])}`\n"]
    if not args.skip_large:
        parts.append(large(args.coops, args.seed, settings, tuple(args.tasks.split(","))))
        print(parts[-1], flush=True)
    if not args.skip_small:
        parts.append(small(args.small_worlds, get_settings(train_threads=1)))
        print(parts[-1], flush=True)
    if args.out:
        with atomic_file(args.out) as tmp:
            tmp.write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
