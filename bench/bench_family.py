"""One benchmark over the family of worlds and two real datasets: our model, plain LightGBM, logistic, the exact.

Per world variant (data/simulator_worlds.py) at two sizes, and per real dataset (bench/real_data.py), the same
four predictors on the same rows:

- ``ours``: ``build_estimator`` fitted by training's own ``judge`` (the code path of ``klinik train``);
- ``lightgbm``: LightGBM with default settings on the same features (models/baselines.plain_lightgbm);
- ``logistic``: a plain logistic regression, median-imputed and standardised (models/baselines.logistic_baseline);
- ``exact``: the simulator's own probabilities (``truth``), where the data are simulated.

Measures: ROC AUC, PR AUC, ECE, the gap to the exact ROC AUC, fit seconds, and (risk) routing: the share of the
cooperatives assessed sick in the holdout year whose clinic, read from each model's exact contributions
(models/explain.py: main_cause of spell_contributions, as ``klinik train`` reports it), is truth's cause; beside
it the variant's routing ceiling for the same cooperatives (the most probable cause when the spell began:
bench/routing_ceiling.py).

Protocol, fixed:
- large worlds: ``--coops`` (5,000) cooperatives, 2014-2024, seeds 11, 12, ... (``--large-seeds``); risk judged on
  the holdout year 2023 (trained on 2014-2022), recovery on its holdout year 2022;
- small worlds: ``--small-worlds`` (10) Buleleng-sized worlds (308 cooperatives), seeds 1000, 1001, ...; each task
  judged on its last three labelled years, each trained on the years before it (a rolling backtest), the
  world's figure the mean over those years;
- real data: the folds of bench/real_data.py (Polish 1st year: 5-fold stratified, seed 0; the panel: 5-fold
  stratified and grouped by company, seed 0);
- mean and standard error over seeds, worlds or folds.

    nice .venv/bin/python bench/bench_family.py --out work/bench/family.md
    nice .venv/bin/python bench/bench_family.py --variants baseline,additive --large-seeds 1 --small-worlds 2 \\
        --real none --out work/bench/quick.md          # a quick look
    nice .venv/bin/python bench/bench_family.py --describe     # each variant's rates (docs/simulator.md)
    nice .venv/bin/python bench/bench_family.py --train-time   # klinik train on 10,000 cooperatives x 13 years
    nice .venv/bin/python bench/bench_family.py --train-time --train-coops 308 --train-years 2014-2024 \\
        --train-seed 7                                              # the test suite's world (tests/conftest.py)

Raw results go to ``--raw`` (JSON lines, one per predictor and judged set); ``--resume`` skips what is there, so a
long run that stopped continues where it was, and parts run side by side (``--variants``, ``--large-seeds 0``,
``--small-worlds 0``, ``--real none``) into files joined afterwards; ``--tables-only`` tables what ``--raw`` holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_data  # noqa: E402
from routing_ceiling import instrumented  # noqa: E402

from klinik.data.atomic import atomic_file  # noqa: E402
from klinik.data.dataset import Dataset  # noqa: E402
from klinik.data.simulator_worlds import VARIANTS, variant  # noqa: E402
from klinik.features.labels import make_labels  # noqa: E402
from klinik.models.baselines import logistic_baseline, plain_lightgbm  # noqa: E402
from klinik.models.explain import main_cause, spell_contributions  # noqa: E402
from klinik.models.intervals import predict_interval  # noqa: E402
from klinik.settings import get_settings  # noqa: E402
from klinik.training.data_prep import feature_table, task_data  # noqa: E402
from klinik.training.evaluate import metrics  # noqa: E402
from klinik.training.train import judge, with_intervals  # noqa: E402

YEARS = (2014, 2024)
LARGE_SEED, SMALL_SEED, SMALL_COOPS = 11, 1000, 308
SMALL_TEST_YEARS = 3
# the shared folder beside the repository's checkout (its README names the sources)
DEFAULT_REAL = REPO.parent / "shared" / "data" / "real"
PREDICTORS = ("ours", "lightgbm", "logistic", "exact")
INTERVAL_COLUMNS = ("coverage", "width", "coverage_jk", "width_jk", "persistent_var", "interval_seconds")


# --- judging ------------------------------------------------------------------------------------------------------


def fit_baselines(X_train, y_train, X_test, categorical, seed: int) -> dict[str, tuple[np.ndarray, float, object]]:
    """Plain LightGBM and logistic on the same rows: {name: (test probabilities, fit seconds, fitted model)}."""
    out = {}
    for name, model in (
        ("lightgbm", plain_lightgbm(categorical, random_state=seed)),
        ("logistic", logistic_baseline(categorical, random_state=seed)),
    ):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        out[name] = (model.predict_proba(X_test)[:, 1], time.perf_counter() - started, model)
    return out


def scores(y, p) -> dict[str, float]:
    m = metrics(y, p)
    return {k: m[k] for k in ("roc_auc", "pr_auc", "ece", "n", "events")}


RULES = {  # how a clinic is read from contributions: (which moments, which part of each group's sum)
    "now+onset signed": (("now", "onset"), "signed"),
    "now signed": (("now",), "signed"),
    "onset signed": (("onset",), "signed"),
    "now+onset positive": (("now", "onset"), "positive"),
    "now positive": (("now",), "positive"),
    "onset positive": (("onset",), "positive"),
}


def rule_clinics(now: pd.DataFrame, onset: pd.DataFrame, has_onset: np.ndarray, groups) -> dict[str, np.ndarray]:
    """The clinic each rule of RULES picks. ``onset``: contributions at the last year before the spell (zero where
    the data do not hold it; an onset-only rule then reads now)."""
    from klinik.models.explain import group_contributions

    parts = {}
    for name, frame in (("now", now), ("onset", onset)):
        cols = [c for c in frame.columns if c != "bias"]
        parts[(name, "signed")] = group_contributions(frame, groups).to_numpy()
        parts[(name, "positive")] = group_contributions(frame[cols].clip(lower=0.0), groups).to_numpy()
    clinics = np.asarray(group_contributions(now, groups).columns)
    out = {}
    for rule, (moments, part) in RULES.items():
        total = sum(parts[(m, part)] for m in moments)
        if moments == ("onset",):
            total = np.where(has_onset[:, None], total, parts[("now", part)])
        out[rule] = clinics[np.argmax(total, axis=1)]
    return out


def choice(model) -> dict:
    """The families our estimator kept and their weights, when it is the one that chooses."""
    clf = model[-1]
    if not hasattr(clf, "member_names_"):
        return {}
    return {f"weight {name}": float(w) for name, w in zip(clf.member_names_, clf.weights_)}


def routing(models: dict, feats, columns, labels, groups, truth, records, year: int) -> dict[str, dict]:
    """Per model, the share of the cooperatives assessed sick in ``year`` (and of the newly sick among them) routed
    to truth's cause by main_cause of spell_contributions (what klinik train reports), the same share for every rule
    of RULES, and the ceiling for the same cooperatives (the onset argmax)."""
    from klinik.models.explain import contributions

    sick = labels[(labels["year"] == year) & labels["sick"].astype(bool)][["coop_id", "year"]]
    X = sick.merge(feats, on=["coop_id", "year"], how="inner")
    X = X.merge(truth[["coop_id", "year", "cause"]], on=["coop_id", "year"], how="inner")
    X = X[X["cause"].notna()].reset_index(drop=True)
    if X.empty:
        return {}
    new = (X["years_sick"] == 1).to_numpy()
    alive, onset, _, _, _, cause = records[year]
    where = dict(zip(alive.tolist(), range(len(alive))))
    index = [where[int(c.removeprefix("KOP-")) - 1] for c in X["coop_id"]]
    ceiling_hit = onset[index] == cause[index]
    out = {"ceiling": {"sick": float(ceiling_hit.mean()), "new": float(ceiling_hit[new].mean())}}
    truth_cause = X["cause"].to_numpy()
    for name, model in models.items():
        now = contributions(model, X[columns])
        both = spell_contributions(model, X, feats, columns, "years_sick", now=now)
        clinic = main_cause(both, groups).to_numpy()
        hit = clinic == truth_cause
        out[name] = {"sick": float(hit.mean()), "new": float(hit[new].mean()), "n_sick": int(len(X))}
        earlier = both - now
        has_onset = (earlier.drop(columns="bias") != 0).any(axis=1).to_numpy()
        for rule, picked in rule_clinics(now, earlier, has_onset, groups).items():
            out[name][f"rule {rule}"] = float((picked == truth_cause).mean())
    return out


def intervals(judged, td, settings) -> dict[str, float]:
    """Our model's 80% interval (models/intervals.py, as klinik train fits it) on the test rows: the share holding
    the exact probability and the median width, with and without the persistent error, and the seconds it cost."""
    test = judged.test
    started = time.perf_counter()
    with_intervals(judged, td, settings)
    out = {"interval_seconds": time.perf_counter() - started, "persistent_var": judged.model[-1].persistent_var_}
    truth = test["truth"].to_numpy(dtype=float)
    for suffix, persistent in (("", True), ("_jk", False)):
        lo, hi = predict_interval(judged.model, td.X(test), persistent=persistent)
        out[f"coverage{suffix}"] = float(np.mean((lo <= truth) & (truth <= hi)))
        out[f"width{suffix}"] = float(np.median(hi - lo))
    return out


def simulated(
    kind: str, name: str, seed: int, n: int, tasks, settings, test_years: int, monotone: bool = True
) -> list[dict]:
    """Every predictor on one simulated world: one row per task, test year and predictor (``monotone=False``:
    ours without the catalogue's monotone constraints, for the ablation)."""
    tables, records = instrumented(n, seed, YEARS, spec=variant(name))
    ds = Dataset(**tables)
    feats, columns = feature_table(ds, settings)
    labels = make_labels(ds, settings)
    rows = []
    for task in tasks:
        td = task_data(ds, task, settings, feats, columns)
        td = td if monotone else dataclasses.replace(td, monotone={})
        years = td.years[-test_years:]
        for year in years:
            judged = judge(td, year, settings, with_baselines=False)
            y = judged.test["label"].to_numpy()
            if len(np.unique(y)) < 2:
                continue
            X_train, X_test = td.X(judged.train), td.X(judged.test)
            base = fit_baselines(X_train, judged.train["label"].to_numpy(), X_test, td.categorical, seed)
            preds = {"ours": (judged.predictions["model"], judged.fit_seconds, judged.model), **base}
            preds["exact"] = (judged.test["truth"].to_numpy(dtype=float), 0.0, None)
            band = intervals(judged, td, settings)
            route = {}
            if task == "risk" and year == years[-1]:
                fitted = {k: v[2] for k, v in preds.items() if v[2] is not None}
                route = routing(fitted, feats, columns, labels, td.groups, ds.truth, records, year)
            for predictor, (p, seconds, _) in preds.items():
                row = {"kind": kind, "data": name, "seed": seed, "coops": n, "task": task, "year": year}
                row |= {"predictor": predictor, "fit_seconds": seconds, **scores(y, p)}
                row |= (choice(judged.model) | band) if predictor == "ours" else {}
                if route:
                    r = route.get(predictor, route["ceiling"] if predictor == "exact" else None)
                    row |= {"routing": r["sick"], "routing_new": r["new"]} if r else {}
                    row |= {k: v for k, v in (r or {}).items() if k.startswith("rule ")}
                    row |= {"ceiling": route["ceiling"]["sick"], "ceiling_new": route["ceiling"]["new"]}
                rows.append(row)
    return rows


def real(name: str, folder: Path, settings) -> list[dict]:
    """Every predictor (no exact one) on each fold of a real dataset."""
    from klinik.models.estimators import build_estimator

    data = real_data.load(name, folder)
    rows = []
    for k, (train, test) in enumerate(data.folds):
        X_train, X_test = data.X.iloc[train], data.X.iloc[test]
        y_train, y_test = data.y[train], data.y[test]
        ours = build_estimator("risk", categorical=data.categorical, random_state=settings.seed, n_jobs=1)
        fit_params = {} if data.groups is None else {"clf__groups": data.groups[train]}
        started = time.perf_counter()
        ours.fit(X_train, y_train, **fit_params)
        preds = {"ours": (ours.predict_proba(X_test)[:, 1], time.perf_counter() - started, ours)}
        preds |= fit_baselines(X_train, y_train, X_test, data.categorical, settings.seed)
        for predictor, (p, seconds, _) in preds.items():
            rows.append(
                {"kind": "real", "data": name, "seed": k, "coops": len(data.y), "task": "risk", "year": 0}
                | {"predictor": predictor, "fit_seconds": seconds, "protocol": data.protocol, **scores(y_test, p)}
                | (choice(ours) if predictor == "ours" else {})
            )
    return rows


# --- tables -------------------------------------------------------------------------------------------------------


def mean_se(values: pd.Series) -> tuple[float, float]:
    v = values.dropna().to_numpy(dtype=float)
    if not len(v):
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan


def _fmt(mean: float, se: float, digits: int = 3) -> str:
    if math.isnan(mean):
        return "—"
    return f"{mean:.{digits}f}" + ("" if math.isnan(se) else f" ± {se:.{digits}f}")


def per_unit(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per (data, size, task, predictor, seed/world/fold): a small world's test years averaged first."""
    raw = raw.copy()
    truth_auc = raw[raw["predictor"] == "exact"].set_index(["kind", "data", "coops", "task", "seed", "year"])["roc_auc"]
    key = ["kind", "data", "coops", "task", "seed", "year"]
    raw["gap"] = raw.set_index(key).index.map(truth_auc.to_dict()) - raw["roc_auc"]
    cols = ["roc_auc", "pr_auc", "ece", "gap", "fit_seconds", "routing", "routing_new", "ceiling", "ceiling_new"]
    cols = [c for c in [*cols, *INTERVAL_COLUMNS] if c in raw]
    return raw.groupby(["kind", "data", "coops", "task", "predictor", "seed"], sort=False)[cols].mean().reset_index()


def summary(raw: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error over seeds/worlds/folds per (data, size, task, predictor)."""
    unit = per_unit(raw)
    rows = []
    for (kind, data, coops, task, predictor), part in unit.groupby(
        ["kind", "data", "coops", "task", "predictor"], sort=False
    ):
        row = {"kind": kind, "data": data, "coops": coops, "task": task, "predictor": predictor, "units": len(part)}
        for col in (
            "roc_auc",
            "pr_auc",
            "ece",
            "gap",
            "fit_seconds",
            "routing",
            "routing_new",
            "ceiling",
            *INTERVAL_COLUMNS,
        ):
            row[col], row[f"{col}_se"] = mean_se(part[col]) if col in part else (math.nan, math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _size(kind: str, coops: int, units: int) -> str:
    if kind == "large":
        return f"{coops:,} x {units} seeds"
    if kind == "small":
        return f"{coops} x {units} worlds"
    return f"{coops:,} rows, {units} folds"


def md(header: list[str], rows: list[list]) -> str:
    """A Markdown pipe table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(str(v) for v in row) + " |" for row in rows)])


