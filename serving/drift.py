"""Has this year's input moved away from the data the champion was trained on? Per feature: the population
stability index (PSI), the share of missing values then and now, and for categorical features the share of
categories the training data never had.

PSI, not a statistical test: with 130,000 cooperatives any test calls the smallest shift significant, while PSI
measures how much the distribution moved, and its usual reading is settled in credit scoring, where it comes
from: below 0.10 stable, 0.10-0.25 worth a look, above 0.25 a real shift (``compare``'s ``psi_alert``). Numeric
features are cut at the training data's deciles, categorical ones by category; missing values are judged by
their share, apart. No library: the whole measure is a dozen lines of numpy; a drift library (Evidently) would bring a
second dataframe stack and a web report for what the clinic's own report shows in one table.

The training data is the champion's training years as this year's dataset holds them (the registry keeps the
model's training years, not its rows): the same cooperatives and years the model learned from, re-read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PSI_WATCH = 0.10  # above: worth a look
PSI_ALERT = 0.25  # above: the feature moved (the default of drift_psi_alert)
MISSING_ALERT = 0.10  # the share of missing values rose by more than this (absolute)
UNKNOWN_ALERT = 0.05  # more than this share of rows carry a category the training data never had
_EPS = 1e-4  # an empty bin's share, so the log stays finite
BINS = 10
MIN_KNOWN = 50  # fewer known values than this (then or now) cannot show a distribution over ten bins: not judged

COLUMNS = ["feature", "psi", "missing_train", "missing_now", "unknown_share", "moved"]


@dataclass
class Drift:
    """The per-feature table (COLUMNS, largest PSI first) and one line per feature that moved."""

    table: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def top(self, n: int = 5) -> list[dict]:
        """The ``n`` features that moved most, for the manifest and the report."""
        rows = self.table.head(n)
        return [
            {k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in row.items()}
            for row in rows.to_dict("records")
        ]


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected, _EPS, None)
    a = np.clip(actual, _EPS, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(codes: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(codes, minlength=n) / max(len(codes), 1)


def numeric_psi(train: pd.Series, now: pd.Series) -> float:
    """PSI of the reported values over the training data's deciles (missing values are judged apart: early
    training years lack the history a change over three years needs, which is no drift). Fewer than
    ``MIN_KNOWN`` known values on either side give 0 (not judged): a feature known only for the sick cooperatives
    of a small office holds a dozen values a year, whose deciles are noise (PSI above 1 in an ordinary year)."""
    t = pd.to_numeric(train, errors="coerce").to_numpy(dtype=float)
    c = pd.to_numeric(now, errors="coerce").to_numpy(dtype=float)
    t, c = t[~np.isnan(t)], c[~np.isnan(c)]
    if len(t) < MIN_KNOWN or len(c) < MIN_KNOWN:
        return 0.0
    edges = np.unique(np.quantile(t, np.linspace(0, 1, BINS + 1)[1:-1]))
    n = len(edges) + 1
    return _psi(
        _shares(np.searchsorted(edges, t, side="right"), n), _shares(np.searchsorted(edges, c, side="right"), n)
    )


def categorical_psi(train: pd.Series, now: pd.Series) -> tuple[float, float]:
    """PSI by category over the rows that name one (categories the training never had are one bin), and the
    share of rows naming such a category now."""
    t, c = train.dropna().astype("string"), now.dropna().astype("string")
    if t.empty or c.empty:
        return 0.0, 0.0
    known = sorted(t.unique())
    index = {v: i for i, v in enumerate(known)}
    unknown = len(known)

    def codes(s: pd.Series) -> np.ndarray:
        return np.array([index.get(v, unknown) for v in s], dtype=int)

    ct = codes(c)
    return _psi(_shares(codes(t), unknown + 1), _shares(ct, unknown + 1)), float(np.mean(ct == unknown))


def compare(
    train: pd.DataFrame,
    now: pd.DataFrame,
    features: Sequence[str],
    categorical: Sequence[str] = (),
    psi_alert: float = PSI_ALERT,
) -> Drift:
    """The drift of every feature of ``features`` from ``train`` (the training rows) to ``now`` (this year's)."""
    rows = []
    for name in features:
        if name in categorical:
            psi, unknown = categorical_psi(train[name], now[name])
        else:
            psi, unknown = numeric_psi(train[name], now[name]), 0.0
        missing_train, missing_now = float(train[name].isna().mean()), float(now[name].isna().mean())
        moved = psi > psi_alert or missing_now - missing_train > MISSING_ALERT or unknown > UNKNOWN_ALERT
        rows.append([name, psi, missing_train, missing_now, unknown, moved])
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values("psi", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    warnings = []
    for row in table.loc[table["moved"]].itertuples():
        why = []
        if row.psi > psi_alert:
            why.append(f"PSI {row.psi:.2f} (above {psi_alert:.2f})")
        if row.missing_now - row.missing_train > MISSING_ALERT:
            why.append(f"missing {row.missing_now:.0%} now vs {row.missing_train:.0%} in training")
        if row.unknown_share > UNKNOWN_ALERT:
            why.append(f"{row.unknown_share:.0%} categories unseen in training")
        warnings.append(f"{row.feature}: {', '.join(why)}")
    return Drift(table=table, warnings=warnings)


# Features that move every year by construction (a cooperative is one year older each year): shown in the table,
# never a warning.
EXPECTED_TO_MOVE = ("age_years", "clinic_years_since_first_case")
DRIFT_CSV = "drift.csv"


def batch_drift(ds, as_of_year: int, models, settings) -> Drift | None:
    """This year's inputs against the champion risk model's training years, as this dataset holds them; None
    when the registry does not say which years those were (a model registered before they were recorded)."""
    from mlflow import MlflowClient

    from klinik.features.build import build_features
    from klinik.features.catalog import CATEGORICAL

    tags = MlflowClient(tracking_uri=settings.mlflow_uri).get_model_version(models.risk_name, models.risk_version).tags
    try:
        first, last = (int(y) for y in tags["train_years"].split("-"))
    except (KeyError, ValueError):
        return None
    years = [y for y in range(first, last + 1) if y in set(ds.financials["year"].astype(int))]
    if not years:
        return None
    features = [f for f in models.risk.feature_names_in_ if f not in EXPECTED_TO_MOVE]
    train = build_features(ds, settings, years=years)
    now = build_features(ds, settings, years=[as_of_year])
    return compare(train, now, features, [c for c in CATEGORICAL if c in features])


def manifest_entry(drift: Drift | None) -> dict:
    """What the manifest records: the features that moved most, and the warnings."""
    if drift is None:
        return {"measured": False, "warnings": []}
    return {"measured": True, "file": DRIFT_CSV, "most_moved": drift.top(5), "warnings": drift.warnings}


def retraining_advice(backtest, models, capacity: int | None, settings) -> dict | None:
    """Last year's predictions against what happened (ROC AUC, ECE, Brier, how many of the outreach list fell sick),
    beside the champion's holdout figures at registration; None when there is no judged year (no outcomes yet, or a
    single kind of outcome).

    Retraining is advised when last year's ROC AUC fell below the holdout's by more than
    ``settings.retrain_margin`` (ROC AUC, the promotion rule's own measure: the clinic works down a ranked list).
    """
    from mlflow import MlflowClient
    from sklearn.metrics import roc_auc_score

    from klinik.serving.backtest import evaluate

    if backtest is None or backtest.frame["outcome"].nunique() < 2:
        return None
    y, p = backtest.frame["outcome"].to_numpy(), backtest.frame["p_sick_next"].to_numpy()
    k = capacity or max(1, round(len(y) * settings.clinic_capacity_share))
    seen = {"roc_auc": float(roc_auc_score(y, p)), **evaluate(backtest, k)}
    tags = MlflowClient(tracking_uri=settings.mlflow_uri).get_model_version(models.risk_name, models.risk_version).tags
    judged = ("roc_auc", "ece", "brier", "precision_at_k")
    holdout = {k: float(tags[f"holdout_{k}"]) for k in judged if f"holdout_{k}" in tags}
    advised, reason = False, ""
    if "roc_auc" in holdout and seen["roc_auc"] < holdout["roc_auc"] - settings.retrain_margin:
        advised = True
        reason = (
            f"the risk model ranked {backtest.year}'s cooperatives with ROC AUC {seen['roc_auc']:.3f}, below its "
            f"{holdout['roc_auc']:.3f} on the holdout at registration by more than {settings.retrain_margin:.2f}; "
            f"ECE {seen['ece']:.3f} (holdout {holdout.get('ece', float('nan')):.3f}); {seen['hits']} of the "
            f"{seen['k']} on that year's outreach list fell sick: retrain (`klinik train`)"
        )
    return {
        "year": backtest.year,
        "model_version": backtest.model_version,
        "last_year": {k: seen[k] for k in ("roc_auc", "ece", "brier", "k", "hits", "precision_at_k", "recall_at_k")},
        "holdout_at_registration": holdout,
        "margin": settings.retrain_margin,
        "retraining_advised": advised,
        "reason": reason,
    }
