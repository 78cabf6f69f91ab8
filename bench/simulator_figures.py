"""The "Measured" table of docs/simulator.md, from one simulated world (2014-2024), printed as its rows.

Every figure but annual recovery (no definition was recorded; here: assessed sick at t and assessed at t+1, the
share assessed not sick) uses a definition already in the code: the labels are features/labels.make_labels
(the contract's rules) joined to ``truth``; base rates, the single ratios and the clinic row are those of
tests/data/test_simulator_signal.py; the cause and routing rows are bench/routing_ceiling.py's (whose
instrumented simulate() gives the same tables as simulate()). The clinic row pools its own worlds
(--clinic-coops, seeds 1..--clinic-seeds; 0 skips it).

    .venv/bin/python bench/simulator_figures.py --coops 5000 --seed 1
    .venv/bin/python bench/simulator_figures.py --coops 308 --seed 7 --clinic-seeds 0    # Buleleng
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing_ceiling import ceiling, instrumented  # noqa: E402

from klinik.data.contract import SICK_CATEGORIES  # noqa: E402
from klinik.data.dataset import Dataset  # noqa: E402
from klinik.data.simulator_worlds import BASELINE, WorldSpec, variant  # noqa: E402
from klinik.features.labels import make_labels  # noqa: E402
from klinik.settings import Settings, get_settings  # noqa: E402

YEARS = (2014, 2024)


def rat_on_time(m: pd.DataFrame) -> pd.DataFrame:
    """(coop_id, year) of the RATs held by the end of March after the fiscal year."""
    deadline = pd.to_datetime((m["fiscal_year"] + 1).astype(str) + "-03-31")
    rat = m[(m["meeting_type"] == "RAT") & (m["held_on"] <= deadline)]
    return rat[["coop_id", "fiscal_year"]].rename(columns={"fiscal_year": "year"}).drop_duplicates()


def single_ratios(t: dict[str, pd.DataFrame], risk_rows: pd.DataFrame) -> dict[str, float]:
    """ROC AUC of each obvious ratio at t on the risk label (test_no_single_obvious_ratio_predicts...)."""
    f, s = t["financials"], t["staffing"]
    bad = (f["loans_substandard"] + f["loans_doubtful"] + f["loans_loss"]) / f["loans_outstanding"]
    ratios = pd.DataFrame(
        {
            "coop_id": f["coop_id"],
            "year": f["year"],
            "bad-loan ratio": bad.fillna(0.0),
            "equity ratio": -f["equity"] / f["total_assets"],
            "ROA": -f["net_income"] / f["total_assets"],
        }
    )
    staff = pd.DataFrame(
        {
            "coop_id": s["coop_id"],
            "year": s["year"],
            "departures": s["staff_departures"] / s["employees"].clip(lower=1),
            "no manager": (~s["has_manager"]).astype(float),
        }
    )
    x = (
        risk_rows.merge(ratios, how="left")
        .merge(staff, how="left")
        .merge(rat_on_time(t["meetings"]).assign(rat_held=True), how="left")
    )
    x["RAT missed"] = x["rat_held"].isna().astype(float)
    out = {}
    for col in ("bad-loan ratio", "ROA", "equity ratio", "no manager", "departures", "RAT missed"):
        v = x[col].astype("float64")
        out[col] = roc_auc_score(x["risk_label"], v.fillna(v.median()))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def clinic_recovery(t: dict[str, pd.DataFrame]) -> tuple[float, float]:
    """Share recovered at t+2 of the cooperatives in a case at the end of t and sick at t+1, at the clinic of
    the true cause vs another clinic (test_treatment_at_the_right_clinic_helps_recovery)."""
    truth, cases = t["truth"][["coop_id", "year", "cause"]], t["clinic_cases"]
    rows = []
    for year in range(2017, YEARS[1] - 1):
        open_then = cases[
            (cases["opened_on"].dt.year <= year) & (cases["closed_on"].isna() | (cases["closed_on"].dt.year > year))
        ]
        rows.append(open_then[["coop_id", "clinic"]].assign(year=year))
    x = pd.concat(rows).merge(truth.assign(year=truth["year"] - 1), on=["coop_id", "year"])
    x = x[x["cause"].notna()]
    after = truth.assign(year=truth["year"] - 2).rename(columns={"cause": "cause_after"})
    x = x.merge(after, on=["coop_id", "year"], how="left", indicator=True)
    recovered = ((x["_merge"] == "both") & x["cause_after"].isna()).to_numpy()
    right = (x["clinic"] == x["cause"]).to_numpy()
    return recovered[right].mean(), recovered[~right].mean()


def figures(
    n: int, seed: int, settings: Settings, spec: WorldSpec = BASELINE, sharpness: float | None = None
) -> list[tuple[str, str]]:
    t, records = instrumented(n, seed, YEARS, spec=spec, sharpness=sharpness)
    h, truth, coops = t["health"], t["truth"], t["cooperatives"]
    rows = []

    sick = h["category"].isin(SICK_CATEGORIES).groupby(h["year"]).mean()
    rows.append(
        (
            "sick share of assessed cooperatives, per year",
            f"{sick.min():.1%}-{sick.max():.1%}, mean {sick.mean():.1%}".replace("%-", "-"),
        )
    )
    assessed = h.groupby("year").size() / truth.groupby("year").size()
    rows.append(("assessed share", f"{assessed.min():.1%}-{assessed.max():.1%}".replace("%-", "-")))

    names = ("finance", "SDM", "governance")
    for label, new_only in (("sick coop-years", False), ("new sicknesses", True)):
        causes = np.concatenate([r[5][r[4] & (r[5] >= 0) & ((r[3] == 1) | (not new_only))] for r in records.values()])
        shares = np.bincount(causes, minlength=3) / len(causes)
        rows.append((f"cause of {label}: " + " / ".join(names), " / ".join(f"{v:.0%}" for v in shares)))
    ceil = [ceiling(records, y) for y in range(2020, YEARS[1] + 1)]
    onset, now = [[r[k] for r in ceil] for k in ("onset_argmax_sick", "dominant_now_sick")]
    rows.append(
        (
            "routing ceiling, 2020-2024: onset argmax / dominant weakness now",
            f"{min(onset):.1%}-{max(onset):.1%} / {min(now):.1%}-{max(now):.1%}".replace("%-", "-"),
        )
    )

    rows.append(("RAT held by end of March", f"{len(rat_on_time(t['meetings'])) / len(t['staffing']):.1%}"))
    gone = coops["dissolved_year"].notna()
    rows.append(("dissolved over 2014-2024", f"{gone.mean():.1%} ({gone.sum():,} of {len(coops):,})"))
    rows.append(("statements filed", f"{len(t['financials']) / len(t['staffing']):.1%}"))

    # annual recovery: of the cooperatives assessed sick at t and assessed again at t+1, the share assessed not sick
    sick_at = h.assign(sick=h["category"].isin(SICK_CATEGORIES))[["coop_id", "year", "sick"]]
    x = sick_at[sick_at["sick"]].merge(sick_at.assign(year=sick_at["year"] - 1), on=["coop_id", "year"])
    rows.append(("annual recovery of the sick (assessed sick at t, assessed at t+1)", f"{1 - x['sick_y'].mean():.1%}"))

    lab = make_labels(Dataset(**t), settings).merge(truth[["coop_id", "year", "p_sick_next", "p_recover"]])
    r = lab[lab["risk_label"].notna()]
    rows.append(
        ("risk label rate vs mean p_sick_next", f"{r['risk_label'].mean():.1%} vs {r['p_sick_next'].mean():.1%}")
    )
    rows.append(
        ("**truth's ROC AUC on realized risk labels**", f"**{roc_auc_score(r['risk_label'], r['p_sick_next']):.3f}**")
    )
    aucs = list(single_ratios(t, r).items())
    rest = ", ".join(f"{k} {v:.2f}" for k, v in aucs[1:])
    rows.append((f"best single ratio for next-year sickness: {aucs[0][0]} ({rest})", f"{aucs[0][1]:.3f}"))
    c = lab[lab["recovery_label"].notna()]
    rows.append(
        ("truth's ROC AUC on realized recovery labels", f"{roc_auc_score(c['recovery_label'], c['p_recover']):.3f}")
    )
    c = c[c["year"] <= YEARS[1] - 2]  # both follow-up years inside the data
    rows.append(
        (
            "recovery label rate vs mean p_recover (t <= last-2)",
            f"{c['recovery_label'].mean():.1%} vs {c['p_recover'].mean():.1%}",
        )
    )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coops", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clinic-coops", type=int, default=3000)
    ap.add_argument("--clinic-seeds", type=int, default=8, help="worlds for the clinic row (0: skip the row)")
    ap.add_argument("--sharpness", type=float, default=None, help="another cause_sharpness (what-if)")
    ap.add_argument("--variant", default="baseline", help="the world (data/simulator_worlds.py VARIANTS)")
    args = ap.parse_args(argv)
    spec = variant(args.variant)
    sharp = args.sharpness if args.sharpness is not None else spec.risk.cause_sharpness
    print(
        f"{args.coops:,} cooperatives, {YEARS[0]}-{YEARS[1]}, seed {args.seed}, variant {args.variant}, "
        f"cause_sharpness {sharp}\n"
    )
    print("| | value |\n|---|---|")
    for name, value in figures(args.coops, args.seed, get_settings(), spec, args.sharpness):
        print(f"| {name} | {value} |")
    if args.clinic_seeds:
        pairs = np.array(
            [
                clinic_recovery(instrumented(args.clinic_coops, s, YEARS, spec=spec, sharpness=args.sharpness)[0])
                for s in range(1, args.clinic_seeds + 1)
            ]
        )
        right, wrong = (f"{pairs[:, k].min():.0%}-{pairs[:, k].max():.0%}".replace("%-", "-") for k in (0, 1))
        print(
            f"| recovered at t+2 while in a case at the clinic of the true cause vs another clinic "
            f"({args.clinic_coops:,} coops, seeds 1-{args.clinic_seeds}) | {right} vs {wrong} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