def results_table(s: pd.DataFrame) -> str:
    rows = []
    for _, r in s.iterrows():
        route = "—"
        if not math.isnan(r["routing"]):
            share = r["routing"] / r["ceiling"] if r["ceiling"] else math.nan
            route = f"{r['routing']:.1%} ({share:.0%})" if r["predictor"] != "exact" else f"{r['routing']:.1%} ceiling"
        rows.append(
            [r["data"], _size(r["kind"], r["coops"], r["units"]), r["task"], r["predictor"]]
            + [_fmt(r["roc_auc"], r["roc_auc_se"]), _fmt(r["pr_auc"], r["pr_auc_se"]), _fmt(r["ece"], r["ece_se"], 4)]
            + [_fmt(r["gap"], r["gap_se"]), route, f"{r['fit_seconds']:.1f}"]
        )
    header = ["data", "size", "task", "predictor", "ROC AUC", "PR AUC", "ECE", "gap to exact", "routing (of ceiling)"]
    return md([*header, "fit s"], rows)


def goals_table(s: pd.DataFrame) -> str:
    """The issue's goals for the risk model, one row per data and size: met (yes) or not (no)."""
    rows = []
    for (kind, data, coops), part in s[s["task"] == "risk"].groupby(["kind", "data", "coops"], sort=False):
        r = part.set_index("predictor")
        ours, others = r.loc["ours"], r.loc[["lightgbm", "logistic"]]
        best = others["roc_auc"].idxmax()
        diff = ours["roc_auc"] - others.loc[best, "roc_auc"]
        se = math.sqrt(np.nansum([ours["roc_auc_se"] ** 2, others.loc[best, "roc_auc_se"] ** 2]))
        auc_ok = diff >= -(se if se > 0 else 0.0)
        ece_ok = ours["ece"] <= others["ece"].min() + (ours["ece_se"] if ours["ece_se"] > 0 else 0.0)
        goal = 0.01 if kind == "large" else 0.02
        gap_ok = "—" if math.isnan(ours["gap"]) else ("yes" if ours["gap"] <= goal else "no")
        gap = "—" if math.isnan(ours["gap"]) else f"{ours['gap']:.3f} (<= {goal})"
        route, route_ok = "—", "—"
        if not math.isnan(ours["routing"]):
            plain = r.loc["lightgbm", "routing"]
            route = f"{ours['routing']:.1%} / {plain:.1%} / {ours['ceiling']:.1%}"
            route_ok = "yes" if ours["routing"] >= 0.9 * ours["ceiling"] and ours["routing"] >= plain else "no"
        rows.append(
            [data, _size(kind, coops, int(ours["units"])), f"{diff:+.3f} ({se:.3f}, vs {best})"]
            + [f"{ours['ece']:.4f} vs {others['ece'].min():.4f}", gap, route]
            + ["yes" if auc_ok else "no", "yes" if ece_ok else "no", gap_ok, route_ok]
        )
    header = ["data", "size", "ROC AUC ours - best plain (SE)", "ECE ours vs best plain", "gap to exact (goal)"]
    return md([*header, "routing ours / plain / ceiling", "AUC", "ECE", "gap", "routing"], rows)


