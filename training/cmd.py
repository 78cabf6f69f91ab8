"""``klinik train --data DIR``: train both models, print what happened, exit 0 (or 1 on bad data)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer


def _line(s: dict) -> str:
    m = s["metrics"]
    text = (
        f"{s['task']:<9} {s['model_name']} v{s['version']}  holdout {s['holdout_year']}: "
        f"ROC AUC {m['roc_auc']:.3f}  PR AUC {m['pr_auc']:.3f}  Brier {m['brier']:.4f}  "
        f"ECE {m['ece']:.4f}  precision@K {m['precision_at_k']:.2f}"
    )
    if s.get("truth"):
        text += f"  (truth ROC AUC {s['truth']['roc_auc']:.3f})"
    best = max(s["baselines"].items(), key=lambda kv: kv[1]["roc_auc"], default=None)
    if best:
        text += f"\n          best baseline {best[0]}: ROC AUC {best[1]['roc_auc']:.3f}"
    text += f"\n          {s['decision']} -> champion v{s['champion_version']}  (run {s['run_id']})"
    return text


def run_train(data_dir: Path) -> int:
    """Train, judge and register both models from ``data_dir``; 1 when the data cannot be used."""
    from klinik.data.validation import DatasetInvalid
    from klinik.settings import get_settings
    from klinik.training.train import train_all

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        typer.echo(f"error: dataset folder {data_dir} does not exist", err=True)
        return 1
    try:
        summary = train_all(data_dir, settings)
    except DatasetInvalid as err:
        # the loader's full report: each problem with its file, row (as in the file) and column
        typer.echo(err.report(), err=True)
        typer.echo("nothing was trained: fix the data (or `klinik validate --quarantine`) and run again", err=True)
        return 1
    except ValueError as err:
        # data that loads but cannot train a model, e.g. no labelled rows of both outcomes
        typer.echo(f"error: cannot train on {data_dir}: {err}", err=True)
        return 1
    typer.echo(f"MLflow store: {settings.mlflow_uri}")
    for task in ("risk", "recovery"):
        typer.echo(_line(summary[task]))
    typer.echo(f"done in {summary['seconds']:.0f} s")
    return 0
