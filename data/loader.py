"""Reads a dataset folder (CSV files, Parquet files or one Excel workbook) into validated, typed tables.

A table is found by its contract name or by its sheet name in the office's Indonesian template (``keuangan.csv``,
sheet ``Keuangan``), in any case. Reading only finds the tables and gets their cells out of the files, numbering
rows as the file shows them; everything about what the cells must be is decided in data/validation.py
(``check_tables``), the same code that checks tables sent to the HTTP service. Whatever a person puts in the
folder -- no file, an empty file, binary junk, an HTML page renamed .csv, a Latin-1 export, the same table twice --
ends as a :class:`DatasetInvalid` naming the file, never as a traceback.
"""

from __future__ import annotations

import csv
import re
import threading
import warnings as _warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from klinik.data.contract import (
    COLUMNS,
    REQUIRED_TABLES,
    TABLE,
    TABLE_FILE_SUFFIXES,
    TEMPLATE_INSTRUCTIONS_SHEET,
    WORKBOOK_SUFFIX,
    table_named,
)
from klinik.data.dataset import Dataset
from klinik.data.messages import Msg, Tab, joined
from klinik.data.problems import DATASET, DatasetInvalid, Problem
from klinik.data.validation import check_tables

# Columns read as text by the CSV reader: identifiers keep leading zeros and dates are checked as written.
_READ_AS_TEXT = {"str", "datetime64[ns]"}
_NUMBERS = {"int64", "Int64", "float64"}
# A text cell of a number column that only the Indonesian form reads (Rp, a decimal comma, 1.234.567), or a
# whole-number column read as fractions (1.250 members): then every number column of the file is read again as
# text, so that data/cells.py judges the file by the form it uses.
_INDONESIAN_HINT = r"(?i)rp|\d,\d|\d\.\d{3}\.\d{3}"


class _Unreadable(Exception):
    """A file that cannot be turned into a table; ``row`` where the file shows the trouble."""

    def __init__(self, rule: Msg, row: int | None = None):
        super().__init__(rule)
        self.rule = rule
        self.row = row


def _sniff(head: bytes, expected: str) -> str | None:
    """What the first bytes say the file really is, when that is not ``expected``; None when it may be."""
    if not head:
        return None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    kinds = [
        (head.startswith(b"PK\x03\x04"), "xlsx", "a_zip"),
        (head.startswith(b"PAR1"), "parquet", "a_parquet"),
        (head.startswith(b"\xd0\xcf\x11\xe0"), "xls", "an_xls"),
        (head.startswith((b"\xff\xfe", b"\xfe\xff")), "utf16", "utf16"),
        (text[:1] == b"<", "html", "html"),
        (b"\x00" in head, "binary", "binary"),
    ]
    for matches, kind, what in kinds:  # signatures first: a Parquet file holds NUL bytes too
        if matches:
            return None if kind == expected else what
    return "other_file" if expected in ("xlsx", "parquet") else None


def _not_what_it_says(path: Path, expected: str, fix: str) -> None:
    """``fix``: the catalogue's words for what the file should be."""
    if path.stat().st_size == 0:
        raise _Unreadable(Msg("file_empty"))
    with path.open("rb") as f:
        head = f.read(8192)
    what = _sniff(head, expected)
    if what:
        raise _Unreadable(Msg("looks_like", expected=Msg(fix), found=Msg(what)))


def _first_bad_utf8(path: Path) -> _Unreadable:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return _Unreadable(Msg("not_utf8_at", byte=data[err.start], line=line), row=line)
    return _Unreadable(Msg("not_utf8"))


