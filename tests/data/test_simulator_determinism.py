"""Same seed, same world; every table with the contract's columns and dtypes; defects recorded exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from klinik.data.contract import COLUMNS, DTYPES
from klinik.data.simulator import inject_defects, simulate

SMALL = dict(n_coops=60, years=(2016, 2021))


@pytest.fixture(scope="module")
def small():
    return simulate(seed=5, **SMALL)


def test_same_seed_same_tables(small):
    again = simulate(seed=5, **SMALL)
    assert small.keys() == again.keys()
    for name in small:
        pd.testing.assert_frame_equal(small[name], again[name], check_exact=True, obj=name)


def test_another_seed_another_world(small):
    other = simulate(seed=6, **SMALL)
    assert not small["financials"].equals(other["financials"])
    assert not small["cooperatives"]["coop_type"].equals(other["cooperatives"]["coop_type"])


def test_columns_and_dtypes_are_the_contract(small):
    assert set(small) == set(COLUMNS)
    for name, frame in small.items():
        assert tuple(frame.columns) == COLUMNS[name], name
        got = {c: str(t) for c, t in frame.dtypes.items()}
        assert got == DTYPES[name], name


def test_years_and_size_are_respected(small):
    assert len(small["cooperatives"]) == 60
    for name in ("financials", "staffing", "health", "truth"):
        assert small[name]["year"].between(2016, 2021).all(), name
    assert small["staffing"]["year"].min() == 2016 and small["staffing"]["year"].max() == 2021


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="n_coops"):
        simulate(n_coops=0, years=(2020, 2021), seed=1)
    with pytest.raises(ValueError, match="before first year"):
        simulate(n_coops=5, years=(2021, 2020), seed=1)


def test_defects_are_recorded_exactly_and_leave_the_input_alone(small):
    before = {name: frame.copy() for name, frame in small.items()}
    dirty, defects = inject_defects(small, seed=5)
    for name in small:
        pd.testing.assert_frame_equal(small[name], before[name], obj=name)  # input untouched
    kinds = {d["kind"] for d in defects}
    assert kinds == {
        "totals_do_not_add_up",
        "negative_assets",
        "duplicated_key",
        "text_in_number",
        "missing_column",
        "date_format",
    }
    for d in defects:
        table = dirty[d["table"]]
        if d["row"] is None:
            assert d["column"] not in table.columns
            continue
        cell = table.iloc[d["row"] - 2][d["column"]]  # file row -> position: header is row 1
        assert cell == d["value"], d
    fin = dirty["financials"]
    bal = next(d for d in defects if d["kind"] == "totals_do_not_add_up")
    r = fin.iloc[bal["row"] - 2]
    assert abs(r["total_assets"] - r["total_liabilities"] - r["equity"]) > 0.01 * r["total_assets"]
    neg = next(d for d in defects if d["kind"] == "negative_assets")
    assert fin.iloc[neg["row"] - 2]["total_assets"] < 0
    dup = next(d for d in defects if d["kind"] == "duplicated_key")
    h = dirty["health"]
    first, second = (h.iloc[r - 2][["coop_id", "year"]].tolist() for r in dup["rows"])
    assert first == second and len(h) == len(small["health"]) + 1
    date = next(d for d in defects if d["kind"] == "date_format")
    assert dirty["meetings"]["held_on"].iloc[date["row"] - 2].count("/") == 2
    again, defects_again = inject_defects(small, seed=5)
    assert defects_again == defects


def test_dirty_simulation_is_the_clean_one_plus_the_defects(small):
    dirty = simulate(seed=5, dirty=True, **SMALL)
    expected, _ = inject_defects(small, seed=5)
    for name in expected:
        pd.testing.assert_frame_equal(dirty[name], expected[name], obj=name)
