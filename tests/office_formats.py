"""Writing values the way an Indonesian office types them, for tests: amounts with a dot between thousands and a
decimal comma, dates day first, flags ya / tidak. Written independently of the loader that reads them."""

from __future__ import annotations

import datetime as dt

import pandas as pd


def grouped(x: float, rp: bool = True, negative: str = "-") -> str:
    """``x`` as an office writes it: ``Rp 570.584.777,5``; every digit of the float's shortest form is kept, so the
    text reads back as exactly ``x``. ``negative``: "-" (``-Rp 1.000``), "rp-" (``Rp -1.000``) or "()"."""
    digits = repr(abs(float(x)))
    if "e" in digits:
        raise ValueError(f"{x} needs an exponent; an office never writes one")
    whole, _, fraction = digits.partition(".")
    text = f"{int(whole):,}".replace(",", ".") + ("," + fraction if fraction.strip("0") else "")
    if x >= 0:
        return f"Rp {text}" if rp else text
    if negative == "()":
        return f"(Rp {text})" if rp else f"({text})"
    if negative == "rp-" and rp:
        return f"Rp -{text}"
    return f"-Rp {text}" if rp else f"-{text}"


def day_first(day: dt.date, sep: str = "/") -> str:
    return day.strftime(f"%d{sep}%m{sep}%Y")


def ya_tidak(flag: bool) -> str:
    return "ya" if flag else "tidak"


def office_cell(kind: str, value, row: int):
    """One cell as an office fills in the template: amounts as Indonesian text (every other row with "Rp"),
    dates day first as text on odd rows and as Excel dates on even rows, flags ya / tidak, counts of a thousand or
    more with a dot between thousands, other numbers with a decimal comma on odd rows, the rest as Excel numbers
    and text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "money":
        return grouped(value, rp=row % 2 == 0)
    if kind == "date":
        day = value.date() if hasattr(value, "date") else dt.date.fromisoformat(str(value))
        return day_first(day, "/" if row % 4 == 1 else "-") if row % 2 else day
    if kind == "flag":
        return ya_tidak(bool(value))
    if kind == "count" and int(value) >= 1000:
        return grouped(int(value), rp=False)
    if kind == "number" and row % 2:
        return grouped(value, rp=False)  # a score of 72,5
    return value.item() if hasattr(value, "item") else value


def fill_template(path, tables: dict, cell=office_cell) -> None:
    """Type ``tables`` (contract columns) into the template at ``path`` below each sheet's header, as ``cell``
    writes each value, and save it: what an office does with the workbook ``klinik template`` gave it."""
    from openpyxl import load_workbook

    from klinik.data.contract import TABLE

    wb = load_workbook(path)
    for name, frame in tables.items():
        spec = TABLE[name]
        ws = wb[spec.sheet]
        first = ws.max_row + 1 if ws.max_row > 1 else 2
        for r, record in enumerate(frame[list(spec.column_names)].itertuples(index=False), start=first):
            for i, (column, value) in enumerate(zip(spec.columns, record), start=1):
                ws.cell(row=r, column=i, value=cell(column.kind, value, r))
    wb.save(path)