def interval_table(s: pd.DataFrame) -> str:
    """Our model's 80% interval per data, size and task: coverage of the exact probability (goal 75-85%) and
    median width, then the same for the jackknife's variance alone, the persistent error's log-odds variance and
    the interval's fitting seconds (means over seeds or worlds, with standard errors)."""
    part = s[(s["predictor"] == "ours") & s["coverage"].notna()]
    if part.empty:
        return "(no interval measured)"
    rows = []
    for _, r in part.iterrows():
        ok = "yes" if 0.75 <= r["coverage"] <= 0.85 else "no"
        rows.append(
            [r["data"], _size(r["kind"], r["coops"], r["units"]), r["task"], _fmt(r["coverage"], r["coverage_se"])]
            + [f"{r['width']:.3f}", ok, _fmt(r["coverage_jk"], r["coverage_jk_se"]), f"{r['width_jk']:.3f}"]
            + [f"{r['persistent_var']:.2f}", f"{r['interval_seconds']:.1f}"]
        )
    header = ["data", "size", "task", "coverage", "median width", "75-85%", "coverage (jackknife only)", "width"]
    return md([*header, "persistent var (log-odds)", "interval s"], rows)


def choice_table(raw: pd.DataFrame) -> str:
    """Our estimator's choice per data and size: the mean weight of each family (each weight per standard
    deviation of that family's score is what the blend uses; here the raw weights, averaged) and how often it was
    kept."""
    weights = [c for c in raw.columns if c.startswith("weight ")]
    ours = raw[raw["predictor"] == "ours"]
    if ours.empty or not weights:
        return "(no choice recorded)"
    rows = []
    for (kind, data, coops, task), part in ours.groupby(["kind", "data", "coops", "task"], sort=False):
        cells = [f"{part[w].fillna(0).mean():.2f} ({part[w].notna().mean():.0%})" for w in weights]
        rows.append([data, _size(kind, coops, part["seed"].nunique()), task, *cells])
    return md(["data", "size", "task", *(w.removeprefix("weight ") + " weight (kept)" for w in weights)], rows)


