"""The two estimators (risk of falling sick, likelihood of recovery): LightGBM, calibrated, explainable.

``build_estimator`` returns an unfitted scikit-learn ``Pipeline``: an ordinal encoder for the categorical
columns named by the caller, then :class:`CalibratedLGBMClassifier`. Nothing here knows our column names:
monotone constraints and categoricals arrive by name as parameters, so the same estimator can be judged on
any tabular data.

Why this design (and not ``CalibratedClassifierCV`` around an ``LGBMClassifier``):
- one booster holds the model, so TreeSHAP (``pred_contrib``) explains exactly the score that is served;
- calibration is Platt scaling (a logistic curve on the raw score) fitted on out-of-fold scores from folds
  grouped by cooperative: with a few hundred cooperatives isotonic regression overfits (docs/domain.md), and a
  cooperative's later years must never calibrate its earlier ones;
- the number of trees is chosen by early stopping on the same grouped folds, at one common iteration, so the
  out-of-fold scores that calibrate and the final booster come from models of the same size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.validation import check_is_fitted

from klinik.features.labels import TASKS


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


class CalibratedLGBMClassifier(ClassifierMixin, BaseEstimator):
    """A binary LightGBM classifier with grouped early stopping and Platt calibration, held in one booster.

    ``fit(X, y, groups=None)``:
    1. boosts on ``n_splits`` folds (grouped by ``groups`` when given, stratified by ``y``), recording the
       held-out log loss at every round with early stopping; the number of trees is the round with the
       lowest mean held-out log loss;
    2. fits Platt scaling on the out-of-fold raw scores at that round;
    3. refits one booster on all rows with that many trees.
    ``predict_proba`` is then ``sigmoid(a * raw + b)`` and ``raw_score`` / ``contributions`` explain it.

    Parameters left as ``None`` (``num_leaves``, ``min_child_samples``, ``reg_lambda``, ``max_depth``,
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

    def fit(self, X, y, groups=None):
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
        patience = self.early_stopping_rounds or max(10, round(3.0 / params["learning_rate"]))

        folds = self._folds(X, y01, groups, self.n_splits or auto["n_splits"], many=n_events >= 1_500)
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
                callbacks=[
                    lgb.record_evaluation(record),
                    lgb.early_stopping(patience, first_metric_only=True, verbose=False),
                ],
            )
            curves.append(np.asarray(record["valid"]["binary_logloss"]))
            boosters.append(booster)
        # the common round: lowest mean held-out log loss over the rounds every fold reached
        length = min(len(c) for c in curves)
        mean_curve = np.mean([c[:length] for c in curves], axis=0)
        self.n_trees_ = int(np.argmin(mean_curve)) + 1
        self.cv_logloss_ = float(mean_curve[self.n_trees_ - 1])

        oof = np.full(len(X), np.nan)
        for (_, valid_idx), booster in zip(folds, boosters):
            oof[valid_idx] = booster.predict(X.iloc[valid_idx], num_iteration=self.n_trees_, raw_score=True)
        self.calibration_ = _platt(oof, y01)

        final = lgb.train(params, self._dataset(X, y01), num_boost_round=self.n_trees_)
        self.booster_str_ = final.model_to_string()
        self._booster = final
        self.lgb_params_ = params
        return self

    def _folds(self, X, y01, groups, n_splits: int, many: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds grouped by ``groups`` (a cooperative's rows stay together), stratified by the label when
        events are few; with many events plain shuffled group folds balance well enough and are much faster."""
        n_minor = int(min(y01.sum(), len(y01) - y01.sum()))
        if groups is not None:
            # integer codes in the sorted order of the labels: the same folds as the labels themselves, but
            # numpy's isin on object arrays (string ids) compares every row with every group of a fold, which is
            # quadratic and took hours on national data
            groups = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
            n_splits = int(min(n_splits, len(np.unique(groups)), max(n_minor, 2)))
            if many:
                splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
            else:
                splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
            folds = list(splitter.split(X, y01, groups))
        else:
            n_splits = int(min(n_splits, max(n_minor, 2)))
            splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
            folds = list(splitter.split(X, y01))
        if n_splits < 2:
            raise ValueError("need at least two groups and two events of each class to calibrate")
        return folds

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
        return state

    def _as_frame(self, X, fitting: bool = False) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X, dtype=float)
            names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])]))
            X = pd.DataFrame(X, columns=names)
        if fitting:
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.n_features_in_ = X.shape[1]
        else:
            check_is_fitted(self, "booster_str_")
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise ValueError(f"X lacks columns the model was trained on: {missing}")
            X = X[list(self.feature_names_in_)]
        return X

    def _threads(self) -> int:
        return self.n_jobs or 0

    def raw_score(self, X) -> np.ndarray:
        """The booster's log-odds, before calibration."""
        X = self._as_frame(X)
        return self.booster.predict(X, raw_score=True, num_threads=self._threads())

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds: a * raw + b."""
        a, b = self.calibration_
        return a * self.raw_score(X) + b

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def contributions(self, X) -> pd.DataFrame:
        """TreeSHAP contributions to the raw log-odds, one column per input column plus ``bias``."""
        X = self._as_frame(X)
        values = self.booster.predict(X, pred_contrib=True, num_threads=self._threads())
        return pd.DataFrame(values, columns=[*X.columns, "bias"], index=X.index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


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


def build_estimator(
    task: str,
    *,
    categorical: Sequence[str] = (),
    monotone: Mapping[str, int] | None = None,
    random_state: int = 0,
    **params,
) -> Pipeline:
    """An unfitted Pipeline ``prep -> clf`` for ``task`` ("risk" or "recovery").

    Fit it with ``fit(X, y, clf__groups=groups)`` to group its calibration and early-stopping folds (by
    cooperative). ``params`` go to :class:`CalibratedLGBMClassifier` (e.g. ``n_jobs``, ``n_splits``).
    Both tasks use the same learner; the task name is kept on the pipeline's steps for the record.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    clf = CalibratedLGBMClassifier(
        categorical=tuple(categorical),
        monotone=dict(monotone or {}),
        random_state=random_state,
        **params,
    )
    return Pipeline([("prep", _encoder(categorical)), ("clf", clf)])
