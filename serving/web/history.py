"""Each cooperative's records over the years, for its profile: from the dataset the latest batch output was scored
on (the manifest names its folder).

The dataset is read once (data.loader, the same checks as the batch job) in a thread started with the page, so the
page answers at once; a profile asked for before the read is done waits for it. Every table is then sorted by
coop_id once (store.RowsByKey), and a profile takes its cooperative's rows in one look-up and builds the features of
that one cooperative (features.build.build_features on a one-cooperative Dataset: the same definitions the models
see, a few tens of milliseconds).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from klinik.serving.web.store import RowsByKey, out_of_the_collectors_way

if TYPE_CHECKING:
    from klinik.settings import Settings

log = logging.getLogger("klinik.web")
TABLES = ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases")
# the key ratios behind the reasons, charted over the years: feature name, unit
CHARTED = (
    ("bad_loan_ratio", "pct"),
    ("equity_to_assets", "pct"),
    ("cash_ratio", "pct"),
    ("staff_departure_rate", "pct"),
    ("employees", "count"),
    ("rat_held", "flag"),
)
WAIT_SECONDS = 5.0  # a profile asked for while the records are still being read waits this long, then says so


@dataclass
class CoopHistory:
    """One cooperative's years: ``years`` (one row per fiscal year: the office's health score and category, and
    the charted features), its RAT meetings, its clinic cases and its registration."""

    years: pd.DataFrame
    rat: list[dict]
    cases: list[dict]
    founded_year: int | None
    dissolved_year: int | None
    source: str = ""
    latest_year: int | None = None
    notes: list[str] = field(default_factory=list)


class History:
    """The dataset behind the latest output, loaded in the background and indexed by coop_id."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._key: str | None = None
        self._tables: dict[str, RowsByKey] = {}
        self._source = ""
        self._problem: str | None = None

    def start(self, data_dir: str | None, key: str) -> None:
        """Read ``data_dir`` in a thread unless the same dataset (``key``: its hash in the manifest) is loaded."""
        with self._lock:
            if key == self._key:
                return
            self._key = key
            self._ready.clear()
            self._problem = None
        threading.Thread(target=self._load, args=(data_dir, key), name="klinik-web-history", daemon=True).start()

    def _load(self, data_dir: str | None, key: str) -> None:
        from klinik.data.loader import load_dataset
        from klinik.data.validation import DatasetInvalid

        tables: dict[str, RowsByKey] = {}
        problem = None
        try:
            if not data_dir or not Path(data_dir).is_dir():
                raise FileNotFoundError(f"the dataset folder {data_dir} is no longer there")
            ds = load_dataset(Path(data_dir), require_health=False)
            order = {"financials": ["year"], "staffing": ["year"], "health": ["year"], "meetings": ["held_on"]}
            for name in TABLES:
                tables[name] = RowsByKey(getattr(ds, name), order=order.get(name))
            log.info("read the records of %d cooperatives from %s", len(ds.cooperatives), data_dir)
        except (OSError, DatasetInvalid, ValueError) as err:
            problem = str(err).splitlines()[0][:300]
            log.warning("no records for the profiles: %s", problem)
        with self._lock:
            if key != self._key:  # a newer output asked for another dataset meanwhile
                return
            self._tables, self._source, self._problem = tables, str(data_dir or ""), problem
            out_of_the_collectors_way()
            self._ready.set()

    @property
    def problem(self) -> str | None:
        return self._problem

    @property
    def loading(self) -> bool:
        return self._key is not None and not self._ready.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the records are read (True), or ``timeout`` seconds."""
        return self._ready.wait(timeout)

    def for_coop(self, coop_id: str, timeout: float = WAIT_SECONDS) -> CoopHistory | None:
        """The cooperative's history; None when the dataset cannot be read or does not hold it."""
        from klinik.data.dataset import Dataset
        from klinik.features.build import build_features

        if not self._ready.wait(timeout):
            return None
        tables = self._tables
        if not tables or coop_id not in tables["cooperatives"]:
            return None
        one = Dataset(**{name: tables[name].rows(coop_id).reset_index(drop=True) for name in TABLES})
        coop = one.cooperatives.iloc[0]
        features = build_features(one, self.settings)
        health = one.health[["year", "score", "category"]].rename(
            columns={"score": "health_score", "category": "health_category"}
        )
        years = features[["year", *(name for name, _ in CHARTED)]].merge(health, on="year", how="outer")
        years = years.sort_values("year").reset_index(drop=True)
        dissolved = coop["dissolved_year"]
        return CoopHistory(
            years=years,
            rat=rat_history(one.meetings, self.settings),
            cases=one.clinic_cases.sort_values("opened_on", ascending=False).to_dict("records"),
            founded_year=int(coop["founded_year"]),
            dissolved_year=None if pd.isna(dissolved) else int(dissolved),
            source=self._source,
            latest_year=int(years["year"].max()) if len(years) else None,
        )


def rat_history(meetings: pd.DataFrame, settings: Settings) -> list[dict]:
    """The cooperative's RATs, newest book year first: when held, attendance, and days after the office's and
    the law's deadlines (both settings)."""
    rat = meetings.loc[meetings["meeting_type"] == "RAT"].sort_values(["fiscal_year", "held_on"], ascending=False)
    out = []
    for rec in rat.to_dict("records"):
        fy = int(rec["fiscal_year"])
        held = rec["held_on"]
        office = dt.date(fy + 1, settings.rat_office_deadline_month, settings.rat_office_deadline_day)
        legal_month = settings.rat_legal_deadline_months  # months after the end of the book year
        legal = (pd.Timestamp(fy + 1, 1, 1) + pd.offsets.MonthEnd(legal_month)).date()
        held_date = None if pd.isna(held) else pd.Timestamp(held).date()
        out.append(
            {
                "fiscal_year": fy,
                "held_on": held_date,
                "attendees": None if pd.isna(rec.get("attendees")) else int(rec["attendees"]),
                "days_late_office": None if held_date is None else max(0, (held_date - office).days),
                "days_late_legal": None if held_date is None else max(0, (held_date - legal).days),
                "office_deadline": office,
            }
        )
    return out


def missing_rat_years(rat: list[dict], first: int | None, last: int | None) -> list[int]:
    """Book years from ``first`` to ``last`` with no RAT held, newest first."""
    if first is None or last is None:
        return []
    held = {r["fiscal_year"] for r in rat}
    return [y for y in range(last, first - 1, -1) if y not in held]


def series(years: pd.DataFrame, name: str) -> list[tuple[int, float]]:
    """(year, value) pairs of one column, without the missing years."""
    if name not in years:
        return []
    values = years[name].to_numpy(dtype=float, na_value=np.nan)
    return [(int(y), float(v)) for y, v in zip(years["year"], values) if not np.isnan(v)]
