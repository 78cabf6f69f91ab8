"""MLflow: one run per model, a registered version per run, aliases, and the promotion rule.

Promotion rule (``Settings.promotion_metric``, default ROC AUC, tie-break ``promotion_tiebreak``, default
log loss): every new version gets the alias ``challenger``. The current ``champion`` is loaded and re-scored
on the challenger's holdout (same rows, same labels). ``champion`` moves to the challenger when there is no
champion, when the champion cannot score the new holdout (its features no longer exist), or when the
challenger is at least as good on the primary metric -- strictly better, or equal within
``promotion_tolerance`` and no worse on the tie-break. ROC AUC is primary because the clinic works down a
ranked list; log loss breaks ties because it judges the probabilities the thresholds act on. The decision
and both scores go to the run (metrics and tags) and to the version's tags.
"""

from __future__ import annotations

import json
import math
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from klinik.models.explain import contributions
from klinik.models.persist import SKOPS_TRUSTED_TYPES
from klinik.settings import Settings
from klinik.training.data_prep import TaskData
from klinik.training.evaluate import HIGHER_IS_BETTER, calibration_points, metrics

EXPERIMENT = "klinik-koperasi"
CHAMPION, CHALLENGER = "champion", "challenger"
# what a logged model needs to load and predict (pinned to what is installed now)
REQUIREMENTS = ("scikit-learn", "lightgbm", "pandas", "numpy", "scipy", "skops", "klinik-koperasi")
METRIC_KEYS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "precision_at_k", "recall_at_k")


def experiment_id(settings: Settings) -> str:
    """The experiment's id in ``settings.mlflow_uri`` (created on first use).

    With the default SQLite store the experiment's artifacts live beside the database (work_dir), not in
    ``./mlruns`` of whatever folder the command ran in.
    """
    from mlflow import MlflowClient

    uri = settings.mlflow_uri
    artifact_location = None
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        db.parent.mkdir(parents=True, exist_ok=True)
        artifact_location = (db.parent / "mlartifacts").resolve().as_uri()
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(EXPERIMENT, artifact_location=artifact_location)


def pip_requirements() -> list[str]:
    out = []
    for dist in REQUIREMENTS:
        try:
            out.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            out.append(dist)
    return out


def model_name(task: str, settings: Settings) -> str:
    return settings.risk_model_name if task == "risk" else settings.recovery_model_name


def decide(challenger: dict, champion: dict | None, settings: Settings) -> tuple[bool, str]:
    """Whether the challenger becomes champion, and why (see the module docstring)."""
    metric, tiebreak, tol = settings.promotion_metric, settings.promotion_tiebreak, settings.promotion_tolerance
    if champion is None:
        return True, "no champion yet"
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    diff = sign * (challenger[metric] - champion[metric])
    if math.isnan(diff):
        return False, f"{metric} undefined on the holdout; champion kept"
    if diff > tol:
        return True, f"better {metric}: {challenger[metric]:.4f} vs champion {champion[metric]:.4f}"
    if diff < -tol:
        return False, f"worse {metric}: {challenger[metric]:.4f} vs champion {champion[metric]:.4f}; champion kept"
    tsign = 1 if HIGHER_IS_BETTER[tiebreak] else -1
    if tsign * (challenger[tiebreak] - champion[tiebreak]) >= -tol:
        return True, (
            f"equal {metric}, {tiebreak} at least as good: {challenger[tiebreak]:.4f} vs {champion[tiebreak]:.4f}"
        )
    return False, (
        f"equal {metric}, worse {tiebreak}: {challenger[tiebreak]:.4f} vs {champion[tiebreak]:.4f}; champion kept"
    )


