"""The data contract's checks on a request's tables at the cost of a few numpy operations, for clean requests.

Why: data.validation checks every table with pandera, whose fixed cost per column and check (about a
millisecond each, a few hundred of them per pass) was most of a pass over a few cooperatives. The service asks
here first whether a request's tables are clean; only then does it take the tables as typed here. Whatever
this module flags, or cannot judge, goes through ``klinik.data.validation.validate_tables`` as before, and every
400 is written from pandera's problems. So this module never writes a problem, and it has no rule of its own: it
reads the rules from the pandera schema that ``klinik.data.rules.table_schema`` derives from the contract's one
declaration (``klinik.data.contract.TABLES``):

- each column's checks are that schema's, run through pandera's own built-in check functions; a check that is
  not built in makes this module step aside;
- the cross-column rules are that schema's table-wide checks (data.rules' functions), the keys are the schema's
  ``unique`` columns, the foreign key is the contract's (``COOP_REFERENCING_TABLES``);
- reading a cell is trusted only where the request types leave no doubt (numbers, booleans, ISO dates, text
  without surrounding blanks); anything else (a padded or empty text, a huge count) is left to data.validation.

Tests hold its verdict, row by row, equal to pandera's on broken records of every kind, and its typed tables
equal what ``validate_tables`` returns for the same rows.

Input: the rows as the request types dump them (``model_dump(mode="json")``): numbers, booleans, text, ISO
dates, None (serving.service_io.flatten).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from klinik.data.contract import COLUMNS, COOP_REFERENCING_TABLES, DTYPES, NON_EMPTY_TABLES
from klinik.data.dataset import Dataset, empty_table

_EXACT = 2**53  # a whole number beyond this is not exact in float64: data.validation refuses it
_DAY_MIN, _DAY_MAX = np.datetime64("1678-01-01"), np.datetime64("2261-12-31")  # what datetime64[ns] holds


class _Unsure(Exception):
    """A cell this module does not read the way data.validation would for certain: data.validation decides."""


@dataclass
class Verdict:
    """``bad``: per table, the rows (0-based, the table's order) that break a rule; ``unsure``: why this
    module left the request to data.validation (None when it judged every cell)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    bad: dict[str, np.ndarray] = field(default_factory=dict)
    unsure: str | None = None

    @property
    def clean(self) -> bool:
        return self.unsure is None and not any(mask.any() for mask in self.bad.values())


@dataclass
class _Column:
    """One column read from JSON values: numpy values (any filler where missing), the missing cells, and the
    cells that cannot hold the contract's type (data.validation reports those as unreadable)."""

    values: np.ndarray
    missing: np.ndarray
    unreadable: np.ndarray

    def array(self, dtype: str):
        """The column in the contract's dtype, or its nullable twin while a required cell is missing."""
        if dtype == "str":
            return pd.array(self.values, dtype="str")
        if dtype in ("int64", "Int64"):
            if dtype == "int64" and not self.missing.any():
                return self.values
            return pd.arrays.IntegerArray(self.values, self.missing.copy())
        if dtype == "bool":
            if not self.missing.any():
                return self.values
            return pd.arrays.BooleanArray(self.values, self.missing.copy())
        if dtype == "datetime64[ns]":
            return self.values.astype("datetime64[ns]")
        return self.values


def _text(cells: list) -> _Column:
    for v in cells:
        if v is not None and (type(v) is not str or not v or v != v.strip()):
            raise _Unsure("a text cell that is empty, padded or not text")
    values = np.array(cells, dtype=object)
    missing = np.array([v is None for v in cells], dtype=bool)
    return _Column(values, missing, np.zeros(len(cells), dtype=bool))


def _whole(cells: list) -> _Column:
    for v in cells:
        if v is not None and type(v) is not int:
            raise _Unsure("a count or year that is not a JSON integer")
    missing = np.array([v is None for v in cells], dtype=bool)
    unreadable = np.array([v is not None and abs(v) > _EXACT for v in cells], dtype=bool)
    missing |= unreadable  # data.validation leaves an unreadable cell empty
    values = np.array([0 if m else v for v, m in zip(cells, missing)], dtype=np.int64)
    return _Column(values, missing, unreadable)


def _number(cells: list) -> _Column:
    for v in cells:
        if v is not None and type(v) not in (float, int):
            raise _Unsure("an amount that is not a JSON number")
    values = np.array([np.nan if v is None else v for v in cells], dtype=np.float64) + 0.0  # -0.0 -> 0.0, as read
    unreadable = np.isinf(values)  # JSON has no infinity and the request types refuse NaN: only a huge number
    values[unreadable] = np.nan
    return _Column(values, np.isnan(values), unreadable)


def _flag(cells: list) -> _Column:
    for v in cells:
        if v is not None and type(v) is not bool:
            raise _Unsure("a flag that is not a JSON boolean")
    missing = np.array([v is None for v in cells], dtype=bool)
    return _Column(np.array([bool(v) for v in cells], dtype=bool), missing, np.zeros(len(cells), dtype=bool))


def _date(cells: list) -> _Column:
    for v in cells:
        if v is not None and (type(v) is not str or len(v) != 10):
            raise _Unsure("a date that is not YYYY-MM-DD")
    try:
        days = np.array(cells, dtype="datetime64[D]")
    except ValueError:
        raise _Unsure("a date that is not YYYY-MM-DD") from None
    unreadable = ~np.isnat(days) & ((days < _DAY_MIN) | (days > _DAY_MAX))
    days[unreadable] = np.datetime64("NaT")
    return _Column(days, np.isnat(days), unreadable)


_READ = {"str": _text, "int64": _whole, "Int64": _whole, "float64": _number, "bool": _flag, "datetime64[ns]": _date}


def _bound(value, column: _Column):
    """A check's limit in the column's numpy type (pandera states date limits as Timestamps)."""
    if isinstance(value, pd.Timestamp):
        return np.datetime64(value.to_datetime64(), "D") if column.values.dtype.kind == "M" else value
    return value


def _holds(check, column: _Column) -> np.ndarray:
    """Pandera's built-in column check ``check`` on the column's present cells, in numpy: True where it holds."""
    stats, v = check.statistics, column.values
    with np.errstate(invalid="ignore"):
        if check.name == "isin":
            allowed = set(stats["allowed_values"])
            return np.array([x in allowed for x in v], dtype=bool)
        if check.name == "notin":
            forbidden = set(stats["forbidden_values"])
            return np.array([x not in forbidden for x in v], dtype=bool)
        if check.name in _COMPARE:
            return _COMPARE[check.name](v, _bound(stats["min_value" if "min_value" in stats else "max_value"], column))
        if check.name == "in_range":
            low, high = _bound(stats["min_value"], column), _bound(stats["max_value"], column)
            above = v >= low if stats.get("include_min", True) else v > low
            below = v <= high if stats.get("include_max", True) else v < high
            return above & below
    raise _Unsure(f"a built-in check this module does not run ({check.name})")


_COMPARE = {
    "greater_than_or_equal_to": np.greater_equal,
    "greater_than": np.greater,
    "less_than_or_equal_to": np.less_equal,
    "less_than": np.less,
}


def _table(name: str, rows: list[dict]) -> tuple[pd.DataFrame, np.ndarray]:
    """One table in the contract's dtypes, and its rows that break a rule of its pandera schema (cells,
    table-wide rules, unique keys); the foreign key is checked across tables by ``check_rows``."""
    from klinik.data.rules import table_schema

    schema = table_schema(name, list(COLUMNS[name]))
    bad = np.zeros(len(rows), dtype=bool)
    frame, cells = {}, {}
    for col, dtype in DTYPES[name].items():
        column = _READ[dtype]([r.get(col) for r in rows])
        bad |= column.unreadable
        frame[col] = column.array(dtype)
        cells[col] = column.values
        spec = schema.columns[col]
        if not spec.nullable:
            bad |= column.missing
        for check in spec.checks:
            if (
                not check.is_builtin_check(check.name)
                or check.groupby is not None
                or check.element_wise
                or not check.ignore_na
            ):
                raise _Unsure(f"{name}.{col}: a check this module cannot run ({check.name})")
            bad |= ~column.missing & ~_holds(check, column)
    frame = pd.DataFrame(frame, copy=False)
    for check in schema.checks:
        if check.groupby is not None or check.element_wise or check.is_builtin_check(check.name):
            raise _Unsure(f"{name}: a table-wide check this module cannot run ({check.name})")
        held = np.asarray(check._check_fn(frame), dtype=bool)  # data.validation's rule: True where it holds
        if held.shape != (len(frame),):
            raise _Unsure(f"{name}: a table-wide check that does not judge rows ({check.name})")
        bad |= ~held
    if schema.unique and len(frame) > 1:  # every row of a key that appears more than once
        keys = list(zip(*(cells[c].tolist() for c in schema.unique)))
        seen: dict[tuple, int] = {}
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
        bad |= np.array([seen[key] > 1 for key in keys], dtype=bool)
    return frame, bad


def check_rows(rows: dict[str, list[dict]]) -> Verdict:
    """Judge the request's tables (contract table -> rows): the rows that break a rule, or why it cannot."""
    verdict = Verdict()
    try:
        for name, table_rows in rows.items():
            if name in NON_EMPTY_TABLES and not table_rows:
                raise _Unsure(f"{name} has no rows")
            verdict.tables[name], verdict.bad[name] = _table(name, table_rows)
        coops = verdict.tables.get("cooperatives")
        if coops is None:
            raise _Unsure("no cooperatives table")
        known = coops["coop_id"].dropna().unique()
        for name in COOP_REFERENCING_TABLES:
            if name in verdict.tables:
                ids = verdict.tables[name]["coop_id"]
                verdict.bad[name] |= (ids.notna() & ~ids.isin(known)).to_numpy()
    except _Unsure as why:
        return Verdict(unsure=str(why))
    return verdict


def clean_dataset(rows: dict[str, list[dict]], source: str = "request") -> Dataset | None:
    """The request's tables as data.validation would return them, when they keep every rule; None otherwise
    (then data.validation checks them and says what is wrong)."""
    verdict = check_rows(rows)
    if not verdict.clean:
        return None
    tables = verdict.tables  # in the contract's dtypes: no required cell is missing in a clean table

    for name in COLUMNS:
        if name not in tables and name != "truth":
            tables[name] = empty_table(name)
    return Dataset(**tables, truth=None, source=source, warnings=[])
