"""Loading a logged model safely: skops with our own allow-list, never pickle.

Training logs each pipeline with ``mlflow.sklearn`` in the skops format. MLflow's own loader trusts the
types listed in the model's MLmodel file, i.e. whatever the artifact says about itself; this loader trusts
only :data:`SKOPS_TRUSTED_TYPES`, written here, so a tampered artifact cannot smuggle in other code.
Serving uses this module and must not import training.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sklearn.pipeline import Pipeline

# Types outside scikit-learn/numpy (which skops trusts by itself) that our pipelines hold. LightGBM's own
# types are not among them on purpose: the classifier keeps its booster as LightGBM's text model format
# (``booster_str_``) and rebuilds it on first use, so nothing of LightGBM is deserialised by skops.
SKOPS_TRUSTED_TYPES: list[str] = [
    "klinik.models.additive.AdditiveLogisticClassifier",
    "klinik.models.estimators.AdaptiveClassifier",
    "klinik.models.estimators.CalibratedLGBMClassifier",
]


class ModelLoadError(RuntimeError):
    """The model at a URI cannot be loaded safely (wrong format, untrusted types, not a pipeline)."""


def load_local(path: str | Path, *, n_jobs: int | None = None) -> Pipeline:
    """Load a downloaded MLflow sklearn model folder (the one holding ``MLmodel``)."""
    import skops.io
    from mlflow.models import Model

    path = Path(path)
    flavor = Model.load(path / "MLmodel").flavors.get("sklearn")
    if flavor is None:
        raise ModelLoadError(f"{path} holds no sklearn flavour: not a model logged by klinik train")
    fmt = flavor.get("serialization_format")
    if fmt != "skops":
        raise ModelLoadError(f"{path} is serialised as {fmt!r}; only skops models are loaded")
    file = path / flavor["pickled_model"]
    untrusted = sorted(set(skops.io.get_untrusted_types(file=file)) - set(SKOPS_TRUSTED_TYPES))
    if untrusted:
        stale = [t for t in untrusted if f"klinik.{t}" in SKOPS_TRUSTED_TYPES]
        if stale:  # logged before the stage folders became klinik.*: the same class under its old import path
            raise ModelLoadError(
                f"{path.name} was logged by an older version of this code ({stale[0]}): retrain with `klinik train`"
            )
        raise ModelLoadError(f"{file} holds types this service does not trust: {untrusted}")
    model = skops.io.load(file, trusted=SKOPS_TRUSTED_TYPES)
    if not isinstance(model, Pipeline):
        raise ModelLoadError(f"{file} holds a {type(model).__name__}, expected a scikit-learn Pipeline")
    if n_jobs is not None:
        set_threads(model, n_jobs)
    return model


def load_model(model_uri: str, *, tracking_uri: str | None = None, n_jobs: int | None = None) -> Pipeline:
    """The fitted pipeline logged at ``model_uri`` (e.g. ``models:/koperasi-risk@champion``).

    ``tracking_uri`` selects the MLflow store for ``models:/`` and ``runs:/`` URIs (default: MLflow's
    current one). ``n_jobs`` sets LightGBM's prediction threads (1 in a server).
    """
    import mlflow

    if tracking_uri is None:
        return load_local(mlflow.artifacts.download_artifacts(artifact_uri=model_uri), n_jobs=n_jobs)
    # ``models:/`` URIs are resolved through MLflow's current registry, whatever store is passed to
    # download_artifacts: point MLflow at ``tracking_uri`` for the download only
    with mlflow_store(tracking_uri):
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri)
    return load_local(local, n_jobs=n_jobs)


@contextmanager
def mlflow_store(uri: str):
    """MLflow's tracking and registry URIs set to ``uri`` inside the block, and put back after it.

    ``mlflow.set_tracking_uri`` also writes the MLFLOW_TRACKING_URI (and _REGISTRY_URI) environment
    variables, which Settings.mlflow_uri and child processes read: they are restored too, so one store
    does not leak into whatever runs next in the process.
    """
    import mlflow

    tracking_env = os.environ.get("MLFLOW_TRACKING_URI")
    registry_env = os.environ.get("MLFLOW_REGISTRY_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        # MLflow keeps an explicitly set URI in its environment variable, so an unset variable means
        # nothing was set: go back to that (None unsets), not to the default path it resolved to
        mlflow.set_tracking_uri(tracking_env)
        mlflow.set_registry_uri(registry_env)
        for name, value in (("MLFLOW_TRACKING_URI", tracking_env), ("MLFLOW_REGISTRY_URI", registry_env)):
            if value is None:
                os.environ.pop(name, None)


def set_threads(model: Pipeline, n_jobs: int) -> Pipeline:
    """Set LightGBM's threads on the classifier (the training value travels with a model).

    Only the last step: the encoding steps stay sequential, since a ColumnTransformer given n_jobs starts joblib
    worker processes that cost seconds on the first call and buy nothing. The attribute is set directly, not
    with set_params, which would check every parameter of the class as it is now and so refuse a model saved
    before a parameter was added.
    """
    if hasattr(model[-1], "n_jobs"):
        model[-1].n_jobs = n_jobs
    return model
