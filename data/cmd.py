"""The data stage's commands: ``klinik simulate`` (write a simulated dataset), ``klinik validate DATA_DIR``
(check a dataset folder against the data contract and say what is wrong) and ``klinik template`` (write the workbook
an office fills in, data/template.py).

``klinik validate`` is the one command whose report of invalid data goes to standard output, since the report
is what the command is for (it can be paged or saved): exit 0 with a short summary for a valid dataset -- also
when ``--quarantine`` set rows aside, which the summary counts -- and exit 1 with the full report, grouped by
table, when the dataset is refused. The health table is not required here (scoring does without it); the
summary says when it is absent. Report and summary are in the office's language (``KLINIK_LANGUAGE``: en or id).
"""

from __future__ import annotations

from pathlib import Path

from klinik.commands import EXIT_FAILED, EXIT_USAGE, CommandFailed, DataRefused, command
from klinik.data.contract import VERSION, indonesian_names
from klinik.data.dataset import Dataset
from klinik.data.loader import load_dataset
from klinik.data.messages import Language, Msg, Tab
from klinik.data.validation import DatasetInvalid


@command("simulate")
def run_simulate(
    out: Path, coops: int, years: tuple[int, int], seed: int, fmt: str, dirty: bool, variant: str = "baseline"
) -> int:
    """Simulate ``coops`` cooperatives over ``years`` in the world ``variant`` and write every contract table plus
    truth into ``out``."""
    from klinik.data.io import EXCEL_MAX_ROWS, write_dataset
    from klinik.data.simulator import simulate
    from klinik.data.simulator_worlds import variant as world_variant

    try:
        spec = world_variant(variant)
    except ValueError as err:
        raise CommandFailed(str(err), EXIT_USAGE) from None

    first, last = years
    if fmt == "xlsx" and coops * (last - first + 1) >= EXCEL_MAX_ROWS:
        # Known before simulating: the yearly tables would not fit one Excel sheet.
        raise CommandFailed(
            f"{coops} cooperatives x {last - first + 1} years do not fit an Excel sheet "
            f"({EXCEL_MAX_ROWS - 1:,} rows); use --format csv or parquet",
            EXIT_USAGE,
        )
    tables = simulate(n_coops=coops, years=years, seed=seed, dirty=dirty, spec=spec)
    try:
        write_dataset(tables, out, fmt=fmt)
    except (ValueError, OSError) as err:
        raise CommandFailed(str(err)) from None
    world = "" if variant == "baseline" else f", world {variant}"
    print(f"wrote {coops} cooperatives, {first}-{last}{world}, to {out} ({fmt})")
    return 0


def summary(ds: Dataset, language: Language = "en") -> str:
    """Tables, rows, cooperatives, years and warnings of a loaded dataset, in a few lines, in ``language``."""
    lines = [Msg("valid", source=ds.source, version=VERSION)]
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
        lines.append(Msg("rows_of", table=Tab(name), n=len(frame)))
    coops = ds.cooperatives
    dissolved = int(coops["dissolved_year"].notna().sum())
    years = [y for t in (ds.financials, ds.staffing, ds.health) if len(t) for y in (t["year"].min(), t["year"].max())]
    span = Msg("fiscal_years", first=int(min(years)), last=int(max(years))) if years else Msg("no_fiscal_years")
    lines.append(Msg("coops_span", n=len(coops), dissolved=dissolved, span=span))
    if ds.health.empty:
        lines.append(Msg("no_health"))
    if ds.warnings:
        lines.append(Msg("warnings", n=len(ds.warnings)))
        lines += [Msg("warning_line", warning=w) for w in ds.warnings]
    names = indonesian_names(None)
    return "\n".join(line.say(language, names) for line in lines)


def _language() -> Language:
    from klinik.settings import get_settings

    return get_settings().language


@command("validate")
def run_validate(data_dir: Path, quarantine: Path | None) -> int:
    """Exit 0 (valid, summary printed), 1 (refused, full report printed) or 2 (quarantine file not writable)."""
    language = _language()
    try:
        ds = load_dataset(Path(data_dir), quarantine=quarantine, require_health=False)
    except DatasetInvalid as err:
        print(err.report(language=language))
        return EXIT_FAILED
    except OSError as err:  # only the quarantine file is written: a path that cannot be written is a usage error
        unwritable = Msg("quarantine_unwritable", path=str(quarantine), err=str(err))
        raise CommandFailed(unwritable.say(language), EXIT_USAGE) from None
    print(summary(ds, language))
    return 0


@command("template")
def run_template(out: Path, coops: Path | None) -> int:
    """Write the workbook to fill in (data/template.py) to ``out``, listing the cooperatives of the dataset folder
    ``coops`` if given. Exit 0, 1 (those cooperatives are invalid: their report) or 2 (``out`` is not .xlsx)."""
    from klinik.data.loader import load_table
    from klinik.data.template import write_template

    language = _language()
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise CommandFailed(Msg("template_not_xlsx", out=str(out)).say(language), EXIT_USAGE)
    table = None
    if coops is not None:
        try:
            table = load_table(Path(coops), "cooperatives")
        except DatasetInvalid as err:
            refused = Msg("template_coops_invalid", coops=str(coops)).say(language)
            raise DataRefused(err.report(language=language), refused) from None
    try:
        write_template(out, table)
    except OSError as err:
        raise CommandFailed(Msg("cannot_write", path=str(out), err=str(err)).say(language)) from None
    print(Msg("template_written", out=str(out), n=0 if table is None else len(table)).say(language))
    return 0
