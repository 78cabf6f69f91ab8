"""MLflow: one run per model, a registered version per run, aliases, and the promotion rule.

Promotion rule (``Settings.promotion_metric``, default ROC AUC, tie-break ``promotion_tiebreak``, default
log loss): every new version gets the alias ``challenger``. The current ``champion`` is loaded and re-scored
on the challenger's holdout (same rows, same labels). ``champion`` moves to the challenger when there is no
champion, when the champion cannot score the new holdout (its features no longer exist), or when the
challenger is at least as good on the primary metric -- strictly better, or equal within
``promotion_tolerance`` and no worse on the tie-break. ROC AUC is primary because the clinic works down a
ranked list; log loss breaks ties because it judges the probabilities the thresholds act on. A champion
trained with other values of the settings that shape features and labels (klinik.settings.
FEATURE_LABEL_SETTINGS), or one that does not record them, is replaced too: scoring with these settings
refuses it. The decision and both scores go to the run (metrics and tags) and to the version's tags.

Three steps, each its own function: ``challenge`` (the promotion decision), ``log_run`` (one MLflow run:
parameters, metrics, tables, the dataset, figures, the model) and ``register`` (a registered version with
its tags, the aliases); ``log_and_register`` runs them in that order for one Candidate. Two people may train
at once against one shared registry: ``register`` runs under ``promotion_lock``, after ``recheck`` has judged
the candidate again if another training moved the champion meanwhile, so there is one champion and each
run's recorded decision is the one that was applied.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
import zlib
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from klinik.models.explain import contributions
from klinik.models.persist import SKOPS_TRUSTED_TYPES
from klinik.settings import Settings
from klinik.training.data_prep import TaskData
from klinik.training.evaluate import HIGHER_IS_BETTER, calibration_points, metrics

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

    from klinik.training.train import Judged

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
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    except MlflowException as err:  # someone else's first training created it a moment ago
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(EXPERIMENT).experiment_id


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


@dataclass
class Candidate:
    """One task's model, fitted for its holdout and judged: everything its MLflow run records."""

    td: TaskData
    judged: Judged  # the holdout's fit-and-judge (the model logged and registered)
    backtest: pd.DataFrame  # year, predictor, metrics: every test year of the rolling backtest
    data_dir: Path
    data_hash: str
    train_seconds: float
    extra_metrics: dict[str, float] = field(default_factory=dict)  # e.g. the risk model's routing

    @property
    def task(self) -> str:
        return self.td.task

    @property
    def metrics(self) -> dict[str, float]:
        return self.judged.model_metrics

    @property
    def train_years(self) -> str:
        years = sorted(self.judged.train["year"].unique())
        return f"{years[0]}-{years[-1]}"


@dataclass(frozen=True)
class Promotion:
    """The promotion rule's verdict on a candidate, and the champion it was weighed against."""

    promote: bool
    decision: str  # why, in words
    champion_version: str | None = None  # before this candidate; None when there was none
    champion_metrics: dict[str, float] | None = None  # the champion re-scored on the candidate's holdout


def promotion_decision(challenger: dict, champion: dict | None, settings: Settings) -> tuple[bool, str]:
    """Whether the challenger becomes champion, and why, from both models' metrics on the same holdout (see
    the module docstring)."""
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


def rescore(client, name: str, mv, test: pd.DataFrame, settings: Settings) -> dict[str, float] | None:
    """The metrics of version ``mv`` of ``name`` on the holdout rows ``test``; None when it cannot score them
    (its features are gone, or this code cannot load it)."""
    from klinik.models.persist import load_model

    try:
        model = load_model(f"models:/{name}/{mv.version}", tracking_uri=settings.mlflow_uri)
        needed = list(model.feature_names_in_)
        if not set(needed) <= set(test.columns):
            return None
        p = model.predict_proba(test[needed])[:, 1]
    except Exception:  # noqa: BLE001 -- saved by an older version of this code: it cannot be judged, so it cannot win
        return None
    return metrics(test["label"].to_numpy(), p, capacity_share=settings.clinic_capacity_share)


