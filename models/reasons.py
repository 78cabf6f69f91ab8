"""Why a cooperative is at risk, in words a clinic officer reads: the top contributions of the risk model.

Reasons come from the RISK model's TreeSHAP contributions (raw log-odds, models.explain.contributions) for every
cooperative, healthy or sick, because the clinic is chosen from those same contributions (main_cause): the
officer then sees why this clinic. For a sick cooperative the recovery model's negative contributions would say
what holds recovery back, but that model learns from a few dozen sick cooperatives a year and its contributions
are noisier; they would also often point at another clinic than the one the cooperative is sent to.

A reason is a feature of a clinic group (KEUANGAN, SDM, KELEMBAGAAN) with a POSITIVE contribution (it pushes the
risk up). CONTEXT features (type, district, age, the assessed health history) are states, not causes a clinic
treats, so they are never given as reasons -- but they still count in the share: a reason's share is its
contribution over the sum of ALL the cooperative's positive feature contributions (bias excluded), so "(40%)"
honestly says how much of the whole push toward sickness that one factor carries. A cooperative with no positive
contribution in a clinic group has no reasons.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from klinik.data.contract import CLINICS

REASON_FIELDS = ("feature", "value", "contribution", "group", "share", "text_id", "text_en")
REASON_COLUMNS = ("coop_id", "position", *REASON_FIELDS)
NO_REASON_ID = "tidak ada faktor risiko yang menonjol"
NO_REASON_EN = "no factor stands out"


class _LazyColumns:
    """A feature table's columns as arrays, each converted when first read (describe reads a few of them)."""

    def __init__(self, frame: pd.DataFrame):
        self._frame, self._arrays = frame, {}
        self.order = tuple(frame.columns)
        self.names = frozenset(self.order)

    def array(self, name):
        """The column as an array, or None when the table has no such column."""
        found = self._arrays.get(name)
        if found is None and name in self.names:
            found = self._arrays[name] = self._frame[name].to_numpy()
        return found


class _Row(Mapping):
    """One row of a feature table as a read-only mapping, without building a pandas Series per row.

    ``get`` is the hot path (describe reads every value through it, hundreds of thousands of times at national
    scale): one dictionary look-up and one array index, no exception for a column that is not there."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: _LazyColumns, i: int):
        self._columns, self._i = columns, i

    def get(self, name, default=None):
        found = self._columns.array(name)
        return default if found is None else found[self._i]

    def __getitem__(self, name):
        found = self._columns.array(name)
        if found is None:
            raise KeyError(name)
        return found[self._i]

    def __contains__(self, name) -> bool:
        return name in self._columns.names

    def __iter__(self):
        return iter(self._columns.order)

    def __len__(self):
        return len(self._columns.names)


def top_reasons(contribs: pd.DataFrame, features: pd.DataFrame, *, n: int = 3) -> pd.DataFrame:
    """The top ``n`` risk-raising features of each row, structured and in words (one row per reason).

    ``contribs``: per-feature contributions (columns = features, plus "bias"), indexed by coop_id;
    ``features``: the feature values of the same cooperatives (same index), as features.catalog.describe reads
    them (a Mapping per row: ``row.get(name)``). Returns the columns REASON_COLUMNS, ordered by coop (as
    given) and position (1 = largest).
    """
    from klinik.features.catalog import FEATURES, describe

    features_only = contribs.drop(columns="bias", errors="ignore")
    positive_sum = np.clip(features_only.to_numpy(dtype=float), 0.0, None).sum(axis=1)
    names = [c for c in features_only.columns if c in FEATURES and FEATURES[c].group in CLINICS]
    values = contribs[names].to_numpy(dtype=float)
    top = np.argsort(-values, axis=1, kind="stable")[:, :n]
    top_values = np.take_along_axis(values, top, axis=1)
    rows, pos = np.nonzero(top_values > 0)  # row-major: by coop, then position

    columns = _LazyColumns(features)
    which = top[rows, pos]
    feature_names = np.asarray(names, dtype=object)[which]
    texts = [describe(name, _Row(columns, i)) for name, i in zip(feature_names, rows)]
    feature_values = features.reindex(columns=names).to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame(
        {
            "coop_id": contribs.index.to_numpy()[rows],
            "position": pos + 1,
            "feature": feature_names,
            "value": feature_values[rows, which],
            "contribution": top_values[rows, pos],
            "group": np.asarray([FEATURES[c].group for c in names], dtype=object)[which],
            "share": top_values[rows, pos] / positive_sum[rows],
            "text_id": [t[0] for t in texts],
            "text_en": [t[1] for t in texts],
        }
    )


def reasons_text(reasons: pd.DataFrame, coop_ids, *, lang: str = "id") -> pd.Series:
    """One text cell per cooperative: "<reason> (45%); <reason> (30%); ...", in Indonesian or English.

    Reasons are joined in the order of ``position`` (ties: as given); a cooperative without any gets the
    "no factor stands out" words. Built column by column (one pass per position), not row by row.
    """
    column, none = ("text_id", NO_REASON_ID) if lang == "id" else ("text_en", NO_REASON_EN)
    ids = pd.Index(coop_ids, name="coop_id")
    ordered = reasons.sort_values("position", kind="stable")
    parts = (ordered[column] + " (" + (ordered["share"] * 100).round().astype(int).astype(str) + "%)").to_numpy(
        dtype=object
    )
    where = ids.get_indexer(ordered["coop_id"])
    known = where >= 0
    parts, where = parts[known], where[known]
    # the k-th reason of its cooperative in this order: rounds of at most one reason per cooperative
    nth = pd.Series(where).groupby(where, sort=False).cumcount().to_numpy()
    cells = np.full(len(ids), None, dtype=object)
    for k in range(int(nth.max()) + 1 if len(nth) else 0):
        take = nth == k
        rows, texts = where[take], parts[take]
        if k == 0:
            cells[rows] = texts
        else:
            cells[rows] = cells[rows] + "; " + texts
    cells[pd.isna(cells)] = none
    return pd.Series(cells, index=ids, name=f"reasons_{lang}", dtype="str")


def reasons_for(reasons: pd.DataFrame, coop_id: str) -> list[dict]:
    """The structured reasons of one cooperative (for the HTTP service): a list of REASON_FIELDS dicts."""
    rows = reasons.loc[reasons["coop_id"] == coop_id, list(REASON_FIELDS)]
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()} for rec in rows.to_dict("records")]
