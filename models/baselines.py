"""What the models must beat, judged on the same holdout and giving probabilities too.

- :class:`ScoreBaseline`: a Platt curve on one score column -- the official health score, the rule the
  office uses today, made a probability on the training years.
- :class:`LevelBaseline`: the training-years rate of the outcome for each level of one column (optionally
  cut into bands first) -- the official category, or persistence (last year's category).
- :func:`logistic_baseline`: a logistic regression on the same features (median impute with missing
  indicators, scale, one-hot for categoricals).
- :func:`plain_lightgbm`: LightGBM with its default settings on the same features (categorical columns as
  ordinal codes; no calibration, constraints or early stopping): what a data scientist would try first.

Like the estimators, they take column names as parameters, so they can be judged on any data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from klinik.models.estimators import _encoder, _platt


def _two_classes(est, y) -> np.ndarray:
    classes = np.unique(np.asarray(y))
    if len(classes) != 2:
        raise ValueError(f"{type(est).__name__} needs two classes in y, got {classes.tolist()}")
    est.classes_ = classes
    return (np.asarray(y) == classes[1]).astype(int)


class _Proba(ClassifierMixin, BaseEstimator):
    def _p(self, X) -> np.ndarray:  # pragma: no cover - each baseline defines it
        raise NotImplementedError

    def predict_proba(self, X) -> np.ndarray:
        p = self._p(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self._p(X) >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class ScoreBaseline(_Proba):
    """p = sigmoid(a * standardised score + b), fitted on the training years (sign learned, not assumed).

    Rows whose score is missing get the training rate of rows with a missing score (smoothed toward the
    overall rate by ``prior_weight`` pseudo-rows).
    """

    def __init__(self, column: str, prior_weight: float = 10.0):
        self.column = column
        self.prior_weight = prior_weight

    def fit(self, X: pd.DataFrame, y):
        y01 = _two_classes(self, y)
        x = pd.to_numeric(X[self.column], errors="coerce").to_numpy(dtype=float)
        known = ~np.isnan(x)
        if known.sum() < 2:
            raise ValueError(f"column {self.column!r} has fewer than two known values")
        self.center_ = float(np.mean(x[known]))
        self.scale_ = float(np.std(x[known])) or 1.0
        self.calibration_ = _platt((x[known] - self.center_) / self.scale_, y01[known])
        rate = y01.mean()
        n_missing = (~known).sum()
        self.missing_rate_ = float((y01[~known].sum() + self.prior_weight * rate) / (n_missing + self.prior_weight))
        return self

    def _p(self, X) -> np.ndarray:
        x = pd.to_numeric(X[self.column], errors="coerce").to_numpy(dtype=float)
        a, b = self.calibration_
        p = expit(a * (x - self.center_) / self.scale_ + b)
        return np.where(np.isnan(x), self.missing_rate_, p)


class LevelBaseline(_Proba):
    """p = the training rate of the outcome among rows with the same level of ``column``.

    With ``bins`` (ascending edges) a numeric column is first cut into bands ``[-inf, e1), [e1, e2), ...``.
    Missing is a level of its own; a level unseen in training gets the overall rate. Each rate is smoothed
    toward the overall rate by ``prior_weight`` pseudo-rows, so a level seen twice does not say 0% or 100%.
    """

    def __init__(self, column: str, bins: Sequence[float] | None = None, prior_weight: float = 10.0):
        self.column = column
        self.bins = bins
        self.prior_weight = prior_weight

    def _levels(self, X) -> pd.Series:
        col = X[self.column]
        if self.bins is not None:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            band = np.searchsorted(np.asarray(self.bins, dtype=float), x, side="right").astype(float)
            band[np.isnan(x)] = np.nan
            col = pd.Series(band, index=X.index)
        return col.astype("object").where(col.notna(), "<missing>").astype(str)

    def fit(self, X: pd.DataFrame, y):
        y01 = _two_classes(self, y)
        levels = self._levels(X)
        self.overall_rate_ = float(y01.mean())
        stats = pd.DataFrame({"level": levels.to_numpy(), "y": y01}).groupby("level")["y"].agg(["sum", "count"])
        rates = (stats["sum"] + self.prior_weight * self.overall_rate_) / (stats["count"] + self.prior_weight)
        self.rates_ = {str(k): float(v) for k, v in rates.items()}
        return self

    def _p(self, X) -> np.ndarray:
        levels = self._levels(X)
        return levels.map(self.rates_).fillna(self.overall_rate_).to_numpy(dtype=float)


def logistic_baseline(categorical: Sequence[str] = (), *, C: float = 1.0, random_state: int = 0) -> Pipeline:
    """A logistic regression on the same features: numeric columns median-imputed (with missing indicators)
    and scaled, the named categorical columns one-hot encoded. Its maximum-likelihood fit on the training
    years is its calibration."""
    categorical = list(categorical)
    numeric = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()
    )
    transformers = [("numeric", numeric, make_column_selector(dtype_include=np.number))]
    if categorical:
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore"), categorical))
    prep = ColumnTransformer(transformers, remainder="drop")
    return Pipeline(
        [
            ("prep", prep),
            ("clf", LogisticRegression(C=C, max_iter=2000, random_state=random_state)),
        ]
    )


def plain_lightgbm(categorical: Sequence[str] = (), *, random_state: int = 0, n_jobs: int = 1) -> Pipeline:
    """LightGBM's ``LGBMClassifier`` with default settings after the estimator's ordinal encoder; its contributions
    (models/explain.py) are TreeSHAP like the estimator's."""
    from lightgbm import LGBMClassifier

    clf = LGBMClassifier(verbose=-1, n_jobs=n_jobs, random_state=random_state)
    return Pipeline([("prep", _encoder(list(categorical))), ("clf", clf)])
