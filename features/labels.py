"""The labels both models learn, exactly as the Labels section of docs/data-contract.md defines them.

  sick(c, t)      health.category of c in t is DALAM_PENGAWASAN or DALAM_PENGAWASAN_KHUSUS
  risk_label      for (c, t) assessed and not sick at t: 1 if sick at t+1 or dissolved in t+1;
                  0 if assessed and not sick at t+1; otherwise NaN (scored, never trained on)
  recovery_label  for (c, t) sick at t: 1 if assessed not sick at t+1 or t+2; 0 if assessed sick at both,
                  or dissolved by t+2; otherwise NaN
The first rule that applies wins, in the contract's order (so a cooperative assessed healthy at t+1 and
dissolved at t+2 has recovered).

``status`` (what the Scores contract calls "from the latest assessment"): the rule of features/status.py,
the same the scoring applies (SAKIT / SEHAT from the latest assessment at most
``Settings.status_max_age_years`` old, BELUM_DINILAI without one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from klinik.data.dataset import Dataset
from klinik.features.panel import Panel, alive, dataset_years, sorted_coops
from klinik.features.status import is_sick, latest_assessment, status_of
from klinik.settings import Settings

TASKS = ("risk", "recovery")  # the two models, one for each label: risk_label and recovery_label
LABEL_COLUMNS = ("coop_id", "year", "assessed", "sick", "status", "risk_label", "recovery_label")


def make_labels(ds: Dataset, settings: Settings) -> pd.DataFrame:
    """One row per (coop_id, year) of build_features' rows (registered, not dissolved, data's first to last
    year), with the columns LABEL_COLUMNS: assessed and sick (bool; sick is False when not assessed), status
    (SEHAT / SAKIT / BELUM_DINILAI, by ``settings.status_max_age_years``), risk_label and recovery_label
    (float 1/0/NaN)."""
    coops = sorted_coops(ds)
    first, last = dataset_years(ds)
    targets = np.arange(first, last + 1, dtype=np.int64)
    panel = Panel(pd.Index(coops["coop_id"].to_numpy()), np.arange(first, last + 3, dtype=np.int64))
    h = ds.health
    rows, cols = panel.rows_of(h["coop_id"]), panel.cols_of(h["year"].to_numpy())
    sick_all = panel.scatter(rows, cols, is_sick(h).astype(float))  # 1 sick, 0 healthy, NaN not assessed

    def at(k: int) -> tuple[np.ndarray, np.ndarray]:
        s = panel.at(sick_all, targets + k)
        return s == 1, s == 0  # sick, assessed and not sick

    (sick0, well0), (sick1, well1), (sick2, well2) = at(0), at(1), at(2)
    dissolved = coops["dissolved_year"].to_numpy(dtype=float, na_value=np.nan)[:, None]
    t = targets[None, :].astype(float)

    risk = np.where(sick1 | (dissolved == t + 1), 1.0, np.where(well1, 0.0, np.nan))
    risk = np.where(well0, risk, np.nan)
    recovery = np.where(well1 | well2, 1.0, np.where((sick1 & sick2) | (dissolved <= t + 2), 0.0, np.nan))
    recovery = np.where(sick0, recovery, np.nan)

    status = status_of(h, latest_assessment(h, panel.ids, targets, settings.status_max_age_years))

    r, c = np.nonzero(alive(coops, targets))
    frame = pd.DataFrame(
        {
            "coop_id": coops["coop_id"].to_numpy()[r],
            "year": targets[c],
            "assessed": (sick0 | well0)[r, c],
            "sick": sick0[r, c],
            "status": status[r, c],
            "risk_label": risk[r, c],
            "recovery_label": recovery[r, c],
        }
    )
    frame["coop_id"] = frame["coop_id"].astype("str")
    frame["status"] = frame["status"].astype("str")
    return frame
