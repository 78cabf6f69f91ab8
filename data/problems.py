"""The problem report: each broken rule located the way the user sees the data, and all of them refused together.

A :class:`Problem` names table, file, sheet, row and column; a :class:`TableCheck` collects the problems of one
table as the checks find them; :class:`DatasetInvalid` carries every problem of a dataset and explains them, grouped
by table (``klinik validate`` prints that report), in English or Indonesian: the words come from the message
catalogue (data/messages.py), and an Indonesian report names tables and columns as the office's template does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from klinik.data.contract import COLUMNS, indonesian_names, table_named
from klinik.data.messages import Col, Language, Msg, Tab

DATASET = "(dataset)"  # Problem.table for problems of the folder itself, not of one table
REPORT_LINES_PER_RULE = 100  # DatasetInvalid.report() shows this many lines per table and rule, then a count


@dataclass(frozen=True)
class Problem:
    """One broken rule, located the way the user sees the data.

    ``row`` is the row as the file shows it (CSV/Excel: the header is row 1, the first data row is row 2;
    Parquet: the 1-based record number); for tables given in memory (:func:`validate_tables`) it is the
    0-based position in that table's list. ``row`` is None for problems of a whole table or file, ``column`` is
    None where no column is concerned (it is the contract's name, whichever header the file used); ``value`` is
    the offending cell as given (None when it was empty); ``sheet`` the workbook's sheet that holds the table.
    ``rule`` (and a composite ``value``) are catalogue messages where the data layer wrote them: ``say`` puts
    the whole problem in either language.
    """

    table: str
    file: str
    row: int | None
    column: str | None
    rule: str
    value: str | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        return self.say("en")

    def say(self, language: Language = "en") -> str:
        names = indonesian_names(self.table)
        place = Msg("at_file", file=self.file)
        if self.sheet is not None:
            place = Msg("at_sheet", place=place, sheet=self.sheet)
        elif self.table and self.table != DATASET and table_named(Path(self.file).stem) != self.table:
            place = Msg("at_sheet", place=place, sheet=Tab(self.table))
        if self.row is not None:
            place = Msg("at_row", place=place, row=self.row)
        if self.column is not None:
            columns = [Col(c) for c in self.column.split(", ")]
            headers = ", ".join(names(c) for c in columns)
            key = "at_column" if headers != self.column else "at_column_plain"
            place = Msg(key, place=place, column=self.column, header=headers)
        if self.value is None:
            return Msg("problem", place=place, rule=self.rule).say(language, names)
        return Msg("problem_got", place=place, rule=self.rule, value=self.value).say(language, names)


class DatasetInvalid(Exception):
    """The data broke the contract; ``problems`` holds every problem found, ``report()`` explains them all."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = list(problems)
        self.source = source
        first = "\n".join(f"  {p}" for p in self.problems[:5])
        more = f"\n  ... and {len(self.problems) - 5} more" if len(self.problems) > 5 else ""
        super().__init__(f"{self._headline()}\n{first}{more}")

    def _headline(self, language: Language = "en") -> str:
        n, t = len(self.problems), len({p.table for p in self.problems})
        where = Msg("dataset_at", source=self.source) if self.source else Msg("the_dataset")
        problems, tables = Msg("problems_word", n=n), Msg("tables_word", n=t)
        return Msg("invalid", where=where, n=n, problems=problems, t=t, tables=tables).say(language)

    def report(self, max_per_rule: int | None = REPORT_LINES_PER_RULE, language: Language = "en") -> str:
        """Every problem, grouped by table (folder-level first), with counts, in ``language``.

        At most ``max_per_rule`` lines are shown for one rule of one table (None: all); the rest are counted,
        and ``--quarantine`` writes every offending row to a file.
        """
        order = {t: i for i, t in enumerate((DATASET, *COLUMNS))}
        by_table: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_table.setdefault(p.table, []).append(p)
        lines = [self._headline(language) + "."]
        hidden_total = 0
        for table in sorted(by_table, key=lambda t: (order.get(t, len(order)), t)):
            problems = sorted(by_table[table], key=lambda p: (p.row is not None, p.row or 0, p.column or ""))
            names = indonesian_names(table)
            lines += ["", Msg("table_heading", table=Tab(table), n=len(problems)).say(language, names)]
            shown: dict[str, int] = {}
            hidden: dict[str, int] = {}
            for p in problems:
                if max_per_rule is not None and shown.get(p.rule, 0) >= max_per_rule:
                    hidden[p.rule] = hidden.get(p.rule, 0) + 1
                    continue
                shown[p.rule] = shown.get(p.rule, 0) + 1
                lines.append(f"  {p.say(language)}")
            for rule, count in hidden.items():
                lines.append("  " + Msg("more_of_rule", n=count, rule=rule).say(language, names))
                hidden_total += count
        if hidden_total:
            lines += ["", Msg("not_listed", n=hidden_total).say(language)]
        return "\n".join(lines)


@dataclass
class TableCheck:
    """One table on its way through the checks: its cells as given and as typed, and the problems found in them."""

    name: str
    file: str
    raw: pd.DataFrame  # contract columns as given (for the quarantine file)
    typed: pd.DataFrame
    sheet: str | None = None  # the workbook's sheet that holds the table
    parse_failures: dict[str, np.ndarray] = field(default_factory=dict)  # column -> bad-cell mask
    problems: list[Problem] = field(default_factory=list)  # row-level problems
    table_problems: list[Problem] = field(default_factory=list)

    def problem(self, row, column, rule, value=None) -> Problem:
        return Problem(self.name, self.file, None if row is None else int(row), column, rule, value, self.sheet)
