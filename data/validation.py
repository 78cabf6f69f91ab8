"""Checks tables against the data contract and says where every broken rule is: table, file, row, column.

The one path from raw tables to a typed :class:`Dataset`, for files (``klinik.data.loader``) and for tables in
memory (an HTTP request): each table's columns are matched to the contract (by its names or the Indonesian
headers of the office's template; missing, extra, twice), blank rows dropped, every cell parsed into its contract
type (data/cells.py), the rules checked (data/rules.py), and then either every problem is raised at once as
:class:`DatasetInvalid` (data/problems.py) or, with a quarantine file, the offending rows are set aside
(data/quarantine.py) and the rest returned.

Frames travel through both stages indexed by the row number as the user sees it, so a failure case's index
*is* the row to report. :func:`validate_tables` (tables already in memory) numbers rows 0-based by position in
each table's list; ``klinik.data.loader.load_dataset`` reads files and numbers rows as the file shows them, then
calls the same :func:`check_tables`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from klinik.data.cells import cell_texts, parse_table
from klinik.data.contract import COLUMNS, DTYPES, NON_EMPTY_TABLES, REQUIRED_TABLES, TABLE, TRAINING_TABLES
from klinik.data.dataset import Dataset, empty_table
from klinik.data.messages import Msg, Tab, joined
from klinik.data.problems import DATASET, DatasetInvalid, Problem, TableCheck
from klinik.data.quarantine import quarantine_rows
from klinik.data.rules import check_rules

__all__ = ["DATASET", "DatasetInvalid", "Problem", "check_tables", "validate_tables"]


def _prepare(name: str, frame: pd.DataFrame, file: str, warnings: list[str], sheet: str | None = None) -> TableCheck:
    """Columns (named by the contract or the template's Indonesian headers; missing, extra), blank rows, then
    parse every contract column."""
    spec = TABLE[name]
    frame = frame.copy(deep=False)
    given = [str(c).strip() for c in frame.columns]
    frame.columns = [spec.contract_name(c) or c for c in given]
    tc = TableCheck(name, file, raw=frame, typed=pd.DataFrame(index=frame.index), sheet=sheet)
    expected = COLUMNS[name]
    twice = frame.columns[frame.columns.duplicated()].unique()
    if len(twice):
        tc.table_problems += [tc.problem(None, c, Msg("column_twice")) for c in twice]
        frame = frame.loc[:, ~frame.columns.duplicated()]
    if len(frame.columns) == 0 and len(frame) == 0:
        frame = empty_table(name)  # e.g. an empty JSON list: nothing happened, no columns to name
    extra = [g for g, c in zip(given, frame.columns) if c not in expected]
    if extra:
        warnings.append(Msg("extra_columns", file=file, table=Tab(name), columns=joined(extra)))
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        found = joined(given) if given else Msg("none")
        tc.table_problems += [tc.problem(None, c, Msg("column_missing", found=found)) for c in missing]
    frame = frame[[c for c in expected if c in frame.columns]]
    blank = frame.isna().all(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), dtype=bool)
    if blank.any():
        rows = frame.index[blank]
        last_data = frame.index[~blank].max() if (~blank).any() else None
        inside = rows[rows < last_data] if last_data is not None else rows[:0]
        if len(inside):  # trailing blank rows (common in spreadsheets) are not worth a word
            shown = ", ".join(map(str, inside[:10])) + (", ..." if len(inside) > 10 else "")
            warnings.append(Msg("blank_rows", file=file, n=len(inside), table=Tab(name), rows=shown))
        frame = frame[~blank]
    tc.raw = frame
    typed = {}
    for col, parsed in parse_table(frame, spec).items():
        typed[col] = parsed.values
        for bad, rule in parsed.failures:
            if bad.any():
                tc.parse_failures[col] = tc.parse_failures.get(col, np.zeros(len(frame), dtype=bool)) | bad
                tc.problems += [
                    tc.problem(r, col, rule, v) for r, v in zip(frame.index[bad], cell_texts(frame[col][bad]))
                ]
    tc.typed = pd.DataFrame(typed, index=frame.index)
    return tc


def check_tables(
    frames: dict[str, pd.DataFrame],
    files: dict[str, str],
    *,
    source: str,
    require_health: bool,
    quarantine: Path | None,
    problems: list[Problem] | None = None,
    warnings: list[str] | None = None,
    sheets: dict[str, str] | None = None,
    required: tuple[str, ...] | None = None,
) -> Dataset:
    """The one path from raw tables to a typed :class:`Dataset`, shared by files and in-memory tables.

    ``frames`` are indexed by the row number to report; ``files`` names where each table came from, ``sheets``
    the workbook sheet of a table read from one; ``problems`` and ``warnings`` carry what the reader already found
    (problems there are table-level and always refuse). ``required``: the tables that must be there (default: the
    contract's, health only with ``require_health``). Raises :class:`DatasetInvalid` with every problem found.
    """
    reader_problems = problems if problems is not None else []  # read live: see the note below
    missing_tables: list[Problem] = []
    warnings = list(warnings or [])
    sheets = sheets or {}
    if required is None:
        required = tuple(t for t in REQUIRED_TABLES if t not in TRAINING_TABLES or require_health)
    for name in frames:
        if name not in COLUMNS:
            warnings.append(Msg("not_a_table", file=files.get(name, source), name=name))
    # Each table is parsed and checked as soon as it is there, cooperatives first (the foreign key needs its
    # coop_ids): data.loader hands a mapping whose lookups wait for a table still being read, and appends the
    # problems of a file it cannot read to ``problems`` before it answers for that table.
    assert next(iter(COLUMNS)) == "cooperatives"
    checks: dict[str, TableCheck] = {}
    coop_ids = None
    for name in COLUMNS:
        if name not in frames:
            if name in required and not any(p.table in (name, DATASET) for p in (*reader_problems, *missing_tables)):
                missing_tables.append(Problem(name, files.get(name, source), None, None, Msg("table_missing")))
            continue
        tc = checks[name] = _prepare(name, frames[name], files.get(name, source), warnings, sheets.get(name))
        if name == "cooperatives" and "coop_id" in tc.typed:
            coop_ids = pd.Index(tc.typed["coop_id"].dropna().unique())
        check_rules(tc, coop_ids)
    table_problems = [*reader_problems, *missing_tables]
    for name in (*NON_EMPTY_TABLES, *(TRAINING_TABLES if require_health else ())):
        tc = checks.get(name)
        if tc is not None and len(tc.typed) == 0:
            training = name in TRAINING_TABLES
            rule = Msg("no_rows_to_train", about=TABLE[name].about, table=Tab(name)) if training else Msg("no_rows")
            table_problems.append(tc.problem(None, None, rule))
    for tc in checks.values():
        table_problems += tc.table_problems
    row_problems = [p for tc in checks.values() for p in tc.problems]
    if table_problems or (row_problems and quarantine is None):
        raise DatasetInvalid(table_problems + row_problems, source)
    if quarantine is not None:
        dropped, message = quarantine_rows(checks, Path(quarantine))
        warnings.append(message)
    else:
        dropped = {}
    tables = {}
    for name in COLUMNS:
        tc = checks.get(name)
        if tc is None:
            tables[name] = None if name == "truth" else empty_table(name)
            continue
        gone = dropped.get(name)
        # drop() copies every column even when nothing goes: at national scale that alone took seconds
        typed = tc.typed.drop(index=gone) if gone is not None and len(gone) else tc.typed
        tables[name] = typed.astype(DTYPES[name]).reset_index(drop=True)
    return Dataset(**tables, source=source, warnings=warnings)


def validate_tables(
    tables: dict[str, pd.DataFrame],
    *,
    source: str = "request",
    require_health: bool = False,
    quarantine: Path | None = None,
) -> Dataset:
    """Validate tables already in memory (raw values as a user sent them: strings, numbers, None).

    For the HTTP service: ``Problem.row`` is the 0-based position of the row in that table's list and
    ``Problem.file`` is ``source``. Absent optional tables become empty tables. Raises :class:`DatasetInvalid`
    with every problem, or (with ``quarantine``) writes offending rows there and returns the rest.
    """
    frames = {name: df.reset_index(drop=True) for name, df in tables.items()}
    return check_tables(
        frames, {name: source for name in frames}, source=source, require_health=require_health, quarantine=quarantine
    )
