"""The service's quick check of clean requests (serving/request_check.py) against data.validation (pandera).

It may only ever let through what pandera lets through: on broken records of every kind it must flag exactly the
rows pandera flags (or step aside), and on clean records it must give the very tables validate_tables gives.
"""

from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from klinik.data.contract import COLUMNS, DTYPES, KEYS, NON_EMPTY_TABLES
from klinik.data.validation import DatasetInvalid, validate_tables
from klinik.serving.request_check import check_rows, clean_dataset
from klinik.serving.schemas import ScoreRequest
from klinik.serving.service_io import flatten, payload_from_dataset, tables_from_rows

TABLES = ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases")
NEXT_YEAR = dt.date.today().year + 1


def request_rows(world, coop_ids=None) -> tuple[dict, dict]:
    """The rows a /score request of these cooperatives becomes (through the request types, as the service)."""
    req = ScoreRequest.model_validate({"cooperatives": payload_from_dataset(world, coop_ids)})
    return flatten(req.cooperatives)


def pandera_rows(rows: dict, where: dict) -> tuple[dict[str, set[int]], bool]:
    """(per table, the rows data.validation names; whether it names a problem of a whole table)."""
    try:
        validate_tables(tables_from_rows(rows, where).tables, source="request")
    except DatasetInvalid as err:
        named: dict[str, set[int]] = {t: set() for t in rows}
        for p in err.problems:
            if p.row is not None:
                named[p.table].add(p.row)
        return named, any(p.row is None for p in err.problems)
    return {t: set() for t in rows}, False


def assert_same_verdict(rows: dict, where: dict) -> str:
    """The quick check flags the rows pandera flags, or steps aside; never "clean" where pandera refuses."""
    verdict = check_rows(rows)
    named, whole_table = pandera_rows(rows, where)
    if verdict.unsure is not None:
        return "unsure"
    assert not whole_table, verdict
    flagged = {t: set(np.flatnonzero(m).tolist()) for t, m in verdict.bad.items()}
    assert flagged == named
    return "clean" if verdict.clean else "flagged"


def test_clean_records_give_the_tables_validation_gives(world):
    rows, where = request_rows(world)
    quick = clean_dataset(rows)
    assert quick is not None
    full = validate_tables(tables_from_rows(rows, where).tables, source="request")
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(quick, name), getattr(full, name), check_exact=True)
        assert dict(getattr(quick, name).dtypes) == {
            c: pd.api.types.pandas_dtype(d) if d != "str" else getattr(full, name)[c].dtype
            for c, d in DTYPES[name].items()
        }
    assert quick.warnings == full.warnings and quick.truth is None and full.truth is None


def _mutations(rows: dict, rng: np.random.Generator) -> list[tuple[str, int, str, object]]:
    """Broken cells of every kind the contract names, spread over random rows: (table, row, column, value)."""
    out = []
    for table in TABLES:
        n = len(rows[table])
        if n == 0:
            continue
        for col, dtype in DTYPES[table].items():
            if col in ("coop_id", "case_id"):
                continue
            if dtype in ("int64", "Int64"):
                values = [-1, 0, 1899, NEXT_YEAR, 2**60, None] if "year" in col else [-1, 0, 2**60, None]
            elif dtype == "float64":
                values = [-1.0, 0.0, -0.0, 1e30, 101.0, None]
            elif dtype == "bool":
                values = [None]
            elif dtype == "datetime64[ns]":
                values = ["1899-12-31", f"{NEXT_YEAR}-01-01", "1600-01-01", "2019-01-01", None]
            else:
                values = ["NOT_A_CODE", "x", None]
            for value in values:
                out.append((table, int(rng.integers(n)), col, value))
    return out


def test_broken_records_are_flagged_on_the_rows_pandera_names(world):
    rng = np.random.default_rng(6)
    ids = list(world.cooperatives["coop_id"].astype(str)[:12])
    rows, where = request_rows(world, ids)
    seen = {"clean": 0, "flagged": 0, "unsure": 0}
    for table, row, col, value in _mutations(rows, rng):  # one broken cell at a time
        broken = copy.deepcopy(rows)
        broken[table][row][col] = value
        seen[assert_same_verdict(broken, where)] += 1
    mutations = _mutations(rows, rng)
    for _ in range(25):  # several at once, across tables
        broken = copy.deepcopy(rows)
        for k in rng.choice(len(mutations), size=6, replace=False):
            table, row, col, value = mutations[k]
            broken[table][row][col] = value
        seen[assert_same_verdict(broken, where)] += 1
    assert seen["flagged"] > 100 and seen["clean"] > 0, seen  # both verdicts were exercised