def rules_table(raw: pd.DataFrame) -> str:
    """Routing of the large worlds' sick cooperatives by each rule of RULES, per variant and model (mean over
    seeds), with the ceiling: how a cause is best read from contributions."""
    rules = [c for c in raw.columns if c.startswith("rule ")]
    part = raw[(raw["kind"] == "large") & raw["predictor"].isin(["ours", "lightgbm", "logistic"])]
    if part.empty or not rules:
        return "(no routing by rule measured)"
    table = part.groupby(["data", "predictor"], sort=False)[[*rules, "ceiling"]].mean()
    mean = table.groupby(level="predictor", sort=False).mean()
    rows = [[data, predictor, *(f"{v:.1%}" for v in row.to_numpy())] for (data, predictor), row in table.iterrows()]
    rows += [["mean", predictor, *(f"{v:.1%}" for v in row.to_numpy())] for predictor, row in mean.iterrows()]
    return md(["data", "model", *(r.removeprefix("rule ") for r in rules), "ceiling"], rows)


# --- extras: the variants' rates, and training time at scale -------------------------------------------------------


def describe(coops: int, seed: int) -> str:
    """Each variant's rates from bench/simulator_figures.py, one row per variant."""
    from simulator_figures import figures

    keep = {
        "sick share of assessed cooperatives, per year": "sick share (mean)",
        "risk label rate vs mean p_sick_next": "risk label rate",
        "**truth's ROC AUC on realized risk labels**": "exact risk ROC AUC",
        "truth's ROC AUC on realized recovery labels": "exact recovery ROC AUC",
        "cause of new sicknesses: finance / SDM / governance": "new sicknesses: finance / SDM / governance",
        "routing ceiling, 2020-2024: onset argmax / dominant weakness now": "routing ceiling: onset / now",
        "statements filed": "statements filed",
    }
    rows = []
    for name, spec in VARIANTS.items():
        got = dict(figures(coops, seed, get_settings(), spec))
        rows.append({"variant": name, **{short: got[long].strip("*") for long, short in keep.items()}})
    frame = pd.DataFrame(rows)
    table = md(list(frame.columns), frame.to_numpy().tolist())
    return f"{coops:,} cooperatives, {YEARS[0]}-{YEARS[1]}, seed {seed}\n\n{table}"