def read_csv_table(path: Path, table: str) -> pd.DataFrame:
    """One CSV file's cells, indexed by the row a spreadsheet shows (header row 1, first data row 2).

    Numbers are left to the reader's type inference; a column it cannot read as numbers stays text and
    validation reports the exact cells (when some holds an Indonesian amount, every number column is read as
    text: see _INDONESIAN_HINT). Only an empty cell is missing ("NA", "null" are text). The header may name a
    column by its contract name or its Indonesian header.
    """
    _not_what_it_says(path, "csv", "a_csv")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError:
        raise _first_bad_utf8(path) from None
    except csv.Error as err:
        raise _Unreadable(Msg("header_unreadable", err=str(err)), row=1) from None
    if not header or not any(h.strip() for h in header):
        raise _Unreadable(Msg("header_empty", columns=joined(COLUMNS[table])), row=1)
    names = [h.strip() or _unnamed(i) for i, h in enumerate(header)]
    if len(names) == 1:
        for sep, word in ((";", "semicolons"), ("\t", "tabs")):
            if sep in names[0]:
                raise _Unreadable(Msg("separated_by", separator=Msg(word)), row=1)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _Unreadable(Msg("header_twice", columns=joined(twice)), row=1)
    spec = TABLE[table]
    dtypes = {n: spec.column(c).dtype for n in names if (c := spec.contract_name(n))}
    as_text = [n for n in names if dtypes.get(n) in _READ_AS_TEXT]
    dates = [n for n in names if dtypes.get(n) == "datetime64[ns]"]
    frame = _read_csv(path, names, as_text, dates)
    numbers = [n for n in names if dtypes.get(n) in _NUMBERS]
    if any(_indonesian_cells(frame[n], dtypes[n] != "float64") for n in numbers):
        frame = _read_csv(path, names, as_text + numbers, dates)
    frame.index = np.arange(2, len(frame) + 2)
    return _without_unused_columns(frame)


def _read_csv(path: Path, names: list[str], as_text: list[str], dates: list[str]) -> pd.DataFrame:
    frame = None
    # dates parsed by pyarrow; after a date it will not parse, dates as text (validation names each bad one)
    for parsed_dates in [dates, []] if dates else [[]]:
        try:
            frame = _read_csv_fast(path, names, as_text, parsed_dates)
            break
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
            continue
    if frame is None:
        frame = _read_csv_careful(path, names, as_text)  # a messy file: pandas says which line is wrong
    return frame


def _indonesian_cells(column: pd.Series, whole: bool) -> bool:
    """Whether a number column as the reader gave it may hold numbers written the Indonesian way."""
    if pd.api.types.is_float_dtype(column.dtype):
        return whole and bool((column.dropna() % 1 != 0).any())
    if not pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:
        return False
    return bool(column.astype("str").str.contains(_INDONESIAN_HINT, regex=True).any())


def _unnamed(i: int) -> str:
    """The name of a column whose header cell is empty, as a spreadsheet shows its place."""
    from openpyxl.utils import get_column_letter

    return f"(no header, column {get_column_letter(i + 1)})"


def _without_unused_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop columns with neither a header nor a value (trailing commas of a spreadsheet export)."""
    unused = [c for c in frame.columns if c.startswith("(no header") and frame[c].isna().all()]
    return frame.drop(columns=unused)


def _read_csv_fast(path: Path, names: list[str], as_text: list[str], dates: list[str]) -> pd.DataFrame:
    """pyarrow's multi-threaded reader; any irregularity raises and the careful reader takes over.

    Blank lines are kept as empty rows so that row numbers stay those of the file. Date columns are parsed here
    as strict YYYY-MM-DD (pyarrow refuses 2021-3-5, 2021-02-30 or a time of day; the caller then reads them as
    text, and validation names each bad cell): millions of meeting dates cost little this way.
    """
    types = {h: pa.string() for h in as_text} | {h: pa.date32() for h in dates}
    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )
    for i, col in enumerate(table.columns):
        # pyarrow reads the text "nan" or "inf" as a float; the contract has no such number, so keep it as text
        if pa.types.is_floating(col.type) and (pc.any(pc.is_nan(col)).as_py() or pc.any(pc.is_inf(col)).as_py()):
            table = table.set_column(i, table.column_names[i], pc.cast(col, pa.string()))
        elif pa.types.is_date(col.type):  # else pandas makes Python date objects; seconds hold any year
            table = table.set_column(i, table.column_names[i], col.cast(pa.timestamp("s")))
    return table.to_pandas()


def _read_csv_careful(path: Path, names: list[str], as_text: list[str]) -> pd.DataFrame:
    """pandas' C reader, for files pyarrow refuses: it names the line of a ragged row or a bad byte."""
    try:
        return pd.read_csv(
            path,
            names=names,
            header=0,
            dtype={h: "str" for h in as_text},
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            encoding="utf-8-sig",
            low_memory=False,
        )
    except UnicodeDecodeError:
        raise _first_bad_utf8(path) from None
    except pd.errors.ParserError as err:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if found:
            width, line, saw = (int(x) for x in found.groups())
            raise _Unreadable(Msg("ragged_row", saw=saw, width=width), row=line) from None
        raise _Unreadable(Msg("not_csv", err=str(err))) from None


