"""Judging: metrics for probabilities, and how far a model is from the truth ceiling.

Every metric here takes labels and calibrated probabilities of the positive class, so the models, the
baselines and (on simulated data) the simulator's own probabilities are judged the same way.

- ``roc_auc``, ``pr_auc`` (average precision), ``brier``, ``log_loss``;
- ``ece``: expected calibration error over 10 **equal-width** bins of the predicted probability
  ([0, 0.1), ..., [0.9, 1.0]): the mean over rows of |mean prediction - observed rate| in the row's bin.
  Equal-width bins are the usual definition (Guo et al. 2017) and are comparable across models; with
  rare events most rows fall in the first bins, which is where the clinic's threshold decisions are;
- ``precision_at_k``, ``recall_at_k``: among the K highest-scored rows, K = ``capacity_share`` x the
  number of cooperatives scored (rounded, at least 1): what the clinic would find with its capacity.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from klinik.models.calibration import ECE_BINS, expected_calibration_error

# primary metric for promotion and its tie-break (see training/registry.py)
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "log_loss": False,
    "ece": False,
    "precision_at_k": True,
    "recall_at_k": True,
}


def top_k(capacity_share: float, n_scored: int) -> int:
    """The clinic's capacity in cooperatives: ``capacity_share`` x scored, rounded, at least one."""
    return max(1, int(round(capacity_share * n_scored)))


def metrics(y, p, *, capacity_share: float = 0.10, n_scored: int | None = None) -> dict[str, float]:
    """All metrics of one set of probabilities against labels (NaN where a metric is undefined)."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    if len(y) == 0:
        raise ValueError("no labelled rows to judge")
    two = len(np.unique(y)) == 2
    k = top_k(capacity_share, len(y) if n_scored is None else n_scored)
    order = np.argsort(-p, kind="stable")[:k]
    hits = int(y[order].sum())
    return {
        "roc_auc": float(roc_auc_score(y, p)) if two else math.nan,
        "pr_auc": float(average_precision_score(y, p)) if two else math.nan,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
        "precision_at_k": hits / min(k, len(y)),
        "recall_at_k": hits / y.sum() if y.sum() else math.nan,
        "k": float(k),
        "n": float(len(y)),
        "events": float(y.sum()),
    }


def metrics_table(y, predictions: dict[str, np.ndarray], **kw) -> pd.DataFrame:
    """One row per named set of probabilities (model, baselines, truth), one column per metric."""
    return pd.DataFrame({name: metrics(y, p, **kw) for name, p in predictions.items()}).T


def calibration_points(y, p, bins: int = ECE_BINS) -> pd.DataFrame:
    """Mean prediction and observed rate per equal-width bin (for the calibration plot)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": idx, "p": p, "y": y})
    return frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size")).reset_index()
