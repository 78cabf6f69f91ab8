"""The two estimators (risk of falling sick, likelihood of recovery): chosen by the data, calibrated, explainable.

``build_estimator`` returns an unfitted scikit-learn ``Pipeline``: an ordinal encoder for the categorical
columns named by the caller, then :class:`AdaptiveClassifier`, which chooses among model families -- boosted
trees with size-aware regularisation (:class:`CalibratedLGBMClassifier`), a plainer booster, and a regularised
additive logistic model (models/additive.py) -- by inner validation that respects time, and serves the one it
keeps or a weighted blend. Nothing here knows our column names: monotone constraints and categoricals arrive by
name as parameters, so the same estimator can be judged on any tabular data (bench/bench_family.py judges it on a
family of simulated worlds and on two real datasets).

Why this design:
- real offices' data will differ from any simulator: which family wins depends on the data (few events and
  additive effects favour the additive model, interactions and many events the trees), so the data choose;
- whatever is served is explained exactly: TreeSHAP (``pred_contrib``) for a booster, the linear terms for the
  additive model, and for a blend the same weighted sum of both;
- calibration is Platt scaling (a logistic curve on the raw score; for a blend, on several raw scores at once),
  fitted on held-out scores: with a few hundred cooperatives isotonic regression overfits (docs/domain.md), and a
  cooperative's later years must never calibrate its earlier ones;
- a booster's number of trees is chosen by early stopping on folds grouped by cooperative, at one common
  iteration, so the out-of-fold scores and the final booster come from models of the same size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.validation import check_is_fitted

from klinik.features.labels import TASKS

FORWARD_EVENTS = 1_500  # from this many events on, AdaptiveClassifier tunes on its validation periods (see fit)


def _size_aware(n_rows: int, n_events: int) -> dict:
    """Regularisation and effort that follow the size of the data.

    ``n_events`` is the count of the rarer class. Few events need few, big, shrunk leaves, randomised split
    points (extremely randomised trees, a variance reducer), a slow learning rate and five folds for early
    stopping and calibration; many events afford more leaves, a faster rate and three folds (each fold then
    holds thousands of events, and training time matters). The tiers are generic rules of thumb for gradient
    boosting on tabular data, not fitted to any dataset's coefficients.
    """
    if n_events < 300:
        tier = {"num_leaves": 4, "reg_lambda": 20.0, "extra_trees": True}
    elif n_events < 1_500:
        tier = {"num_leaves": 8, "reg_lambda": 10.0, "extra_trees": False}
    elif n_events < 6_000:
        tier = {"num_leaves": 15, "reg_lambda": 5.0, "extra_trees": False}
    else:
        # depth 6 (XGBoost's default): leaf-wise growth to 31 leaves otherwise makes trees 9-10 splits deep, and
        # TreeSHAP (the reasons of every score) costs about leaves x depth^2 per tree. On the national world the
        # cap left ROC AUC and ECE as they were and cut pred_contrib for 127,000 cooperatives from 70 s to 58 s
        tier = {"num_leaves": 31, "reg_lambda": 1.0, "extra_trees": False, "max_depth": 6}
    few = n_events < 1_500
    return {
        "max_depth": -1,
        **tier,
        "min_child_samples": int(np.clip(n_rows // 100, 10, 200)),
        "learning_rate": 0.03 if few else 0.06,
        "n_splits": 5 if few else 3,
    }


def tree_depths(booster: lgb.Booster) -> list[int]:
    """Each tree's depth (splits on its longest path): TreeSHAP, the reasons of every score, costs about
    leaves x depth^2 per tree."""

    def depth(node: dict) -> int:
        return 0 if "split_index" not in node else 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    return [depth(tree["tree_structure"]) for tree in booster.dump_model()["tree_info"]]


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt (1999) scaling: fit p = sigmoid(a * raw + b) by log loss on smoothed targets.

    The targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) instead of 1 and 0 keep the curve finite when the
    scores separate the classes well on few events (as scikit-learn's sigmoid calibration does).
    """
    y = np.asarray(y, dtype=float)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    raw = np.asarray(raw, dtype=float)

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * raw + ab[1]
        # log(1 + e^z) - t z, written stably
        value = np.sum(np.logaddexp(0.0, z) - t * z)
        g = expit(z) - t
        return value, np.array([np.sum(g * raw), np.sum(g)])

    prior = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    res = minimize(loss, x0=np.array([1.0, np.log(prior / (1 - prior))]), jac=True, method="L-BFGS-B")
    a, b = (float(v) for v in res.x)
    return a, b


