"""`klinik serve` refuses to start, in one clear line and the pattern's exit code (klinik/cli.py), when it has
nothing to serve (no trained models needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

from service_helpers import free_port, klinik

from klinik.commands import EXIT_FAILED, EXIT_NO_MODEL


def serve_once(tracking_uri: str, tmp: Path) -> subprocess.CompletedProcess:
    store = SimpleNamespace(tracking_uri=tracking_uri)
    return klinik(["serve", "--host", "127.0.0.1", "--port", str(free_port())], store, tmp, timeout=120)


def assert_one_clear_line(done: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert done.returncode == code, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("klinik serve: cannot start")]
    assert len(lines) == 1, done.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_no_store_is_one_clear_line(tmp_path):
    done = serve_once(f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}", tmp_path)
    assert_one_clear_line(done, EXIT_NO_MODEL, "no MLflow store", "klinik train")


def test_unreachable_tracking_server_is_one_clear_line(tmp_path):
    done = serve_once(f"http://127.0.0.1:{free_port()}", tmp_path)
    assert_one_clear_line(done, EXIT_FAILED, "cannot read the MLflow store", "127.0.0.1")


def test_no_champion_is_one_clear_line(tmp_path):
    from mlflow.tracking import MlflowClient

    from klinik.settings import get_settings

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = get_settings()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(settings.risk_model_name)  # registered, but no version is champion
    done = serve_once(uri, tmp_path)
    assert_one_clear_line(done, EXIT_NO_MODEL, settings.risk_model_name, "@champion")

    client.delete_registered_model(settings.risk_model_name)
    done = serve_once(uri, tmp_path)
    assert_one_clear_line(done, EXIT_NO_MODEL, "no registered model", settings.risk_model_name, "klinik train")
