"""`klinik serve` refuses to start, in one clear line, when it has nothing to serve; `bentoml build` makes a Bento."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from service_helpers import free_port, klinik, klinik_env

REPO = Path(__file__).resolve().parents[2]


def serve_once(tracking_uri: str, tmp: Path) -> subprocess.CompletedProcess:
    store = SimpleNamespace(tracking_uri=tracking_uri)
    return klinik(["serve", "--host", "127.0.0.1", "--port", str(free_port())], store, tmp, timeout=120)


def assert_one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("klinik serve: cannot start")]
    assert len(lines) == 1, done.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_no_store_is_one_clear_line(tmp_path):
    done = serve_once(f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}", tmp_path)
    assert_one_clear_line(done, "no MLflow store", "klinik train")


def test_unreachable_tracking_server_is_one_clear_line(tmp_path):
    done = serve_once(f"http://127.0.0.1:{free_port()}", tmp_path)
    assert_one_clear_line(done, "cannot read the MLflow store", "127.0.0.1")


def test_no_champion_is_one_clear_line(tmp_path):
    from mlflow.tracking import MlflowClient

    from klinik.settings import get_settings

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = get_settings()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(settings.risk_model_name)  # registered, but no version is champion
    done = serve_once(uri, tmp_path)
    assert_one_clear_line(done, settings.risk_model_name, "@champion")

    client.delete_registered_model(settings.risk_model_name)
    done = serve_once(uri, tmp_path)
    assert_one_clear_line(done, "no registered model", settings.risk_model_name, "klinik train")


@pytest.mark.slow
def test_bentoml_build_makes_a_self_contained_bento(trained_registry, tmp_path):
    env = klinik_env(trained_registry.tracking_uri, tmp_path)
    imported = subprocess.run(
        [sys.executable, "-c", "from klinik.settings import get_settings; from serving.bento_store import "
         "import_champions; print({k: str(m.tag) for k, m in import_champions(get_settings()).items()})"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert imported.returncode == 0, imported.stderr[-3000:]
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    built = subprocess.run([bentoml, "build", "--output", "tag"], env=env, cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    tag = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    shown = subprocess.run([bentoml, "get", tag, "-o", "json"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    info = json.loads(shown.stdout)
    (service,) = info["services"]
    pinned = {m["tag"].split(":")[0]: m["tag"] for m in service["models"]}
    settings = trained_registry.settings
    assert set(pinned) == {settings.risk_model_name, settings.recovery_model_name}
    assert all(":latest" not in t for t in pinned.values())
    bento_dir = tmp_path / "bentoml" / "bentos" / tag.split(":")[0] / tag.split(":")[1]
    for module in ("serving/service.py", "serving/scoring.py", "features/build.py", "data/validation.py"):
        assert (bento_dir / "src" / module).is_file(), module
    assert not (bento_dir / "src" / "training").exists()  # serving never needs training
