"""Cell parsing: raw cells (text, numbers, Excel cells, JSON values) into the contract's types, and back to text.

Every column is turned from what a person or a file gave into its contract dtype (``klinik.data.contract``
DTYPES). Besides the contract's plain forms (570584777.5, 2024-09-14, true) a cell may be written the way an
Indonesian office writes it: amounts as ``Rp 570.584.777`` or ``570.584.777,50`` (a dot between thousands, a
decimal comma; ``(1.000)`` or ``-Rp 1.000`` negative), dates as ``14/09/2024`` or ``14-09-2024`` (day first), flags
as ``ya`` / ``tidak``. A cell that cannot be read is flagged with the forms that are read, never coerced silently;
``cell_texts`` writes cells back the way a person wrote them, for problem reports and the quarantine file.

One number form is ambiguous: ``1.234`` is one point two three four written plainly, one thousand two hundred and
thirty-four written the Indonesian way. A table's cells are judged by the form they use (:func:`_number_form`): in a
table whose number cells use the Indonesian form somewhere (``Rp``, a decimal comma, ``1.234.567``) and the plain
form nowhere, ``1.234`` is 1234; in any other table it is 1.234, as the contract always read it; a table written in
both forms gets such a cell refused as ambiguous.

Vectorised: no Python per cell on the national-scale path (a clean file's number columns arrive as numbers).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from klinik.data.contract import Column, InYears, Table, current_year
from klinik.data.messages import Msg

_KIND = {
    "str": "text",
    "int64": "whole",
    "Int64": "whole",
    "float64": "number",
    "bool": "bool",
    "datetime64[ns]": "date",
}
_BOOL_WORDS = {
    **{"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False},
    **{"ya": True, "tidak": False},  # as an Indonesian office writes them
}
_NOT_A_NUMBER = "\0not a number"  # stands in for cells (booleans, dates) that to_numeric must not accept
# An amount written the Indonesian way: an optional sign and "Rp", digits grouped by dots (or not grouped), an
# optional decimal comma (",-" is "no cents"); the whole may stand in brackets, the accountant's negative.
# (RE2, through pyarrow; Excel's no-break spaces and a typographic minus are made plain first)
_INDONESIAN = (
    r"^(?P<open>\(?)\s*(?P<minus>-?)\s*(?i:rp\.?)?\s*(?P<minus_after_rp>-?)\s*"
    r"(?P<whole>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<fraction>\d+|-))?\s*(?P<close>\)?)$"
)
# The hint of each kind of number when a cell cannot be read (the forms that are read).
_NOT_READ = {"money": "not_money", "number": "not_number", "count": "not_whole", "year": "not_year"}
NumberForm = Literal["plain", "indonesian", "mixed"]


@dataclass
class Parsed:
    """A column in its contract type, with the cells that could not be read."""

    values: pd.Series
    failures: list[tuple[np.ndarray, str]] = field(default_factory=list)  # (bad-cell mask, rule)


def is_text(s: pd.Series) -> bool:
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
    if not is_text(s):
        if s.dtype == object and set(map(type, s.to_numpy())) <= {str, type(None)}:  # JSON text: as it is
            s = s.astype("str")
        else:
            s = s.map(_cell_text, na_action="ignore").astype("str")
    return _blank_to_na(s)


def _parse_text(s: pd.Series) -> Parsed:
    return Parsed(_as_text(s))


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


def indonesian_numbers(t: pd.Series) -> np.ndarray:
    """Text cells read as numbers written the Indonesian way (``Rp 570.584.777``, ``570.584.777,50``,
    ``(1.000)``); NaN where a cell is not written so."""
    return _indonesian(pa.array(t.to_numpy(dtype=object), type=pa.string()))[0]


def _indonesian(cells: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Numbers written the Indonesian way (NaN where not), and where a cell cannot be a plain number at all (it
    holds Rp, a comma, a bracket or two dots): RE2 through pyarrow, vectorised."""
    if pc.any(pc.match_substring_regex(cells, "[\u00a0\u202f\u2212]")).as_py():
        cells = pc.replace_substring_regex(cells, "[\u00a0\u202f]", " ")
        cells = pc.replace_substring(cells, "\u2212", "-")
    parts = pc.extract_regex(cells, _INDONESIAN)  # null where the cell does not match
    field = {f.name: column for f, column in zip(parts.type, parts.flatten())}  # null where the cell is
    digits = pc.replace_substring(field["whole"], ".", "")
    fraction = pc.if_else(pc.equal(field["fraction"], "-"), "", field["fraction"])
    digits = pc.if_else(pc.equal(fraction, ""), digits, pc.binary_join_element_wise(digits, fraction, "."))
    values = np.array(pc.cast(digits, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)  # null: NaN
    flag = {name: pc.fill_null(pc.not_equal(field[name], ""), False).to_numpy(zero_copy_only=False) for name in field}
    minus = flag["minus"] | flag["minus_after_rp"]
    wrong = (flag["minus"] & flag["minus_after_rp"]) | (flag["open"] != flag["close"]) | (flag["open"] & minus)
    values = np.where(minus | flag["open"], -values, values) + 0.0  # -0.0 reads as 0.0
    values[wrong] = np.nan
    not_plain = pc.fill_null(pc.match_substring_regex(cells, "(?i)rp|,|\\(|\\..*\\."), False)
    return values, not_plain.to_numpy(zero_copy_only=False)


def _readable(arr: np.ndarray, whole: bool) -> np.ndarray:
    """Where ``arr`` holds a number a column can take (a whole column: a whole number, exact in float64)."""
    ok = np.isfinite(arr)
    if whole:
        with np.errstate(invalid="ignore"):
            ok &= (arr == np.floor(arr)) & (np.abs(arr) <= 2**53)  # a count of 1e30 is a typing slip
    return ok


@dataclass
class _Numbers:
    """A number column's cells as numbers: ``plain`` as the contract reads them; for a column with cells written
    as text, also ``indonesian`` (those cells read the Indonesian way, the other cells as they are) and ``texts``
    (which cells were text: only they say which form the table uses). A whole-number column takes only a whole
    reading: there ``1.250`` can only be Indonesian."""

    plain: np.ndarray
    present: np.ndarray  # the cells not empty
    whole: bool
    indonesian: np.ndarray | None = None
    texts: np.ndarray | None = None

    def forms(self) -> tuple[bool, bool]:
        """Whether some text cell can only be the Indonesian form, and whether some can only be the plain one."""
        if self.indonesian is None:
            return False, False
        plain, indonesian = _readable(self.plain, self.whole), _readable(self.indonesian, self.whole)
        return bool((indonesian & ~plain).any()), bool((plain & ~indonesian & self.texts).any())

    def ambiguous(self) -> np.ndarray:
        """Cells both forms read, as different numbers (1.234)."""
        if self.indonesian is None:
            return np.zeros(len(self.plain), dtype=bool)
        both = _readable(self.plain, self.whole) & _readable(self.indonesian, self.whole)
        return both & (self.plain != self.indonesian)


def _read_numbers(s: pd.Series, whole: bool) -> _Numbers:
    """The cells of a number column as numbers, both ways where a cell is text."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _Numbers(np.full(len(s), np.nan), s.notna().to_numpy(), whole)  # booleans and dates are not numbers
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _Numbers(s.to_numpy(dtype=np.float64, na_value=np.nan), s.notna().to_numpy(), whole)
    if (arr := _plain_numbers(s)) is not None:
        return _Numbers(arr, ~np.isnan(arr), whole)
    given = np.full(len(s), np.nan)  # cells that are numbers already (Excel, JSON): neither form, just numbers
    if not is_text(s):
        cells = s.to_numpy()
        number = np.fromiter(
            (isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in cells),
            bool,
            len(s),
        )
        given[number] = cells[number].astype(np.float64)
        s = s.where(~number).map(lambda v: _NOT_A_NUMBER if isinstance(v, (bool, np.bool_, _dt.date)) else v)
        s = s.map(_cell_text, na_action="ignore").astype("str")
    t = _blank_to_na(s)
    texts = t.notna().to_numpy()
    plain, indonesian = given.copy(), given.copy()
    if texts.any():
        written = t[texts]
        read, not_plain = _indonesian(pa.array(written.to_numpy(dtype=object), type=pa.string()))
        indonesian[texts] = read
        maybe = np.flatnonzero(texts)[~not_plain]  # to_numeric is slow; Rp 1.000 or 1.000,5 cannot be plain
        plain[texts] = np.nan
        plain[maybe] = pd.to_numeric(written[~not_plain], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return _Numbers(plain, texts | ~np.isnan(given), whole, indonesian, texts)


def _number_form(columns: list[_Numbers]) -> NumberForm:
    """How a table writes its numbers, judged by the text cells of all its number columns (see the module)."""
    forms = [c.forms() for c in columns]
    indonesian, plain = any(f[0] for f in forms), any(f[1] for f in forms)
    return "mixed" if indonesian and plain else "indonesian" if indonesian else "plain"


def _parse_number(numbers: _Numbers, column: Column, form: NumberForm, index: pd.Index) -> Parsed:
    arr, whole = numbers.plain, numbers.whole
    ambiguous = numbers.ambiguous()
    if numbers.indonesian is not None:  # what only the Indonesian form reads, and 1.234 in an Indonesian table
        indonesian = ~_readable(arr, whole) & _readable(numbers.indonesian, whole)
        arr = np.where(indonesian | (ambiguous & (form == "indonesian")), numbers.indonesian, arr)
    refused = ambiguous if form == "mixed" else np.zeros(len(arr), dtype=bool)
    unread = numbers.present & ~refused & ~_readable(arr, whole)
    bad = unread | refused
    values = pd.Series(np.where(bad, np.nan, arr), index=index, dtype="float64")
    failures = [(unread, Msg(_NOT_READ[column.kind])), (refused, Msg("ambiguous_number"))]
    return Parsed(values.astype("Int64") if whole else values, failures)


def _parse_bool(s: pd.Series) -> Parsed:
    if pd.api.types.is_bool_dtype(s.dtype):
        return Parsed(s.astype("boolean"))
    if pd.api.types.is_numeric_dtype(s.dtype):
        t = s.astype("float64").map({1.0: "1", 0.0: "0"}).astype("str")
        present = s.notna().to_numpy()
    else:
        t = _as_text(s).str.lower()
        present = t.notna().to_numpy()
    flags = t.map(_BOOL_WORDS)
    bad = present & flags.isna().to_numpy()
    return Parsed(flags.astype("boolean"), [(bad, Msg("not_flag"))])


def _day_first(texts: pd.Series) -> pd.Series:
    """DD/MM/YYYY or DD-MM-YYYY (one or two digits for day and month, one separator) rewritten as YYYY-MM-DD."""
    parts = texts.str.extract(r"^(\d{1,2})([/-])(\d{1,2})\2(\d{4})$")
    return parts[3] + "-" + parts[2].str.zfill(2) + "-" + parts[0].str.zfill(2)


def _parse_date(s: pd.Series) -> Parsed:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        failures = []
    else:
        # Dates repeat (a few thousand days across millions of meetings): read each distinct text once.
        codes, texts = pd.factorize(s if is_text(s) else _as_text(s))
        texts = _blank_to_na(pd.Series(texts, dtype="str"))
        iso = (texts.str.len() == 10).to_numpy(dtype=bool)  # YYYY-MM-DD exactly, not 2021-3-5
        written = _day_first(texts).fillna(texts.where(iso))
        days = pd.to_datetime(written, format="%Y-%m-%d", errors="coerce").to_numpy()
        unreadable = texts.notna().to_numpy() & np.isnat(days)
        codes = np.where(codes < 0, len(days), codes)  # an empty cell takes the NaT appended here
        values = pd.Series(np.append(days, np.datetime64("NaT"))[codes], index=s.index)
        failures = [(np.append(unreadable, False)[codes], Msg("not_date"))]
    stamps = values.to_numpy()
    # Outside what datetime64[ns] can hold: reported as out of range (the rules stage says the same for any year).
    out = ~np.isnat(stamps) & ((stamps < np.datetime64("1678-01-01")) | (stamps > np.datetime64("2261-12-31")))
    if out.any():
        failures.append((out, InYears(date=True).words(current_year())))
        values = values.where(~out)
    return Parsed(values.astype("datetime64[ns]"), failures)


def parse_table(frame: pd.DataFrame, table: Table) -> dict[str, Parsed]:
    """Every column of ``frame`` (named by contract names) in its contract type; the number columns read in the
    form the table's cells use (:func:`_number_form`)."""
    columns = {name: table.column(name) for name in frame.columns}
    frame = frame.astype({name: object for name in frame.columns if frame[name].dtype == "category"})
    numbers = {  # the columns whose cells may say which form the table uses (not those read as integers)
        name: _read_numbers(frame[name], _KIND[column.dtype] == "whole")
        for name, column in columns.items()
        if _KIND[column.dtype] in ("whole", "number") and not pd.api.types.is_integer_dtype(frame[name].dtype)
    }
    form = _number_form(list(numbers.values()))
    return {
        name: _parse_number(numbers[name], column, form, frame.index)
        if name in numbers
        else parse_column(frame[name], column)
        for name, column in columns.items()
    }


def parse_column(s: pd.Series, column: Column) -> Parsed:
    """One column in its contract type (a number column alone is judged by its own cells' form)."""
    if s.dtype == "category":
        s = s.astype(object)
    kind = _KIND[column.dtype]
    if kind == "text":
        return _parse_text(s)
    if kind in ("whole", "number"):
        if pd.api.types.is_integer_dtype(s.dtype):  # the common case of a clean file: nothing can be wrong
            return Parsed(s.astype("Int64") if kind == "whole" else s.astype("float64"))
        numbers = _read_numbers(s, kind == "whole")
        return _parse_number(numbers, column, _number_form([numbers]), s.index)
    if kind == "bool":
        return _parse_bool(s)
    return _parse_date(s)


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


def cell_texts(s: pd.Series) -> np.ndarray:
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
