"""How well can any router do? The cause-routing ceiling of a simulated world.

The simulator DRAWS the cause of a new sickness from ``cause_probabilities`` (data/simulator_risk.py), so even
a router that knew those exact probabilities is sometimes wrong. This diagnostic runs the simulator with its
read-only probe (the cause probabilities and the domain components it computes each year are recorded; no
draw changes, the tables are identical to ``simulate``'s) and reports, for the cooperatives sick in a year
(``truth.cause`` set), the share whose drawn cause equals:

- ``onset argmax``: the most probable cause at the year the spell began (the exact ceiling of routing by the
  probabilities the cause was drawn from);
- ``dominant weakness now``: the largest domain component at the year judged (what the records show while
  sick: sickness bends the quality of its cause, so this can beat the onset argmax);
- both, for all sick cooperatives and for the newly sick (first sick year) only.

    .venv/bin/python bench/routing_ceiling.py --coops 5000 --seed 11 --year 2023
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from klinik.data import simulator as sim  # noqa: E402
from klinik.data.simulator_worlds import BASELINE, WorldSpec, variant  # noqa: E402


def instrumented(n: int, seed: int, years=(2014, 2024), spec: WorldSpec = BASELINE, sharpness: float | None = None):
    """simulate() with the yearly cause probabilities and components recorded through its probe. Returns (tables,
    records) where records[t] = (alive index, onset argmax of the current spell, dominant component at t,
    sick_years, sick, cause) for every dataset year t."""
    if sharpness is not None:
        spec = replace(spec, risk=replace(spec.risk, cause_sharpness=sharpness))
    records: dict[int, tuple] = {}
    onset = np.full(n, -1)  # per cooperative: the most probable cause when its current spell began
    before: dict[str, np.ndarray] = {}

    def probe(r: sim.YearRecord) -> None:
        if before:  # a cooperative newly sick at r.year fell by the cause probabilities of the year before
            where = np.full(n, -1)
            where[before["alive"]] = np.arange(len(before["alive"]))
            fell = r.alive[r.sick & (r.sick_years == 1)]
            onset[fell] = before["argmax"][where[fell]]
        if r.year >= years[0]:
            records[r.year] = (
                r.alive,
                onset[r.alive].copy(),
                r.components.argmax(axis=0),
                r.sick_years,
                r.sick,
                r.cause,
            )
        before.update(alive=r.alive, argmax=r.cause_probabilities.argmax(axis=0))

    tables = sim.simulate(n_coops=n, years=years, seed=seed, spec=spec, probe=probe)
    return tables, records


def ceiling(records, year: int, coops: np.ndarray | None = None) -> dict[str, float]:
    """Shares of the sick cooperatives of ``year`` (only ``coops``, simulator indices, when given) whose drawn
    cause is the onset argmax / the dominant weakness now."""
    a, onset, dominant, sick_years, sick, cause = records[year]
    rows = sick & (cause >= 0)
    if coops is not None:
        rows &= np.isin(a, coops)
    new = rows & (sick_years == 1)
    out = {"n_sick": int(rows.sum()), "n_new": int(new.sum())}
    for name, sel in (("sick", rows), ("new", new)):
        out[f"onset_argmax_{name}"] = float((onset[sel] == cause[sel]).mean())
        out[f"dominant_now_{name}"] = float((dominant[sel] == cause[sel]).mean())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coops", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--year", type=int, default=None, help="the year judged (default: every year)")
    ap.add_argument("--sharpness", type=float, default=None, help="try another cause_sharpness (what-if)")
    ap.add_argument("--variant", default="baseline", help="the world (data/simulator_worlds.py VARIANTS)")
    args = ap.parse_args(argv)
    spec = variant(args.variant)
    tables, records = instrumented(args.coops, args.seed, spec=spec, sharpness=args.sharpness)
    years = [args.year] if args.year else sorted(records)
    sick = np.concatenate([records[y][5][records[y][4] & (records[y][5] >= 0)] for y in sorted(records)])
    new = np.concatenate(
        [records[y][5][records[y][4] & (records[y][3] == 1) & (records[y][5] >= 0)] for y in sorted(records)]
    )
    names = ("finance", "SDM", "governance")
    for label, causes in (("sick coop-years", sick), ("new sicknesses", new)):
        shares = np.bincount(causes, minlength=3) / len(causes)
        print(f"cause of {label}: " + " / ".join(f"{n} {v:.0%}" for n, v in zip(names, shares)))
    p_sick = tables["truth"]["p_sick_next"]
    print(f"mean p_sick_next {p_sick.mean():.1%}")
    print(
        f"routing ceiling: {args.coops:,} coops, seed {args.seed}, variant {args.variant}, cause "
        f"{spec.cause}, cause_sharpness {args.sharpness if args.sharpness is not None else spec.risk.cause_sharpness}"
    )
    print("| year | sick | onset argmax | dominant now | newly sick | onset argmax (new) | dominant now (new) |")
    print("|---|---|---|---|---|---|---|")
    for y in years:
        r = ceiling(records, y)
        print(
            f"| {y} | {r['n_sick']} | {r['onset_argmax_sick']:.1%} | {r['dominant_now_sick']:.1%} | "
            f"{r['n_new']} | {r['onset_argmax_new']:.1%} | {r['dominant_now_new']:.1%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
