"""Why a cooperative got its score: exact contributions (TreeSHAP, linear terms), and the clinic its risk points to.

Contributions are in the model's raw log-odds (before Platt scaling, which is monotone, so the ranking of
reasons is the same). One column per input feature of the pipeline plus ``bias``; each row sums to the raw
score. ``main_cause`` routes a cooperative to the clinic whose features push its risk up the most.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from klinik.data.contract import CLINICS


def _input_column(encoded: str, inputs: list[str]) -> str:
    """The input feature an encoded column came from (itself, or the longest ``<input>_`` prefix), after the
    names a ColumnTransformer or a missing-value indicator put in front (``numeric__missingindicator_x``)."""
    if encoded in inputs:
        return encoded
    bare = encoded.split("__", 1)[-1].removeprefix("missingindicator_")
    if bare in inputs:
        return bare
    owners = [c for c in inputs if bare.startswith(f"{c}_")]
    if not owners:
        raise ValueError(f"cannot tell which input column the encoded column {encoded!r} comes from")
    return max(owners, key=len)


def _encoded_contributions(clf, Xt, prep: Pipeline) -> pd.DataFrame:
    """Exact contributions to the raw log-odds per encoded column, plus ``bias``, for the classifiers a pipeline
    may end in: ours (``contributions``), a LightGBM classifier (TreeSHAP) or a linear model (coefficient x
    encoded value; the bias is the intercept)."""
    if hasattr(clf, "contributions"):
        return clf.contributions(Xt)
    if hasattr(clf, "booster_"):  # LightGBM's scikit-learn classifier
        values = clf.booster_.predict(Xt, pred_contrib=True)
        return pd.DataFrame(values, columns=[*Xt.columns, "bias"], index=Xt.index)
    if hasattr(clf, "coef_"):
        names = list(prep.get_feature_names_out())
        values = Xt.toarray() if hasattr(Xt, "toarray") else np.asarray(Xt, dtype=float)
        out = pd.DataFrame(values * clf.coef_.ravel(), columns=names)
        out["bias"] = float(np.ravel(clf.intercept_)[0])
        return out
    raise TypeError(f"no exact contributions for a {type(clf).__name__}")


def contributions(model: Pipeline, X: pd.DataFrame) -> pd.DataFrame:
    """Exact contributions of each input feature to the raw log-odds, plus ``bias``: TreeSHAP for trees, the
    linear terms for a linear model (models/estimators.py serves either, or a blend of both).

    ``model`` is a fitted pipeline (``prep`` steps, then the classifier): from
    :func:`klinik.models.estimators.build_estimator`, or a baseline of models/baselines.py. Contributions of
    encoded columns are summed back onto the input column they came from. Rows sum to the raw score.
    """
    prep, clf = model[:-1], model[-1]
    inputs = list(model.feature_names_in_)
    Xt = prep.transform(X[inputs])
    raw = _encoded_contributions(clf, Xt, prep)
    raw.index = X.index
    encoded = [c for c in raw.columns if c != "bias"]
    owner = {c: _input_column(c, inputs) for c in encoded}
    if len(set(owner.values())) == len(owner):  # one encoded column per input (ordinal codes): nothing to sum
        where = {owner[c]: i for i, c in enumerate(owner)}
        values = raw[list(owner)].to_numpy(dtype=float)
        values = np.where(np.isnan(values), 0.0, values + 0.0)  # what a sum of one value gives (-0.0 -> 0.0)
        values = np.append(values, np.zeros((len(values), 1)), axis=1)  # an input not encoded: 0.0
        # row-major, in the inputs' order, as the summing path leaves it: a row's sum (reasons' shares) then
        # adds the same numbers in the same order
        picked = np.ascontiguousarray(values[:, [where.get(c, len(owner)) for c in inputs]])
        out = pd.DataFrame(picked, columns=inputs, index=raw.index, copy=False)
    else:
        out = raw.drop(columns="bias").T.groupby(owner, sort=False).sum().T
        out = out.reindex(columns=inputs, fill_value=0.0)
    out["bias"] = raw["bias"].to_numpy()
    out.index = X.index
    return out


def group_contributions(contribs: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Contributions summed per clinic group (KEUANGAN, SDM, KELEMBAGAAN): one column per clinic.

    Features of other groups (CONTEXT) and ``bias`` are left out: they are not something a clinic treats.
    """
    cols = {c: groups[c] for c in contribs.columns if groups.get(c) in CLINICS}
    if not cols:
        raise ValueError("none of the contribution columns belongs to a clinic group")
    summed = contribs[list(cols)].T.groupby(cols).sum().T
    return summed.reindex(columns=list(CLINICS), fill_value=0.0)


def main_cause(contribs: pd.DataFrame, groups: Mapping[str, str]) -> pd.Series:
    """The clinic whose features carry the largest summed contribution toward sickness, per row.

    The sum is signed (a group's features that lower the risk offset those that raise it): the clinic with
    the largest net push toward sickness. Ties go to the first clinic in the contract's order
    (KEUANGAN, SDM, KELEMBAGAAN: the most common cause first).
    """
    summed = group_contributions(contribs, groups)
    values = summed.to_numpy()
    picked = np.asarray(summed.columns)[np.argmax(values, axis=1)]
    return pd.Series(picked, index=contribs.index, name="clinic", dtype="str")


def spell_contributions(
    model: Pipeline,
    X: pd.DataFrame,
    history: pd.DataFrame,
    columns: list[str],
    spell_years: str,
    key: str = "coop_id",
    year: str = "year",
    now: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Contributions at the rows ``X`` (cooperatives now in a spell, e.g. sick) plus, row by row, those at the
    last year before the spell began, ``year - X[spell_years]``, where ``history`` (same columns, keyed by
    ``key`` and ``year``) holds that row. One row per row of ``X``, on its index.

    For a sick cooperative the risk model's reasons of the year before it fell sick say why it fell sick,
    read where the model was trained (on cooperatives not yet sick); those of now say what is wrong now.
    ``now``: the contributions at ``X`` when already computed (same index).
    """
    now = contributions(model, X[columns]) if now is None else now
    length = X[spell_years].fillna(0).to_numpy()
    rows = X.loc[length > 0, [key]].assign(**{year: (X[year] - X[spell_years]).loc[length > 0].astype("int64")})
    before = rows.reset_index(names="_row").merge(history[[key, year, *columns]], on=[key, year], how="inner")
    if before.empty:
        return now
    earlier = contributions(model, before[columns].set_axis(before["_row"].to_numpy()))
    return now.add(earlier.reindex(now.index, fill_value=0.0), fill_value=0.0)