def read_parquet_table(path: Path) -> pd.DataFrame:
    """One Parquet file, indexed by 1-based record number."""
    _not_what_it_says(path, "parquet", "a_parquet")
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises many kinds for damaged files; all mean the same to the user
        raise _Unreadable(Msg("not_parquet", err=str(err))) from None
    for i, col in enumerate(table.schema):
        if pa.types.is_date(col.type):  # else pandas makes Python date objects, slow to check by the million
            table = table.set_column(i, col.name, table.column(i).cast(pa.timestamp("s")))
    frame = table.to_pandas()
    if list(frame.index.names) != [None]:
        frame = frame.reset_index()  # a table written with its key as the index still has its columns
    frame.index = np.arange(1, len(frame) + 1)
    return frame


def _sheet_frame(ws) -> pd.DataFrame:
    """One worksheet's cells, indexed by the sheet's row numbers (header row 1)."""
    ws.reset_dimensions()  # trust the cells, not the size a writer recorded
    rows = ws.iter_rows(min_row=1, values_only=True)
    header = next(rows, None)
    if header is None or all(h is None or str(h).strip() == "" for h in header):
        raise _Unreadable(Msg("sheet_no_header"), row=1)
    data = list(rows)
    width = max([len(header), *map(len, data)])
    # After reset_dimensions a row ends at its last filled cell: pad, so an all-empty last column still reads.
    data = [tuple(row) + (None,) * (width - len(row)) for row in data]
    frame = pd.DataFrame(data, columns=range(width)) if data else pd.DataFrame(columns=range(width))
    heads = [header[i] if i < len(header) else None for i in range(width)]
    frame.columns = [_unnamed(i) if h is None or str(h).strip() == "" else str(h).strip() for i, h in enumerate(heads)]
    frame.index = np.arange(2, len(frame) + 2)
    return _without_unused_columns(frame)


@dataclass
class _Source:
    """Where one table is: a file of its own, or a sheet of the workbook."""

    path: Path
    sheet: str | None = None

    @property
    def label(self) -> str:
        return self.path.name

    def describe(self) -> str:
        return Msg("in_sheet", file=self.path.name, sheet=self.sheet) if self.sheet else self.path.name


def open_workbook(path: Path):
    """The workbook, opened once in read-only mode (the caller closes it)."""
    _not_what_it_says(path, "xlsx", "a_workbook")
    import openpyxl

    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # zipfile, XML and openpyxl errors all mean "not a workbook we can read"
        raise _Unreadable(Msg("not_a_workbook", err=str(err))) from None


def read_sheet(wb, sheet: str) -> pd.DataFrame:
    """One sheet of an open workbook as a table; raises _Unreadable with the reason."""
    try:
        return _sheet_frame(wb[sheet])
    except _Unreadable:
        raise
    except Exception as err:  # damaged sheet XML and the like
        raise _Unreadable(Msg("sheet_unreadable", sheet=sheet, err=f"{type(err).__name__}: {err}")) from None


def _expected_tables(require_health: bool) -> list[str]:
    return [t for t in REQUIRED_TABLES if t != "health" or require_health]


