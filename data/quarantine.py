"""Quarantine: set aside the rows that break the contract, with the rows of their quarantined cooperatives,
and write every one of them, with its problems and its cells as read, to one CSV file.

``klinik validate --quarantine FILE`` (and any load with ``quarantine=``) keeps the rest of a dataset usable
instead of refusing it whole; the file says what went and why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.csv

from klinik.data.atomic import atomic_file
from klinik.data.cells import cell_texts
from klinik.data.contract import COLUMNS, COOP_REFERENCING_TABLES
from klinik.data.messages import Msg, Tab, joined
from klinik.data.problems import Problem, TableCheck


def _cells(tc: TableCheck, rows) -> pd.DataFrame:
    """The offending rows' cells as they were read (before any parsing), as text."""
    cells = tc.raw.loc[rows]
    return pd.DataFrame({c: cell_texts(cells[c]) for c in cells.columns})


def quarantine_rows(checks: dict[str, TableCheck], path: Path) -> tuple[dict[str, pd.Index], str]:
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
                    tc.problem(r, "coop_id", Msg("coop_quarantined", file=coops.file, row=int(coop_row[c])), c)
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
    with atomic_file(path) as tmp:
        pyarrow.csv.write_csv(table, tmp)  # pandas' writer takes minutes for a million wide rows
    n_rows = sum(len(v) for v in bad.values())
    per_table = joined(Msg("table_rows", table=Tab(name), n=len(rows)) for name, rows in bad.items() if len(rows))
    note = Msg("quarantined_cascade", n=cascaded) if cascaded else ""
    message = (
        Msg("quarantined", n=n_rows, tables=per_table, note=note, problems=len(out), path=str(path))
        if n_rows
        else Msg("nothing_quarantined", path=str(path))
    )
    return bad, message
