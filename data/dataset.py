"""The in-memory form of one dataset: one typed DataFrame per contract table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import pandas as pd

from klinik.data.contract import DTYPES, OPTIONAL_TABLES, REQUIRED_TABLES


@dataclass
class Dataset:
    """Every table of docs/data-contract.md, validated and typed.

    Optional tables that were absent are empty DataFrames with the contract's columns, so code downstream
    never branches on None. ``truth`` exists only for simulated data and is never read by features,
    training or serving (only by evaluation and benchmarks).
    """

    cooperatives: pd.DataFrame
    financials: pd.DataFrame
    staffing: pd.DataFrame
    meetings: pd.DataFrame
    health: pd.DataFrame
    clinic_cases: pd.DataFrame
    truth: pd.DataFrame | None = None
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def last_year(self) -> int:
        """The latest fiscal year any yearly table mentions."""
        years = [t["year"].max() for t in (self.financials, self.staffing, self.health) if len(t)]
        return int(max(years))

    def only(self, coop_ids: Iterable[str]) -> Dataset:
        """The same dataset holding only the rows of ``coop_ids``, in every table (a small copy, for work on a
        few cooperatives of a large dataset)."""
        wanted = pd.Index(list(coop_ids), dtype="str")
        tables = {name: getattr(self, name) for name in REQUIRED_TABLES + OPTIONAL_TABLES}
        return replace(
            self,
            warnings=list(self.warnings),
            **{
                name: t.loc[t["coop_id"].isin(wanted)].reset_index(drop=True)
                for name, t in tables.items()
                if t is not None
            },
        )


def empty_table(table: str) -> pd.DataFrame:
    """A zero-row table with the contract's columns and dtypes (what an absent optional table becomes)."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in DTYPES[table].items()})
