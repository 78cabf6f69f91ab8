"""Writes docs/data-contract.md from the contract's one declaration (``klinik.data.contract``).

    python -m klinik.data.contract_doc --out docs/data-contract.md

The page is never edited by hand: a test regenerates it and compares it with the committed file, so the
documentation says what the code checks. Rules appear in the words of the error messages a clinic officer reads.
"""

from __future__ import annotations

import argparse
import calendar
from pathlib import Path

from klinik.data.atomic import atomic_file
from klinik.data.contract import (
    CHANGES,
    FIRST_YEAR,
    KINDS,
    SCORES,
    SICK_CATEGORIES,
    TABLE_FILE_SUFFIXES,
    TABLES,
    VERSION,
    WORKBOOK_SUFFIX,
    Column,
    OneOf,
    Table,
)
from klinik.data.messages import Msg

COMMAND = "python -m klinik.data.contract_doc --out docs/data-contract.md"
_USE = {
    "required": "required",
    "train": "required to train; optional to score",
    "optional": "optional",
    "simulator": "written only by a simulator; never read by features, training or serving",
    "output": "written by scoring",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rules(table: Table, column: Column) -> str:
    """The column's own rules (codes with their meanings), the rules across columns reported on it, its note."""
    words = [Msg("must_be_unique")] if table.key == (column.name,) else []
    for rule in column.rules:
        if isinstance(rule, OneOf):
            words.append("must be one of " + ", ".join(f"{c} ({m})" if m else c for c, m in rule.meanings.items()))
        else:
            words.append(rule.words())
    words += [r.words() for r in table.rules if r.column == column.name]
    if column.note:
        words.append(column.note)
    return "; ".join(words)


def _key(table: Table) -> str:
    if len(table.key) > 1:
        return f" Key: ({', '.join(f'`{k}`' for k in table.key)}); no two rows share it."
    return f" Key: `{table.key[0]}`." if table.key else ""


def table_section(table: Table) -> list[str]:
    """One table: who needs it, what a row is, its key, its sheet in the office's template, its notes, and one
    line per column (with its Indonesian header where the office fills the table in)."""
    needed = _USE[table.use]
    lines = [f"### {table.name}", "", f"{needed[0].upper()}{needed[1:]}: {table.about}.{_key(table)}", ""]
    if table.needs_rows:
        lines[-2] += " It must hold at least one row."
    if table.sheet:
        lines[-2] += f" In the office's template: sheet `{table.sheet}`."
    lines += [*table.notes, ""] if table.notes else []
    headers = any(c.header for c in table.columns)
    lines += [
        "| column |" + (" Indonesian header |" if headers else "") + " type | meaning | may be empty | rules |",
        "|---|" + ("---|" if headers else "") + "---|---|---|---|",
    ]
    for c in table.columns:
        kind = c.kind + (f" ({c.unit})" if c.unit else "")
        header = (c.header,) if headers else ()
        cells = (f"`{c.name}`", *header, kind, c.meaning, "yes" if c.optional else "no", _rules(table, c))
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return [*lines, ""]


def _deadline() -> str:
    from klinik.settings import Settings

    fields = Settings.model_fields
    month = calendar.month_name[fields["rat_office_deadline_month"].default]
    return f"{fields['rat_office_deadline_day'].default} {month}"


def render(tables: tuple[Table, ...] = TABLES, scores: Table = SCORES) -> str:
    """The whole page, from the declaration given (by default the contract's)."""
    sick = " or ".join(SICK_CATEGORIES)
    referring = [t.name for t in tables if t.refers_to_cooperatives and t.use != "output"]
    lines = [
        f"# Data contract, v{VERSION}",
        "",
        f"<!-- Generated from data/contract.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        "This is the interface between the project and the cooperatives office (Dinas Koperasi dan UKM) that feeds "
        "it. The simulator writes it, every loader reads it, and data that an office exports from its own "
        "spreadsheets or database must load through it unchanged. Column names are English snake_case; category "
        "codes are the official Indonesian terms the office already uses. Extra columns are allowed and ignored "
        "(with a warning); missing required columns, wrong types and broken rules are errors that name the table, "
        "file, row and column.",
        "",
        "## Where a dataset lives",
        "",
        "A dataset is one folder holding one file per table, named "
        + " or ".join(f"`<table>{s}`" for s in TABLE_FILE_SUFFIXES)
        + f" (CSV: UTF-8, comma separated, with a header row), or one Excel workbook `*{WORKBOOK_SUFFIX}` with one "
        "sheet per table, named after the table. A CSV row is numbered as a spreadsheet shows it (the header is "
        "row 1); a Parquet row by its 1-based record number.",
        "",
        "- An empty cell is a missing value: allowed only where a column says so.",
        "- `year` is the fiscal year (tahun buku), which for cooperatives is the calendar year. "
        f"No year or date may lie before {FIRST_YEAR} or after the current year.",
        f"- A table that refers to a cooperative ({', '.join(referring)}) names it by a `coop_id` listed in "
        "cooperatives.",
        "",
        "What a cell of each type holds:",
        "",
        "| type | a cell holds |",
        "|---|---|",
        *(f"| {kind} | {words} |" for kind, (_, words) in KINDS.items()),
        "",
        "## Written as an office writes it",
        "",
        "`klinik template --out FILE.xlsx` writes the workbook an office fills in (docs/office-data.md): a sheet per "
        "table named as in the tables below (`Keuangan` for financials), each column headed by its Indonesian header. "
        "The loader reads those names and headers as well as the contract's (in any case and spacing), and cells "
        "written the way an Indonesian office writes them:",
        "",
        "- amounts and other numbers: `Rp 570.584.777`, `570.584.777,50`, `Rp 570.584.777,-` (a dot between "
        "thousands, a decimal comma; `-Rp 1.000` or `(1.000)` negative), besides the plain `570584777.5`;",
        "- dates: `14/09/2024`, `14-09-2024` (day first) and Excel dates, besides `2024-09-14`;",
        "- flags: `ya` / `tidak`, besides `true` / `false` and `1` / `0`.",
        "",
        "One form is ambiguous: `1.234` is one point two three four written plainly and one thousand two hundred "
        "and thirty-four written the Indonesian way. A table (a file, or a sheet of a workbook) is judged by the form "
        "its number cells use: if some cell can only be Indonesian (`Rp`, a decimal comma, `1.234.567`, or "
        "`1.250` in a whole-number column) and none can only be plain (`1234.5`), `1.234` is 1234; in a table with "
        "no such cell it is 1.234, as the contract always read it; in a table written both ways it is refused as "
        "ambiguous. Cells Excel already holds as numbers or dates say nothing about the form. `klinik validate` "
        "and `klinik score` answer in Indonesian with `KLINIK_LANGUAGE=id`, naming sheets and columns as the "
        "template does.",
        "",
        "## Tables",
        "",
        "| table | needed | a row is |",
        "|---|---|---|",
        *(f"| [{t.name}](#{t.name}) | {_USE[t.use]} | {t.about} |" for t in tables),
        "",
    ]
    for table in tables:
        lines += table_section(table)
    lines += [
        "## Labels",
        "",
        f"- sick(c, t): the health category of cooperative c in year t is {sick}.",
        "- Risk of falling sick, for each (c, t) assessed and not sick at t: 1 if sick at t+1 or dissolved in t+1; "
        "0 if assessed and not sick at t+1; otherwise not labelled (scored, never trained on).",
        "- Recovery, for each (c, t) sick at t: 1 if assessed not sick at t+1 or t+2; 0 if assessed sick at both, "
        "or dissolved by t+2; otherwise not labelled.",
        "- Features for (c, t) use only data dated year <= t (and, for the RAT of year t, meetings held on or "
        f"before the office's deadline in t+1, by default {_deadline()}). Nothing later, ever.",
        "",
        "## Scores",
        "",
        "What batch scoring writes (`scores.csv` and `scores.parquet`), and what the service returns per "
        "cooperative (there with the reasons also structured, one entry per reason).",
        "",
        *table_section(scores),
        "",
        "## Changes",
        "",
        *(f"- v{version}: {what}." for version, what in CHANGES),
    ]
    return "\n".join(lines).rstrip() + "\n"


def page_command(render_page, prog: str, about: str, argv: list[str] | None = None) -> int:
    """A generated page's command: print the page, or with ``--out FILE`` write it (atomically)."""
    parser = argparse.ArgumentParser(prog=prog, description=about)
    parser.add_argument("--out", type=Path, help="the file to write (default: print the page)")
    args = parser.parse_args(argv)
    page = render_page()
    if args.out is None:
        print(page, end="")
        return 0
    with atomic_file(args.out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return page_command(render, "python -m klinik.data.contract_doc", __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    raise SystemExit(main())
