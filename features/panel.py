"""Dense (cooperative x year) arrays: the frame every feature and label is computed in.

Cooperatives are sorted by ``coop_id``; row i of every array is the i-th of them, column j a fiscal year.
A table is scattered into such an array once (its coop_id looked up with Arrow's hash join), features are
arithmetic on whole arrays, lags are other columns, and the rows of the registered cooperatives are gathered
at the end: no Python loop per cooperative, which is what keeps the national scale fast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from klinik.data.dataset import Dataset


def dataset_years(ds: Dataset) -> tuple[int, int]:
    """First and last fiscal year the yearly tables (financials, staffing, health) mention."""
    spans = [
        (int(t["year"].min()), int(t["year"].max()))
        for t in (ds.financials, ds.staffing, ds.health)
        if t is not None and len(t)
    ]
    if not spans:
        raise ValueError("the dataset has no yearly rows: financials, staffing and health are all empty")
    return min(a for a, _ in spans), max(b for _, b in spans)


def target_years(ds: Dataset, years: Sequence[int] | None) -> np.ndarray:
    """The years asked for, sorted and unique; every year of the data when None."""
    if years is None:
        first, last = dataset_years(ds)
        return np.arange(first, last + 1, dtype=np.int64)
    targets = np.unique(np.asarray(list(years), dtype=np.int64))
    if targets.size == 0:
        raise ValueError("years is empty: give at least one fiscal year")
    return targets


def sorted_coops(ds: Dataset) -> pd.DataFrame:
    """The cooperatives table sorted by coop_id: the row order of every panel."""
    coops = ds.cooperatives.sort_values("coop_id", kind="stable").reset_index(drop=True)
    dup = coops["coop_id"].duplicated()
    if dup.any():
        raise ValueError(f"cooperatives: coop_id {coops.loc[dup, 'coop_id'].iloc[0]!r} appears more than once")
    return coops


def alive(coops: pd.DataFrame, targets: np.ndarray) -> np.ndarray:
    """(n_coops, n_targets): registered (founded_year <= t) and not dissolved (dissolved_year > t or missing)."""
    founded = coops["founded_year"].to_numpy(dtype=float)[:, None]
    dissolved = coops["dissolved_year"].to_numpy(dtype=float, na_value=np.nan)[:, None]
    t = targets[None, :].astype(float)
    return (founded <= t) & (np.isnan(dissolved) | (dissolved > t))


def registered_coop_years(ds: Dataset, years: Sequence[int] | None = None) -> pd.DataFrame:
    """(coop_id, year) of every cooperative registered and not dissolved in each year, sorted: the rows of
    build_features and make_labels. ``years``: the data's first to last year when None."""
    coops = sorted_coops(ds)
    targets = target_years(ds, years)
    rows, cols = np.nonzero(alive(coops, targets))
    return pd.DataFrame({"coop_id": coops["coop_id"].to_numpy()[rows], "year": targets[cols]})


class Panel:
    """Dense (cooperative x year) arrays over a sorted list of years; row i is the i-th sorted cooperative."""

    def __init__(self, ids: pd.Index, years: np.ndarray):
        self.ids = ids
        self.years = np.asarray(years, dtype=np.int64)
        self.shape = (len(ids), len(self.years))
        self._id_set = pa.array(np.asarray(ids, dtype=object), type=pa.large_string())

    def rows_of(self, coop_ids: pd.Series | pa.Array) -> np.ndarray:
        """Row of each coop_id; -1 for an id not in the cooperatives table. (Arrow's hash lookup: several
        times faster than pandas' get_indexer on string columns at the national scale.)"""
        ids = coop_ids if isinstance(coop_ids, pa.Array) else arrow_text(coop_ids)
        if ids.type != pa.large_string():
            ids = ids.cast(pa.large_string())
        return pc.index_in(ids, value_set=self._id_set).fill_null(-1).to_numpy().astype(np.int64)

    def cols_of(self, years: np.ndarray) -> np.ndarray:
        """Column of each year; -1 where the panel does not hold it."""
        years = np.asarray(years, dtype=np.int64)
        cols = np.searchsorted(self.years, years)
        found = cols < len(self.years)
        found[found] = self.years[cols[found]] == years[found]
        return np.where(found, cols, -1)

    def scatter(self, rows: np.ndarray, cols: np.ndarray, values, fill: float = np.nan) -> np.ndarray:
        """An array holding ``values`` at (rows, cols) and ``fill`` elsewhere; rows or cols of -1 are skipped."""
        out = np.full(self.shape, fill)
        ok = (rows >= 0) & (cols >= 0)
        out[rows[ok], cols[ok]] = np.asarray(values, dtype=float)[ok] if np.ndim(values) else values
        return out

    def count(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """How many (row, col) pairs fall in each cell."""
        out = np.zeros(self.shape)
        ok = (rows >= 0) & (cols >= 0)
        np.add.at(out, (rows[ok], cols[ok]), 1.0)
        return out

    def at(self, a: np.ndarray, years: np.ndarray) -> np.ndarray:
        """The columns of ``a`` for ``years`` (NaN columns for years the panel does not hold)."""
        cols = self.cols_of(years)
        out = a[:, np.maximum(cols, 0)].astype(float, copy=True)
        out[:, cols < 0] = np.nan
        return out

    def at_each(self, a: np.ndarray, years: np.ndarray) -> np.ndarray:
        """``a`` read at a year given per cell: ``years`` is (cooperatives x targets), each cell the year to read in
        that row (NaN, or a year the panel does not hold, gives NaN)."""
        known = ~np.isnan(years)
        cols = self.cols_of(np.where(known, years, -1).astype(np.int64))
        out = np.take_along_axis(a, np.maximum(cols, 0), axis=1).astype(float)
        out[cols < 0] = np.nan
        return out


def ffill(a: np.ndarray) -> np.ndarray:
    """Forward fill NaN along the year axis."""
    idx = np.where(~np.isnan(a), np.arange(a.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    return np.take_along_axis(a, idx, axis=1)


def arrow_text(series: pd.Series) -> pa.Array:
    """A text column as one Arrow array (zero-copy for pandas' Arrow-backed strings)."""
    arr = pa.array(series.astype("str"), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


_NS_PER_DAY = 86_400_000_000_000


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Dates as float days since 1970-01-01 (NaN for NaT)."""
    ns = np.asarray(dates, dtype="datetime64[ns]").view(np.int64)
    out = (ns // _NS_PER_DAY).astype(float)
    out[ns == np.iinfo(np.int64).min] = np.nan  # NaT
    return out


def day_of(year: np.ndarray, month: int, day: int) -> np.ndarray:
    """Days since 1970-01-01 of (year, month, day), for arrays of years (a small table per distinct year)."""
    year = np.asarray(year, dtype=np.int64)
    if year.size == 0:
        return np.zeros(0)
    low, high = int(year.min()), int(year.max())
    months = (np.arange(low, high + 1, dtype=np.int64) - 1970) * 12 + (month - 1)
    table = (months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (day - 1)).astype(float)
    return table[year - low]


def month_end(year: np.ndarray, months_after: int) -> np.ndarray:
    """Days of the last day of the ``months_after``-th month after the end of ``year`` (6 -> 30 June, year+1)."""
    months = (np.asarray(year, dtype=np.int64) + 1 - 1970) * 12 + months_after
    return (months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1).astype(float)