def grouped_folds(
    y01: np.ndarray, groups, n_splits: int, random_state: int, many: bool | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds grouped by ``groups`` (a cooperative's rows stay together), stratified by the label when events are
    few; with many events (``many``, default: 1,500 or more) plain shuffled group folds balance well enough and are
    much faster. Without groups, stratified folds of rows."""
    y01 = np.asarray(y01)
    n_minor = int(min(y01.sum(), len(y01) - y01.sum()))
    many = n_minor >= 1_500 if many is None else many
    X = np.zeros((len(y01), 1))
    if groups is not None:
        # integer codes in the sorted order of the labels: the same folds as the labels themselves, but numpy's
        # isin on object arrays (string ids) compares every row with every group of a fold, which is quadratic and
        # took hours on national data
        groups = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
        n_splits = int(min(n_splits, len(np.unique(groups)), max(n_minor, 2)))
        if n_splits < 2:
            raise ValueError("need at least two groups and two events of each class to calibrate")
        if many:
            splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        else:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        return list(splitter.split(X, y01, groups))
    n_splits = int(min(n_splits, max(n_minor, 2)))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return list(splitter.split(X, y01))


class _Calibrated(ClassifierMixin, BaseEstimator):
    """What every classifier here shares: a raw score, a Platt curve ``calibration_`` = (a, b) on it, and
    probabilities ``sigmoid(a * raw + b)``; missing values are allowed (each model handles them)."""

    def raw_score(self, X) -> np.ndarray:  # pragma: no cover - each classifier defines it
        raise NotImplementedError

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds: a * raw + b."""
        a, b = self.calibration_
        return a * self.raw_score(X) + b

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class CalibratedLGBMClassifier(_Calibrated):
    """A binary LightGBM classifier with grouped early stopping and Platt calibration, held in one booster.

    ``fit(X, y, groups=None)``:
    1. boosts on ``n_splits`` folds (grouped by ``groups`` when given, stratified by ``y``), recording the
       held-out log loss at every round with early stopping; the number of trees is the round with the
       lowest mean held-out log loss;
    2. fits Platt scaling on the out-of-fold raw scores at that round;
    3. refits one booster on all rows with that many trees.
    ``predict_proba`` is then ``sigmoid(a * raw + b)`` and ``raw_score`` / ``contributions`` explain it.

    ``early_stopping_rounds=0`` turns early stopping off: every fold and the final booster grow ``max_rounds``
    trees (LightGBM's defaults are 100 at a learning rate of 0.1). Parameters left as ``None`` (``num_leaves``,
    ``min_child_samples``, ``reg_lambda``, ``max_depth``,
    ``extra_trees``) are chosen from the size of the training data (:func:`_size_aware`). ``monotone`` maps
    column names to +1 (never lowers the probability), -1 (never raises it) or 0; ``categorical`` names columns
    holding non-negative integer codes. ``n_jobs`` sets LightGBM's threads for fitting and predicting and may be
    changed after fitting (``set_params(n_jobs=1)`` for a one-row server).
    """

    def __init__(
        self,
        *,
        learning_rate: float | None = None,
        max_rounds: int = 3000,
        early_stopping_rounds: int | None = None,
        n_splits: int | None = None,
        num_leaves: int | None = None,
        min_child_samples: int | None = None,
        reg_lambda: float | None = None,
        max_depth: int | None = None,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_split_gain: float = 0.0,
        max_bin: int = 255,
        extra_trees: bool | None = None,
        path_smooth: float = 0.0,
        monotone: Mapping[str, int] | None = None,
        monotone_method: str = "intermediate",
        categorical: Sequence[str] = (),
        n_jobs: int | None = None,
        random_state: int = 0,
    ):
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.n_splits = n_splits
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_split_gain = min_split_gain
        self.max_bin = max_bin
        self.extra_trees = extra_trees
        self.path_smooth = path_smooth
        self.monotone = monotone
        self.monotone_method = monotone_method
        self.categorical = categorical
        self.n_jobs = n_jobs
        self.random_state = random_state

    # --- fitting -------------------------------------------------------------------------------------

    def _lgb_params(self, auto: dict, columns: list[str]) -> dict:
        monotone = dict(self.monotone or {})
        unknown = sorted(set(monotone) - set(columns))
        if unknown:
            raise ValueError(f"monotone constraint names columns not in X: {unknown}")
        params = {
            "objective": "binary",
            "metric": "binary_logloss",
            "learning_rate": self.learning_rate or auto["learning_rate"],
            "num_leaves": self.num_leaves or auto["num_leaves"],
            "min_data_in_leaf": self.min_child_samples or auto["min_child_samples"],
            "lambda_l2": auto["reg_lambda"] if self.reg_lambda is None else self.reg_lambda,
            "max_depth": auto["max_depth"] if self.max_depth is None else self.max_depth,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "min_gain_to_split": self.min_split_gain,
            "max_bin": self.max_bin,
            "extra_trees": auto["extra_trees"] if self.extra_trees is None else self.extra_trees,
            "path_smooth": self.path_smooth,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs or 0,
            "verbose": -1,
            # categorical columns: few levels, few rows; keep LightGBM from carving one level per leaf
            "min_data_per_group": 100,
            "cat_smooth": 50.0,
            "cat_l2": 50.0,
        }
        if any(monotone.values()):
            params["monotone_constraints"] = [int(monotone.get(c, 0)) for c in columns]
            params["monotone_constraints_method"] = self.monotone_method
        return params

    def _dataset(self, X: pd.DataFrame, y=None, reference=None) -> lgb.Dataset:
        cats = [c for c in self.categorical if c in X.columns]
        return lgb.Dataset(
            X,
            label=y,
            reference=reference,
            categorical_feature=cats or "auto",
            params={"max_bin": self.max_bin, "verbose": -1},
            free_raw_data=False,
        )

    def fit(self, X, y, groups=None, folds=None):
        """Fit as the class docstring says; ``folds`` (train, valid) index pairs replace the grouped folds (the
        estimator that chooses among families passes the same folds to every candidate). Without early stopping,
        empty ``folds`` skip the held-out scores: ``max_rounds`` trees on all rows, and no Platt curve of its own
        (``calibration_`` = (1, 0)) -- for a member of a blend whose weights are fitted elsewhere."""
        X = self._as_frame(X, fitting=True)
        y = np.asarray(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"CalibratedLGBMClassifier needs two classes in y, got {classes.tolist()}")
        self.classes_ = classes
        y01 = (y == classes[1]).astype(int)
        n_events = int(min(y01.sum(), len(y01) - y01.sum()))
        auto = _size_aware(len(X), n_events)
        params = self._lgb_params(auto, list(X.columns))
        patience = self.early_stopping_rounds
        if patience is None:
            patience = max(10, round(3.0 / params["learning_rate"]))

        if folds is None:
            folds = self._folds(X, y01, groups, self.n_splits or auto["n_splits"], many=n_events >= 1_500)
        if len(folds) == 0 and patience:
            raise ValueError("early stopping needs folds")
        if len(folds):
            self._held_out(X, y01, folds, params, patience)
        else:
            self.n_trees_, self.cv_logloss_, self.calibration_ = self.max_rounds, float("nan"), (1.0, 0.0)

        final = lgb.train(params, self._dataset(X, y01), num_boost_round=self.n_trees_)
        self.booster_str_ = final.model_to_string()
        self._booster = final
        self.lgb_params_ = params
        return self

    def _held_out(self, X: pd.DataFrame, y01: np.ndarray, folds, params: dict, patience: int) -> None:
        """Boost on each fold (with early stopping when ``patience``), choose the common number of trees, and fit
        the Platt curve on the out-of-fold scores at that round."""
        curves, boosters = [], []
        for train_idx, valid_idx in folds:
            dtrain = self._dataset(X.iloc[train_idx], y01[train_idx])
            dvalid = self._dataset(X.iloc[valid_idx], y01[valid_idx], reference=dtrain)
            record: dict = {}
            booster = lgb.train(
                params,
                dtrain,
                num_boost_round=self.max_rounds,
                valid_sets=[dvalid],
                valid_names=["valid"],
                callbacks=[lgb.record_evaluation(record)]
                + ([lgb.early_stopping(patience, first_metric_only=True, verbose=False)] if patience else []),
            )
            curves.append(np.asarray(record["valid"]["binary_logloss"]))
            boosters.append(booster)
        # the common round: lowest mean held-out log loss over the rounds every fold reached
        length = min(len(c) for c in curves)
        mean_curve = np.mean([c[:length] for c in curves], axis=0)
        self.n_trees_ = int(np.argmin(mean_curve)) + 1 if patience else length  # no early stopping: every round
        self.cv_logloss_ = float(mean_curve[self.n_trees_ - 1])

        oof = np.full(len(X), np.nan)
        for (_, valid_idx), booster in zip(folds, boosters):
            oof[valid_idx] = booster.predict(X.iloc[valid_idx], num_iteration=self.n_trees_, raw_score=True)
        seen = ~np.isnan(oof)  # folds in time leave the earliest periods unscored
        self.calibration_ = _platt(oof[seen], y01[seen])
        self._oof_raw = oof  # for the estimator that chooses among families; not saved with the model

    def fit_fixed(self, X, y) -> CalibratedLGBMClassifier:
        """A copy boosted on (X, y) with this model's parameters and number of trees, nothing chosen again (for
        validation in time: trained on earlier years, judged on a later one)."""
        check_is_fitted(self, "booster_str_")
        twin = self.__class__(**self.get_params())
        X = self._as_frame(X)
        y01 = (np.asarray(y) == self.classes_[1]).astype(int)
        for name in ("feature_names_in_", "n_features_in_", "classes_", "n_trees_", "calibration_", "lgb_params_"):
            setattr(twin, name, getattr(self, name))
        twin._booster = lgb.train(self.lgb_params_, self._dataset(X, y01), num_boost_round=self.n_trees_)
        twin.booster_str_ = ""  # a validation copy: never saved
        return twin

    def _folds(self, X, y01, groups, n_splits: int, many: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        return grouped_folds(y01, groups, n_splits, self.random_state, many=many)

    # --- predicting ----------------------------------------------------------------------------------

    @property
    def booster(self) -> lgb.Booster:
        """The fitted booster, rebuilt from its saved text after loading."""
        check_is_fitted(self, "booster_str_")
        if getattr(self, "_booster", None) is None:
            self._booster = lgb.Booster(model_str=self.booster_str_)
        return self._booster

    def __getstate__(self):
        # persist the booster as its text (booster_str_); the live handle is rebuilt on first use
        state = super().__getstate__()
        state.pop("_booster", None)
        state.pop("_oof_raw", None)
        return state

    def _as_frame(self, X, fitting: bool = False) -> pd.DataFrame:
        if not fitting:
            check_is_fitted(self, "booster_str_")
        return _as_frame(self, X, fitting)

    def _threads(self) -> int:
        return self.n_jobs or 0

    def raw_score(self, X) -> np.ndarray:
        """The booster's log-odds, before calibration."""
        X = self._as_frame(X)
        return self.booster.predict(X, raw_score=True, num_threads=self._threads())

    def contributions(self, X) -> pd.DataFrame:
        """TreeSHAP contributions to the raw log-odds, one column per input column plus ``bias``."""
        X = self._as_frame(X)
        values = self.booster.predict(X, pred_contrib=True, num_threads=self._threads())
        return pd.DataFrame(values, columns=[*X.columns, "bias"], index=X.index)


def _encoder(categorical: Sequence[str]) -> ColumnTransformer:
    """Ordinal codes for the named text columns (unknown or missing -> NaN, which LightGBM treats as
    missing); every other column passes through untouched, names kept."""
    transformers = []
    if categorical:
        transformers.append(
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    dtype=np.float64,
                ),
                list(categorical),
            )
        )
    return ColumnTransformer(
        transformers,
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


CANDIDATES = ("trees", "plain_trees", "additive")


def _stack(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative weights and an intercept for p = sigmoid(scores @ w + b), by log loss on Platt's smoothed
    targets: Platt scaling of several raw scores at once (a single column gives Platt's own curve). The scores
    are compared per standard deviation, so the fit does not depend on each model's scale."""
    y = np.asarray(y, dtype=float)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    spread = scores.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    Z = scores / spread

    def loss(wb: np.ndarray) -> tuple[float, np.ndarray]:
        z = Z @ wb[:-1] + wb[-1]
        g = expit(z) - t
        return float(np.sum(np.logaddexp(0.0, z) - t * z)), np.append(Z.T @ g, g.sum())

    k = scores.shape[1]
    prior = np.clip(y.mean(), 1e-6, 1 - 1e-6)
    start = np.append(np.full(k, 1.0 / k), np.log(prior / (1 - prior)))
    bounds = [(0.0, None)] * k + [(None, None)]
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return res.x[:-1] / spread, float(res.x[-1])


class AdaptiveClassifier(_Calibrated):
    """Chooses among model families by inner validation and serves the weighted blend of those it keeps.

    Candidates (``candidates``): ``trees`` (:class:`CalibratedLGBMClassifier` with its size-aware regularisation),
    ``plain_trees`` (the same booster near LightGBM's defaults: 31 leaves at most 6 deep, 20 rows a leaf, no
    penalty, a learning rate of 0.05, early-stopped and monotone like the other) and ``additive``
    (:class:`klinik.models.additive.AdditiveLogisticClassifier`, one monotone piecewise-linear curve per feature).
    Each is tuned on the same folds grouped by ``groups`` (rounds, penalty). The plainer booster is tried below
    1,500 events only: from there on the size-aware booster has 15-31 leaves and a light penalty itself.

    ``fit(X, y, groups=None, time=None)``. The choice is made on inner validation that respects time when ``time``
    (each row's period, e.g. the year) is given: for each of the last ``validation_periods`` periods, every
    candidate, with its tuned settings, is refitted on the rows of earlier periods only and scores the rows of that
    period -- the situation of the served model, trained on past years and scoring the next one. Without ``time``,
    the candidates' out-of-fold scores on the grouped folds are used. From ``FORWARD_EVENTS`` (1,500) events on,
    those periods are also the folds every candidate is tuned on (rounds, penalty), so the scores in time come from
    the tuning fits themselves and the choice costs no refit. On those scores, non-negative weights and an
    intercept are fitted by log loss (Platt scaling of several scores): a weight of zero drops a candidate, one
    candidate left is a choice, several a blend. The raw score is the weighted sum of the kept candidates' raw
    scores, ``predict_proba`` is ``sigmoid(raw + intercept)`` and the contributions are the same weighted sum of
    each candidate's exact contributions (TreeSHAP, linear terms), so they sum to the raw score.

    Learned: ``members_`` (the kept candidates, fitted on all rows), ``member_names_``, ``weights_``,
    ``calibration_`` (1, intercept), ``validation_`` (per candidate and for the blend: log loss and ROC AUC on the
    inner validation; how it was made), ``cv_logloss_`` (the blend's inner log loss), ``n_trees_``.
    """

    def __init__(
        self,
        *,
        candidates: Sequence[str] = CANDIDATES,
        categorical: Sequence[str] = (),
        monotone: Mapping[str, int] | None = None,
        n_splits: int | None = None,
        validation_periods: int = 3,
        max_rounds: int = 3000,
        max_depth: int | None = None,
        learning_rate: float | None = None,
        n_jobs: int | None = None,
        random_state: int = 0,
    ):
        self.candidates = candidates
        self.categorical = categorical
        self.monotone = monotone
        self.n_splits = n_splits
        self.validation_periods = validation_periods
        self.max_rounds = max_rounds
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _candidate(self, name: str, n_splits: int, many: bool):
        from klinik.models.additive import AdditiveLogisticClassifier

        common = dict(monotone=self.monotone, categorical=self.categorical, random_state=self.random_state)
        trees = dict(common, n_splits=n_splits, n_jobs=self.n_jobs, max_rounds=self.max_rounds)
        if name == "trees":
            return CalibratedLGBMClassifier(**trees, max_depth=self.max_depth, learning_rate=self.learning_rate)
        if name == "plain_trees":  # LightGBM's defaults: 100 trees at 0.1, 31 leaves, 20 rows a leaf, no penalty
            return CalibratedLGBMClassifier(
                **dict(trees, max_rounds=100),
                early_stopping_rounds=0,
                learning_rate=0.1,
                num_leaves=31,
                max_depth=self.max_depth if self.max_depth is not None else (6 if many else -1),
                min_child_samples=20,
                reg_lambda=0.0,
                extra_trees=False,
                subsample=1.0,
                colsample_bytree=1.0,
            )
        if name == "additive":
            return AdditiveLogisticClassifier(**common, n_splits=n_splits)
        raise ValueError(f"unknown candidate {name!r}; choose from {CANDIDATES}")

    def fit(self, X, y, groups=None, time=None):
        X = _as_frame(self, X, fitting=True)
        y = np.asarray(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"AdaptiveClassifier needs two classes in y, got {classes.tolist()}")
        if not self.candidates:
            raise ValueError("AdaptiveClassifier needs at least one candidate")
        self.classes_ = classes
        y01 = (y == classes[1]).astype(int)
        n_events = int(min(y01.sum(), len(y01) - y01.sum()))
        n_splits = self.n_splits or _size_aware(len(X), n_events)["n_splits"]
        periods = self._periods(y01, time)
        # with many events the validation periods are the tuning folds too (each candidate early-stopped or
        # penalised on a period after the years it learns from): the choice then costs no refit. With few
        # events, grouped folds over all years tune more stably, and refits on earlier periods judge
        forward = bool(len(periods)) and n_events >= FORWARD_EVENTS
        if forward:
            moment = np.asarray(time)
            folds = [(np.flatnonzero(moment < p), np.flatnonzero(moment == p)) for p in periods]
        else:
            folds = grouped_folds(y01, groups, n_splits, self.random_state, many=n_events >= 1_500)
        # LightGBM's defaults are the alternative to the strong regularisation of the small-data tiers; from 1,500
        # events on the size-aware booster is itself 15-31 leaves with a light penalty, and the plainer one only costs
        names = [n for n in self.candidates if n != "plain_trees" or n_events < 1_500 or len(self.candidates) == 1]
        many = n_events >= 6_000  # the large-data tier: trees at most 6 deep (TreeSHAP's cost, see _size_aware)
        fitted = {}
        for name in names:
            candidate = self._candidate(name, n_splits, many)
            # a booster without early stopping needs held-out scores only when the choice is made on them
            plain = name == "plain_trees" and len(periods)
            fitted[name] = candidate.fit(X, y, groups=groups, folds=[] if plain else folds)

        if forward:
            rows = np.concatenate([valid for _, valid in folds])
            scores = np.column_stack([fitted[n]._oof_raw[rows] for n in names])
            when = ", ".join(str(p) for p in periods)
            how = f"time: each of {when} scored by the candidates tuned on the periods before it"
        elif len(periods):
            rows, scores = self._scores_in_time(X, y, fitted, np.asarray(time), periods)
            how = f"time: each of {', '.join(str(p) for p in periods)} scored by refits on the periods before it"
        else:
            rows, scores = np.arange(len(y01)), np.column_stack([fitted[n]._oof_raw for n in names])
            how = f"out-of-fold scores of {len(folds)} grouped folds"
        weights, intercept = _stack(scores, y01[rows])
        if not (weights > 0).any():  # no candidate helps: the best one alone
            losses = [_platt_loss(scores[:, [k]], y01[rows]) for k in range(len(names))]
            weights = np.eye(len(names))[int(np.argmin(losses))]
        keep = weights > 1e-3 * weights.max()
        if not keep.all():  # the intercept and weights again, without the dropped candidates
            weights = np.zeros(len(names))
            weights[keep], intercept = _stack(scores[:, keep], y01[rows])
        self.member_names_ = [n for n, k in zip(names, keep) if k]
        self.members_ = [fitted[n] for n in self.member_names_]
        self.weights_ = weights[keep]
        self.calibration_ = (1.0, float(intercept))
        self.validation_ = self._record(names, scores, y01[rows], weights, intercept, how)
        self.cv_logloss_ = self.validation_["blend"]["log_loss"]
        for member in fitted.values():
            member.__dict__.pop("_oof_raw", None)
        return self

    def _periods(self, y01: np.ndarray, time) -> list:
        """The last ``validation_periods`` periods (after the first two) holding both outcomes and trained on
        earlier periods that do too; none when there is no time or too few events to judge on (under 10)."""
        if time is None or self.validation_periods <= 0:
            return []
        time = np.asarray(time)
        used = []
        for period in np.unique(time)[2:][-self.validation_periods :]:
            earlier, now = y01[time < period], y01[time == period]
            if len(np.unique(earlier)) == 2 and len(np.unique(now)) == 2:
                used.append(period)
        events = sum(int(y01[time == p].sum()) for p in used)
        return used if events >= 10 else []

    @staticmethod
    def _scores_in_time(X, y, fitted: dict, time: np.ndarray, periods: list) -> tuple[np.ndarray, np.ndarray]:
        """Each period's rows scored by every candidate refitted (its settings kept) on the periods before it."""
        rows, parts = [], []
        for period in periods:
            train, valid = time < period, time == period
            Xt, yt, Xv = X[train], y[train], X[valid]
            parts.append(np.column_stack([model.fit_fixed(Xt, yt).raw_score(Xv) for model in fitted.values()]))
            rows.append(np.flatnonzero(valid))
        return np.concatenate(rows), np.vstack(parts)

    def fit_fixed(self, X, y) -> AdaptiveClassifier:
        """A copy whose kept members are refitted on (X, y) with their settings (trees, penalty, basis), the
        blend's weights and intercept kept: nothing chosen again. For judging earlier years at the cost of one fit
        each (training's backtest with many events)."""
        check_is_fitted(self, "members_")
        twin = self.__class__(**self.get_params())
        X = _as_frame(self, X)
        for name in ("feature_names_in_", "n_features_in_", "classes_", "member_names_", "weights_", "calibration_"):
            setattr(twin, name, getattr(self, name))
        twin.validation_ = dict(self.validation_, how="refitted with the settings and weights of a later fit")
        twin.cv_logloss_ = self.cv_logloss_
        twin.members_ = [member.fit_fixed(X, y) for member in self.members_]
        return twin

    @staticmethod
    def _record(names, scores, y, weights, intercept, how) -> dict:
        from sklearn.metrics import roc_auc_score

        out: dict = {"how": how, "rows": int(len(y)), "events": int(y.sum())}
        for k, name in enumerate(names):
            a, b = _stack(scores[:, [k]], y)
            p = expit(a[0] * scores[:, k] + b)
            out[name] = {"log_loss": _mean_log_loss(y, p), "roc_auc": float(roc_auc_score(y, p)), "weight": 0.0}
        for name, w in zip(names, weights):
            out[name]["weight"] = float(w)
        p = expit(scores @ weights + intercept)
        out["blend"] = {"log_loss": _mean_log_loss(y, p), "roc_auc": float(roc_auc_score(y, p))}
        return out

    # --- predicting ---------------------------------------------------------------------------------------------

    def _members(self):
        check_is_fitted(self, "members_")
        for member in self.members_:
            if hasattr(member, "n_jobs"):
                member.n_jobs = self.n_jobs
        return zip(self.weights_, self.members_)

    def raw_score(self, X) -> np.ndarray:
        """The weighted sum of the kept candidates' raw log-odds (before the intercept)."""
        X = _as_frame(self, X)
        return sum(w * m.raw_score(X) for w, m in self._members())

    def predict_interval(self, X, level: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """The ends of each row's ``level`` interval of the probability, from the jackknife copies that
        klinik.models.intervals.add_intervals keeps on the fitted model (NaN without them)."""
        from klinik.models.intervals import predict_interval

        return predict_interval(self, X, level)

    def contributions(self, X) -> pd.DataFrame:
        """Exact contributions to the raw log-odds: the weighted sum of the kept candidates' (TreeSHAP for trees,
        linear terms for the additive model), one column per input column plus ``bias``."""
        X = _as_frame(self, X)
        return sum(w * m.contributions(X) for w, m in self._members())

    @property
    def n_trees_(self) -> int:
        """Trees in the served model (all tree members)."""
        return int(sum(getattr(m, "n_trees_", 0) for m in self.members_))

    @property
    def lgb_params_(self) -> dict:
        """LightGBM parameters of the first tree member (empty when none is served)."""
        return next((m.lgb_params_ for m in self.members_ if hasattr(m, "lgb_params_")), {})

    @property
    def booster(self) -> lgb.Booster:
        """The first tree member's booster."""
        for member in self.members_:
            if hasattr(member, "booster_str_"):
                return member.booster
        raise AttributeError("no tree model is served: the additive model was chosen alone")

    def choice_record(self) -> tuple[dict[str, str], dict[str, float]]:
        """What the choice was and why, as MLflow parameters and metrics: the kept candidates and their weights,
        and each candidate's (and the blend's) log loss and ROC AUC on the inner validation."""
        check_is_fitted(self, "validation_")
        v = self.validation_
        params = {
            "choice": ",".join(f"{n}:{w:.3f}" for n, w in zip(self.member_names_, self.weights_)),
            "choice_validation": v["how"][:500],
            "choice_candidates": ",".join(n for n in self.candidates if n in v),
        }
        metrics = {"choice_validation_rows": float(v["rows"]), "choice_validation_events": float(v["events"])}
        for name in (*(n for n in self.candidates if n in v), "blend"):
            for key, value in v[name].items():
                metrics[f"choice_{name}_{key}"] = float(value)
        return params, metrics


def _mean_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _platt_loss(scores: np.ndarray, y: np.ndarray) -> float:
    a, b = _stack(scores, y)
    return _mean_log_loss(y, expit(scores @ a + b))


def _as_frame(est, X, fitting: bool = False) -> pd.DataFrame:
    """X as a frame with the fitted columns (names from fitting; an array gets them in order)."""
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X, dtype=float)
        names = list(getattr(est, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])]))
        X = pd.DataFrame(X, columns=names)
    if fitting:
        est.feature_names_in_ = np.asarray(X.columns, dtype=object)
        est.n_features_in_ = X.shape[1]
        return X
    check_is_fitted(est, "feature_names_in_")
    missing = [c for c in est.feature_names_in_ if c not in X.columns]
    if missing:
        raise ValueError(f"X lacks columns the model was trained on: {missing}")
    return X[list(est.feature_names_in_)]


def refit_like(model: Pipeline, X, y) -> Pipeline:
    """``model`` (a fitted :func:`build_estimator` pipeline) refitted on (X, y) with everything it chose kept: the
    encoder fitted again, the classifier through :meth:`AdaptiveClassifier.fit_fixed`."""
    prep = clone(model.named_steps["prep"]).fit(X, y)
    clf = model.named_steps["clf"].fit_fixed(prep.transform(X), y)
    return Pipeline([("prep", prep), ("clf", clf)])


def build_estimator(
    task: str,
    *,
    categorical: Sequence[str] = (),
    monotone: Mapping[str, int] | None = None,
    random_state: int = 0,
    **params,
) -> Pipeline:
    """An unfitted Pipeline ``prep -> clf`` for ``task`` ("risk" or "recovery"): the ordinal encoder, then
    :class:`AdaptiveClassifier`.

    Fit it with ``fit(X, y, clf__groups=groups, clf__time=years)``: folds grouped by cooperative tune every
    candidate, and the choice among them is judged on later years scored by refits on earlier ones. ``params`` go
    to :class:`AdaptiveClassifier` (e.g. ``n_jobs``, ``n_splits``, ``candidates``). Both tasks use the same
    learner; the task name is kept on the pipeline's steps for the record.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    unknown = [name for name in params.get("candidates", CANDIDATES) if name not in CANDIDATES]
    if unknown or not params.get("candidates", CANDIDATES):
        raise ValueError(f"candidates must be among {CANDIDATES}, got {list(params['candidates'])}")
    clf = AdaptiveClassifier(
        categorical=tuple(categorical),
        monotone=dict(monotone or {}),
        random_state=random_state,
        **params,
    )
    return Pipeline([("prep", _encoder(categorical)), ("clf", clf)])
