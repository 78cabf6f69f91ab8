"""A regularised additive logistic model: one piecewise-linear curve per feature, monotone where the domain is sure.

The plainer family the estimator chooses from (models/estimators.py): where the log-odds are close to a sum of
one smooth function per feature (few events, additive effects), it has far less variance than boosted trees;
its contributions are exact and as easy to read as a logistic regression's.

Each numeric column becomes a few *segments*: between knots at quantiles of the training values, the value
clipped to the segment minus its start (so a segment's coefficient is the curve's slope there; outside the
2nd-98th percentiles the curve is flat, which tames heavy tails). A column with a few distinct values gets one
column; missing values are imputed with the median and flagged by an indicator column; categorical columns
(integer codes, NaN for unknown) are one-hot. Every basis column is standardised, fitted by L-BFGS-B on the
log loss plus an L2 penalty chosen by grouped K-fold log loss; a monotone column's segment slopes are bounded
to its sign (so the curve never turns against the domain's direction). The contribution of a feature is the sum
of its basis columns' terms (centred on the training mean), the bias is the intercept: they sum to the raw score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from klinik.models.estimators import _as_frame, _Calibrated, _platt, grouped_folds

KNOT_QUANTILES_EDGE = (0.02, 0.98)  # outside these percentiles the curve is flat
PENALTIES = (3000.0, 300.0, 30.0)  # L2 strengths tried, strongest first (standardised columns, summed log loss)


def _log_loss_grad(w: np.ndarray, Z: np.ndarray, y: np.ndarray, penalty: float) -> tuple[float, np.ndarray]:
    """Summed log loss of sigmoid(Z w[1:] + w[0]) plus penalty/2 |w[1:]|^2, and its gradient."""
    z = Z @ w[1:] + w[0]
    loss = float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * penalty * float(w[1:] @ w[1:])
    g = expit(z) - y
    grad = np.empty_like(w)
    grad[0] = g.sum()
    grad[1:] = Z.T @ g + penalty * w[1:]
    return loss, grad


class AdditiveLogisticClassifier(_Calibrated):
    """A monotone-where-asked additive logistic model (see the module docstring).

    ``fit(X, y, groups=None, folds=None)`` chooses the penalty from ``penalties`` by the summed out-of-fold log
    loss on ``folds`` (or ``n_splits`` folds grouped by ``groups``), keeps those out-of-fold raw scores
    and refits on all rows. Learned: ``columns_`` (per basis column: the input it comes from, its
    kind and knots), ``center_``, ``scale_``, ``coef_``, ``intercept_``, ``penalty_``, ``calibration_`` (a Platt
    curve on the out-of-fold scores, for use on its own), ``cv_logloss_``.
    """

    def __init__(
        self,
        *,
        segments: int = 4,
        penalties: Sequence[float] = PENALTIES,
        monotone: Mapping[str, int] | None = None,
        categorical: Sequence[str] = (),
        n_splits: int = 5,
        max_rows: int = 150_000,
        random_state: int = 0,
    ):
        self.segments = segments
        self.penalties = penalties
        self.monotone = monotone
        self.categorical = categorical
        self.n_splits = n_splits
        self.max_rows = max_rows
        self.random_state = random_state

    # --- the basis ------------------------------------------------------------------------------------------------

    def _plan(self, X: pd.DataFrame) -> list[tuple]:
        """Per input column, the basis columns it becomes: (input, kind, detail)."""
        plan = []
        for col in X.columns:
            x = X[col].to_numpy(dtype=float)
            known = x[~np.isnan(x)]
            if col in self.categorical:
                levels, counts = np.unique(known, return_counts=True)
                plan += [(col, "level", float(v)) for v, n in zip(levels, counts) if n >= 5]
                continue
            if len(known) == 0:
                continue
            if np.isnan(x).any():
                plan.append((col, "missing", 0.0))
            median = float(np.median(known))
            distinct = np.unique(known)
            if len(distinct) <= self.segments + 1:
                plan.append((col, "value", (median,)))
                continue
            lo, hi = np.quantile(known, KNOT_QUANTILES_EDGE)
            knots = np.unique(np.quantile(np.clip(known, lo, hi), np.linspace(0, 1, self.segments + 1)))
            plan += [(col, "segment", (median, knots[s], knots[s + 1])) for s in range(len(knots) - 1)]
        if not plan:
            raise ValueError("no usable column: every column is empty")
        return plan

    def _basis(self, X: pd.DataFrame) -> np.ndarray:
        Z = np.empty((len(X), len(self.columns_)), dtype=np.float64)
        cache: dict[str, np.ndarray] = {}
        for j, (col, kind, detail) in enumerate(self.columns_):
            x = cache.setdefault(col, X[col].to_numpy(dtype=float))
            if kind == "level":
                Z[:, j] = x == detail
            elif kind == "missing":
                Z[:, j] = np.isnan(x)
            elif kind == "value":
                Z[:, j] = np.where(np.isnan(x), detail[0], x)
            else:
                median, start, end = detail
                Z[:, j] = np.clip(np.where(np.isnan(x), median, x), start, end) - start
        return Z

    def _standard(self, X: pd.DataFrame) -> np.ndarray:
        return (self._basis(X) - self.center_) / self.scale_

    def _bounds(self) -> list[tuple[float | None, float | None]]:
        monotone = dict(self.monotone or {})
        bounds: list[tuple[float | None, float | None]] = [(None, None)]  # intercept
        for col, kind, _ in self.columns_:
            sign = int(monotone.get(col, 0)) if kind in ("segment", "value") else 0
            bounds.append((0.0, None) if sign > 0 else (None, 0.0) if sign < 0 else (None, None))
        return bounds

    def _solve(self, Z: np.ndarray, y: np.ndarray, penalty: float, start: np.ndarray | None = None) -> np.ndarray:
        if start is None:
            prior = np.clip(y.mean(), 1e-6, 1 - 1e-6)
            start = np.zeros(Z.shape[1] + 1)
            start[0] = np.log(prior / (1 - prior))
        res = minimize(
            _log_loss_grad,
            start,
            args=(Z, y, penalty),
            jac=True,
            method="L-BFGS-B",
            bounds=self._bounds(),
            options={"maxiter": 500, "ftol": 1e-8},
        )
        return res.x

    # --- fitting --------------------------------------------------------------------------------------------------

    def fit(self, X, y, groups=None, folds=None):
        X = self._as_frame(X, fitting=True)
        y = np.asarray(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"AdditiveLogisticClassifier needs two classes in y, got {classes.tolist()}")
        self.classes_ = classes
        y01 = (y == classes[1]).astype(float)
        unknown = sorted(set(dict(self.monotone or {})) - set(X.columns))
        if unknown:
            raise ValueError(f"monotone constraint names columns not in X: {unknown}")
        if folds is None:
            folds = grouped_folds(y01.astype(int), groups, self.n_splits, self.random_state)
        self.columns_ = self._plan(X)
        basis = self._basis(X)
        self.center_ = basis.mean(axis=0)
        self.scale_ = np.where(basis.std(axis=0) > 0, basis.std(axis=0), 1.0)
        Z = (basis - self.center_) / self.scale_
        del basis
        rng = np.random.default_rng(self.random_state)

        def rows(idx: np.ndarray) -> np.ndarray:  # a bounded sample of the training rows of a fit
            return idx if len(idx) <= self.max_rows else np.sort(rng.choice(idx, self.max_rows, replace=False))

        losses, oofs = [], []
        starts: list[np.ndarray | None] = [None] * len(folds)
        with threadpool_limits(1):  # one BLAS thread: on shared cores more threads made each step 5x slower
            for penalty in self.penalties:
                oof = np.full(len(y01), np.nan)
                for k, (train_idx, valid_idx) in enumerate(folds):
                    fit_idx = rows(train_idx)
                    # each fold starts from its solution at the previous (stronger) penalty
                    starts[k] = w = self._solve(Z[fit_idx], y01[fit_idx], penalty, starts[k])
                    oof[valid_idx] = Z[valid_idx] @ w[1:] + w[0]
                seen = ~np.isnan(oof)  # folds in time leave the earliest periods unscored
                losses.append(float(np.mean(np.logaddexp(0.0, oof[seen]) - y01[seen] * oof[seen])))
                oofs.append(oof)
        best = int(np.argmin(losses))
        self.penalty_ = float(self.penalties[best])
        self.cv_logloss_ = losses[best]
        self._oof_raw = oofs[best]  # for the estimator that chooses among families; not saved with the model
        seen = ~np.isnan(self._oof_raw)
        self.calibration_ = _platt(self._oof_raw[seen], y01[seen])
        every = rows(np.arange(len(y01)))
        with threadpool_limits(1):
            w = self._solve(Z[every], y01[every], self.penalty_)
        self.intercept_, self.coef_ = float(w[0]), w[1:]
        return self

    def fit_fixed(self, X, y) -> AdditiveLogisticClassifier:
        """A copy fitted on (X, y) with this model's basis and penalty, nothing chosen again (for validation in
        time: trained on earlier years, judged on a later one)."""
        check_is_fitted(self, "coef_")
        twin = self.__class__(**self.get_params())
        for name in ("feature_names_in_", "n_features_in_", "classes_", "columns_", "center_", "scale_", "penalty_"):
            setattr(twin, name, getattr(self, name))
        X = self._as_frame(X)
        y01 = (np.asarray(y) == self.classes_[1]).astype(float)
        with threadpool_limits(1):
            w = self._solve(self._standard(X), y01, self.penalty_)
        twin.intercept_, twin.coef_ = float(w[0]), w[1:]
        twin.calibration_ = self.calibration_
        return twin

    # --- predicting -----------------------------------------------------------------------------------------------

    def _as_frame(self, X, fitting: bool = False) -> pd.DataFrame:
        return _as_frame(self, X, fitting)

    def raw_score(self, X) -> np.ndarray:
        """The model's log-odds before its own Platt curve."""
        check_is_fitted(self, "coef_")
        return self._standard(self._as_frame(X)) @ self.coef_ + self.intercept_

    def contributions(self, X) -> pd.DataFrame:
        """Each input column's term of the raw log-odds (its basis columns' terms summed) plus ``bias``."""
        check_is_fitted(self, "coef_")
        X = self._as_frame(X)
        terms = self._standard(X) * self.coef_
        inputs = list(self.feature_names_in_)
        where = {c: i for i, c in enumerate(inputs)}
        owner = np.array([where[col] for col, _, _ in self.columns_])
        out = np.zeros((len(X), len(inputs)))
        for i in np.unique(owner):
            out[:, i] = terms[:, owner == i].sum(axis=1)
        frame = pd.DataFrame(out, columns=inputs, index=X.index)
        frame["bias"] = self.intercept_
        return frame

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_oof_raw", None)
        return state
