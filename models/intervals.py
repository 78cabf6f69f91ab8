"""How sure a probability is: an 80% interval for every score, from cross-fitted copies of the served model.

The method is a delete-group jackknife (Efron and Stein, 1981; grouped as in Shao and Wu, 1989). After the served
classifier (:class:`klinik.models.estimators.AdaptiveClassifier`) is fitted, its kept members are refitted with
their settings fixed (``fit_fixed``: same trees, same penalty, nothing chosen again) on ``K`` folds grouped by
cooperative, each copy leaving one group-fold out; the blend's weights and intercept stay as they are. For a row x,
with theta(x) the served model's calibrated log-odds and theta_k(x) the k-th copy's (same weights, same intercept):

    variance(x) = (K - 1) / K * sum_k (theta_k(x) - mean_k theta_k(x))^2
    interval    = sigmoid(theta(x) -/+ z * sqrt(variance(x) + persistent))     (z = 1.2816 for 80%)

Why this one: it needs no truth (real offices have none), it is wider where the data are few (a row whose
neighbourhood holds few cooperatives moves more when a tenth of them is left out), and it costs ``K`` refits
without tuning. The jackknife measures the model's variance only; the bias of a regularised model, and what the
data do not show about a cooperative, are not in it, and on the simulator the variance alone covered the exact
probabilities far less than 80% of the time (docs/intervals.md). ``persistent`` is the part of that error that stays
with a cooperative from year to year, estimated from the labels alone (:func:`persistent_error`).

The copies are kept on the fitted classifier (``jackknife_``), so the model logged to MLflow and served carries
them: training, the registry and serving share one artifact. :func:`predict_interval` reads them from a fitted
pipeline or classifier; a model fitted before intervals existed has none and gets empty (NaN) intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, ndtri
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from klinik.models.estimators import _as_frame, grouped_folds

DEFAULT_LEVEL = 0.8
# years a task's label looks ahead (the contract's labels): two rows of a cooperative closer than this share an outcome
LABEL_HORIZON = {"risk": 1, "recovery": 2}


def _classifier(model):
    """The classifier at the end of ``model`` (a Pipeline or the classifier itself)."""
    return model[-1] if isinstance(model, Pipeline) else model


def _classifier_and_rows(model, X):
    """The classifier at the end of ``model`` and ``X`` as it sees it (encoded by the pipeline's steps before)."""
    if isinstance(model, Pipeline):
        return model[-1], model[:-1].transform(X)
    return model, X


def add_intervals(model, X, y, groups, time=None, *, n_folds: int = 10, min_lag: int = 1, random_state: int = 0):
    """Fit the ``n_folds`` jackknife copies of a fitted model's kept members on (X, y) and keep them on it.

    ``model``: the fitted Pipeline (or AdaptiveClassifier) and ``X``, ``y``, ``groups`` (the cooperative of each
    row), ``time`` (each row's year) the rows it was fitted on. Folds are grouped by ``groups`` (a cooperative's
    years leave together) and stratified by the label when events are few. With ``time``, the error the jackknife
    cannot see (the model's bias where it is wrong for a cooperative year after year) is estimated too
    (:func:`persistent_error`) from rows at least ``min_lag`` years apart (the label's horizon: two for a label
    that looks two years ahead, so two rows never share an outcome). Returns ``model``; the classifier gains
    ``jackknife_`` (one list of member copies per fold), ``jackknife_folds_`` and ``persistent_var_``.
    """
    clf, X = _classifier_and_rows(model, X)
    check_is_fitted(clf, "members_")
    X = _as_frame(clf, X)
    y = np.asarray(y)
    if n_folds < 2:
        raise ValueError(f"the jackknife needs at least two folds, got n_folds={n_folds}")
    y01 = (y == clf.classes_[1]).astype(int)
    folds = grouped_folds(y01, groups, n_folds, random_state)
    copies, held_out = [], np.full(len(y), np.nan)
    for train_idx, valid_idx in folds:
        Xk, yk = X.iloc[train_idx], y[train_idx]
        members = [_keepable(member.fit_fixed(Xk, yk)) for member in clf.members_]
        copies.append(members)
        held_out[valid_idx] = _blend(clf, members, X.iloc[valid_idx])
    clf.jackknife_ = copies
    clf.jackknife_folds_ = len(folds)
    clf.persistent_var_ = 0.0
    if time is not None:
        _, se = log_odds_spread(clf, X, persistent=False)
        clf.persistent_var_ = persistent_error(y01, held_out, se**2, groups, time, min_lag)
    return model


def persistent_error(y01, held_out, jackknife_var, groups, time, min_lag: int = 1) -> float:
    """The log-odds variance of the error that stays with a cooperative, beyond the jackknife's variance.

    A random-effect moment estimate from the labels alone: where the model is wrong for a cooperative (its bias
    there, or what the data do not show), it is wrong the same way in other years, so the held-out residuals
    ``r = y - p`` of two years of one cooperative covary. Over all such pairs at least ``min_lag`` years apart,
    sum(r_s r_t) / sum(v_s v_t) (``v = p (1 - p)``, the slope of the probability in log-odds) estimates the mean
    squared log-odds error; the jackknife's own variance, averaged with the same weights, is taken out (it is
    added row by row), and what is left (at least 0) is added to every row's variance.
    """
    p = expit(np.asarray(held_out, dtype=float))
    v = p * (1 - p)
    pairs = _Pairs(groups, time, min_lag)
    weight = pairs.sum(v)
    if weight <= 0:
        return 0.0
    total = pairs.sum(np.asarray(y01) - p) / weight
    seen = pairs.sum(v * np.sqrt(jackknife_var)) / weight
    return max(0.0, total - seen)


class _Pairs:
    """Sums over the pairs of rows of one group at least ``min_lag`` apart in time, without listing the pairs
    (a national panel holds tens of millions): sum_{s<t} x_s x_t per group is ((sum x)^2 - sum x^2) / 2, less the
    pairs closer than ``min_lag``, found by exact (group, time + lag) lookups. One row per (group, time)."""

    def __init__(self, groups, time, min_lag: int):
        self.codes = pd.factorize(np.asarray(groups))[0]
        self.time = np.asarray(time, dtype=np.int64)
        self.index = pd.MultiIndex.from_arrays([self.codes, self.time])
        if not self.index.is_unique:
            raise ValueError("persistent_error needs one row per group and time")
        self.near = [
            self.index.get_indexer(pd.MultiIndex.from_arrays([self.codes, self.time + lag]))
            for lag in range(1, max(min_lag, 1))
        ]

    def sum(self, x: np.ndarray) -> float:
        x = np.asarray(x, dtype=float)
        per_group = np.bincount(self.codes, weights=x)
        squares = np.bincount(self.codes, weights=x * x)
        out = float(np.sum(per_group**2 - squares) / 2.0)
        for partner in self.near:
            has = partner >= 0
            out -= float(np.sum(x[has] * x[partner[has]]))
        return out


def _blend(clf, members, X) -> np.ndarray:
    """The log-odds of a set of member copies blended with the served weights and intercept."""
    for member in members:
        if hasattr(member, "n_jobs"):
            member.n_jobs = clf.n_jobs  # the serving threads, as the served members get them
    return sum(w * m.raw_score(X) for w, m in zip(clf.weights_, members)) + clf.calibration_[1]


def _keepable(copy):
    """A member copy that survives saving: a booster copy keeps its trees as text (``fit_fixed`` leaves a
    validation copy's text empty, since those are never saved)."""
    if getattr(copy, "booster_str_", None) == "":
        copy.booster_str_ = copy._booster.model_to_string()
    return copy


def has_intervals(model) -> bool:
    """Whether a fitted model carries jackknife copies (models fitted before intervals existed do not)."""
    return bool(getattr(_classifier(model), "jackknife_", None))


def log_odds_spread(model, X, *, persistent: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The served calibrated log-odds theta(x) and its standard error: the jackknife's, with the persistent error
    added unless ``persistent`` is false (NaN without copies)."""
    clf, X = _classifier_and_rows(model, X)
    X = _as_frame(clf, X)
    theta = clf.decision_function(X)
    copies = getattr(clf, "jackknife_", None)
    if not copies:
        return theta, np.full(len(theta), np.nan)
    thetas = np.column_stack([_blend(clf, members, X) for members in copies])
    K = thetas.shape[1]
    variance = (K - 1) / K * np.sum((thetas - thetas.mean(axis=1, keepdims=True)) ** 2, axis=1)
    return theta, np.sqrt(variance + (getattr(clf, "persistent_var_", 0.0) if persistent else 0.0))


def predict_interval(
    model, X, level: float = DEFAULT_LEVEL, *, persistent: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The ends (lo, hi) of each row's ``level`` interval of the positive class's probability.

    ``sigmoid(theta -/+ z * se)`` with ``z`` the normal quantile of ``(1 + level) / 2``: the interval holds the
    served probability, lies in (0, 1), and is NaN where the model carries no copies. ``persistent=False``: the
    jackknife's variance alone (the benchmark's comparison).
    """
    _, lo, hi = predict_with_interval(model, X, level, persistent=persistent)
    return lo, hi


def predict_with_interval(
    model, X, level: float = DEFAULT_LEVEL, *, persistent: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's served probability and the ends of its interval, in one pass over the model (as
    :func:`predict_interval`; the probability is ``predict_proba``'s)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    theta, se = log_odds_spread(model, X, persistent=persistent)
    z = float(ndtri(0.5 + level / 2.0))
    return expit(theta), expit(theta - z * se), expit(theta + z * se)


def interval_metrics(model, X, truth=None, level: float = DEFAULT_LEVEL) -> dict[str, float]:
    """The interval on rows ``X`` (a holdout), as MLflow metrics: its median width, the share of rows whose
    interval is wider than 0.2, the persistent error's log-odds variance, and, where the exact probabilities are
    known (``truth``, simulated data), the share of rows whose interval holds them (the coverage, about ``level``
    when the interval is honest)."""
    lo, hi = predict_interval(model, X, level)
    if not np.isfinite(lo).any():
        return {}
    width = hi - lo
    clf = _classifier(model)
    out = {
        "interval_width_median": float(np.nanmedian(width)),
        "interval_wide_share": float(np.mean(width > 0.2)),
        "interval_persistent_var": float(getattr(clf, "persistent_var_", 0.0)),
    }
    if truth is not None:
        truth = np.asarray(truth, dtype=float)
        known = np.isfinite(truth)
        if known.any():
            out["interval_coverage"] = float(np.mean((lo[known] <= truth[known]) & (truth[known] <= hi[known])))
    return out