def test_duplicated_keys_and_foreign_ids_are_flagged_like_pandera(world):
    ids = list(world.cooperatives["coop_id"].astype(str)[:6])
    rows, where = request_rows(world, ids)
    for table, key in KEYS.items():
        if table not in rows or not rows[table]:
            continue
        broken, at = copy.deepcopy(rows), copy.deepcopy(where)
        broken[table].append(dict(broken[table][0]))
        at[table].append(at[table][0])
        assert assert_same_verdict(broken, at) == "flagged", (table, key)
    for table in ("financials", "staffing", "meetings", "health"):
        broken = copy.deepcopy(rows)
        broken[table][0]["coop_id"] = "KOP-NOT-SENT"
        assert assert_same_verdict(broken, where) == "flagged", table


def test_what_it_cannot_judge_is_left_to_validation(world):
    ids = list(world.cooperatives["coop_id"].astype(str)[:3])
    rows, where = request_rows(world, ids)
    for table, col, value in [
        ("cooperatives", "name", "  padded  "),
        ("cooperatives", "name", ""),
        ("financials", "cash", "Rp 1.000"),
        ("meetings", "held_on", "15/03/2021"),
        ("staffing", "members", 12.0),
        ("staffing", "has_manager", "ya"),
    ]:
        broken = copy.deepcopy(rows)
        broken[table][0][col] = value
        assert check_rows(broken).unsure, (table, col, value)
        assert clean_dataset(broken) is None
    for table in NON_EMPTY_TABLES:
        broken = copy.deepcopy(rows)
        broken[table] = []
        assert check_rows(broken).unsure and clean_dataset(broken) is None


def _json_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v.item() if hasattr(v, "item") else v


def test_the_simulators_dirty_data_is_judged_like_pandera():
    """`klinik simulate --dirty`: the defects real offices produce, as rows a request could carry."""
    from klinik.data.simulator import simulate

    tables = simulate(n_coops=30, years=(2019, 2023), seed=5, dirty=True)
    rows = {
        t: [{c: _json_value(v) for c, v in rec.items() if c in COLUMNS[t]} for rec in tables[t].to_dict("records")]
        for t in TABLES
        if t in tables
    }
    where = {t: [(t, i) for i in range(len(r))] for t, r in rows.items()}
    verdict = check_rows(rows)
    assert not verdict.clean and clean_dataset(rows) is None
    assert assert_same_verdict(rows, where) in ("flagged", "unsure")
    # "Rp 3,1 jt" for a number, "07/20/2023" (month first) for a date: pandera reads such cells and reports them
    texts = [
        (t, i, c)
        for t, c in (("financials", "cash"), ("meetings", "held_on"))
        for i, r in enumerate(rows[t])
        if isinstance(r[c], str) and not r[c][:4].isdigit()
    ]
    assert len(texts) == 2 and verdict.unsure
    for t, i, c in texts:  # without them, every other defect (totals, a negative total, a duplicated key, a
        month, day, year = rows[t][i][c].split("/") if c == "held_on" else (0, 0, 0)  # lost column)
        rows[t][i][c] = 0.0 if c == "cash" else f"{year}-{month}-{day}"
    assert assert_same_verdict(rows, where) == "flagged"  # is flagged on exactly pandera's rows


@pytest.mark.parametrize("table", ["financials", "staffing", "health"])
def test_an_empty_optional_table_comes_back_as_validation_gives_it(world, table):
    """Absent optional tables come back empty in the contract's dtypes, as validate_tables gives them."""
    ids = list(world.cooperatives["coop_id"].astype(str)[:4])
    rows, where = request_rows(world, ids)
    rows = {**rows, "clinic_cases": []}
    quick = clean_dataset(rows)
    full = validate_tables(tables_from_rows(rows, where).tables, source="request")
    pd.testing.assert_frame_equal(quick.clinic_cases, full.clinic_cases)
    pd.testing.assert_frame_equal(getattr(quick, table), getattr(full, table))
