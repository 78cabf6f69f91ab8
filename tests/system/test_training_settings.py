"""The settings that shape features and labels travel with a model: `klinik train` with a non-default RAT deadline
(KLINIK_RAT_OFFICE_DEADLINE_MONTH=4) records it, and `klinik score` and `klinik serve` refuse the model under
other values, in one line; a model that records no settings (trained by older code) asks to be retrained.

The training runs on a copy of the shared trained registry, whose champions were trained with the defaults: the
new versions must replace them, since scoring with the new settings would refuse the old ones.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.models import Model
from service_helpers import AS_OF, free_port, klinik

from klinik.features.labels import TASKS
from klinik.models.persist import mlflow_store
from klinik.settings import FEATURE_LABEL_SETTINGS, Settings

pytestmark = pytest.mark.slow

MONTH = "4"  # the office asks for the RAT by the end of April instead of March
LATE = {"KLINIK_RAT_OFFICE_DEADLINE_MONTH": MONTH}


def _copy_store(trained_registry, folder: Path) -> SimpleNamespace:
    """A private copy of the session's MLflow store (artifacts stay where they are: the copy only adds to them)."""
    folder.mkdir(parents=True)
    shutil.copy(trained_registry.work_dir / "mlflow.db", folder / "mlflow.db")
    return SimpleNamespace(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")


def _names() -> dict[str, str]:
    s = Settings()
    return {"risk": s.risk_model_name, "recovery": s.recovery_model_name}


@pytest.fixture(scope="module")
def late_store(trained_registry, world_dir, tmp_path_factory):
    """`klinik train` with the April deadline on a copy of the shared store (champions v1: the defaults)."""
    tmp = tmp_path_factory.mktemp("late")
    store = _copy_store(trained_registry, tmp / "store")
    done = klinik(
        ["train", "--data", str(world_dir)], store, tmp, KLINIK_TRAIN_FOLDS="3", KLINIK_TRAIN_THREADS="1", **LATE
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def _one_line(done: subprocess.CompletedProcess, start: str) -> str:
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith(start)]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def _score(store, world_dir: Path, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    out = tmp / "scores"
    return klinik(
        ["score", "--data", str(world_dir), "--as-of", str(AS_OF), "--out", str(out), "--quiet"], store, tmp, **env
    )


def _serve(store, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    return klinik(["serve", "--host", "127.0.0.1", "--port", str(free_port())], store, tmp, timeout=180, **env)


def test_the_settings_are_logged_with_the_run_and_stored_with_the_model(late_store):
    client = MlflowClient(tracking_uri=late_store.tracking_uri)
    expected = {**Settings().feature_label_values, "rat_office_deadline_month": int(MONTH)}
    for task, name in _names().items():
        champion = client.get_model_version_by_alias(name, "champion")
        assert str(champion.version) == "2"
        # the v1 champion (default settings) was replaced because of the setting, not by its metrics
        decision = champion.tags["promotion_decision"]
        assert "rat_office_deadline_month=3, now 4" in decision and "replaced" in decision, decision
        recorded = {k: champion.tags[k] for k in FEATURE_LABEL_SETTINGS}
        assert recorded == {k: str(v) for k, v in expected.items()}, task
        params = client.get_run(champion.run_id).data.params
        assert {k: params[k] for k in FEATURE_LABEL_SETTINGS} == recorded, task
        with mlflow_store(late_store.tracking_uri):
            local = mlflow.artifacts.download_artifacts(f"models:/{name}/{champion.version}")
        mlmodel = Model.load(Path(local) / "MLmodel")
        assert mlmodel.metadata["feature_label_settings"] == expected, task
    # the default-settings versions stay in the registry, no longer champion
    assert client.get_model_version(_names()["risk"], "1").tags["rat_office_deadline_month"] == "3"


def test_klinik_score_refuses_other_settings_and_scores_with_the_same(late_store, world_dir, tmp_path):
    refused = _score(late_store, world_dir, tmp_path / "default")
    assert refused.returncode == 3, refused.stderr[-3000:]
    line = _one_line(refused, "klinik score:")
    for words in ("rat_office_deadline_month=4", "rat_office_deadline_month=3", "KLINIK_RAT_OFFICE_DEADLINE_MONTH=4"):
        assert words in line, line
    assert not (tmp_path / "default" / "scores").exists()

    done = _score(late_store, world_dir, tmp_path / "late", **LATE)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "late" / "scores" / "scores.parquet").is_file()


def test_klinik_serve_refuses_other_settings_in_one_line(late_store, tmp_path):
    done = _serve(late_store, tmp_path)
    assert done.returncode == 3, done.stderr[-3000:]
    line = _one_line(done, "klinik serve: cannot start")
    for words in ("champion", "rat_office_deadline_month=4", "rat_office_deadline_month=3"):
        assert words in line, line


def test_a_model_that_records_no_settings_is_refused_with_retrain(trained_registry, world_dir, tmp_path):
    """A version registered before the settings were recorded (here: the tags taken off a copy) cannot be trusted
    to match any settings: both scoring paths ask to retrain."""
    store = _copy_store(trained_registry, tmp_path / "store")
    client = MlflowClient(tracking_uri=store.tracking_uri)
    for task in TASKS:
        for key in FEATURE_LABEL_SETTINGS:
            client.delete_model_version_tag(_names()[task], "1", key)

    refused = _score(store, world_dir, tmp_path)
    assert refused.returncode == 3, refused.stderr[-3000:]
    line = _one_line(refused, "klinik score:")
    assert "does not record the settings" in line and "retrain with `klinik train`" in line, line

    done = _serve(store, tmp_path)
    assert done.returncode == 3, done.stderr[-3000:]
    line = _one_line(done, "klinik serve: cannot start")
    assert "does not record the settings" in line and "retrain with `klinik train`" in line, line