def _champion(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def rescore_champion(client, name: str, td: TaskData, test: pd.DataFrame, settings: Settings):
    """The current champion's version and its metrics on this holdout (None, None when there is none;
    version, None when it cannot score these rows)."""
    from klinik.models.persist import load_model

    mv = _champion(client, name)
    if mv is None:
        return None, None
    try:
        model = load_model(f"models:/{name}/{mv.version}", tracking_uri=settings.mlflow_uri)
        needed = list(model.feature_names_in_)
        if not set(needed) <= set(test.columns):
            return mv, None
        p = model.predict_proba(test[needed])[:, 1]
    except Exception:  # noqa: BLE001 -- saved by an older version of this code: it cannot be judged, so it cannot win
        return mv, None
    return mv, metrics(test["label"].to_numpy(), p, capacity_share=settings.clinic_capacity_share)


def _flat_metrics(judged) -> dict[str, float]:
    """holdout metrics as MLflow keys: model ``roc_auc``, baselines ``baseline_<name>_roc_auc``, truth
    ``truth_roc_auc`` and the model's distance to it ``gap_to_truth_roc_auc`` (truth minus model)."""
    out: dict[str, float] = {}
    table = judged.metrics
    for predictor, row in table.iterrows():
        prefix = "" if predictor == "model" else ("truth_" if predictor == "truth" else f"baseline_{predictor}_")
        for key in (*METRIC_KEYS, "k", "n", "events"):
            if predictor != "model" and key in ("k", "n", "events"):
                continue
            value = float(row[key])
            if not math.isnan(value):
                out[f"{prefix}{key}"] = value
    if "truth" in table.index:
        for key in METRIC_KEYS:
            gap = float(table.loc["truth", key] - table.loc["model", key])
            if not math.isnan(gap):
                out[f"gap_to_truth_{key}"] = gap
    return out


def _log_figures(td: TaskData, judged, mlflow) -> pd.DataFrame:
    import matplotlib.pyplot as plt

    from klinik.training import plots

    y = judged.test["label"].to_numpy()
    title = f"{td.task} {judged.test_year}"
    figs = {
        "plots/roc_pr.png": plots.roc_pr_curves(y, judged.predictions, title),
        "plots/calibration.png": plots.calibration_curve(
            {k: calibration_points(y, p) for k, p in judged.predictions.items()}, title
        ),
    }
    contribs = contributions(judged.model, td.X(judged.test))
    figs["plots/importance.png"] = plots.importance(contribs, td.groups, title)
    for path, fig in figs.items():
        mlflow.log_figure(fig, path)
        plt.close(fig)
    return contribs


def log_and_register(
    td: TaskData,
    judged,
    backtest: pd.DataFrame,
    settings: Settings,
    *,
    data_dir: Path,
    data_hash: str,
    train_seconds: float,
    extra_metrics: dict[str, float],
    experiment: str,
) -> dict:
    """Log the holdout model of ``td`` as one MLflow run, register it and apply the promotion rule."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    name = model_name(td.task, settings)
    clf = judged.model[-1]
    model_metrics = judged.model_metrics
    champion_mv, champion_metrics = rescore_champion(client, name, td, judged.test, settings)
    if champion_mv is not None and champion_metrics is None:
        promote, decision = (
            True,
            "champion cannot score this holdout (its features are gone or this code cannot load it); replaced",
        )
    else:
        promote, decision = decide(model_metrics, champion_metrics, settings)

    train_years = sorted(judged.train["year"].unique())
    with (
        warnings.catch_warnings(),
        mlflow.start_run(experiment_id=experiment, run_name=f"{td.task}-{judged.test_year}") as run,
    ):
        mlflow.set_tags(
            {
                "task": td.task,
                "data_hash": data_hash,
                "holdout_year": str(judged.test_year),
                "promotion_decision": decision,
                "promoted": str(promote),
            }
        )
        params = {
            "task": td.task,
            "data_dir": str(data_dir),
            "data_hash": data_hash,
            "seed": settings.seed,
            "holdout_year": judged.test_year,
            "train_years": f"{train_years[0]}-{train_years[-1]}",
            "n_train": len(judged.train),
            "n_train_events": int(judged.train["label"].sum()),
            "n_holdout": len(judged.test),
            "n_features": len(td.feature_columns),
            "categorical": ",".join(td.categorical),
            "monotone": json.dumps(td.monotone, sort_keys=True),
            "n_trees": clf.n_trees_,
            "platt_a": clf.calibration_[0],
            "platt_b": clf.calibration_[1],
            **{f"lgb_{k}": v for k, v in clf.lgb_params_.items() if k != "monotone_constraints"},
            **{f"clf_{k}": v for k, v in clf.get_params().items() if k not in ("monotone", "categorical")},
            "backtest_years": ",".join(str(y) for y in sorted(backtest["year"].unique())),
            "promotion_metric": settings.promotion_metric,
            "promotion_tiebreak": settings.promotion_tiebreak,
        }
        mlflow.log_params(params)
        flat = _flat_metrics(judged)
        mlflow.log_metrics(
            {
                **flat,
                **extra_metrics,
                "train_seconds": train_seconds,
                "fit_seconds": judged.fit_seconds,
                "cv_logloss": clf.cv_logloss_,
            }
        )
        # the backtest: one metric per predictor and measure, one step per test year
        for _, row in backtest.iterrows():
            for key in METRIC_KEYS:
                if not math.isnan(row[key]):
                    mlflow.log_metric(f"backtest_{row['predictor']}_{key}", float(row[key]), step=int(row["year"]))
        mlflow.log_text(backtest.to_csv(index=False), "tables/backtest.csv")
        mlflow.log_text(judged.metrics.to_csv(index_label="predictor"), "tables/holdout_metrics.csv")
        if champion_metrics is not None:
            mlflow.log_metrics(
                {
                    f"champion_{k}": float(champion_metrics[k])
                    for k in METRIC_KEYS
                    if not math.isnan(champion_metrics[k])
                }
            )

        source = str(Path(data_dir).resolve())
        # MLflow warns that a folder path could be several kinds of source, and that integer columns
        # (year, label) cannot hold missing values: both are fine here
        warnings.filterwarnings("ignore", message="The specified dataset source", category=UserWarning)
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
        mlflow.log_input(
            mlflow.data.from_pandas(judged.train, source=source, targets="label", name=f"{td.task}-train"),
            context="training",
        )
        mlflow.log_input(
            mlflow.data.from_pandas(
                judged.test, source=source, targets="label", name=f"{td.task}-holdout-{judged.test_year}"
            ),
            context="holdout",
        )
        contribs = _log_figures(td, judged, mlflow)
        mlflow.log_text(
            contribs.drop(columns="bias")
            .abs()
            .mean()
            .sort_values(ascending=False)
            .to_csv(header=["mean_abs_contribution"], index_label="feature"),
            "tables/importance.csv",
        )

        X_test = td.X(judged.test)
        example = X_test.head(5)
        signature = infer_signature(example, judged.model.predict_proba(example))
        info = mlflow.sklearn.log_model(
            judged.model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pyfunc_predict_fn="predict_proba",
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            registered_model_name=name,
        )
        version_no = str(info.registered_model_version)

        client.set_registered_model_alias(name, CHALLENGER, version_no)
        if promote:
            client.set_registered_model_alias(name, CHAMPION, version_no)
        champion_after = version_no if promote else str(champion_mv.version)
        tags = {
            "task": td.task,
            "holdout_year": str(judged.test_year),
            "train_years": params["train_years"],
            "data_hash": data_hash,
            "run_id": run.info.run_id,
            "training_seconds": f"{train_seconds:.1f}",
            "features": ",".join(td.feature_columns),
            "promotion_decision": decision,
            "promoted": str(promote),
            "champion_version_before": str(champion_mv.version) if champion_mv is not None else "",
            **{f"holdout_{k}": f"{model_metrics[k]:.6g}" for k in METRIC_KEYS},
            f"challenger_{settings.promotion_metric}": f"{model_metrics[settings.promotion_metric]:.6g}",
        }
        if champion_metrics is not None:
            tags[f"champion_{settings.promotion_metric}"] = f"{champion_metrics[settings.promotion_metric]:.6g}"
            tags[f"champion_{settings.promotion_tiebreak}"] = f"{champion_metrics[settings.promotion_tiebreak]:.6g}"
        for key, value in tags.items():
            client.set_model_version_tag(name, version_no, key, value)
        mlflow.set_tags(
            {"registered_model": name, "registered_version": version_no, "champion_version": champion_after}
        )

    return {
        "task": td.task,
        "run_id": run.info.run_id,
        "model_name": name,
        "version": version_no,
        "model_uri": f"models:/{name}/{version_no}",
        "holdout_year": judged.test_year,
        "metrics": {k: model_metrics[k] for k in METRIC_KEYS},
        "baselines": {
            p: {k: float(judged.metrics.loc[p, k]) for k in METRIC_KEYS}
            for p in judged.metrics.index
            if p not in ("model", "truth")
        },
        "truth": (
            {k: float(judged.metrics.loc["truth", k]) for k in METRIC_KEYS} if "truth" in judged.metrics.index else None
        ),
        "extra": extra_metrics,
        "promoted": promote,
        "decision": decision,
        "champion_version": champion_after,
        "champion_metrics": champion_metrics and {k: champion_metrics[k] for k in METRIC_KEYS},
        "train_seconds": train_seconds,
        "n_trees": int(clf.n_trees_),
        "backtest": backtest,
    }
