"""The audit record of a ``klinik score`` run (manifest.json): what went in, with which models and settings,
what came out, and when.

Written last into the run's output folder; it names every other output with its size and sha256, and the
dataset folder by the sha256 of each of its files and one hash over all of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from klinik.serving.report import Backtest
    from klinik.serving.scoring import ScoreResult
    from klinik.settings import Settings

MANIFEST_FILE = "manifest.json"


class HashingCancelled(Exception):
    """Hashing the inputs was called off (the dataset failed validation: no manifest will be written)."""


def _sha256(path: Path, cancel: threading.Event | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            if cancel is not None and cancel.is_set():
                raise HashingCancelled(str(path))
            h.update(block)
    return h.hexdigest()


def hash_inputs(data_dir: Path, cancel: threading.Event | None = None) -> dict:
    """The sha256 of every file of the dataset folder, and one hash over all of them (names and contents).

    The batch job runs this in a thread while the dataset is read and validated (hashlib releases the GIL on
    large blocks); ``cancel`` set calls it off between blocks.
    """
    files = sorted(p for p in Path(data_dir).rglob("*") if p.is_file())
    entries = [
        {"path": p.relative_to(data_dir).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p, cancel)}
        for p in files
    ]
    total = hashlib.sha256("".join(f"{e['path']}\0{e['sha256']}\n" for e in entries).encode()).hexdigest()
    return {"dir": str(Path(data_dir).resolve()), "sha256": total, "files": entries}


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(series.value_counts().items())}


def build_manifest(
    result: ScoreResult,
    models_summary: dict,
    inputs: dict,
    settings: Settings,
    args: dict,
    started: dt.datetime,
    outputs: list[Path],
    backtest: Backtest | None,
    warnings: list[str],
    stage_seconds: dict[str, float] | None = None,
) -> dict:
    scores = result.scores
    finished = dt.datetime.now(dt.UTC)
    kept = settings.model_dump(mode="json", exclude={"api_key", "database_url"})  # secrets stay out of records
    return {
        "command": "klinik score",
        "arguments": args,
        "argv": sys.argv,
        "as_of_year": result.as_of_year,
        "note": "Recommendations for a clinic officer to decide on; no action here is a decision.",
        "models": models_summary,
        "input": inputs,
        "validation_warnings": warnings,
        "settings": {**kept, "mlflow_uri": settings.mlflow_uri},
        "counts": {
            "scored": int(len(scores)),
            "outreach_capacity": result.capacity,
            "by_status": _counts(scores["status"]),
            "by_action": _counts(scores["action"]),
            "by_clinic": _counts(scores["clinic"]),
            "by_clinic_and_action": {str(c): _counts(g["action"]) for c, g in scores.groupby("clinic")},
        },
        "backtest": None
        if backtest is None
        else {
            "year": backtest.year,
            "source": backtest.source,
            "model_version": backtest.model_version,
            "rows": int(len(backtest.frame)),
        },
        "outputs": [{"file": p.name, "bytes": p.stat().st_size, "sha256": _sha256(p)} for p in outputs],
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_seconds": round((finished - started).total_seconds(), 2),
        "stage_seconds": stage_seconds or {},
    }


def write_manifest(folder: Path, manifest: dict) -> Path:
    """manifest.json in ``folder`` (the run's temporary output folder, swapped into place whole)."""
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
