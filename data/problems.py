"""The problem report: each broken rule located the way the user sees the data, and all of them refused together.

A :class:`Problem` names table, file, row and column; a :class:`TableCheck` collects the problems of one table as
the checks find them; :class:`DatasetInvalid` carries every problem of a dataset and explains them, grouped by
table (``klinik validate`` prints that report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from klinik.data.contract import COLUMNS

DATASET = "(dataset)"  # Problem.table for problems of the folder itself, not of one table
REPORT_LINES_PER_RULE = 100  # DatasetInvalid.report() shows this many lines per table and rule, then a count


@dataclass(frozen=True)
class Problem:
    """One broken rule, located the way the user sees the data.

    ``row`` is the row as the file shows it (CSV/Excel: the header is row 1, the first data row is row 2;
    Parquet: the 1-based record number); for tables given in memory (:func:`validate_tables`) it is the
    0-based position in that table's list. ``row`` is None for problems of a whole table or file, ``column`` is
    None where no column is concerned; ``value`` is the offending cell as given (None when it was empty).
    """

    table: str
    file: str
    row: int | None
    column: str | None
    rule: str
    value: str | None = None

    def __str__(self) -> str:
        place = self.file
        if self.table and self.table != DATASET and Path(self.file).stem != self.table:
            place = f"{self.file} [{self.table}]"
        if self.row is not None:
            place += f" row {self.row}"
        if self.column is not None:
            place += f", column {self.column}"
        got = "" if self.value is None else f" (got {self.value})"
        return f"{place}: {self.rule}{got}"


class DatasetInvalid(Exception):
    """The data broke the contract; ``problems`` holds every problem found, ``report()`` explains them all."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = list(problems)
        self.source = source
        first = "\n".join(f"  {p}" for p in self.problems[:5])
        more = f"\n  ... and {len(self.problems) - 5} more" if len(self.problems) > 5 else ""
        super().__init__(f"{self._headline()}\n{first}{more}")

    def _headline(self) -> str:
        n = len(self.problems)
        tables = {p.table for p in self.problems}
        where = f"dataset {self.source}" if self.source else "the dataset"
        return f"{where} is invalid: {n} problem{'s' * (n != 1)} in {len(tables)} table{'s' * (len(tables) != 1)}"

    def report(self, max_per_rule: int | None = REPORT_LINES_PER_RULE) -> str:
        """Every problem, grouped by table (folder-level first), with counts.

        At most ``max_per_rule`` lines are shown for one rule of one table (None: all); the rest are counted,
        and ``--quarantine`` writes every offending row to a file.
        """
        order = {t: i for i, t in enumerate((DATASET, *COLUMNS))}
        by_table: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_table.setdefault(p.table, []).append(p)
        lines = [self._headline() + "."]
        hidden_total = 0
        for table in sorted(by_table, key=lambda t: (order.get(t, len(order)), t)):
            problems = sorted(by_table[table], key=lambda p: (p.row is not None, p.row or 0, p.column or ""))
            n = len(problems)
            lines += ["", f"{table}: {n} problem{'s' * (n != 1)}"]
            shown: dict[str, int] = {}
            hidden: dict[str, int] = {}
            for p in problems:
                if max_per_rule is not None and shown.get(p.rule, 0) >= max_per_rule:
                    hidden[p.rule] = hidden.get(p.rule, 0) + 1
                    continue
                shown[p.rule] = shown.get(p.rule, 0) + 1
                lines.append(f"  {p}")
            for rule, count in hidden.items():
                lines.append(f"  ... and {count} more: {rule}")
                hidden_total += count
        if hidden_total:
            lines += ["", f"{hidden_total} problems not listed; use --quarantine FILE to get every offending row."]
        return "\n".join(lines)


@dataclass
class TableCheck:
    """One table on its way through the checks: its cells as given and as typed, and the problems found in them."""

    name: str
    file: str
    raw: pd.DataFrame  # contract columns as given (for the quarantine file)
    typed: pd.DataFrame
    parse_failures: dict[str, np.ndarray] = field(default_factory=dict)  # column -> bad-cell mask
    problems: list[Problem] = field(default_factory=list)  # row-level problems
    table_problems: list[Problem] = field(default_factory=list)

    def problem(self, row, column, rule, value=None) -> Problem:
        return Problem(self.name, self.file, None if row is None else int(row), column, rule, value)
