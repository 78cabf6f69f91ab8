"""``klinik train --data DIR``: train both models, judge them, register them; print what happened.

How it ends (klinik/cli.py): 0 trained; 1 the data cannot be used (the loader's full report for a dataset that
breaks the contract, one line for data that loads but cannot train a model).
"""

from __future__ import annotations

import logging
from pathlib import Path

from klinik.commands import CommandFailed, DataRefused, command


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


@command("train")
def run_train(data_dir: Path) -> int:
    """Train, judge and register both models from ``data_dir``."""
    from klinik.data.validation import DatasetInvalid
    from klinik.settings import get_settings
    from klinik.training.train import train_all

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CommandFailed(f"dataset folder {data_dir} does not exist")
    try:
        summary = train_all(data_dir, settings)
    except DatasetInvalid as err:
        raise DataRefused(
            err.report(), "nothing was trained: fix the data (or `klinik validate --quarantine`) and run again"
        ) from None
    except ValueError as err:  # data that loads but cannot train a model, e.g. no labelled rows of both outcomes
        raise CommandFailed(f"cannot train on {data_dir}: {err}") from None
    print(f"MLflow store: {settings.mlflow_uri}")
    for task in ("risk", "recovery"):
        print(_line(summary[task]))
    print(f"done in {summary['seconds']:.0f} s")
    return 0
