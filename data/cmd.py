"""The data stage's commands: ``klinik simulate`` (write a simulated dataset) and ``klinik validate DATA_DIR``
(check a dataset folder against the data contract and say what is wrong).

``klinik validate`` is the one command whose report of invalid data goes to standard output, since the report
is what the command is for (it can be paged or saved): exit 0 with a short summary for a valid dataset -- also
when ``--quarantine`` set rows aside, which the summary counts -- and exit 1 with the full report, grouped by
table, when the dataset is refused. The health table is not required here (scoring does without it); the
summary says when it is absent.
"""

from __future__ import annotations

from pathlib import Path

from klinik.commands import EXIT_FAILED, EXIT_USAGE, CommandFailed, command
from klinik.data.dataset import Dataset
from klinik.data.loader import load_dataset
from klinik.data.validation import DatasetInvalid


@command("simulate")
def run_simulate(out: Path, coops: int, years: tuple[int, int], seed: int, fmt: str, dirty: bool) -> int:
    """Simulate ``coops`` cooperatives over ``years`` and write every contract table plus truth into ``out``."""
    from klinik.data.io import EXCEL_MAX_ROWS, write_dataset
    from klinik.data.simulator import simulate

    first, last = years
    if fmt == "xlsx" and coops * (last - first + 1) >= EXCEL_MAX_ROWS:
        # Known before simulating: the yearly tables would not fit one Excel sheet.
        raise CommandFailed(
            f"{coops} cooperatives x {last - first + 1} years do not fit an Excel sheet "
            f"({EXCEL_MAX_ROWS - 1:,} rows); use --format csv or parquet",
            EXIT_USAGE,
        )
    tables = simulate(n_coops=coops, years=years, seed=seed, dirty=dirty)
    try:
        write_dataset(tables, out, fmt=fmt)
    except (ValueError, OSError) as err:
        raise CommandFailed(str(err)) from None
    print(f"wrote {coops} cooperatives, {first}-{last}, to {out} ({fmt})")
    return 0


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


@command("validate")
def run_validate(data_dir: Path, quarantine: Path | None) -> int:
    """Exit 0 (valid, summary printed), 1 (refused, full report printed) or 2 (quarantine file not writable)."""
    try:
        ds = load_dataset(Path(data_dir), quarantine=quarantine, require_health=False)
    except DatasetInvalid as err:
        print(err.report())
        return EXIT_FAILED
    except OSError as err:  # only the quarantine file is written: a path that cannot be written is a usage error
        raise CommandFailed(f"cannot write the quarantine file {quarantine}: {err}", EXIT_USAGE) from None
    print(summary(ds))
    return 0
