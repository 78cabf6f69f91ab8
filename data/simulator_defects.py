"""The defects real offices' exports carry, injected into a clean simulated dataset on purpose.

``inject_defects`` returns the damaged tables and an exact list of what it did, so a test can check that the
validator names every defect (table, row as the user sees it in the file, column). Each defect sits in a
place where it cannot hide another one: a table that lost a column gets no cell defect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FILE_ROW_OFFSET = 2  # the header is row 1 of a CSV file or Excel sheet, so the first data row is row 2


def inject_defects(tables: dict[str, pd.DataFrame], seed: int) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Copy ``tables`` with six defects added; return the copy and one dict per defect.

    Each dict has ``kind``, ``table``, ``row`` (file row, header = 1; None for a whole-column defect),
    ``rows`` (every file row the broken rule involves: a duplicated key names the original and the copy),
    ``column`` (the cell changed), ``columns`` (every column the broken rule involves) and ``value`` (what
    the cell now holds). The input tables are not modified. Deterministic for a seed.
    """
    rng = np.random.default_rng([seed, 20170809])
    out = dict(tables)
    defects: list[dict] = []

    fin = tables["financials"].reset_index(drop=True)
    if len(fin) < 3:
        raise ValueError("inject_defects needs at least 3 financials rows")
    balance_row, negative_row, text_row = (int(r) for r in rng.choice(len(fin), size=3, replace=False))
    fin = fin.astype({"cash": object})

    equity = fin.at[balance_row, "equity"] + np.round(0.25 * fin.at[balance_row, "total_assets"])
    fin.at[balance_row, "equity"] = equity
    defects.append(
        _defect(
            "totals_do_not_add_up",
            "financials",
            balance_row,
            "equity",
            equity,
            ("total_assets", "total_liabilities", "equity"),
        )
    )

    assets = -fin.at[negative_row, "total_assets"]
    fin.at[negative_row, "total_assets"] = assets
    defects.append(_defect("negative_assets", "financials", negative_row, "total_assets", assets, ("total_assets",)))

    # a clerk's shorthand in millions (juta): the contract reads "Rp 3.084.677", not "Rp 3,1 jt"
    text = "Rp " + f"{fin.at[text_row, 'cash'] / 1e6:.1f}".replace(".", ",") + " jt"
    fin.at[text_row, "cash"] = text
    defects.append(_defect("text_in_number", "financials", text_row, "cash", text, ("cash",)))
    out["financials"] = fin

    health = tables["health"].reset_index(drop=True)
    dup = int(rng.integers(0, len(health)))
    health = pd.concat([health.iloc[: dup + 1], health.iloc[[dup]], health.iloc[dup + 1 :]], ignore_index=True)
    copy = _defect("duplicated_key", "health", dup + 1, "coop_id", health.at[dup + 1, "coop_id"], ("coop_id", "year"))
    copy["rows"] = (dup + FILE_ROW_OFFSET, dup + 1 + FILE_ROW_OFFSET)  # the original and its copy, just below it
    defects.append(copy)
    out["health"] = health

    meetings = tables["meetings"].reset_index(drop=True)
    held = meetings["held_on"]
    late_in_month = np.flatnonzero((held.dt.day > 12).to_numpy())  # a day > 12 cannot be read as a month
    bad = int(late_in_month[rng.integers(0, len(late_in_month))])
    wrong = held.iloc[bad].strftime("%m/%d/%Y")  # month first, as an English-language Excel writes it
    text_dates = held.dt.strftime("%Y-%m-%d").astype(object)
    text_dates.iloc[bad] = wrong
    meetings["held_on"] = text_dates
    defects.append(_defect("date_format", "meetings", bad, "held_on", wrong, ("held_on",)))
    out["meetings"] = meetings

    staffing = tables["staffing"]
    out["staffing"] = staffing.drop(columns=["trained_staff"])
    defects.append(
        {
            "kind": "missing_column",
            "table": "staffing",
            "row": None,
            "rows": (),
            "column": "trained_staff",
            "columns": ("trained_staff",),
            "value": None,
        }
    )
    return out, defects


def _defect(kind: str, table: str, position: int, column: str, value, columns: tuple[str, ...]) -> dict:
    row = position + FILE_ROW_OFFSET
    if isinstance(value, np.generic):
        value = value.item()  # plain Python values: the list can go into JSON or a report
    return {
        "kind": kind,
        "table": table,
        "row": row,
        "rows": (row,),
        "column": column,
        "columns": columns,
        "value": value,
    }