def challenge(candidate: Candidate, settings: Settings) -> Promotion:
    """The promotion decision for ``candidate``: the current champion re-scored on the candidate's holdout and
    the promotion rule applied; a champion that cannot be weighed (other settings, not loadable) is replaced."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    name = model_name(candidate.task, settings)
    mv = _champion(client, name)
    if mv is None:
        return Promotion(*promotion_decision(candidate.metrics, None, settings))
    version = str(mv.version)
    changed = settings.changed(mv.tags or {})
    if changed:
        setting, (was, now) = next(iter(changed.items()))
        why = "it records no feature and label settings" if was is None else f"trained with {setting}={was}, now {now}"
        return Promotion(True, f"champion v{version} cannot be scored with these settings ({why}); replaced", version)
    champion_metrics = rescore(client, name, mv, candidate.judged.test, settings)
    if champion_metrics is None:
        return Promotion(
            True,
            "champion cannot score this holdout (its features are gone or this code cannot load it); replaced",
            version,
        )
    promote, decision = promotion_decision(candidate.metrics, champion_metrics, settings)
    return Promotion(promote, decision, version, champion_metrics)


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


def _run_params(candidate: Candidate, settings: Settings) -> dict:
    td, judged = candidate.td, candidate.judged
    clf = judged.model[-1]
    return {
        "task": td.task,
        "data_dir": str(candidate.data_dir),
        "data_hash": candidate.data_hash,
        "seed": settings.seed,
        **settings.feature_label_values,  # what the features and labels were built with
        "holdout_year": judged.test_year,
        "train_years": candidate.train_years,
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
        "backtest_years": ",".join(str(y) for y in sorted(candidate.backtest["year"].unique())),
        "promotion_metric": settings.promotion_metric,
        "promotion_tiebreak": settings.promotion_tiebreak,
    }


def _log_metrics(candidate: Candidate, promotion: Promotion, mlflow) -> None:
    """The holdout's metrics (model, baselines, truth) and the champion's on the same holdout (the backtest's
    come after the model: _log_backtest)."""
    judged = candidate.judged
    mlflow.log_metrics(
        {
            **_flat_metrics(judged),
            **candidate.extra_metrics,
            "train_seconds": candidate.train_seconds,
            "fit_seconds": judged.fit_seconds,
            "cv_logloss": judged.model[-1].cv_logloss_,
        }
    )
    mlflow.log_metrics(_champion_metrics(promotion))


def _champion_metrics(promotion: Promotion) -> dict[str, float]:
    """The champion's holdout metrics as the run's ``champion_<metric>`` keys (none when there was none)."""
    champion = promotion.champion_metrics or {}
    return {f"champion_{k}": float(champion[k]) for k in METRIC_KEYS if k in champion and not math.isnan(champion[k])}


def _log_backtest(candidate: Candidate, mlflow) -> None:
    """The backtest: one metric per predictor and measure, one step per test year, one request per year.

    Logged after the model: log_model links the run's step-0 metrics to the logged model by reading the history
    of every metric key, one request each (minutes against a remote tracking server with basic-auth); these
    (steps are years) are never linked, so they need not be read."""
    for year, rows in candidate.backtest.groupby("year"):
        values = {
            f"backtest_{row['predictor']}_{key}": float(row[key])
            for _, row in rows.iterrows()
            for key in METRIC_KEYS
            if not math.isnan(row[key])
        }
        mlflow.log_metrics(values, step=int(year))


def _log_choice(clf, mlflow) -> None:
    """Which model families the estimator kept, with what weights, and each one's inner validation scores
    (models.estimators.AdaptiveClassifier.choice_record)."""
    if hasattr(clf, "choice_record"):
        params, metrics = clf.choice_record()
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)


def _log_data(candidate: Candidate, mlflow) -> None:
    """The training and holdout rows as the run's inputs, and the backtest and holdout tables."""
    td, judged = candidate.td, candidate.judged
    mlflow.log_text(candidate.backtest.to_csv(index=False), "tables/backtest.csv")
    mlflow.log_text(judged.metrics.to_csv(index_label="predictor"), "tables/holdout_metrics.csv")
    source = str(Path(candidate.data_dir).resolve())
    # MLflow warns that a folder path could be several kinds of source, and that integer columns
    # (year, label) cannot hold missing values: both are fine here
    warnings.filterwarnings("ignore", message="The specified dataset source", category=UserWarning)
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
    _log_input(
        mlflow,
        mlflow.data.from_pandas(judged.train, source=source, targets="label", name=f"{td.task}-train"),
        "training",
    )
    _log_input(
        mlflow,
        mlflow.data.from_pandas(
            judged.test, source=source, targets="label", name=f"{td.task}-holdout-{judged.test_year}"
        ),
        "holdout",
    )


