"""Writing a dataset folder in the contract's file formats, atomically.

The reader side lives in data/loader.py. This module writes what the contract describes: one
``<table>.csv`` or ``<table>.parquet`` per table, or one workbook with a sheet per table; dates as ISO
YYYY-MM-DD, missing values as empty cells. A folder being replaced is swapped only once the new one is
complete (data/atomic.py), so a reader never sees half a dataset and a killed run leaves the previous one whole.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from klinik.data.atomic import atomic_folder

FORMATS = ("csv", "parquet", "xlsx")
EXCEL_MAX_ROWS = 1_048_576  # rows in one Excel sheet, the header included
EXCEL_WORKBOOK = "dataset.xlsx"
_EXACT_INT = 2**53  # floats below this are exact integers, safe to write without a decimal point


def write_dataset(tables: dict[str, pd.DataFrame], out: Path, fmt: str = "csv") -> Path:
    """Write ``tables`` (name -> DataFrame) into the folder ``out`` as csv, parquet or xlsx; return ``out``.

    Names starting with "_" are skipped. The files are written into a temporary folder beside ``out``,
    which then takes its place; an existing ``out`` is replaced only after the new one is complete.
    Columns holding text where numbers or dates belong (a dirty dataset) are written as the text.
    """
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder: refusing to replace it with a dataset")
    tables = {name: df for name, df in tables.items() if not name.startswith("_")}
    if fmt == "xlsx":
        _check_excel_size(tables)
    with atomic_folder(out) as tmp:
        if fmt == "xlsx":
            _write_xlsx(tables, tmp / EXCEL_WORKBOOK)
        else:
            for name, df in tables.items():
                table = _to_arrow(df)
                if fmt == "csv":
                    _write_csv(table, tmp / f"{name}.csv")
                else:
                    pq.write_table(table, tmp / f"{name}.parquet")
    return out


def _check_excel_size(tables: dict[str, pd.DataFrame]) -> None:
    too_big = {name: len(df) for name, df in tables.items() if len(df) + 1 > EXCEL_MAX_ROWS}
    if too_big:
        listing = ", ".join(f"{name} has {rows:,} rows" for name, rows in too_big.items())
        raise ValueError(
            f"cannot write an Excel workbook: {listing}, more than an Excel sheet holds "
            f"({EXCEL_MAX_ROWS - 1:,} rows under the header). Use --format csv or parquet."
        )


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    """Arrow columns with the contract's file types: dates as dates, whole Rupiah without ".0", text as text."""
    arrays = [_column_to_arrow(df[col]) for col in df.columns]
    return pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns])


def _write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8, comma separated, a bare header row; text quoted only when some cell needs it."""
    quoting = "needed" if _needs_quotes(table) else "none"
    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pa_csv.write_csv(table, f, pa_csv.WriteOptions(include_header=False, quoting_style=quoting))


def _needs_quotes(table: pa.Table) -> bool:
    """Whether any text cell holds a comma, quote or line break (then text is quoted, else written bare)."""
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(column, r'[,"\r\n]')).as_py():
                return True
    return False


def _column_to_arrow(s: pd.Series) -> pa.Array:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pa.array(s.to_numpy(dtype="datetime64[D]"), type=pa.date32(), mask=s.isna().to_numpy())
    if s.dtype == object:
        return pa.array([_text(v) for v in s], type=pa.string())
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < _EXACT_INT):
            missing = np.isnan(v)
            return pa.array(np.where(missing, 0, v).astype(np.int64), mask=missing)
        return pa.array(v, mask=np.isnan(v))
    return pa.Array.from_pandas(s)


def _text(v) -> str | None:
    """One cell of a mixed column as the text a spreadsheet would show (None = empty)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return str(int(v)) if v == int(v) and abs(v) < _EXACT_INT else repr(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return str(v)


def _write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for name, df in tables.items():
        ws = wb.create_sheet(title=name)
        ws.append([str(c) for c in df.columns])
        date_cols = {i for i, c in enumerate(df.columns) if pd.api.types.is_datetime64_any_dtype(df[c].dtype)}
        columns = [_excel_values(df[c]) for c in df.columns]
        for row in zip(*columns):
            cells = []
            for i, value in enumerate(row):
                if i in date_cols and value is not None:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    cells.append(cell)
                else:
                    cells.append(value)
            ws.append(cells)
    wb.save(path)


def _excel_values(s: pd.Series) -> list:
    """Python values for openpyxl: dates as dates, missing as None, whole numbers as ints."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return [None if pd.isna(v) else v.date() for v in s]
    if s.dtype == object:  # a dirty column: numbers stay numbers, the rest is text
        return [_number(v) if isinstance(v, (int, float, np.number)) and not pd.isna(v) else _text(v) for v in s]
    if pd.api.types.is_bool_dtype(s.dtype):
        return [bool(v) for v in s]
    if pd.api.types.is_float_dtype(s.dtype):
        return [None if math.isnan(v) else _number(v) for v in s.to_numpy(float)]
    if pd.api.types.is_integer_dtype(s.dtype):
        return [None if v is pd.NA else int(v) for v in s.astype(object)]
    return [None if pd.isna(v) else str(v) for v in s]


def _number(v) -> int | float:
    v = float(v)
    return int(v) if v == int(v) and abs(v) < _EXACT_INT else v
