"""The champion models, from the MLflow registry into the BentoML model store, and back out as LoadedModels.

``import_champions`` runs once when ``klinik serve`` starts: it finds the version each registered model's
``champion`` alias points to, and copies it into the BentoML store (``bentoml.mlflow.import_model``) with what
``/model`` reports (version, run, when it was trained, its holdout metrics) and the settings its features and
labels were built with in the Bento model's metadata, so a Bento built from the store still knows them without
the registry. A champion already copied (same registered version of the same run, same settings) is reused, so
restarts do not grow the store; a new import always becomes the store's ``latest``, which is what the service
declares.

``loaded_models`` turns the two Bento models back into the scoring core's LoadedModels, loading each pipeline
with models.persist (skops, our own allow-list) and one LightGBM thread; it refuses (NoUsableModel) a model trained
with other values of those settings than the service runs with, or one that does not record them.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from klinik.settings import FEATURE_LABEL_SETTINGS

if TYPE_CHECKING:
    import bentoml

    from klinik.serving.scoring import LoadedModels
    from klinik.settings import Settings

ALIAS = "champion"
MLFLOW_FOLDER = "mlflow_model"  # where bentoml.mlflow.import_model puts the MLflow model inside a Bento model
SETTINGS_KEY = "feature_label_settings"  # in the Bento model's metadata: what its features and labels were built with


class CannotServe(RuntimeError):
    """The service cannot start: the message is one line that says what is wrong and what to do."""


class NoUsableModel(CannotServe):
    """The service cannot start because there is no champion it can serve (none trained, none promoted, or one
    wanting features the code no longer builds)."""


def model_names(settings: Settings) -> dict[str, str]:
    return {"risk": settings.risk_model_name, "recovery": settings.recovery_model_name}


def safe_uri(uri: str) -> str:
    """The tracking URI without any user:password part, fit for a message or a log."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat(timespec="seconds")


def _holdout_metrics(version_tags: dict[str, str], run_metrics: dict[str, float]) -> dict[str, float]:
    """The model's holdout metrics: the version's ``holdout_<metric>`` tags (training writes them), else the
    run's metrics that are the model's own (not a baseline's, the truth's, a backtest's or a champion's)."""
    out = {}
    for key, value in version_tags.items():
        if key.startswith("holdout_") and key != "holdout_year":
            try:
                out[key[len("holdout_") :]] = float(value)
            except ValueError:
                continue
    if out:
        return out
    others = ("baseline_", "truth_", "gap_to_truth_", "backtest_", "champion_")
    return {k: float(v) for k, v in run_metrics.items() if not k.startswith(others)}


