"""Cell parsing: raw cells (text, numbers, Excel cells, JSON values) into the contract's types, and back to text.

Every column is turned from what a person or a file gave into its contract dtype (``klinik.data.contract``
DTYPES). A cell that cannot be read ("Rp 1.000" in a money column, "15/03/2021" in a date column) is flagged
with the rule it breaks, never coerced silently; ``cell_texts`` writes cells back the way a person wrote them,
for problem reports and the quarantine file. Vectorised: no Python per cell on the national-scale path.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from klinik.data.contract import InYears, current_year

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


def _parse_number(s: pd.Series, whole: bool) -> Parsed:
    if pd.api.types.is_integer_dtype(s.dtype):  # the common case of a clean file: nothing can be wrong
        return Parsed(s.astype("Int64") if whole else s.astype("float64"))
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
        if not is_text(s):  # object: JSON or Excel values; booleans and dates are not numbers
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
    return Parsed(values.astype("Int64") if whole else values, [(bad, rule)])


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
    return Parsed(flags.astype("boolean"), [(bad, "must be true or false")])


def _parse_date(s: pd.Series) -> Parsed:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        failures = []
    else:
        # Dates repeat (a few thousand days across millions of meetings): read each distinct text once.
        codes, texts = pd.factorize(s if is_text(s) else _as_text(s))
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
        failures.append((out, InYears(date=True).words(current_year())))
        values = values.where(~out)
    return Parsed(values.astype("datetime64[ns]"), failures)


def parse_column(s: pd.Series, dtype: str) -> Parsed:
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
