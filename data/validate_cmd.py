"""``klinik validate DATA_DIR``: check a dataset folder against the data contract and say what is wrong.

Everything goes to standard output (the report is what the command is for, so it can be paged or saved):
exit 0 with a short summary for a valid dataset -- also when ``--quarantine`` set rows aside, which the
summary counts -- and exit 1 with the full report, grouped by table, when the dataset is refused.
The health table is not required here (scoring does without it); the summary says when it is absent.
"""

from __future__ import annotations

from pathlib import Path

from klinik.data.dataset import Dataset
from klinik.data.loader import load_dataset
from klinik.data.validation import DatasetInvalid


def summary(ds: Dataset) -> str:
    """Tables, rows, cooperatives, years and warnings of a loaded dataset, in a few lines."""
    lines = [f"OK: {ds.source} holds a valid dataset (data contract v1)."]
    tables = {
        "cooperatives": ds.cooperatives,
        "financials": ds.financials,
        "staffing": ds.staffing,
        "meetings": ds.meetings,
        "health": ds.health,
        "clinic_cases": ds.clinic_cases,
    }
    if ds.truth is not None:
        tables["truth"] = ds.truth
    for name, frame in tables.items():
        lines.append(f"  {name:<13} {len(frame):>10,} rows")
    coops = ds.cooperatives
    dissolved = int(coops["dissolved_year"].notna().sum())
    years = [y for t in (ds.financials, ds.staffing, ds.health) if len(t) for y in (t["year"].min(), t["year"].max())]
    span = f"fiscal years {min(years)}-{max(years)}" if years else "no fiscal years"
    lines.append(f"  {len(coops):,} cooperatives ({dissolved:,} dissolved), {span}")
    if ds.health.empty:
        lines.append("  no health assessments: enough to score, not to train")
    if ds.warnings:
        lines.append(f"Warnings ({len(ds.warnings)}):")
        lines += [f"  - {w}" for w in ds.warnings]
    return "\n".join(lines)


def run_validate(data_dir: Path, quarantine: Path | None) -> int:
    """Exit code 0 (valid, summary printed), 1 (refused, full report printed) or 2 (quarantine not writable)."""
    try:
        ds = load_dataset(Path(data_dir), quarantine=quarantine, require_health=False)
    except DatasetInvalid as err:
        print(err.report())
        return 1
    except OSError as err:  # only the quarantine file is written: a path that cannot be written is a usage error
        print(f"cannot write the quarantine file {quarantine}: {err}")
        return 2
    print(summary(ds))
    return 0