def _find_tables(
    folder: Path, require_health: bool, books: dict, only: tuple[str, ...] | None = None
) -> tuple[dict[str, list[_Source]], list[Problem], list[str]]:
    """Which file or sheet holds each table; problems of the folder itself; files ignored.

    The workbook, if any, is opened here and left open in ``books`` (path -> workbook) for reading. ``only``: the
    tables wanted (the others are not read), instead of those a dataset requires.
    """
    problems: list[Problem] = []
    warnings: list[str] = []
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    sources: dict[str, list[_Source]] = {}
    ignored = []
    workbooks = [p for p in files if p.suffix.lower() == WORKBOOK_SUFFIX]
    for p in files:
        table, suffix = table_named(p.stem), p.suffix.lower()
        if suffix in TABLE_FILE_SUFFIXES and table is not None:
            sources.setdefault(table, []).append(_Source(p))
        elif suffix == ".xls":
            warnings.append(Msg("xls_ignored", file=p.name))
        elif suffix != WORKBOOK_SUFFIX:
            ignored.append(p.name)
    if ignored:
        warnings.append(Msg("files_ignored", files=joined(ignored)))
    if len(workbooks) > 1:
        problems.append(
            Problem(DATASET, folder.name, None, None, Msg("two_workbooks", files=joined(p.name for p in workbooks)))
        )
    sheets_found: list[str] | None = None
    if len(workbooks) == 1:
        book = workbooks[0]
        try:
            books[book] = open_workbook(book)
            sheets_found = list(books[book].sheetnames)
        except _Unreadable as err:
            problems.append(Problem(DATASET, book.name, None, None, err.rule))
        for sheet in sheets_found or []:
            table = table_named(sheet)
            if table is not None:
                sources.setdefault(table, []).append(_Source(book, sheet))
            elif sheet.strip().casefold() != TEMPLATE_INSTRUCTIONS_SHEET.casefold():  # the template's instructions
                warnings.append(Msg("sheet_ignored", book=book.name, sheet=sheet))
    if only is not None:
        sources = {table: where for table, where in sources.items() if table in only}
    for table, where in sources.items():
        if len(where) > 1:
            rule = Msg("given_twice", where=joined(s.describe() for s in where))
            problems.append(Problem(table, where[0].label, None, None, rule))
    expected = list(only) if only is not None else _expected_tables(require_health)
    for table in expected:
        if table in sources or problems and any(p.table == DATASET for p in problems):
            continue
        name, sheet = table, TABLE[table].sheet
        if sheets_found is not None:
            rule = Msg(
                "no_sheet",
                name=name,
                sheet=sheet,
                book=workbooks[0].name,
                found=joined(sheets_found),
                expected=joined(expected),
                expected_sheets=joined(map(Tab, expected)),
            )
            problems.append(Problem(table, workbooks[0].name, None, None, rule))
        else:
            found = joined(p.name for p in files) if files else Msg("no_files")
            problems.append(
                Problem(table, folder.name, None, None, Msg("no_table_file", name=name, sheet=sheet, found=found))
            )
    return sources, problems, warnings


def _read_source(table: str, src: _Source, books: dict) -> tuple[pd.DataFrame | None, Problem | None]:
    """One table from its file or sheet, or the problem that stopped it."""
    try:
        if src.sheet is not None:
            return read_sheet(books[src.path], src.sheet), None
        if src.path.suffix.lower() == ".csv":
            return read_csv_table(src.path, table), None
        return read_parquet_table(src.path), None
    except _Unreadable as err:
        return None, Problem(table, src.label, err.row, None, err.rule, sheet=src.sheet)
    except Exception as err:  # the safety net: a file we cannot read is that file's problem, not a crash
        rule = Msg("cannot_read", err=f"{type(err).__name__}: {err}")
        return None, Problem(table, src.label, None, None, rule, sheet=src.sheet)


def read_tables(
    folder: Path, require_health: bool = True
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[Problem], list[str]]:
    """Every table's raw cells (indexed by the row the file shows), where each came from, and what went wrong:
    every file read before this returns (load_dataset checks each table while the next is read instead)."""
    arriving = _Arriving(folder, require_health)
    try:
        frames = {table: arriving[table] for table in arriving if table in arriving}  # waits for each file
    finally:
        arriving.close()
    return frames, arriving.files, arriving.problems, arriving.warnings


