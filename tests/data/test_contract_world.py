"""The simulated world holds the contract, and round-trips through every file format unchanged."""

from __future__ import annotations

import pandas as pd
import pytest

from klinik.data.contract import DTYPES
from klinik.data.io import write_dataset
from klinik.data.loader import load_dataset

TABLES = ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases", "truth")


def _tables(ds):
    return {name: getattr(ds, name) for name in TABLES}


def test_the_world_loads_typed_and_clean(world):
    assert world.warnings == []
    for name, frame in _tables(world).items():
        assert len(frame) > 0, name
        assert list(frame.columns) == list(DTYPES[name]), name
        assert {c: str(t) for c, t in frame.dtypes.items()} == DTYPES[name], name
    assert world.cooperatives["coop_id"].is_unique
    assert set(world.financials["coop_id"]) <= set(world.cooperatives["coop_id"])


def _some_coops(ds, n: int) -> dict[str, pd.DataFrame]:
    """The first n cooperatives with all their rows (a workbook of the whole world takes long to write)."""
    keep = set(ds.cooperatives["coop_id"].iloc[:n])
    return {name: frame[frame["coop_id"].isin(keep)].reset_index(drop=True) for name, frame in _tables(ds).items()}


@pytest.mark.parametrize("fmt,coops", [("csv", None), ("parquet", None), ("xlsx", 40)])
def test_the_world_round_trips_through_each_format(world, tmp_path, fmt, coops):
    tables = _tables(world) if coops is None else _some_coops(world, coops)
    assert all(len(frame) for frame in tables.values())
    again = load_dataset(write_dataset(tables, tmp_path / fmt, fmt=fmt))
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), tables[name], obj=name)
