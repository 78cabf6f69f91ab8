"""Helpers for the service's system tests: run `klinik` against a trained registry, start and stop the server."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

API_KEY = "klinik-test-key"
AS_OF = 2024
MAX_COOPS = 400  # above the world's 308, so the whole world fits in one request
MAX_BODY = 6_000_000
BODY_READ_TIMEOUT_S = 3.0  # short, so a test of a stalled body waits little
# the shared server's staff accounts (petugas): one signs in to post the decision forms, one has its login fuzzed
STAFF = {"fuzz-petugas": "sandi-petugas-2024", "fuzz-login": "sandi-login-2024"}
KLINIK = str(Path(sys.executable).with_name("klinik"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def klinik_env(tracking_uri: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a `klinik` process: this store, a work folder and BentoML home under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KLINIK_", "MLFLOW_", "BENTOML_"))}
    env.update(
        {
            "MLFLOW_TRACKING_URI": tracking_uri,
            "KLINIK_WORK_DIR": str(tmp / "work"),
            "BENTOML_HOME": str(tmp / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "True",
            **extra,
        }
    )
    return env


def klinik(args: list[str], registry, tmp: Path, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KLINIK, *args],
        env=klinik_env(registry.tracking_uri, tmp, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def add_staff(settings, staff: dict[str, str]) -> None:
    """Staff accounts (petugas, name: password) in the decision record ``settings`` name, the one `klinik serve`
    opens with the same settings."""
    from klinik.serving.records import open_records

    records = open_records(settings)
    try:
        for name, password in staff.items():
            records.add_user(name, "petugas", password)
    finally:
        records.close()


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    env: dict[str, str]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # the arbiter stops its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            # e.g. a request that never ended (BentoML's timeout middleware waits on it for minutes)
            raise AssertionError("klinik serve did not stop within 30 s of SIGTERM") from None


@contextlib.contextmanager
def running_server(registry, tmp: Path, timeout: float = 150, **extra: str):
    """`klinik serve` on a free 127.0.0.1 port, ready; stopped (with its workers) on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = klinik_env(registry.tracking_uri, tmp, **extra)
    log = tmp / "serve.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [KLINIK, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"klinik serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"klinik serve not ready after {timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Server(url=url, proc=proc, log=log, env=env)
    finally:
        _stop(proc)


class Log:
    """The part of the server's log written after a point: what one test's requests left there."""

    def __init__(self, server):
        self.path = server.log
        self.start = self.path.stat().st_size

    def new(self) -> str:
        with open(self.path, "rb") as handle:
            handle.seek(self.start)
            return handle.read().decode("utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 10) -> str:
        """The new part of the log once ``pattern`` (a regex) is in it (the access line follows the answer)."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.new()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in the server log:\n{self.new()[-3000:]}")
            time.sleep(0.05)
        return self.new()
