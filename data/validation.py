"""Checks tables against the data contract and says where every broken rule is: table, file, row, column.

Two stages, both vectorised (no Python per row on the national-scale path):

1. *Parse*: every column is turned from what a person or a file gave (text, numbers, Excel cells, JSON values)
   into the contract's type (``data/contract.py`` DTYPES). A cell that cannot be read ("Rp 1.000" in a money
   column, "15/03/2021" in a date column) becomes a problem naming its row; nothing is coerced silently.
2. *Rules*: a pandera schema per table checks what the typed values must satisfy: required cells, codes, ranges,
   cross-column rules, unique keys and the coop_id foreign key. Pandera reports every failing cell at once
   (``lazy=True``); the failure cases are translated into :class:`Problem` lines a clinic officer can act on.

Frames travel through both stages indexed by the row number as the user sees it, so a failure case's index
*is* the row to report. :func:`validate_tables` (tables already in memory, e.g. an HTTP request) numbers rows
0-based by position in each table's list; ``klinik.data.loader.load_dataset`` reads files and numbers rows as the file
shows them, then calls the same :func:`check_tables`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import tempfile
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute
import pyarrow.csv
from pandera.errors import SchemaErrors

from klinik.data.contract import (
    CASE_OUTCOMES,
    CLINICS,
    COLUMNS,
    COOP_REFERENCING_TABLES,
    COOP_TYPES,
    DTYPES,
    FIRST_YEAR,
    HEALTH_CATEGORIES,
    HEALTH_SCORE_BANDS,
    KEYS,
    MEETING_TYPES,
    MONEY_COLUMNS,
    NON_EMPTY_TABLES,
    OPTIONAL_COLUMNS,
    REQUIRED_TABLES,
)
from klinik.data.dataset import Dataset

DATASET = "(dataset)"  # Problem.table for problems of the folder itself, not of one table
# Money comparisons allow half a sen of rounding: values written as decimals do not always add up exactly.
MONEY_TOLERANCE = 0.005
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


# --------------------------------------------------------------------------------------------------------------
# Stage 1: parse raw cells into the contract's types
# --------------------------------------------------------------------------------------------------------------

_KIND = {
    "str": "text",
    "int64": "whole",
    "Int64": "whole",
    "float64": "number",
    "bool": "bool",
    "datetime64[ns]": "date",
}
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
_NOT_A_NUMBER = "\0not a number"  # stands in for cells (booleans, dates) that to_numeric must not accept


@dataclass
class _Parsed:
    """A column in its contract type, with the cells that could not be read."""

    values: pd.Series
    failures: list[tuple[np.ndarray, str]] = field(default_factory=list)  # (bad-cell mask, rule)


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and s.dtype != object


def _blank_to_na(t: pd.Series) -> pd.Series:
    """Strip text; an empty cell is a missing value (the contract's only spelling of 'missing')."""
    t = t.str.strip()
    return t.mask(t == "")


def _cell_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # an Excel or JSON number used as an identifier: 12.0 -> "12"
    if isinstance(v, _dt.datetime) and v.time() == _dt.time(0):
        return v.date().isoformat()
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _as_text(s: pd.Series) -> pd.Series:
    """Any column as stripped text; only object, numeric or date columns (small inputs) pay for a map."""
    if not _is_text(s):
        if s.dtype == object and set(map(type, s.to_numpy())) <= {str, type(None)}:  # JSON text: as it is
            s = s.astype("str")
        else:
            s = s.map(_cell_text, na_action="ignore").astype("str")
    return _blank_to_na(s)


def _parse_text(s: pd.Series) -> _Parsed:
    return _Parsed(_as_text(s))


def _plain_numbers(s: pd.Series) -> np.ndarray | None:
    """An object column holding only Python floats and ints (JSON numbers) and None, as float64; None otherwise.

    The same values the text path gives (a float's repr reads back as itself; an int is exact below 2**53; an
    integral float is written as an int, so -0.0 reads as 0.0), without writing and reading text."""
    if s.dtype != object:
        return None
    cells = s.to_numpy()
    kinds = set(map(type, cells))
    if not kinds <= {float, int, type(None)}:
        return None
    if int in kinds and any(type(v) is int and abs(v) >= 2**53 for v in cells):
        return None
    return np.array([np.nan if v is None else v for v in cells], dtype=np.float64) + 0.0


def _parse_number(s: pd.Series, whole: bool) -> _Parsed:
    if pd.api.types.is_integer_dtype(s.dtype):  # the common case of a clean file: nothing can be wrong
        return _Parsed(s.astype("Int64") if whole else s.astype("float64"))
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        num = pd.Series(np.nan, index=s.index)
        present = s.notna().to_numpy()
    elif pd.api.types.is_numeric_dtype(s.dtype):
        num = s.astype("float64")
        present = s.notna().to_numpy()
    elif (arr := _plain_numbers(s)) is not None:
        num = pd.Series(arr, index=s.index)
        present = ~np.isnan(arr)
    else:
        if not _is_text(s):  # object: JSON or Excel values; booleans and dates are not numbers
            s = s.map(lambda v: _NOT_A_NUMBER if isinstance(v, (bool, np.bool_, _dt.date)) else v, na_action="ignore")
            s = s.map(_cell_text, na_action="ignore").astype("str")
        t = _blank_to_na(s)
        present = t.notna().to_numpy()
        num = pd.to_numeric(t, errors="coerce").astype("float64")
    arr = num.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = present & ~np.isfinite(arr)
        rule = "must be a number"
        if whole:  # and small enough to be an exact integer (a count of 1e30 is a typing slip)
            bad |= present & np.isfinite(arr) & ((arr != np.floor(arr)) | (np.abs(arr) > 2**53))
            rule = "must be a whole number"
    values = num.where(~bad) if bad.any() else num
    return _Parsed(values.astype("Int64") if whole else values, [(bad, rule)])


def _parse_bool(s: pd.Series) -> _Parsed:
    if pd.api.types.is_bool_dtype(s.dtype):
        return _Parsed(s.astype("boolean"))
    if pd.api.types.is_numeric_dtype(s.dtype):
        t = s.astype("float64").map({1.0: "1", 0.0: "0"}).astype("str")
        present = s.notna().to_numpy()
    else:
        t = _as_text(s).str.lower()
        present = t.notna().to_numpy()
    flags = t.map(_BOOL_WORDS)
    bad = present & flags.isna().to_numpy()
    return _Parsed(flags.astype("boolean"), [(bad, "must be true or false")])


def _parse_date(s: pd.Series) -> _Parsed:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        failures = []
    else:
        # Dates repeat (a few thousand days across millions of meetings): read each distinct text once.
        codes, texts = pd.factorize(s if _is_text(s) else _as_text(s))
        texts = _blank_to_na(pd.Series(texts, dtype="str"))
        iso = (texts.str.len() == 10).to_numpy(dtype=bool)  # YYYY-MM-DD exactly, not 2021-3-5
        days = pd.to_datetime(texts.where(iso), format="%Y-%m-%d", errors="coerce").to_numpy()
        unreadable = texts.notna().to_numpy() & np.isnat(days)
        codes = np.where(codes < 0, len(days), codes)  # an empty cell takes the NaT appended here
        values = pd.Series(np.append(days, np.datetime64("NaT"))[codes], index=s.index)
        failures = [(np.append(unreadable, False)[codes], "must be a date YYYY-MM-DD")]
    stamps = values.to_numpy()
    # Outside what datetime64[ns] can hold: reported as out of range (the rules stage says the same for any year).
    out = ~np.isnat(stamps) & ((stamps < np.datetime64("1678-01-01")) | (stamps > np.datetime64("2261-12-31")))
    if out.any():
        failures.append((out, _date_range_rule()))
        values = values.where(~out)
    return _Parsed(values.astype("datetime64[ns]"), failures)


def _parse_column(s: pd.Series, dtype: str) -> _Parsed:
    if s.dtype == "category":
        s = s.astype(object)
    kind = _KIND[dtype]
    if kind == "text":
        return _parse_text(s)
    if kind in ("whole", "number"):
        return _parse_number(s, whole=kind == "whole")
    if kind == "bool":
        return _parse_bool(s)
    return _parse_date(s)


# --------------------------------------------------------------------------------------------------------------
# Stage 2: the rules, as pandera schemas
# --------------------------------------------------------------------------------------------------------------


def current_year() -> int:
    """A year after this one is an error in any year or date column."""
    return _dt.date.today().year


def _year_rule() -> str:
    return f"must be a year from {FIRST_YEAR} to {current_year()}"


def _date_range_rule() -> str:
    return f"must be a date from {FIRST_YEAR}-01-01 to {current_year()}-12-31"


@dataclass(frozen=True)
class _Rule:
    """A cross-column rule: reported on ``column``, showing the values of ``shows``."""

    column: str
    text: str
    shows: tuple[str, ...]
    holds: Callable[[pd.DataFrame], pd.Series]  # True where the row keeps the rule or cannot be judged (missing)


def _ok(cond: pd.Series, *cols: pd.Series) -> pd.Series:
    """A rule holds where its condition is true or one of its cells is missing (reported on its own)."""
    missing = np.zeros(len(cond), dtype=bool)
    for c in cols:
        missing |= c.isna().to_numpy()
    return pd.Series(cond.fillna(True).to_numpy(dtype=bool) | missing, index=cond.index)


def _at_least(big: str, *small: str) -> Callable[[pd.DataFrame], pd.Series]:
    def holds(df: pd.DataFrame) -> pd.Series:
        total = sum(df[c] for c in small)
        return _ok(df[big] >= total - MONEY_TOLERANCE, df[big], *(df[c] for c in small))

    return holds


def _balance(df: pd.DataFrame) -> pd.Series:
    gap = (df["total_assets"] - df["total_liabilities"] - df["equity"]).abs()
    return _ok(
        gap <= 0.01 * df["total_assets"].abs() + MONEY_TOLERANCE,
        df["total_assets"],
        df["total_liabilities"],
        df["equity"],
    )


def _certified_within_staff(df: pd.DataFrame) -> pd.Series:
    return _ok(
        df["certified_staff"] <= df["board_members"] + df["employees"],
        df["certified_staff"],
        df["board_members"],
        df["employees"],
    )


def _dissolved_after_founded(df: pd.DataFrame) -> pd.Series:
    return _ok(df["dissolved_year"] >= df["founded_year"], df["dissolved_year"], df["founded_year"])


def _rat_after_fiscal_year(df: pd.DataFrame) -> pd.Series:
    after = df["held_on"].dt.year.astype("Int64") > df["fiscal_year"]
    return _ok(after | (df["meeting_type"] != "RAT"), df["held_on"], df["fiscal_year"], df["meeting_type"])


def _closed_after_opened(df: pd.DataFrame) -> pd.Series:
    return _ok(df["closed_on"] >= df["opened_on"], df["closed_on"], df["opened_on"])


def _category_matches_score(df: pd.DataFrame) -> pd.Series:
    score = df["score"].to_numpy()
    with np.errstate(invalid="ignore"):
        expected = np.select(
            [score >= low for _, low in HEALTH_SCORE_BANDS[:-1]],
            [name for name, _ in HEALTH_SCORE_BANDS[:-1]],
            HEALTH_SCORE_BANDS[-1][0],
        )
    category = df["category"]
    # a bad code or an impossible score is reported on its own; the band cannot be judged then
    unknown = ~category.isin(HEALTH_CATEGORIES) | ~df["score"].between(0, 100)
    return _ok((category == expected) | unknown, category, df["score"])


def _bands_text() -> str:
    """'SEHAT >=80, CUKUP_SEHAT 66..<80, ...' from HEALTH_SCORE_BANDS."""
    parts, upper = [], None
    for name, low in HEALTH_SCORE_BANDS:
        if upper is None:
            parts.append(f"{name} >={low:g}")
        elif np.isfinite(low):
            parts.append(f"{name} {low:g}..<{upper:g}")
        else:
            parts.append(f"{name} <{upper:g}")
        upper = low
    return ", ".join(parts)


_BANDS_TEXT = _bands_text()
RULES: dict[str, tuple[_Rule, ...]] = {
    "cooperatives": (
        _Rule(
            "dissolved_year", "must be >= founded_year", ("dissolved_year", "founded_year"), _dissolved_after_founded
        ),
    ),
    "financials": (
        _Rule("current_assets", "must be >= cash", ("current_assets", "cash"), _at_least("current_assets", "cash")),
        _Rule(
            "total_assets",
            "must be >= current_assets",
            ("total_assets", "current_assets"),
            _at_least("total_assets", "current_assets"),
        ),
        _Rule(
            "loans_to_members",
            "must be <= loans_outstanding",
            ("loans_to_members", "loans_outstanding"),
            _at_least("loans_outstanding", "loans_to_members"),
        ),
        _Rule(
            "loans_outstanding",
            "must be >= loans_substandard + loans_doubtful + loans_loss",
            ("loans_outstanding", "loans_substandard", "loans_doubtful", "loans_loss"),
            _at_least("loans_outstanding", "loans_substandard", "loans_doubtful", "loans_loss"),
        ),
        _Rule(
            "total_liabilities",
            "must be >= current_liabilities",
            ("total_liabilities", "current_liabilities"),
            _at_least("total_liabilities", "current_liabilities"),
        ),
        _Rule(
            "total_assets",
            "must equal total_liabilities + equity within 1%",
            ("total_assets", "total_liabilities", "equity"),
            _balance,
        ),
        _Rule(
            "personnel_expenses",
            "must be <= operating_expenses",
            ("personnel_expenses", "operating_expenses"),
            _at_least("operating_expenses", "personnel_expenses"),
        ),
    ),
    "staffing": (
        _Rule(
            "certified_staff",
            "must be <= board_members + employees",
            ("certified_staff", "board_members", "employees"),
            _certified_within_staff,
        ),
    ),
    "meetings": (
        _Rule(
            "held_on",
            "a RAT must be held after the end of its fiscal_year",
            ("meeting_type", "fiscal_year", "held_on"),
            _rat_after_fiscal_year,
        ),
    ),
    "health": (
        _Rule("category", f"must match the score band ({_BANDS_TEXT})", ("category", "score"), _category_matches_score),
    ),
    "clinic_cases": (
        _Rule("closed_on", "must be on or after opened_on", ("closed_on", "opened_on"), _closed_after_opened),
    ),
}


def _listed(s: pd.Series, keys: pd.Index) -> pd.Series:
    """s.isin(keys) for a large key set: pandas converts the keys to Python objects on every call; arrow does not."""
    if len(keys) < 1000 or not _is_text(s) or not isinstance(s.array, pd.arrays.ArrowStringArray):
        return s.isin(keys)
    cells = pyarrow.array(s)
    found = pyarrow.compute.is_in(cells, value_set=pyarrow.array(keys.to_numpy(dtype=object), type=cells.type))
    return pd.Series(np.asarray(pyarrow.compute.fill_null(found, False), dtype=bool), index=s.index)


def _codes(values: tuple[str, ...]) -> pa.Check:
    return pa.Check.isin(values, error="must be one of " + ", ".join(values))


# The cooperatives' keys of the tables being checked, read by the foreign-key check: the schemas are built once
# and cached (building one costs more than checking a small request), so the keys cannot be built into them.
# A context variable keeps concurrent validations (threads) apart.
_COOP_IDS: ContextVar[pd.Index] = ContextVar("coop_ids")


def _listed_coop(s: pd.Series) -> pd.Series:
    return _listed(s, _COOP_IDS.get())


def _column_checks(table: str, foreign_key: bool, cy: int) -> dict[str, list[pa.Check]]:
    """The single-column rules of docs/data-contract.md, per column (``cy``: the current year)."""
    at_least_zero = pa.Check.ge(0, error="must be >= 0")
    year = pa.Check.in_range(FIRST_YEAR, cy, error=_year_rule())
    date = pa.Check.in_range(pd.Timestamp(FIRST_YEAR, 1, 1), pd.Timestamp(cy, 12, 31), error=_date_range_rule())
    checks: dict[str, list[pa.Check]] = {c: [] for c in COLUMNS[table]}
    if foreign_key and table in COOP_REFERENCING_TABLES:
        checks["coop_id"].append(pa.Check(_listed_coop, error="must be a coop_id listed in cooperatives"))
    for col in ("year", "fiscal_year", "founded_year", "dissolved_year"):
        if col in checks:
            checks[col].append(year)
    for col in ("held_on", "opened_on", "closed_on"):
        if col in checks:
            checks[col].append(date)
    if table == "cooperatives":
        checks["coop_type"].append(_codes(COOP_TYPES))
    elif table == "financials":
        for col in MONEY_COLUMNS:
            if col not in ("equity", "net_income", "total_assets"):  # equity and net income may be negative
                checks[col].append(at_least_zero)
        checks["total_assets"].append(pa.Check.gt(0, error="must be > 0"))
    elif table == "staffing":
        for col in COLUMNS["staffing"][2:]:
            if col != "has_manager":
                checks[col].append(at_least_zero)
    elif table == "meetings":
        checks["meeting_type"].append(_codes(MEETING_TYPES))
        checks["attendees"].append(at_least_zero)
    elif table == "health":
        checks["category"].append(_codes(HEALTH_CATEGORIES))
        checks["score"].append(pa.Check.in_range(0, 100, error="must be between 0 and 100"))
    elif table == "clinic_cases":
        checks["clinic"].append(_codes(CLINICS))
        checks["outcome"].append(_codes(CASE_OUTCOMES))
    elif table == "truth":
        for col in ("p_sick_next", "p_recover"):
            checks[col].append(pa.Check.in_range(0, 1, error="must be between 0 and 1"))
        checks["cause"].append(_codes(CLINICS))
    return checks


_CHECK_DTYPE = {"int64": "Int64", "bool": "boolean"}  # while checking, missing cells are still allowed to exist


def table_schema(table: str, present: list[str], coop_ids: pd.Index | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one table, for the columns that are present (missing ones are reported apart).

    ``coop_ids`` (the cooperatives' keys) adds the foreign-key check on coop_id; validate with
    :func:`_validate`, which hands the keys to that check.
    """
    return _schema(table, tuple(present), coop_ids is not None, current_year())


@functools.lru_cache(maxsize=256)
def _schema(table: str, present: tuple[str, ...], foreign_key: bool, cy: int) -> pa.DataFrameSchema:
    optional = OPTIONAL_COLUMNS.get(table, ())
    checks = _column_checks(table, foreign_key, cy)
    columns = {
        c: pa.Column(_CHECK_DTYPE.get(DTYPES[table][c], DTYPES[table][c]), checks[c], nullable=c in optional)
        for c in COLUMNS[table]
        if c in present
    }
    # A row-wide check reports every column of every failing row; one case is enough to know the rule failed,
    # and _translate finds the rows by evaluating the rule again (cheap, vectorised).
    rules = [
        pa.Check(r.holds, error=r.text, ignore_na=False, n_failure_cases=1)
        for r in RULES.get(table, ())
        if all(c in present for c in r.shows)
    ]
    key = list(KEYS.get(table, ()))
    unique = key if key and all(c in present for c in key) else None
    return pa.DataFrameSchema(columns, checks=rules, unique=unique, report_duplicates="all", name=table)


def _validate(schema: pa.DataFrameSchema, typed: pd.DataFrame, coop_ids: pd.Index | None) -> None:
    """schema.validate(typed, lazy=True), the foreign-key check (if any) against ``coop_ids``."""
    token = _COOP_IDS.set(coop_ids if coop_ids is not None else pd.Index([]))
    try:
        schema.validate(typed, lazy=True)
    finally:
        _COOP_IDS.reset(token)


# --------------------------------------------------------------------------------------------------------------
# From pandera's failure cases to Problems
# --------------------------------------------------------------------------------------------------------------


def _fmt(v) -> str | None:
    """A cell as a person would write it: 1500000 not 1500000.0, 2021-03-15 not a timestamp."""
    if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else format(float(v), ".15g")
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        return v.date().isoformat() if v.time() == _dt.time(0) else v.isoformat()
    return str(v)


def _texts(s: pd.Series) -> np.ndarray:
    """Cells as :func:`_fmt` writes them, None where empty; vectorised except for object columns (small)."""
    if s.dtype == object:
        return np.array([_fmt(v) for v in s], dtype=object)
    missing = s.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%d").to_numpy(dtype=object, na_value=None)
    elif pd.api.types.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(arr) & (arr == np.floor(arr)) & (np.abs(arr) < 1e16)
        out = np.where(whole, np.where(whole, arr, 0).astype(np.int64).astype(str), arr.astype(str)).astype(object)
    elif pd.api.types.is_bool_dtype(s.dtype):
        out = np.where(s.fillna(False).to_numpy(dtype=bool), "true", "false").astype(object)
    else:
        out = s.astype("str").to_numpy(dtype=object)
    out[missing] = None
    return out


@dataclass
class _TableCheck:
    """One table on its way through the checks."""

    name: str
    file: str
    raw: pd.DataFrame  # contract columns as given (for the quarantine file)
    typed: pd.DataFrame
    parse_failures: dict[str, np.ndarray] = field(default_factory=dict)  # column -> bad-cell mask
    problems: list[Problem] = field(default_factory=list)  # row-level problems
    table_problems: list[Problem] = field(default_factory=list)

    def problem(self, row, column, rule, value=None) -> Problem:
        return Problem(self.name, self.file, None if row is None else int(row), column, rule, value)


def _uniqueness_problems(tc: _TableCheck, rows: np.ndarray) -> list[Problem]:
    key = list(KEYS[tc.name])
    dup = tc.typed.loc[rows, key].dropna()  # rows with an empty key are reported as empty, not duplicated
    if dup.empty:
        return []
    row = pd.Series(dup.index.to_numpy(), index=dup.index)
    first = row.groupby([dup[c] for c in key]).transform("min")
    last = row.groupby([dup[c] for c in key]).transform("max")
    other = first.where(row != first, last)
    label = ", ".join(key) if len(key) > 1 else key[0]
    values = dup[key[0]].astype("str").str.cat([dup[c].astype("str") for c in key[1:]], sep=", ")
    return [
        tc.problem(r, label, f"{label} must be unique: the same as row {o}", v)
        for r, o, v in zip(row.to_numpy(), other.to_numpy(), values.to_numpy())
    ]


def _rule_problems(tc: _TableCheck, rule: _Rule, rows: np.ndarray) -> list[Problem]:
    shown = tc.typed.loc[rows, list(rule.shows)]
    values = None
    for c in rule.shows:
        part = c + "=" + pd.Series(_texts(shown[c])).fillna("empty")
        values = part if values is None else values + ", " + part
    return [tc.problem(r, rule.column, rule.text, v) for r, v in zip(rows, values.to_numpy())]


def _translate(tc: _TableCheck, fc: pd.DataFrame) -> None:
    """pandera failure cases -> Problems on tc (one per cell, or per row for row-wide rules)."""
    rules = {r.text: r for r in RULES.get(tc.name, ())}
    errored = fc["index"].isna()
    for col, check, case in fc.loc[errored, ["column", "check", "failure_case"]].itertuples(index=False):
        if isinstance(check, str) and check.startswith("dtype("):
            tc.table_problems.append(tc.problem(None, col, f"has the wrong type: expected {check}, got {case}"))
        else:
            tc.table_problems.append(tc.problem(None, col, f"could not be checked ({check}): {case}"))
    fc = fc[~errored]
    frame_level = fc["schema_context"] == "DataFrameSchema"
    for check, group in fc[frame_level].groupby("check", sort=False):
        rows = pd.unique(group["index"].to_numpy())
        if check in ("multiple_fields_uniqueness", "field_uniqueness"):
            tc.problems += _uniqueness_problems(tc, rows)
        elif check in rules:
            holds = rules[check].holds(tc.typed).to_numpy(dtype=bool)
            tc.problems += _rule_problems(tc, rules[check], tc.typed.index[~holds].to_numpy())
        else:
            tc.problems += [tc.problem(r, None, str(check)) for r in rows]
    cells = fc[~frame_level]
    for (col, check), group in cells.groupby(["column", "check"], sort=False):
        rows = group["index"].to_numpy()
        if check == "not_nullable":
            if col in tc.parse_failures:  # already reported as unreadable
                unreadable = tc.typed.index[tc.parse_failures[col]]
                rows = rows[~np.isin(rows, unreadable)]
            tc.problems += [tc.problem(r, col, "must not be empty") for r in rows]
        else:
            values = _texts(tc.typed.loc[rows, col])  # the failure cases are these cells
            tc.problems += [tc.problem(r, col, str(check), v) for r, v in zip(rows, values)]


# --------------------------------------------------------------------------------------------------------------
# The whole dataset
# --------------------------------------------------------------------------------------------------------------


def empty_table(table: str) -> pd.DataFrame:
    """A zero-row table with the contract's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in DTYPES[table].items()})


def _prepare(name: str, frame: pd.DataFrame, file: str, warnings: list[str]) -> _TableCheck:
    """Columns (missing, extra), blank rows, then parse every contract column."""
    frame = frame.copy(deep=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    tc = _TableCheck(name, file, raw=frame, typed=pd.DataFrame(index=frame.index))
    expected = COLUMNS[name]
    twice = frame.columns[frame.columns.duplicated()].unique()
    if len(twice):
        tc.table_problems += [tc.problem(None, c, "column appears more than once in the header") for c in twice]
        frame = frame.loc[:, ~frame.columns.duplicated()]
    if len(frame.columns) == 0 and len(frame) == 0:
        frame = empty_table(name)  # e.g. an empty JSON list: nothing happened, no columns to name
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        warnings.append(f"{file}: {name} has columns outside the data contract, ignored: {', '.join(extra)}")
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        tc.table_problems += [
            tc.problem(None, c, f"required column is missing (columns found: {found})") for c in missing
        ]
    frame = frame[[c for c in expected if c in frame.columns]]
    blank = frame.isna().all(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), dtype=bool)
    if blank.any():
        rows = frame.index[blank]
        last_data = frame.index[~blank].max() if (~blank).any() else None
        inside = rows[rows < last_data] if last_data is not None else rows[:0]
        if len(inside):  # trailing blank rows (common in spreadsheets) are not worth a word
            shown = ", ".join(map(str, inside[:10])) + (", ..." if len(inside) > 10 else "")
            warnings.append(f"{file}: {len(inside)} blank row(s) in {name} ignored (row {shown})")
        frame = frame[~blank]
    tc.raw = frame
    typed = {}
    for col in frame.columns:
        parsed = _parse_column(frame[col], DTYPES[name][col])
        typed[col] = parsed.values
        for bad, rule in parsed.failures:
            if bad.any():
                tc.parse_failures[col] = tc.parse_failures.get(col, np.zeros(len(frame), dtype=bool)) | bad
                tc.problems += [tc.problem(r, col, rule, v) for r, v in zip(frame.index[bad], _texts(frame[col][bad]))]
    tc.typed = pd.DataFrame(typed, index=frame.index)
    return tc


def _check_rules(tc: _TableCheck, coop_ids: pd.Index | None) -> None:
    if len(tc.typed) == 0:  # no cell to break a rule; the parser gave every column its contract type
        return
    schema = table_schema(tc.name, list(tc.typed.columns), coop_ids)
    try:
        _validate(schema, tc.typed, coop_ids)
    except SchemaErrors as err:
        _translate(tc, err.failure_cases)


def _cells(tc: _TableCheck, rows) -> pd.DataFrame:
    """The offending rows' cells as they were read (before any parsing), as text."""
    cells = tc.raw.loc[rows]
    return pd.DataFrame({c: _texts(cells[c]) for c in cells.columns})


def _quarantine(checks: dict[str, _TableCheck], path: Path) -> tuple[dict[str, pd.Index], str]:
    """Write every row with a problem (and the rows of quarantined cooperatives) to ``path``; say what went."""
    bad = {
        name: pd.Index(pd.unique(np.array([p.row for p in tc.problems], dtype=np.int64))) for name, tc in checks.items()
    }
    coops = checks.get("cooperatives")
    gone_coops = coops.typed.loc[bad["cooperatives"], "coop_id"].dropna() if coops is not None else pd.Series()
    cascaded = 0
    if len(gone_coops):
        coop_row = pd.Series(gone_coops.index, index=gone_coops.to_numpy())
        coop_row = coop_row[~coop_row.index.duplicated()]
        for name in COOP_REFERENCING_TABLES:
            tc = checks.get(name)
            if tc is None or "coop_id" not in tc.typed:
                continue
            ids = tc.typed["coop_id"]
            hit = ids.isin(gone_coops) & ~ids.index.isin(bad[name])
            if hit.any():
                rows = ids.index[hit.to_numpy()]
                cascaded += len(rows)
                tc.problems += [
                    tc.problem(r, "coop_id", f"its cooperative was quarantined ({coops.file} row {coop_row[c]})", c)
                    for r, c in zip(rows, ids[hit].to_numpy())
                ]
                bad[name] = bad[name].append(rows)
    parts = []
    for tc in checks.values():
        if not tc.problems:
            continue
        found = pd.DataFrame({f: [getattr(p, f) for p in tc.problems] for f in Problem.__dataclass_fields__})
        cells = _cells(tc, pd.Index(found["row"].to_numpy()))
        parts.append(pd.concat([found.reset_index(drop=True), cells.reset_index(drop=True)], axis=1))
    header = ["table", "file", "row", "column", "rule", "value"]
    header += list(dict.fromkeys(c for cols in COLUMNS.values() for c in cols))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out = out.reindex(columns=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        table = pyarrow.table(
            {
                c: pyarrow.array(
                    out[c].to_numpy(dtype=object),
                    from_pandas=True,
                    type=pyarrow.int64() if c == "row" else pyarrow.string(),
                )
                for c in header
            }
        )
        pyarrow.csv.write_csv(table, tmp)  # pandas' writer takes minutes for a million wide rows
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    n_rows = sum(len(v) for v in bad.values())
    per_table = ", ".join(f"{name} {len(rows)}" for name, rows in bad.items() if len(rows))
    note = f"; {cascaded} of them because their cooperative was quarantined" if cascaded else ""
    message = (
        f"quarantined {n_rows} row(s) that break the contract ({per_table}{note}) with "
        f"{len(out)} problem(s) into {path}"
        if n_rows
        else f"no rows quarantined ({path} lists none)"
    )
    return bad, message


def check_tables(
    frames: dict[str, pd.DataFrame],
    files: dict[str, str],
    *,
    source: str,
    require_health: bool,
    quarantine: Path | None,
    problems: list[Problem] | None = None,
    warnings: list[str] | None = None,
) -> Dataset:
    """The one path from raw tables to a typed :class:`Dataset`, shared by files and in-memory tables.

    ``frames`` are indexed by the row number to report; ``files`` names where each table came from;
    ``problems`` and ``warnings`` carry what the reader already found (problems there are table-level and
    always refuse). Raises :class:`DatasetInvalid` with every problem found.
    """
    reader_problems = problems if problems is not None else []  # read live: see the note below
    missing_tables: list[Problem] = []
    warnings = list(warnings or [])
    required = [t for t in REQUIRED_TABLES if t != "health" or require_health]
    for name in frames:
        if name not in COLUMNS:
            warnings.append(f"{files.get(name, source)}: {name} is not a table of the data contract, ignored")
    # Each table is parsed and checked as soon as it is there, cooperatives first (the foreign key needs its
    # coop_ids): data.loader hands a mapping whose lookups wait for a table still being read, and appends the
    # problems of a file it cannot read to ``problems`` before it answers for that table.
    assert next(iter(COLUMNS)) == "cooperatives"
    checks: dict[str, _TableCheck] = {}
    coop_ids = None
    for name in COLUMNS:
        if name not in frames:
            if name in required and not any(p.table in (name, DATASET) for p in (*reader_problems, *missing_tables)):
                missing_tables.append(Problem(name, files.get(name, source), None, None, "required table is missing"))
            continue
        tc = checks[name] = _prepare(name, frames[name], files.get(name, source), warnings)
        if name == "cooperatives" and "coop_id" in tc.typed:
            coop_ids = pd.Index(tc.typed["coop_id"].dropna().unique())
        _check_rules(tc, coop_ids)
    table_problems = [*reader_problems, *missing_tables]
    for name in (*NON_EMPTY_TABLES, *(("health",) if require_health else ())):
        tc = checks.get(name)
        if tc is not None and len(tc.typed) == 0:
            table_problems.append(
                tc.problem(
                    None,
                    None,
                    "has no rows" + (" (training needs the office's assessments)" if name == "health" else ""),
                )
            )
    for tc in checks.values():
        table_problems += tc.table_problems
    row_problems = [p for tc in checks.values() for p in tc.problems]
    if table_problems or (row_problems and quarantine is None):
        raise DatasetInvalid(table_problems + row_problems, source)
    if quarantine is not None:
        dropped, message = _quarantine(checks, Path(quarantine))
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
