"""From a dataset to the two modelling tables: features, labels and (on simulated data) the truth ceiling.

Which rows each task learns from and is judged on (time-based, never a random split of rows):
- risk: rows (c, t) with a risk label; the holdout is the last year t with a label (t + 1 known);
- recovery: rows (c, t) with a recovery label **and t + 2 observed**. A recovery label of t = last - 1
  can only be 1 (recovered at t + 1) or a dissolution, never "still sick at t + 2"; learning or judging on
  such censored rows would inflate recovery, so they are left out. The holdout is the last such year.
Inside training, folds for early stopping and calibration are grouped by cooperative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from klinik.data.dataset import Dataset
from klinik.settings import Settings

LABEL = {"risk": "risk_label", "recovery": "recovery_label"}
TRUTH = {"risk": "p_sick_next", "recovery": "p_recover"}
# how many years after t each task's label needs observed
HORIZON = {"risk": 1, "recovery": 2}


@dataclass
class TaskData:
    """One task's labelled rows: keys, features, label, and truth where a simulator wrote it."""

    task: str
    frame: pd.DataFrame  # coop_id, year, feature columns, "label", optionally "truth"
    feature_columns: list[str]
    categorical: list[str]
    monotone: dict[str, int]
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.frame["year"].unique())

    @property
    def holdout_year(self) -> int:
        return self.years[-1]

    @property
    def has_truth(self) -> bool:
        return "truth" in self.frame and self.frame["truth"].notna().all()

    def X(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        rows = self.frame if rows is None else rows
        return rows[self.feature_columns]

    def split(self, test_year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Training rows: years before ``test_year``; test rows: ``test_year``."""
        train = self.frame[self.frame["year"] < test_year]
        test = self.frame[self.frame["year"] == test_year]
        if train.empty or test.empty:
            raise ValueError(f"{self.task}: no rows to train before {test_year} or none to test in it")
        return train, test


def feature_table(ds: Dataset, settings: Settings) -> tuple[pd.DataFrame, list[str]]:
    """Features for every (cooperative, year) and the names of its feature columns."""
    from klinik.features.build import build_features

    feats = build_features(ds, settings)
    columns = [c for c in feats.columns if c not in ("coop_id", "year")]
    return feats, columns


def monotone_for(task: str, columns: list[str]) -> dict[str, int]:
    """Monotone constraints from the catalog, only where the domain is sure (risk_direction != 0).

    Risk follows ``risk_direction``; recovery the opposite (what never lowers the risk of falling sick
    never raises the chance of getting well)."""
    from klinik.features.catalog import FEATURES

    sign = 1 if task == "risk" else -1
    out = {}
    for c in columns:
        spec = FEATURES.get(c)
        direction = int(getattr(spec, "risk_direction", 0) or 0) if spec is not None else 0
        if direction:
            out[c] = sign * direction
    return out


def task_data(
    ds: Dataset,
    task: str,
    settings: Settings,
    feats: pd.DataFrame | None = None,
    columns: list[str] | None = None,
) -> TaskData:
    """The labelled rows of ``task`` with their features (and truth when the dataset has it), both built with
    ``settings``; ``feats`` and ``columns``: what feature_table already built with the same settings."""
    from klinik.features.catalog import CATEGORICAL, feature_groups
    from klinik.features.labels import make_labels

    if task not in LABEL:
        raise ValueError(f"task must be one of {tuple(LABEL)}, got {task!r}")
    if feats is None or columns is None:
        feats, columns = feature_table(ds, settings)
    if ds.health is None or ds.health.empty:
        raise ValueError("the health table is required to train: it holds the office's assessments (labels)")
    labels = make_labels(ds, settings)
    last_observed = int(ds.health["year"].max())
    lab = labels[["coop_id", "year", LABEL[task]]].rename(columns={LABEL[task]: "label"})
    lab = lab[lab["label"].notna() & (lab["year"] + HORIZON[task] <= last_observed)]
    frame = lab.merge(feats, on=["coop_id", "year"], how="inner", validate="one_to_one")
    frame["label"] = frame["label"].astype(int)
    truth = ds.truth
    if truth is not None and len(truth) and TRUTH[task] in truth:
        t = truth[["coop_id", "year", TRUTH[task]]].rename(columns={TRUTH[task]: "truth"})
        frame = frame.merge(t, on=["coop_id", "year"], how="left", validate="one_to_one")
    frame = frame.sort_values(["year", "coop_id"], kind="stable").reset_index(drop=True)
    if frame.empty or frame["label"].nunique() < 2:
        raise ValueError(f"{task}: the data hold no labelled rows of both outcomes; cannot train")
    categorical = [c for c in CATEGORICAL if c in columns]
    return TaskData(
        task=task,
        frame=frame,
        feature_columns=list(columns),
        categorical=categorical,
        monotone=monotone_for(task, columns),
        groups=dict(feature_groups()),
    )


def data_hash(ds: Dataset) -> str:
    """A short, order-independent fingerprint of the contract tables (not truth), for the registry tags."""
    import hashlib

    h = hashlib.sha256()
    for name in ("cooperatives", "financials", "staffing", "meetings", "health", "clinic_cases"):
        table = getattr(ds, name)
        if table is None or table.empty:
            h.update(f"{name}:empty".encode())
            continue
        table = table.sort_values(list(table.columns[:2]), kind="stable").reset_index(drop=True)
        h.update(name.encode())
        h.update(pd.util.hash_pandas_object(table, index=False).to_numpy(dtype=np.uint64).tobytes())
    return h.hexdigest()[:16]