def champion_metadata(client: Any, name: str, uri: str) -> dict[str, Any]:
    """What the registry says about the champion of ``name``; CannotServe when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as err:
        if "RESOURCE_DOES_NOT_EXIST" in str(err.error_code):
            raise NoUsableModel(
                f"no registered model {name!r} in the MLflow store {safe_uri(uri)}: run `klinik train` first"
            ) from None
        raise
    try:
        mv = client.get_model_version_by_alias(name, ALIAS)
    except MlflowException as err:
        if "RESOURCE_DOES_NOT_EXIST" in str(err.error_code) or "INVALID_PARAMETER" in str(err.error_code):
            raise NoUsableModel(
                f"registered model {name!r} has no version with alias @{ALIAS} in {safe_uri(uri)}: "
                f"promote one (klinik train promotes a better model)"
            ) from None
        raise
    tags = mv.tags or {}
    run_metrics: dict[str, float] = {}
    trained_ms = None
    if mv.run_id:
        run = client.get_run(mv.run_id)
        run_metrics = run.data.metrics
        trained_ms = run.info.end_time or run.info.start_time
    return {
        "registered_name": name,
        "version": str(mv.version),
        "alias": ALIAS,
        "run_id": mv.run_id or "",
        "source": mv.source or "",
        # BentoML metadata holds no None: "" stands for unknown
        "trained_at": _iso(trained_ms or mv.creation_timestamp) or "",
        "registered_at": _iso(mv.creation_timestamp) or "",
        "holdout_year": tags.get("holdout_year", ""),
        "train_years": tags.get("train_years", ""),
        "metrics": _holdout_metrics(tags, run_metrics),
        SETTINGS_KEY: {name: tags[name] for name in FEATURE_LABEL_SETTINGS if name in tags},
    }


def _same_champion(stored: bentoml.Model, meta: dict[str, Any]) -> bool:
    have = stored.info.metadata
    return all(have.get(k) == meta[k] for k in ("registered_name", "version", "run_id", "source", SETTINGS_KEY))


def _check_store_reachable(uri: str) -> None:
    """A SQLite store that does not exist would be created empty by MLflow: say so instead."""
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
        if not os.path.isfile(path):
            raise NoUsableModel(f"no MLflow store at {path}: run `klinik train` first or set MLFLOW_TRACKING_URI")


def import_champions(settings: Settings) -> dict[str, bentoml.Model]:
    """Copy both champions into the BentoML store (or reuse the copies already there); CannotServe otherwise."""
    uri = settings.mlflow_uri
    _check_store_reachable(uri)

    import bentoml
    from bentoml.exceptions import NotFound
    from mlflow.tracking import MlflowClient

    from klinik.models.persist import mlflow_store

    # import_model resolves models:/ through MLflow's process-wide registry: point it at our store for the
    # import only (models.persist.mlflow_store), so nothing leaks into the rest of the process.
    with mlflow_store(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        out: dict[str, bentoml.Model] = {}
        for task, name in model_names(settings).items():
            try:
                meta = champion_metadata(client, name, uri)
            except CannotServe:
                raise
            except Exception as err:  # the store is unreachable or broken: one line, no traceback wall
                first_line = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
                raise CannotServe(f"cannot read the MLflow store {safe_uri(uri)}: {first_line}") from None
            try:
                latest = bentoml.models.get(f"{name}:latest")
            except NotFound:
                latest = None
            if latest is not None and _same_champion(latest, meta):
                out[task] = latest
                continue
            labels = {"registered_name": name, "mlflow_version": meta["version"], "alias": ALIAS, "task": task}
            out[task] = bentoml.mlflow.import_model(
                name,
                f"models:/{name}/{meta['version']}",
                labels=labels,
                metadata=meta,
            )
        return out


def loaded_models(risk: bentoml.Model, recovery: bentoml.Model, settings: Settings) -> LoadedModels:
    """The scoring core's LoadedModels from the two Bento models (one LightGBM thread each); NoUsableModel when
    one was trained with other feature and label settings than ``settings`` (or does not record them)."""
    from klinik.features.catalog import FEATURES
    from klinik.models.persist import load_local
    from klinik.serving.scoring import LoadedModels

    def load(model: bentoml.Model):
        return load_local(model.path_of(MLFLOW_FOLDER), n_jobs=1)

    r, c = risk.info.metadata, recovery.info.metadata
    for task, meta in (("risk", r), ("recovery", c)):
        what = f"the {task} champion {meta['registered_name']} v{meta['version']}"
        refused = settings.mismatch(meta.get(SETTINGS_KEY) or {}, what)
        if refused:
            raise NoUsableModel(refused)
    pipelines = {"risk": load(risk), "recovery": load(recovery)}
    for task, pipeline in pipelines.items():
        missing = [f for f in pipeline.feature_names_in_ if f not in FEATURES]
        if missing:
            raise NoUsableModel(
                f"the {task} champion wants features this code no longer builds "
                f"({', '.join(missing[:5])}): retrain with `klinik train`"
            )
    return LoadedModels(
        risk=pipelines["risk"],
        recovery=pipelines["recovery"],
        risk_name=r["registered_name"],
        recovery_name=c["registered_name"],
        risk_version=str(r["version"]),
        recovery_version=str(c["version"]),
        risk_run_id=r.get("run_id") or None,
        recovery_run_id=c.get("run_id") or None,
        tracking_uri=f"bentoml:{risk.tag},{recovery.tag}",
    )


def served_model_info(task: str, model: bentoml.Model) -> dict[str, Any]:
    """What /model says about one served model (from the Bento model's metadata: no registry needed)."""
    meta = model.info.metadata
    return {
        "name": meta["registered_name"],
        "version": str(meta["version"]),
        "alias": meta.get("alias", ALIAS),
        "run_id": meta.get("run_id") or None,
        "trained_at": meta.get("trained_at") or None,
        "holdout_year": meta.get("holdout_year") or None,
        "train_years": meta.get("train_years") or None,
        "metrics": dict(meta.get("metrics") or {}),
        "bento_tag": str(model.tag),
    }