def _log_input(mlflow, dataset, context: str) -> None:
    """log_input, once more when another training logged the same dataset (same rows, name and experiment) at the
    same moment: the tracking server looks for it, then inserts it, and the slower of two inserts is refused
    (duplicate key "dataset_pk"); the second attempt finds the dataset and links it to this run."""
    from mlflow.exceptions import MlflowException

    try:
        mlflow.log_input(dataset, context=context)
    except MlflowException as err:
        if "dataset_pk" not in str(err) and "UNIQUE constraint failed: datasets" not in str(err):
            raise
        mlflow.log_input(dataset, context=context)


def log_run(candidate: Candidate, promotion: Promotion, settings: Settings, experiment: str) -> ModelInfo:
    """One MLflow run for ``candidate`` in ``experiment``: parameters (with the settings its features and labels
    were built with), metrics, tables, the dataset, figures and the model (its metadata holds those settings
    too). Returns the logged model's info (its ``model_uri`` and ``run_id``); registers nothing."""
    import mlflow
    from mlflow.models import infer_signature

    td, judged = candidate.td, candidate.judged
    with (
        warnings.catch_warnings(),
        mlflow.start_run(experiment_id=experiment, run_name=f"{td.task}-{judged.test_year}"),
    ):
        mlflow.set_tags(
            {
                "task": td.task,
                "data_hash": candidate.data_hash,
                "holdout_year": str(judged.test_year),
                "promotion_decision": promotion.decision,
                "promoted": str(promotion.promote),
            }
        )
        mlflow.log_params(_run_params(candidate, settings))
        _log_metrics(candidate, promotion, mlflow)
        _log_choice(judged.model[-1], mlflow)
        _log_data(candidate, mlflow)
        contribs = _log_figures(td, judged, mlflow)
        mlflow.log_text(
            contribs.drop(columns="bias")
            .abs()
            .mean()
            .sort_values(ascending=False)
            .to_csv(header=["mean_abs_contribution"], index_label="feature"),
            "tables/importance.csv",
        )
        example = td.X(judged.test).head(5)
        logged = mlflow.sklearn.log_model(
            judged.model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pyfunc_predict_fn="predict_proba",
            signature=infer_signature(example, judged.model.predict_proba(example)),
            input_example=example,
            pip_requirements=pip_requirements(),
            metadata={"feature_label_settings": settings.feature_label_values},
        )
        _log_backtest(candidate, mlflow)
        return logged


def _version_tags(candidate: Candidate, promotion: Promotion, run_id: str, settings: Settings) -> dict[str, str]:
    """What a registered version says about itself: the holdout and its metrics, the data, the settings its
    features and labels were built with (scoring checks them), and the promotion decision."""
    td, metric, tiebreak = candidate.td, settings.promotion_metric, settings.promotion_tiebreak
    tags = {
        "task": td.task,
        "holdout_year": str(candidate.judged.test_year),
        "train_years": candidate.train_years,
        "data_hash": candidate.data_hash,
        "run_id": run_id,
        "training_seconds": f"{candidate.train_seconds:.1f}",
        "features": ",".join(td.feature_columns),
        **{name: str(value) for name, value in settings.feature_label_values.items()},
        "promotion_decision": promotion.decision,
        "promoted": str(promotion.promote),
        "champion_version_before": promotion.champion_version or "",
        **{f"holdout_{k}": f"{candidate.metrics[k]:.6g}" for k in METRIC_KEYS},
        f"challenger_{metric}": f"{candidate.metrics[metric]:.6g}",
    }
    if promotion.champion_metrics is not None:
        tags[f"champion_{metric}"] = f"{promotion.champion_metrics[metric]:.6g}"
        tags[f"champion_{tiebreak}"] = f"{promotion.champion_metrics[tiebreak]:.6g}"
    return tags


