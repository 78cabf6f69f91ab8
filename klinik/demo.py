"""``klinik demo`` (``make demo``): the main job end to end on embedded defaults.

Simulate Buleleng (308 cooperatives, 2014-2024, the default seed) into <out>/data, validate it, train and
register both models (MLflow SQLite store under the work folder), score as of the last year into <out>/scores,
and print the top of the outreach list. A second run simulates the same data again, trains a challenger that is
promoted only when at least as good, and scores again.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pandas as pd

from klinik.commands import DataRefused, command

DEMO_COOPS = 308
DEMO_YEARS = (2014, 2024)


def _say(step: str, text: str) -> None:
    print(f"[{step}] {text}", flush=True)


def outreach_top(scores: pd.DataFrame, cooperatives: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The first ``n`` of the outreach order of ``scores`` (the Scores table), with the names and kecamatan a
    person calls on.

    The outreach order (the ``rank`` of the Scores table) puts the cooperatives not sick now first, by risk; its
    top is the JANGKAU list (above the threshold, up to the clinic's capacity), and the ranks after it are who to
    call next if the clinic has room. The ``action`` column says which is which.
    """
    top = scores.loc[scores["status"] != "SAKIT"].sort_values("rank").head(n)
    top = top.merge(cooperatives[["coop_id", "name", "district"]].astype({"coop_id": "str"}), on="coop_id", how="left")
    return pd.DataFrame(
        {
            "rank": top["rank"],
            "coop_id": top["coop_id"],
            "name": top["name"],
            "kecamatan": top["district"],
            "p_sick_next": top["p_sick_next"].map(lambda p: f"{p:.0%}"),
            "action": top["action"],
            "clinic": top["clinic"],
            "top_reason": top["reasons"].str.split("; ").str[0],
        }
    )


def _point_latest(scores_root: Path, name: str) -> None:
    """Make scores_root/latest a link to scores_root/name, replaced atomically (never a moment without one)."""
    from klinik.data.atomic import atomic_file

    with atomic_file(scores_root / "latest") as tmp:
        tmp.symlink_to(name, target_is_directory=True)


@command("demo")
def run_demo(out: Path) -> int:
    """Run the demo into ``out``; returns the exit code (klinik/cli.py says which)."""
    from klinik.data.io import write_dataset
    from klinik.data.loader import load_dataset
    from klinik.data.simulator import simulate
    from klinik.data.validation import DatasetInvalid
    from klinik.serving.batch import score_batch
    from klinik.settings import get_settings
    from klinik.training.train import train_all

    settings = get_settings()
    out = Path(out)
    # Scores go where the batch job's cron line puts them (work/scores/<year>, with `latest` pointing at the
    # newest), so `klinik serve` finds them for /lookup without any setting.
    data_dir = out / "data"
    scores_root = settings.work_dir / "scores"
    scores_dir = scores_root / str(DEMO_YEARS[1])
    out.mkdir(parents=True, exist_ok=True)
    first, last = DEMO_YEARS
    started = time.perf_counter()

    _say("1/4", f"simulating Buleleng: {DEMO_COOPS} cooperatives, {first}-{last}, seed {settings.seed}")
    write_dataset(simulate(n_coops=DEMO_COOPS, years=DEMO_YEARS, seed=settings.seed), data_dir, fmt="csv")

    _say("2/4", f"validating {data_dir} against the data contract")
    try:
        ds = load_dataset(data_dir)
    except DatasetInvalid as err:
        raise DataRefused(err.report(), f"the simulated dataset {data_dir} failed validation") from None
    _say(
        "2/4",
        f"valid: {len(ds.cooperatives)} cooperatives, {len(ds.financials)} financial statements"
        + (f", {len(ds.warnings)} warnings" if ds.warnings else ""),
    )

    _say("3/4", f"training both models (MLflow store {settings.mlflow_uri})")
    with warnings.catch_warnings():  # MLflow's hints about schema inference are for developers, not this screen
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\.|$)")
        summary = train_all(data_dir, settings)
    for task in ("risk", "recovery"):
        s = summary[task]
        m = s["metrics"]
        _say(
            "3/4",
            f"{task:<8} {s['model_name']} v{s['version']}: ROC AUC {m['roc_auc']:.3f} on "
            f"{s['holdout_year']}; {s['decision']} -> champion v{s['champion_version']}",
        )

    _say("4/4", f"scoring as of {last} into {scores_dir}")
    score_batch(data_dir, last, scores_dir, quiet=True)
    _point_latest(scores_root, scores_dir.name)
    scores = pd.read_parquet(scores_dir / "scores.parquet")
    top = outreach_top(scores, ds.cooperatives)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70, "display.max_columns", 10):
        n_jangkau = int((scores["action"] == "JANGKAU").sum())
        print(
            f"\nTop {len(top)} of the outreach list for {last} (recommendations for a person to decide): "
            f"{n_jangkau} JANGKAU (reach out now: p_sick_next >= {settings.jangkau_threshold:.0%}, within the "
            f"clinic's capacity), then the next to call if the clinic has room"
        )
        print(top.to_string(index=False))
    print(f"\nOutputs ({time.perf_counter() - started:.0f} s):")
    print(f"  dataset        {data_dir}/")
    print(f"  scores         {scores_dir}/scores.csv (and .parquet)")
    print(f"  clinic lists   {scores_dir}/klinik-koperasi-{last}.xlsx")
    print(f"  report         {scores_dir}/report.html")
    print(f"  audit record   {scores_dir}/manifest.json")
    print(f"  for /lookup    {scores_root / 'latest'} -> {scores_dir.name}")
    print(f"  MLflow store   {settings.mlflow_uri}")
    print("\nThe clinic's page (search, profiles, lists; Indonesian):")
    print("  klinik users add NAME --role kepala    (once: a staff account; the password is asked for)")
    print("  klinik serve                           then open http://127.0.0.1:3000/ in a browser")
    return 0