def train_time(coops: int, years: tuple[int, int], seed: int, threads: int) -> str:
    """``klinik train``'s own code (train_all: both tasks, backtest, MLflow logging) on a fresh world."""
    from klinik.data.io import write_dataset
    from klinik.data.simulator import simulate
    from klinik.training.train import train_all

    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(simulate(n_coops=coops, years=years, seed=seed), Path(tmp) / "w", fmt="csv")
        settings = get_settings(
            work_dir=Path(tmp), tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}", train_threads=threads
        )
        started, cpu = time.perf_counter(), time.process_time()
        summary = train_all(Path(tmp) / "w", settings)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    K = settings.interval_folds
    parts = ", ".join(
        f"{t} ROC AUC {summary[t]['metrics']['roc_auc']:.3f}, its 80% interval's {K} copies "
        f"{summary[t]['extra'].get('interval_seconds', math.nan):.0f} s"
        for t in ("risk", "recovery")
    )
    return (
        f"klinik train on {coops:,} cooperatives x {years[1] - years[0] + 1} years ({years[0]}-{years[1]}, seed "
        f"{seed}, {threads} threads): {seconds:.0f} s wall, {cpu:.0f} s CPU ({parts})"
    )


# --- running ------------------------------------------------------------------------------------------------------


def units(args) -> list[tuple[str, str, int]]:
    names = {"all": list(VARIANTS), "none": []}.get(args.variants)
    names = args.variants.split(",") if names is None else names
    for name in names:
        variant(name)  # an unknown name stops here, before any work
    out = [("large", name, LARGE_SEED + i) for name in names for i in range(args.large_seeds)]
    out += [("small", name, SMALL_SEED + i) for name in names for i in range(args.small_worlds)]
    if args.real != "none":
        out += [("real", name, 0) for name in real_data.LOADERS]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="all", help="comma-separated names from VARIANTS, all, or none")
    ap.add_argument("--coops", type=int, default=5000, help="cooperatives in a large world")
    ap.add_argument("--large-seeds", type=int, default=3)
    ap.add_argument("--small-worlds", type=int, default=10)
    ap.add_argument("--tasks", default="risk,recovery")
    ap.add_argument("--real", default=str(DEFAULT_REAL), help="folder of the real datasets, or none")
    ap.add_argument("--threads", type=int, default=1, help="LightGBM threads for large fits")
    ap.add_argument("--out", type=Path, default=None, help="write the Markdown tables here too")
    ap.add_argument("--raw", type=Path, default=None, help="raw results as JSON lines (default: beside --out)")
    ap.add_argument("--no-monotone", action="store_true", help="ours without monotone constraints (an ablation)")
    ap.add_argument("--resume", action="store_true", help="skip what --raw already holds")
    ap.add_argument("--tables-only", action="store_true", help="only the tables of what --raw holds; nothing is run")
    ap.add_argument("--describe", action="store_true", help="only each variant's rates")
    ap.add_argument("--describe-coops", type=int, default=3000)
    ap.add_argument("--train-time", action="store_true", help="only klinik train at 10,000 cooperatives x 13 years")
    ap.add_argument("--train-coops", type=int, default=10_000, help="--train-time's cooperatives")
    ap.add_argument("--train-years", default="2012-2024", help="--train-time's years, FIRST-LAST")
    ap.add_argument("--train-seed", type=int, default=1, help="--train-time's world seed")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    command = " ".join(["bench/bench_family.py", *(sys.argv[1:] if argv is None else argv)])
    if args.describe:
        return _emit([f"bench_family: `{command}`\n", describe(args.describe_coops, 1)], args.out)
    if args.train_time:
        first, last = (int(y) for y in args.train_years.split("-"))
        timed = train_time(args.train_coops, (first, last), args.train_seed, 2)
        return _emit([f"bench_family: `{command}`\n", timed], args.out)

    settings = get_settings(train_threads=args.threads)
    tasks = tuple(args.tasks.split(","))
    raw_path = args.raw or (args.out.with_suffix(".jsonl") if args.out else None)
    done: list[dict] = []
    if args.tables_only and not (raw_path and raw_path.exists()):
        ap.error("--tables-only needs an existing --raw file")
    if (args.resume or args.tables_only) and raw_path and raw_path.exists():
        done = [json.loads(line) for line in raw_path.read_text().splitlines() if line.strip()]
    elif raw_path and raw_path.exists():
        raw_path.unlink()  # a fresh run starts a fresh file
    seen = {(r["kind"], r["data"], r["seed"]) for r in done}
    started = time.perf_counter()
    rows = list(done)
    for kind, name, seed in [] if args.tables_only else units(args):
        if (kind, name, seed) in seen:
            continue
        t0 = time.perf_counter()
        if kind == "real":
            new = real(name, Path(args.real), settings)
        else:
            n = args.coops if kind == "large" else SMALL_COOPS
            test_years = 1 if kind == "large" else SMALL_TEST_YEARS
            new = simulated(kind, name, seed, n, tasks, settings, test_years, monotone=not args.no_monotone)
        rows += new
        if raw_path:
            raw_path.parent.mkdir(parents=True, exist_ok=True)
            with raw_path.open("a") as f:
                f.writelines(json.dumps(r) + "\n" for r in new)
        print(f"{kind} {name} {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    s = summary(pd.DataFrame(rows))
    parts = [
        f"bench_family: `{command}` ({time.perf_counter() - started:.0f} s)\n",
        "### Goals (risk)\n",
        goals_table(s),
        "\n### Every predictor\n",
        results_table(s),
        "\n### The 80% interval of our model (coverage of the exact probability, median width)\n",
        interval_table(s),
        "\n### Our estimator's choice (mean weight of each family, share of fits that kept it)\n",
        choice_table(pd.DataFrame(rows)),
        "\n### Routing by rule (large worlds, cooperatives assessed sick in the holdout year)\n",
        rules_table(pd.DataFrame(rows)),
    ]
    return _emit(parts, args.out)


def _emit(parts: list[str], out: Path | None) -> int:
    text = "\n".join(parts) + "\n"
    print(text)
    if out:
        with atomic_file(out) as tmp:
            tmp.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
