"""A real MLflow tracking server for the deployment tests: PostgreSQL as its store, artifacts served by the server,
and MLflow's basic-auth app switched on, on a free 127.0.0.1 port.

The clients (``klinik train``, ``score``, ``serve``) reach it only through ``MLFLOW_TRACKING_URI`` and MLflow's
own credential variables, as an analyst's laptop would (see :meth:`MlflowServer.client_env`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADMIN, ADMIN_PASSWORD = "admin", "klinik-admin-pass-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """``start()`` ``mlflow server`` on ``backend_uri``; ``stop()`` at the end of the session."""

    def __init__(self, backend_uri: str) -> None:
        self.backend_uri = backend_uri
        self.root = Path(tempfile.mkdtemp(prefix="klinik-mlflow-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.root / "server.log"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> MlflowServer:
        auth_ini = self.root / "basic_auth.ini"
        auth_ini.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{self.root / 'basic_auth.db'}\n"
            f"admin_username = {ADMIN}\n"
            f"admin_password = {ADMIN_PASSWORD}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # a checked password is remembered for a minute: without it every request pays a deliberately slow
            # password hash (0.3-1 s on this machine), and logging one model makes dozens (docs/deployment.md)
            "auth_cache_ttl_seconds = 60\n"
        )
        env = {
            **os.environ,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": "klinik-test-secret",
            "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
            # the server's background job runner (a dozen worker processes, for GenAI evaluation jobs) is not
            # used by the registry; off, as docs/deployment.md recommends
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [
            str(mlflow), "server",
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", str(self.root / "artifacts"),
            "--serve-artifacts",
            "--app-name", "basic-auth",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({self._process.returncode}):\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server not ready after {timeout} s:\n{self.log.read_text()}")

    def client_env(self, username: str = ADMIN, password: str = ADMIN_PASSWORD) -> dict[str, str]:
        """What a client's environment carries to use this registry (MLflow's own variables, nothing else)."""
        return {
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": username,
            "MLFLOW_TRACKING_PASSWORD": password,
        }

    def stop(self) -> None:
        import shutil

        if self._process is not None and self._process.poll() is None:
            # the server and the workers it spawned: its own process group (start_new_session)
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
