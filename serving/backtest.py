"""Last year's predictions, judged: earlier predictions of falling sick beside what happened, for report.html.

When the dataset holds health assessments for as_of+1 (a past year re-scored), this run's own predictions are
compared with them; otherwise, when it holds assessments for as_of, an earlier run's scores for as_of-1 are
looked for in ``--out`` itself and in the folders beside it (the layout ``work/scores/2023``,
``work/scores/2024``), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik.serving.outputs import SCORES_PARQUET, read_scores

if TYPE_CHECKING:
    from klinik.data.dataset import Dataset
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings


@dataclass
class Backtest:
    """Earlier predictions of falling sick beside what happened: one row per coop, columns p_sick_next, rank,
    outcome (1 fell sick or was dissolved the next year, 0 stayed healthy); ``year`` the year predicted from;
    ``source`` where the predictions came from (this run, or an earlier run's scores file)."""

    frame: pd.DataFrame
    year: int
    source: str
    model_version: str


def evaluate(backtest: Backtest, k: int) -> dict:
    """Brier score, expected calibration error, base rate, and hits among the top ``k`` by rank (1 first)."""
    from klinik.models.calibration import expected_calibration_error

    f = backtest.frame
    y = f["outcome"].to_numpy(dtype=float)
    p = f["p_sick_next"].to_numpy(dtype=float)
    top = f.nsmallest(min(k, len(f)), "rank")
    hits = int(top["outcome"].sum())
    positives = int(y.sum())
    return {
        "n": int(len(f)),
        "positives": positives,
        "base_rate": float(y.mean()) if len(f) else float("nan"),
        "brier": float(np.mean((p - y) ** 2)) if len(f) else float("nan"),
        "ece": expected_calibration_error(y, p) if len(f) else float("nan"),
        "k": int(len(top)),
        "hits": hits,
        "precision_at_k": hits / len(top) if len(top) else float("nan"),
        "recall_at_k": hits / positives if positives else float("nan"),
    }


def _earlier_scores(out: Path, year: int) -> tuple[pd.DataFrame, str] | None:
    """An earlier run's scores for ``year``: in ``out`` itself or a folder beside it, newest first."""
    if out.is_symlink():  # work/scores/latest -> 2024: look beside the folder it points at
        out = out.resolve()
    candidates = [out / SCORES_PARQUET]
    if out.parent.is_dir():
        candidates += [
            p / SCORES_PARQUET for p in out.parent.iterdir() if p.is_dir() and not p.name.startswith(".") and p != out
        ]
    found = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            years = pd.read_parquet(path, columns=["as_of_year"])["as_of_year"].unique()
        except Exception:  # not our file, or unreadable: it is only a candidate
            continue
        if len(years) == 1 and int(years[0]) == year:
            found.append(path)
    if not found:
        return None
    newest = max(found, key=lambda p: p.stat().st_mtime_ns)
    return read_scores(newest), f"earlier run {newest.parent}"


def find_backtest(ds: Dataset, result: ScoreResult, out: Path, settings: Settings) -> Backtest | None:
    """Predictions of falling sick whose outcome the dataset already knows (see the module's notes)."""
    from klinik.features.labels import make_labels

    years = set(ds.health["year"].unique().tolist())
    as_of = result.as_of_year
    if as_of + 1 in years:
        preds, year, source = result.scores, as_of, "this run; outcomes from the next year's assessments"
    elif as_of in years:
        earlier = _earlier_scores(out, as_of - 1)
        if earlier is None:
            return None
        (preds, source), year = earlier, as_of - 1
    else:
        return None
    labels = make_labels(ds, settings)
    labels = labels.loc[(labels["year"] == year) & labels["risk_label"].notna(), ["coop_id", "risk_label"]]
    frame = preds.loc[preds["p_sick_next"].notna(), ["coop_id", "p_sick_next", "rank"]].merge(
        labels.astype({"coop_id": "str"}), on="coop_id", how="inner"
    )
    frame = frame.rename(columns={"risk_label": "outcome"}).astype({"outcome": "int64"})
    if frame.empty:
        return None
    version = str(preds["model_version"].iloc[0]) if len(preds) else ""
    return Backtest(frame=frame.reset_index(drop=True), year=year, source=source, model_version=version)
