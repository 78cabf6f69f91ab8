"""The status rule: whether a cooperative counts as sick now, from the office's assessments. The labels'
``status`` (features/labels.py) and the scores' ``status`` (serving/scoring.py) both come from here.

status at year t, from the latest assessment dated t or up to ``Settings.status_max_age_years`` before it:
SAKIT when its category is a supervision category (data.contract.SICK_CATEGORIES), SEHAT otherwise,
and BELUM_DINILAI when there is no such assessment (never assessed, or only longer ago).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from klinik.data.contract import SICK_CATEGORIES, STATUSES
from klinik.features.panel import Panel, ffill

WELL_NOW, SICK_NOW, UNASSESSED = STATUSES  # the contract's codes: SEHAT, SAKIT, BELUM_DINILAI


def is_sick(health: pd.DataFrame) -> np.ndarray:
    """Per assessment (row of ``health``): whether its category counts as sick (a supervision category)."""
    return health["category"].isin(SICK_CATEGORIES).to_numpy(dtype=bool)


def latest_assessment(health: pd.DataFrame, coop_ids: pd.Index, years: Sequence[int], max_age: int) -> np.ndarray:
    """(len(coop_ids), len(years)): the position in ``health`` of the assessment that sets each cooperative's
    status in each year (the latest dated that year or at most ``max_age`` years before it); -1 for none."""
    years = np.asarray(years, dtype=np.int64)
    if health.empty:
        return np.full((len(coop_ids), len(years)), -1, dtype=np.int64)
    first, last = int(years.min()) - max_age, int(years.max())
    in_window = ((health["year"] >= first) & (health["year"] <= last)).to_numpy()
    positions = np.flatnonzero(in_window)
    panel = Panel(coop_ids, np.arange(first, last + 1, dtype=np.int64))
    h = health.iloc[positions]
    rows, cols = panel.rows_of(h["coop_id"]), panel.cols_of(h["year"].to_numpy())
    latest = panel.at(ffill(panel.scatter(rows, cols, positions.astype(float))), years)
    found = ~np.isnan(latest)
    latest = np.where(found, latest, -1).astype(np.int64)
    year = health["year"].to_numpy(dtype=np.int64)[np.maximum(latest, 0)]
    return np.where(found & (years[None, :] - year <= max_age), latest, -1)


def status_of(health: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """The status (SAKIT / SEHAT / BELUM_DINILAI) set by the assessments at ``positions`` of ``health``
    (from latest_assessment; -1: none), in the shape of ``positions``."""
    sick = np.zeros(positions.shape, dtype=bool)
    if len(health):
        sick = is_sick(health)[np.maximum(positions, 0)]
    return np.where(positions < 0, UNASSESSED, np.where(sick, SICK_NOW, WELL_NOW))