@contextlib.contextmanager
def promotion_lock(settings: Settings, name: str):
    """Only one training at a time re-checks and moves ``name``'s aliases.

    MLflow's REST API has no compare-and-set for an alias, so two people training at once could both read the
    same champion and both move the alias to their version, the later write winning whatever its score. The
    lock makes re-check-then-move one step. Where the decision record is a PostgreSQL database (the team setup:
    everyone who trains shares it) the lock is a PostgreSQL advisory lock there, held by this connection only
    and released by the server if the process dies; otherwise it is a file lock in work_dir, which serialises the
    trainings of one machine (the laptop setup, where the registry is local too).
    """
    url = settings.records_url
    key = zlib.crc32(f"klinik-promotion:{name}".encode())
    if url.startswith(("postgresql", "postgres")):
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
        finally:
            engine.dispose()
        return
    import fcntl

    settings.work_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.work_dir / f".promotion-{key}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recheck(candidate: Candidate, promotion: Promotion, logged: ModelInfo, settings: Settings) -> Promotion:
    """``promotion`` still, or, when another training moved the champion since it was decided, the decision
    against the champion now; the run's recorded decision and champion metrics follow. Call it under
    ``promotion_lock``."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    now = _champion(client, model_name(candidate.task, settings))
    if (None if now is None else str(now.version)) == promotion.champion_version:
        return promotion
    promotion = challenge(candidate, settings)
    client.set_tag(logged.run_id, "promotion_decision", promotion.decision)
    client.set_tag(logged.run_id, "promoted", str(promotion.promote))
    stamp = int(time.time() * 1000)
    metrics = [Metric(k, v, stamp, 0) for k, v in _champion_metrics(promotion).items()]
    if metrics:
        client.log_batch(logged.run_id, metrics=metrics)
    return promotion


def register(candidate: Candidate, promotion: Promotion, logged: ModelInfo, settings: Settings) -> str:
    """A new registered version of the logged model with its tags and the alias ``challenger``; ``champion``
    moves to it when the promotion says so. Returns the version number."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    name = model_name(candidate.task, settings)
    tags = _version_tags(candidate, promotion, logged.run_id, settings)
    version = str(mlflow.register_model(logged.model_uri, name, tags=tags).version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    if promotion.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
    champion = version if promotion.promote else promotion.champion_version
    run_tags = {"registered_model": name, "registered_version": version, "champion_version": champion}
    for key, value in run_tags.items():
        client.set_tag(logged.run_id, key, value)
    return version


def log_and_register(candidate: Candidate, settings: Settings, experiment: str) -> dict:
    """Decide the promotion, log the run, register the version (in that order) for ``candidate``; returns what
    ``klinik train`` prints: versions, metrics, baselines, truth, the decision. MLflow's store must be
    ``settings.mlflow_uri`` (models.persist.mlflow_store, as train_all sets it)."""
    judged, name = candidate.judged, model_name(candidate.task, settings)
    promotion = challenge(candidate, settings)
    logged = log_run(candidate, promotion, settings, experiment)
    with promotion_lock(settings, name):
        promotion = recheck(candidate, promotion, logged, settings)
        version = register(candidate, promotion, logged, settings)
    table = judged.metrics
    return {
        "task": candidate.task,
        "run_id": logged.run_id,
        "model_name": name,
        "version": version,
        "model_uri": f"models:/{name}/{version}",
        "holdout_year": judged.test_year,
        "metrics": {k: candidate.metrics[k] for k in METRIC_KEYS},
        "baselines": {
            p: {k: float(table.loc[p, k]) for k in METRIC_KEYS} for p in table.index if p not in ("model", "truth")
        },
        "truth": {k: float(table.loc["truth", k]) for k in METRIC_KEYS} if "truth" in table.index else None,
        "extra": candidate.extra_metrics,
        "promoted": promotion.promote,
        "decision": promotion.decision,
        "champion_version": version if promotion.promote else promotion.champion_version,
        "champion_metrics": promotion.champion_metrics and {k: promotion.champion_metrics[k] for k in METRIC_KEYS},
        "train_seconds": candidate.train_seconds,
        "n_trees": int(judged.model[-1].n_trees_),
        "backtest": candidate.backtest,
    }