class _Arriving(Mapping):
    """The tables of a folder, read one after the other by a thread while the caller checks those already read.

    ``table in arriving`` and ``arriving[table]`` wait until that table's file has been read (or failed: then
    it is not in the mapping, and its problem is already in ``problems``). Files are read in the order
    :func:`_find_tables` lists them, so ``problems`` is in the same order on every run. The CSV and Parquet readers
    spend their time in pyarrow, outside the GIL, so reading the next file overlaps with checking this one.
    """

    def __init__(self, folder: Path, require_health: bool, only: tuple[str, ...] | None = None):
        self._books: dict = {}
        try:
            sources, self.problems, self.warnings = _find_tables(folder, require_health, self._books, only)
        except BaseException:
            self._close_books()
            raise
        self._sources = sources
        self.files = {table: where[0].label for table, where in sources.items() if len(where) == 1}
        self.sheets = {table: where[0].sheet for table, where in sources.items() if len(where) == 1 and where[0].sheet}
        self._frames: dict[str, pd.DataFrame] = {}
        self._ready = {table: threading.Event() for table in self.files}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_all, name="klinik-read", daemon=True)
        self._thread.start()

    def _read_all(self) -> None:
        try:
            for table in self.files:
                if self._stop.is_set():
                    break
                try:
                    frame, problem = _read_source(table, self._sources[table][0], self._books)
                    if problem is not None:
                        self.problems.append(problem)
                    else:
                        self._frames[table] = frame
                finally:
                    self._ready[table].set()
        finally:
            for event in self._ready.values():  # stopped early: nobody waits forever
                event.set()
            self._close_books()

    def _close_books(self) -> None:
        for wb in self._books.values():
            wb.close()

    def _wait(self, table: str) -> bool:
        if table not in self._ready:
            return False
        self._ready[table].wait()
        return table in self._frames

    def __contains__(self, table) -> bool:
        return self._wait(table)

    def __getitem__(self, table: str) -> pd.DataFrame:
        if not self._wait(table):
            raise KeyError(table)
        return self._frames[table]

    def __iter__(self):
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def close(self) -> None:
        """Stop after the file being read and wait for the thread (the caller is done or failed)."""
        self._stop.set()
        self._thread.join()


def load_dataset(path: Path, *, quarantine: Path | None = None, require_health: bool = True) -> Dataset:
    """Read and validate the dataset folder ``path`` (docs/data-contract.md) into typed tables.

    ``require_health``: the health table is needed to train; for scoring pass False and a missing health
    table becomes an empty one. Rows breaking a rule either refuse the dataset (:class:`DatasetInvalid`, every
    problem at once) or, with ``quarantine`` (a CSV file path), are written there with the reason and left out;
    ``Dataset.warnings`` says how many. Problems of whole tables or files always refuse.
    """
    return _load(Path(path), quarantine=quarantine, require_health=require_health)


def load_table(path: Path, table: str) -> pd.DataFrame:
    """One table of the dataset folder ``path``, read and validated alone (the other tables are not read; a
    foreign key into them is not checked). Raises :class:`DatasetInvalid` as :func:`load_dataset` does."""
    return getattr(_load(Path(path), quarantine=None, require_health=False, only=(table,)), table)


def _load(path: Path, *, quarantine: Path | None, require_health: bool, only: tuple[str, ...] | None = None) -> Dataset:
    source = str(path)
    if not path.exists():
        raise DatasetInvalid([Problem(DATASET, source, None, None, Msg("folder_missing"))], source)
    if not path.is_dir():
        raise DatasetInvalid([Problem(DATASET, source, None, None, Msg("is_a_file"))], source)
    try:
        arriving = _Arriving(path, require_health, only)
    except PermissionError as err:
        raise DatasetInvalid([Problem(DATASET, source, None, None, Msg("cannot_read", err=str(err)))], source) from None
    try:
        return check_tables(
            arriving,
            arriving.files,
            source=source,
            require_health=require_health,
            quarantine=quarantine,
            problems=arriving.problems,
            warnings=arriving.warnings,
            sheets=arriving.sheets,
            required=only,
        )
    finally:
        arriving.close()
